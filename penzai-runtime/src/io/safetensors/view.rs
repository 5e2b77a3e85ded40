//! `TensorView`: one stored tensor, borrowed from its file's bytes, and its conversions.

use crate::io::dtype::{bf16_to_f32, f16_to_f32};
use half::{bf16, f16};

use crate::io::named::{borrowed_named, host_to_named_as};
use crate::io::{HostTensor, IoError, TensorData};
use crate::nx::NamedArray;
use crate::nx::{ByteRegion, DType};

/// One tensor of a safetensors file: its name, dtype, shape, and raw little-endian bytes
/// borrowed from the (mapped) file.
///
/// The byte length always equals the element count times the dtype size: the file's header was
/// validated before any view is handed out. Conversions read the bytes element by element, so
/// data at any alignment is fine and nothing but the result is allocated.
#[derive(Clone, Copy)]
pub struct TensorView<'a> {
    pub(super) file: &'a str,
    pub(super) name: &'a str,
    pub(super) dtype: DType,
    pub(super) shape: &'a [usize],
    pub(super) bytes: &'a [u8],
    pub(super) offset: u64,
    /// The whole file's bytes, which arrays may borrow from.
    pub(super) region: &'a ByteRegion,
}

impl std::fmt::Debug for TensorView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorView")
            .field("file", &self.file)
            .field("name", &self.name)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("offset", &self.offset)
            .finish()
    }
}

impl<'a> TensorView<'a> {
    /// The tensor's name in the file.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The stored element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Size of each dimension, outermost first.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// The raw little-endian bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The file the tensor lives in (as named when it was opened).
    pub fn file(&self) -> &'a str {
        self.file
    }

    /// Absolute byte offset of the tensor's data in its file.
    pub fn data_offset(&self) -> u64 {
        self.offset
    }

    /// Number of elements (the product of the shape).
    pub fn element_count(&self) -> usize {
        self.bytes.len() / self.dtype.size_bytes()
    }

    /// The values as `f32`, row-major; F16, BF16 and F64 are converted (F64 rounds to nearest).
    ///
    /// Integer and bool tensors are an [`IoError::DtypeMismatch`].
    pub fn to_f32_vec(&self) -> Result<Vec<f32>, IoError> {
        let b = self.bytes;
        Ok(match self.dtype {
            DType::F32 => b
                .as_chunks()
                .0
                .iter()
                .map(|c| f32::from_le_bytes(*c))
                .collect(),
            DType::F16 => le_u16(b).map(f16_to_f32).collect(),
            DType::BF16 => le_u16(b).map(bf16_to_f32).collect(),
            DType::F64 => b
                .as_chunks()
                .0
                .iter()
                .map(|c| f64::from_le_bytes(*c) as f32)
                .collect(),
            _ => return Err(self.mismatch("a float dtype (F16, BF16, F32, F64)")),
        })
    }

    /// The values as `i64`, row-major, from any integer dtype.
    ///
    /// Float and bool tensors are an [`IoError::DtypeMismatch`]; a U64 value above `i64::MAX`
    /// is an [`IoError::InvalidValue`] naming its offset.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>, IoError> {
        let b = self.bytes;
        Ok(match self.dtype {
            DType::U8 => b.iter().map(|&x| i64::from(x)).collect(),
            DType::I8 => b.iter().map(|&x| i64::from(x as i8)).collect(),
            DType::U16 => le_u16(b).map(i64::from).collect(),
            DType::I16 => le_u16(b).map(|x| i64::from(x as i16)).collect(),
            DType::U32 => b
                .as_chunks()
                .0
                .iter()
                .map(|c| i64::from(u32::from_le_bytes(*c)))
                .collect(),
            DType::I32 => b
                .as_chunks()
                .0
                .iter()
                .map(|c| i64::from(i32::from_le_bytes(*c)))
                .collect(),
            DType::I64 => b
                .as_chunks()
                .0
                .iter()
                .map(|c| i64::from_le_bytes(*c))
                .collect(),
            DType::U64 => {
                let (chunks, _) = b.as_chunks::<8>();
                let mut out = Vec::with_capacity(chunks.len());
                for (i, c) in chunks.iter().enumerate() {
                    let x = u64::from_le_bytes(*c);
                    let Ok(x) = i64::try_from(x) else {
                        return Err(self.invalid(x.to_string(), i * 8));
                    };
                    out.push(x);
                }
                out
            }
            _ => return Err(self.mismatch("an integer dtype")),
        })
    }

    /// The values as `bool`, row-major. Only BOOL tensors convert; a byte other than 0 or 1 is
    /// an [`IoError::InvalidValue`] naming its offset.
    pub fn to_bool_vec(&self) -> Result<Vec<bool>, IoError> {
        if self.dtype != DType::Bool {
            return Err(self.mismatch("BOOL"));
        }
        let mut out = Vec::with_capacity(self.bytes.len());
        for (i, &x) in self.bytes.iter().enumerate() {
            match x {
                0 => out.push(false),
                1 => out.push(true),
                _ => return Err(self.invalid(x.to_string(), i)),
            }
        }
        Ok(out)
    }

    /// The tensor in memory: floats as `F32`, integers as `I64`, bools as `Bool`.
    pub fn to_host(&self) -> Result<HostTensor, IoError> {
        let data = if self.dtype.is_float() {
            TensorData::F32(self.to_f32_vec()?)
        } else if self.dtype == DType::Bool {
            TensorData::Bool(self.to_bool_vec()?)
        } else {
            TensorData::I64(self.to_i64_vec()?)
        };
        Ok(HostTensor {
            shape: self.shape.to_vec(),
            data,
        })
    }

    /// Converts the tensor to a [`NamedArray`] whose axes are `axis_names`, one per dimension
    /// in stored order.
    ///
    /// Floats keep their stored width: F32, F16 and BF16 tensors become arrays of that dtype
    /// (F64 becomes F32); integers become I64 and BOOL bool. F32, F16 and BF16 elements are
    /// **not copied** when their bytes are aligned for their type (as safetensors writers
    /// align them): the array borrows the file's bytes, mapped or read, and keeps them alive;
    /// writing to it copies first. Use [`NamedArray::cast`] to widen.
    ///
    /// The number of names must equal the rank ([`IoError::RankMismatch`] names the tensor, its
    /// shape and the names otherwise).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use penzai::io::{HostTensor, SafetensorsFile, TensorData, serialize_tensors};
    /// use penzai::nx::{DType, bf16};
    ///
    /// let w = HostTensor::new(vec![2], TensorData::BF16(vec![bf16::ONE, bf16::from_f32(0.5)])).unwrap();
    /// let bytes = serialize_tensors([("w".to_owned(), w)], &BTreeMap::new())?;
    /// let file = SafetensorsFile::from_bytes("w.safetensors", bytes)?;
    /// let w = file.tensor("w")?.to_named_array(&["embedding"])?;
    /// assert_eq!(w.dtype(), DType::BF16);
    /// assert!(w.storage().is_borrowed());
    /// assert_eq!(w.to_f32_vec(), [1.0, 0.5]);
    /// # Ok::<(), penzai::io::IoError>(())
    /// ```
    pub fn to_named_array(&self, axis_names: &[&str]) -> Result<NamedArray, IoError> {
        if axis_names.len() != self.shape.len() {
            return Err(IoError::RankMismatch {
                file: self.file.to_owned(),
                tensor: self.name.to_owned(),
                shape: self.shape.to_vec(),
                axis_names: axis_names.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
        let axes: Vec<(&str, usize)> = axis_names
            .iter()
            .copied()
            .zip(self.shape.iter().copied())
            .collect();
        self.to_named_array_as(&axes)
    }

    /// Like [`to_named_array`](TensorView::to_named_array), but the stored elements, read
    /// row-major, are named by `axes`, whose sizes must multiply to the element count: a
    /// `[heads * head_dim, hidden]` tensor reads as `heads, projection, embedding` for free.
    /// A count that differs is an [`IoError::Axis`].
    pub fn to_named_array_as(&self, axes: &[(&str, usize)]) -> Result<NamedArray, IoError> {
        let axis_error = |source| IoError::Axis {
            file: self.file.to_owned(),
            tensor: self.name.to_owned(),
            source: Box::new(source),
        };
        let start = self.offset as usize;
        let range = start..start + self.bytes.len();
        if let Some(array) = borrowed_named(self.dtype, self.region, range, axes) {
            return array.map_err(axis_error);
        }
        let data = match self.dtype {
            DType::F16 => TensorData::F16(le_u16(self.bytes).map(f16::from_bits).collect()),
            DType::BF16 => TensorData::BF16(le_u16(self.bytes).map(bf16::from_bits).collect()),
            _ => self.to_host()?.data,
        };
        host_to_named_as(axes, data).map_err(axis_error)
    }

    fn mismatch(&self, expected: &'static str) -> IoError {
        IoError::DtypeMismatch {
            file: self.file.to_owned(),
            tensor: self.name.to_owned(),
            dtype: self.dtype.safetensors_name().to_owned(),
            expected,
        }
    }

    fn invalid(&self, value: String, byte_index: usize) -> IoError {
        IoError::InvalidValue {
            file: self.file.to_owned(),
            tensor: self.name.to_owned(),
            dtype: self.dtype.safetensors_name().to_owned(),
            value,
            offset: self.offset + byte_index as u64,
        }
    }
}

/// Little-endian u16 values of `bytes`, read byte-wise (no alignment needed).
fn le_u16(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.as_chunks().0.iter().map(|c| u16::from_le_bytes(*c))
}
