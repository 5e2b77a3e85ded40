//! `HostTensor`: a tensor's values in memory, row-major, in one of the dtypes arrays hold.

use half::{bf16, f16};

use crate::nx::DType;

/// The values of a tensor, row-major, in one of the dtypes a `NamedArray` holds.
///
/// [`TensorView::to_host`](super::TensorView::to_host) converts every float dtype to `F32` and
/// every integer dtype to `I64`; the 16-bit variants carry 16-bit arrays to a file.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// Floats (from F16, BF16, F32 or F64).
    F32(Vec<f32>),
    /// Half-precision floats.
    F16(Vec<f16>),
    /// bfloat16 floats.
    BF16(Vec<bf16>),
    /// Integers (from any integer dtype).
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl TensorData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::BF16(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::Bool(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors dtype these values are written as.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::I64(_) => DType::I64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Appends the values' little-endian bytes to `out`.
    pub(crate) fn write_le_bytes(&self, out: &mut Vec<u8>) {
        match self {
            TensorData::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            TensorData::F16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            TensorData::BF16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            TensorData::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            TensorData::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        }
    }
}

/// A tensor held in memory: its shape (positional, row-major) and values.
///
/// The bridge between stored bytes and `NamedArray`: readers produce it from a
/// [`TensorView`](super::TensorView), writers consume it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Size of each dimension, outermost first.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: TensorData,
}

impl HostTensor {
    /// A tensor of `shape` holding `data`; `None` if the element counts differ (or overflow).
    pub fn new(shape: Vec<usize>, data: TensorData) -> Option<HostTensor> {
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
        (count == data.len()).then_some(HostTensor { shape, data })
    }
}
