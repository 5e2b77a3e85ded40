//! Element types and the type-erased storage behind a `NamedArray`.
//!
//! One array type with a runtime dtype, rather than `NamedArray<T>`: every layer, tree and
//! renderer handles arrays without type parameters, and the generic code is limited to small
//! kernels (burn cut its compile time six-fold by dropping dtype generics).

use std::fmt;

use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};
use serde::{Deserialize, Serialize};

/// The element type of a [`NamedArray`](super::NamedArray).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit floats: activations and parameters.
    F32,
    /// 64-bit signed integers: token ids, positions, indices.
    I64,
    /// Booleans: masks.
    Bool,
}

impl DType {
    /// The lowercase name (`"f32"`, `"i64"`, `"bool"`), as used in errors and serde.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
            DType::Bool => "bool",
        }
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
/// permutation of the memory: reordering axes never copies.
#[derive(Clone, Debug)]
pub enum Storage {
    /// `f32` elements.
    F32(ArcArray<f32, IxDyn>),
    /// `i64` elements.
    I64(ArcArray<i64, IxDyn>),
    /// `bool` elements.
    Bool(ArcArray<bool, IxDyn>),
}

/// Applies a dtype-generic expression to the array inside a `Storage`, keeping the dtype.
macro_rules! map_storage {
    ($storage:expr, $a:ident => $body:expr) => {
        match $storage {
            $crate::nx::dtype::Storage::F32($a) => $crate::nx::dtype::Storage::F32($body),
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

    /// Converts to `f32`: booleans become 0 or 1, integers are rounded to the nearest float.
    pub(crate) fn to_f32(&self) -> ArcArray<f32, IxDyn> {
        match self {
            Storage::F32(a) => a.clone(),
            Storage::I64(a) => a.mapv(|x| x as f32).into_shared(),
            Storage::Bool(a) => a.mapv(|x| if x { 1.0 } else { 0.0 }).into_shared(),
        }
    }

    /// Converts to another dtype; see [`NamedArray::cast`](super::NamedArray::cast).
    pub(crate) fn cast(&self, dtype: DType) -> Storage {
        match (self, dtype) {
            (Storage::F32(_), DType::F32)
            | (Storage::I64(_), DType::I64)
            | (Storage::Bool(_), DType::Bool) => self.clone(),
            (_, DType::F32) => Storage::F32(self.to_f32()),
            // `as` truncates toward zero, saturates at the i64 range and maps NaN to 0.
            (Storage::F32(a), DType::I64) => Storage::I64(a.mapv(|x| x as i64).into_shared()),
            (Storage::Bool(a), DType::I64) => Storage::I64(a.mapv(i64::from).into_shared()),
            // Nonzero is true, as in numpy (so NaN is true).
            (Storage::F32(a), DType::Bool) => Storage::Bool(a.mapv(|x| x != 0.0).into_shared()),
            (Storage::I64(a), DType::Bool) => Storage::Bool(a.mapv(|x| x != 0).into_shared()),
        }
    }
}

/// An element type that can live in a [`Storage`]; implemented for `f32`, `i64`, `bool`.
pub(crate) trait Element: Copy + PartialEq + Send + Sync + fmt::Debug + 'static {
    /// Wraps an owned array of this type.
    fn into_storage(a: ArrayD<Self>) -> Storage;
    /// A view of the data, if `s` holds this type.
    fn view_of(s: &Storage) -> Option<ArrayViewD<'_, Self>>;
}

impl Element for f32 {
    fn into_storage(a: ArrayD<f32>) -> Storage {
        Storage::F32(a.into_shared())
    }
    fn view_of(s: &Storage) -> Option<ArrayViewD<'_, f32>> {
        match s {
            Storage::F32(a) => Some(a.view()),
            _ => None,
        }
    }
}

impl Element for i64 {
    fn into_storage(a: ArrayD<i64>) -> Storage {
        Storage::I64(a.into_shared())
    }
    fn view_of(s: &Storage) -> Option<ArrayViewD<'_, i64>> {
        match s {
            Storage::I64(a) => Some(a.view()),
            _ => None,
        }
    }
}

impl Element for bool {
    fn into_storage(a: ArrayD<bool>) -> Storage {
        Storage::Bool(a.into_shared())
    }
    fn view_of(s: &Storage) -> Option<ArrayViewD<'_, bool>> {
        match s {
            Storage::Bool(a) => Some(a.view()),
            _ => None,
        }
    }
}

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
        assert_eq!(
            serde_json::from_str::<DType>("\"i64\"").unwrap(),
            DType::I64
        );
        assert_eq!(DType::I64.to_string(), "i64");
    }

    #[test]
    fn casts_follow_numpy_rules() {
        let f = Storage::F32(
            ndarray::arr1(&[-1.7f32, 0.0, 2.9, f32::NAN])
                .into_dyn()
                .into_shared(),
        );
        let Storage::I64(i) = f.cast(DType::I64) else {
            panic!("not i64")
        };
        assert_eq!(i.iter().copied().collect::<Vec<_>>(), [-1, 0, 2, 0]);
        let Storage::Bool(b) = f.cast(DType::Bool) else {
            panic!("not bool")
        };
        assert_eq!(
            b.iter().copied().collect::<Vec<_>>(),
            [true, false, true, true]
        );
        let Storage::F32(back) = Storage::Bool(b).cast(DType::F32) else {
            panic!("not f32")
        };
        assert_eq!(
            back.iter().copied().collect::<Vec<_>>(),
            [1.0, 0.0, 1.0, 1.0]
        );
    }
}
