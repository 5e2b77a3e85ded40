//! Element types and the type-erased storage behind a `NamedArray`.
//!
//! One array type with a runtime dtype, rather than `NamedArray<T>`: every layer, tree and
//! renderer handles arrays without type parameters, and the generic code is limited to small
//! kernels (burn cut its compile time six-fold by dropping dtype generics).

use std::fmt;

use half::{bf16, f16};
use ndarray::{ArrayD, ArrayViewD};
use serde::{Deserialize, Serialize};

use super::shared::SharedArray;

/// An element type: what a [`NamedArray`](super::NamedArray) holds, and what a stored tensor
/// (a safetensors file) may hold.
///
/// Arrays hold `F32` (activations and parameters), `F16` and `BF16` (parameters kept at their
/// stored width), `I64` (token ids, positions, indices) and `Bool` (masks); see
/// [`is_array_dtype`](DType::is_array_dtype). The other integer widths and `F64` exist in
/// files only: loading reads them as `I64` and `F32`.
///
/// Sub-byte and 8-bit float formats (`F4`, `F8_E4M3`, ...) are not supported: a file using
/// them fails to open with `IoError::UnknownDtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DType {
    /// Booleans: masks (one byte, 0 or 1, in files).
    Bool,
    /// Unsigned 8-bit integer (files only).
    U8,
    /// Signed 8-bit integer (files only).
    I8,
    /// Unsigned 16-bit integer (files only).
    U16,
    /// Signed 16-bit integer (files only).
    I16,
    /// Unsigned 32-bit integer (files only).
    U32,
    /// Signed 32-bit integer (files only).
    I32,
    /// Unsigned 64-bit integer (files only).
    U64,
    /// 64-bit signed integers: token ids, positions, indices.
    I64,
    /// IEEE 754 half precision: parameters kept at their stored width.
    F16,
    /// bfloat16 (the upper half of an f32): parameters kept at their stored width.
    BF16,
    /// 32-bit floats: activations and parameters.
    F32,
    /// IEEE 754 double precision (files only; loads as f32).
    F64,
}

impl DType {
    /// Every dtype.
    pub const ALL: [DType; 13] = [
        DType::Bool,
        DType::U8,
        DType::I8,
        DType::U16,
        DType::I16,
        DType::U32,
        DType::I32,
        DType::U64,
        DType::I64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    /// The lowercase name (`"f32"`, `"bf16"`, `"i64"`, `"bool"`), as used in errors and serde.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::U16 => "u16",
            DType::I16 => "i16",
            DType::U32 => "u32",
            DType::I32 => "i32",
            DType::U64 => "u64",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// The safetensors spelling (`"F32"`, `"BF16"`, `"BOOL"`, ...).
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DType::Bool => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::U16 => "U16",
            DType::I16 => "I16",
            DType::U32 => "U32",
            DType::I32 => "I32",
            DType::U64 => "U64",
            DType::I64 => "I64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
        }
    }

    /// Parses a safetensors dtype string (`"F32"`, `"BF16"`, `"BOOL"`, ...).
    pub fn from_safetensors_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|d| d.safetensors_name() == name)
    }

    /// Parses a lowercase name (`"f32"`, `"bf16"`, ...), as [`name`](DType::name) prints it.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// Whether this is a float type (F16, BF16, F32, F64).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Whether this is an integer type (any width, signed or not).
    pub fn is_integer(self) -> bool {
        !self.is_float() && self != DType::Bool
    }

    /// Whether a `NamedArray` can hold this dtype: F32, F16, BF16, I64 or Bool.
    pub fn is_array_dtype(self) -> bool {
        matches!(
            self,
            DType::F32 | DType::F16 | DType::BF16 | DType::I64 | DType::Bool
        )
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The data of an array: a shared, copy-on-write n-dimensional array of one dtype.
///
/// Its axes are the array's positional axes followed by its named axes in logical order
/// (see [`NamedArray::storage`](super::NamedArray::storage)). The strides may describe any
/// permutation of the memory: reordering axes never copies. The elements may be borrowed
/// from a memory-mapped checkpoint ([`SharedArray::is_borrowed`]).
#[derive(Clone, Debug)]
pub enum Storage {
    /// `f32` elements.
    F32(SharedArray<f32>),
    /// IEEE half-precision elements, widened to f32 inside kernels.
    F16(SharedArray<f16>),
    /// bfloat16 elements, widened to f32 inside kernels.
    BF16(SharedArray<bf16>),
    /// `i64` elements.
    I64(SharedArray<i64>),
    /// `bool` elements.
    Bool(SharedArray<bool>),
}

/// Applies a dtype-generic expression to the array inside a `Storage`, keeping the dtype.
macro_rules! map_storage {
    ($storage:expr, $a:ident => $body:expr) => {
        match $storage {
            $crate::nx::dtype::Storage::F32($a) => $crate::nx::dtype::Storage::F32($body),
            $crate::nx::dtype::Storage::F16($a) => $crate::nx::dtype::Storage::F16($body),
            $crate::nx::dtype::Storage::BF16($a) => $crate::nx::dtype::Storage::BF16($body),
            $crate::nx::dtype::Storage::I64($a) => $crate::nx::dtype::Storage::I64($body),
            $crate::nx::dtype::Storage::Bool($a) => $crate::nx::dtype::Storage::Bool($body),
        }
    };
}
pub(crate) use map_storage;

/// Evaluates a dtype-generic expression on the array inside a `Storage`.
macro_rules! with_storage {
    ($storage:expr, $a:ident => $body:expr) => {
        match $storage {
            $crate::nx::dtype::Storage::F32($a) => $body,
            $crate::nx::dtype::Storage::F16($a) => $body,
            $crate::nx::dtype::Storage::BF16($a) => $body,
            $crate::nx::dtype::Storage::I64($a) => $body,
            $crate::nx::dtype::Storage::Bool($a) => $body,
        }
    };
}
pub(crate) use with_storage;

impl Storage {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F16(_) => DType::F16,
            Storage::BF16(_) => DType::BF16,
            Storage::I64(_) => DType::I64,
            Storage::Bool(_) => DType::Bool,
        }
    }

    /// The sizes of all axes (positional first, then named).
    pub fn shape(&self) -> &[usize] {
        with_storage!(self, a => a.shape())
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        with_storage!(self, a => a.ndim())
    }

    /// True when the elements are borrowed from a memory-mapped file rather than owned.
    pub fn is_borrowed(&self) -> bool {
        with_storage!(self, a => a.is_borrowed())
    }

    /// Converts to `f32`: 16-bit floats widen exactly, booleans become 0 or 1, integers are
    /// rounded to the nearest float. An `F32` array is shared, not copied.
    pub(crate) fn to_f32(&self) -> SharedArray<f32> {
        match self {
            Storage::F32(a) => a.clone(),
            Storage::F16(a) => a.view().mapv(f16::to_f32).into(),
            Storage::BF16(a) => a.view().mapv(bf16::to_f32).into(),
            Storage::I64(a) => a.view().mapv(|x| x as f32).into(),
            Storage::Bool(a) => a.view().mapv(|x| if x { 1.0 } else { 0.0 }).into(),
        }
    }

    /// Converts to another dtype; see [`NamedArray::cast`](super::NamedArray::cast). `None`
    /// when arrays cannot hold `dtype`.
    pub(crate) fn cast(&self, dtype: DType) -> Option<Storage> {
        if dtype == self.dtype() {
            return Some(self.clone());
        }
        Some(match dtype {
            DType::F32 => Storage::F32(self.to_f32()),
            DType::F16 => Storage::F16(self.to_f32().view().mapv(f16::from_f32).into()),
            DType::BF16 => Storage::BF16(self.to_f32().view().mapv(bf16::from_f32).into()),
            DType::I64 => Storage::I64(match self {
                // `as` truncates toward zero, saturates at the i64 range and maps NaN to 0.
                Storage::Bool(a) => a.view().mapv(i64::from).into(),
                other => other.to_f32().view().mapv(|x| x as i64).into(),
            }),
            // Nonzero is true, as in numpy (so NaN is true).
            DType::Bool => Storage::Bool(match self {
                Storage::I64(a) => a.view().mapv(|x| x != 0).into(),
                other => other.to_f32().view().mapv(|x| x != 0.0).into(),
            }),
            _ => return None,
        })
    }
}

/// An element type that can live in a [`Storage`]: `f32`, `f16`, `bf16`, `i64`, `bool`.
pub(crate) trait Element:
    Copy + Default + PartialEq + Send + Sync + fmt::Debug + super::shared::ArrayElement + 'static
{
    /// Wraps an owned array of this type.
    fn into_storage(a: ArrayD<Self>) -> Storage;
    /// A view of the data, if `s` holds this type.
    fn view_of(s: &Storage) -> Option<ArrayViewD<'_, Self>>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            fn into_storage(a: ArrayD<$t>) -> Storage {
                Storage::$variant(a.into())
            }
            fn view_of(s: &Storage) -> Option<ArrayViewD<'_, $t>> {
                match s {
                    Storage::$variant(a) => Some(a.view()),
                    _ => None,
                }
            }
        }
    };
}
element!(f32, F32);
element!(f16, F16);
element!(bf16, BF16);
element!(i64, I64);
element!(bool, Bool);

/// Elements are equal by value, except that NaN equals NaN: an array must equal its copy.
pub(crate) fn same_f32(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Two views of the same shape hold equal elements (NaN equal to NaN).
pub(crate) fn views_equal(a: &Storage, b_view: &Storage, perm: &[usize]) -> bool {
    fn eq<T: Copy>(
        a: ArrayViewD<'_, T>,
        b: ArrayViewD<'_, T>,
        same: impl Fn(T, T) -> bool,
    ) -> bool {
        ndarray::Zip::from(&a).and(&b).all(|&x, &y| same(x, y))
    }
    match (a, b_view) {
        (Storage::F32(a), Storage::F32(b)) => eq(a.view(), b.view().permuted_axes(perm), same_f32),
        (Storage::F16(a), Storage::F16(b)) => eq(a.view(), b.view().permuted_axes(perm), |x, y| {
            same_f32(x.to_f32(), y.to_f32())
        }),
        (Storage::BF16(a), Storage::BF16(b)) => {
            eq(a.view(), b.view().permuted_axes(perm), |x, y| {
                same_f32(x.to_f32(), y.to_f32())
            })
        }
        (Storage::I64(a), Storage::I64(b)) => {
            eq(a.view(), b.view().permuted_axes(perm), |x, y| x == y)
        }
        (Storage::Bool(a), Storage::Bool(b)) => {
            eq(a.view(), b.view().permuted_axes(perm), |x, y| x == y)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&DType::F32).unwrap(), "\"f32\"");
        assert_eq!(serde_json::to_string(&DType::Bool).unwrap(), "\"bool\"");
        assert_eq!(serde_json::to_string(&DType::BF16).unwrap(), "\"bf16\"");
        assert_eq!(
            serde_json::from_str::<DType>("\"i64\"").unwrap(),
            DType::I64
        );
        assert_eq!(DType::I64.to_string(), "i64");
    }

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_safetensors_name(d.safetensors_name()), Some(d));
            assert_eq!(DType::from_name(d.name()), Some(d));
        }
        assert_eq!(DType::from_safetensors_name("F8_E4M3"), None);
        assert_eq!(DType::from_safetensors_name("f32"), None);
        let held: Vec<DType> = DType::ALL
            .into_iter()
            .filter(|d| d.is_array_dtype())
            .collect();
        assert_eq!(
            held,
            [DType::Bool, DType::I64, DType::F16, DType::BF16, DType::F32]
        );
    }

    fn values<T: Element>(s: &SharedArray<T>) -> Vec<T> {
        s.view().iter().copied().collect()
    }

    #[test]
    fn casts_follow_numpy_rules() {
        let f = Storage::F32(
            ndarray::arr1(&[-1.7f32, 0.0, 2.9, f32::NAN])
                .into_dyn()
                .into(),
        );
        let Some(Storage::I64(i)) = f.cast(DType::I64) else {
            panic!("not i64")
        };
        assert_eq!(values(&i), [-1, 0, 2, 0]);
        let Some(Storage::Bool(b)) = f.cast(DType::Bool) else {
            panic!("not bool")
        };
        assert_eq!(values(&b), [true, false, true, true]);
        let Some(Storage::F32(back)) = Storage::Bool(b).cast(DType::F32) else {
            panic!("not f32")
        };
        assert_eq!(values(&back), [1.0, 0.0, 1.0, 1.0]);
        assert!(f.cast(DType::U8).is_none());
    }

    #[test]
    fn sixteen_bit_casts_round_to_nearest_and_widen_exactly() {
        let f = Storage::F32(
            ndarray::arr1(&[1.0f32, 1.0 + 1.0 / 256.0, -3.5])
                .into_dyn()
                .into(),
        );
        let Some(Storage::BF16(b)) = f.cast(DType::BF16) else {
            panic!("not bf16")
        };
        // 1 + 2^-8 is a tie between two bf16 values; ties go to even (1.0).
        assert_eq!(
            values(&b).iter().map(|x| x.to_f32()).collect::<Vec<_>>(),
            [1.0, 1.0, -3.5]
        );
        let Some(Storage::F16(h)) = f.cast(DType::F16) else {
            panic!("not f16")
        };
        assert_eq!(
            values(&h).iter().map(|x| x.to_f32()).collect::<Vec<_>>(),
            [1.0, 1.0 + 1.0 / 256.0, -3.5]
        );
        let Some(Storage::F32(wide)) = Storage::F16(h).cast(DType::F32) else {
            panic!("not f32")
        };
        assert_eq!(values(&wide), [1.0, 1.0 + 1.0 / 256.0, -3.5]);
    }
}
