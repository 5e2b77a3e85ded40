//! The `NamedArray` type: storage plus axis names, introspection, conversions and equality.

use std::fmt;

use ndarray::{ArrayD, CowArray, IxDyn};

use super::axis::AxisName;
use half::{bf16, f16};

use super::dtype::{DType, Storage, views_equal, with_storage};
use super::error::AxisError;
use super::shape::{ArrayShape, NamedShape};

/// An n-dimensional array whose axes carry names, plus optional positional axes.
///
/// Named axes (`batch`, `seq`, `embedding`) broadcast and vectorize by name; positional axes
/// are what a local function sees (see [`NamedArray::nmap`]). The data is a shared,
/// copy-on-write [`Storage`]: cloning never copies elements, and an edit through one clone
/// never shows in another.
///
/// The order of named axes is a storage detail: [`order_as`](NamedArray::order_as) and
/// transposing operations only permute strides, and equality ignores it. The *logical* order
/// (`named_shape()`) is used for display and for flattening (`to_f32_vec`).
///
/// ```
/// use penzai::nx::NamedArray;
///
/// let x = NamedArray::from_f32(&[("batch", 2), ("seq", 3)], vec![0., 1., 2., 3., 4., 5.])?;
/// assert_eq!(x.named_shape().to_string(), "{batch: 2, seq: 3}");
/// assert_eq!(x.order_as(&["seq", "batch"])?, x);
/// # Ok::<(), penzai::nx::AxisError>(())
/// ```
#[derive(Clone)]
pub struct NamedArray {
    /// Axes: the positional ones first, then the named ones in logical order.
    pub(crate) data: Storage,
    /// Names of the trailing `names.len()` axes of `data`; unique.
    pub(crate) names: Vec<AxisName>,
    /// Its place on the recording gradient tape, when it descends from a watched array.
    pub(crate) trace: Option<super::tape::Trace>,
    /// Where each axis of `data` sits in the order Penzai's data array would have, when
    /// that differs from the default (see [`NamedArray::data_ranks`]). Only `untag`,
    /// `untag_prefix` and `tag_prefix` set it: they make a view whose positional axes keep
    /// their place, so that a later `tag` puts the names back where the axes came from.
    pub(crate) data_order: Option<Box<[usize]>>,
}

impl NamedArray {
    /// Assembles an array; the caller guarantees the invariants on `names`.
    pub(crate) fn from_parts(data: Storage, names: Vec<AxisName>) -> NamedArray {
        debug_assert!(data.ndim() >= names.len());
        NamedArray {
            data,
            names,
            trace: None,
            data_order: None,
        }
    }

    /// The rank of each data axis in Penzai's data-array order. By default the named axes
    /// come first, in logical order, then the positional ones: the layout of a Penzai
    /// `nmap` result, which is how Penzai computes on positional axes. An array without
    /// positional axes is in its logical order.
    pub(crate) fn data_ranks(&self) -> Vec<usize> {
        match &self.data_order {
            Some(order) => order.to_vec(),
            None => {
                let (n_pos, n_named) = (self.n_pos(), self.names.len());
                (0..n_pos).map(|i| n_named + i).chain(0..n_named).collect()
            }
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The data. Its axes are the positional axes, then the named axes in the order of
    /// [`named_shape`](NamedArray::named_shape); the memory layout may be any permutation.
    pub fn storage(&self) -> &Storage {
        &self.data
    }

    /// True when `other` reads exactly these elements: the same dtype, names, shape, strides
    /// and first element in memory (a clone, or the same array passed through unchanged).
    pub(crate) fn same_elements(&self, other: &NamedArray) -> bool {
        fn layout<T: super::ArrayElement>(a: &super::SharedArray<T>) -> (*const u8, Vec<isize>) {
            let view = a.view();
            (view.as_ptr().cast::<u8>(), view.strides().to_vec())
        }
        fn of(s: &Storage) -> (*const u8, Vec<isize>) {
            match s {
                Storage::F32(a) => layout(a),
                Storage::F16(a) => layout(a),
                Storage::BF16(a) => layout(a),
                Storage::I64(a) => layout(a),
                Storage::Bool(a) => layout(a),
            }
        }
        self.dtype() == other.dtype()
            && self.names == other.names
            && self.data.shape() == other.data.shape()
            && of(&self.data) == of(&other.data)
    }

    /// Number of positional axes.
    pub(crate) fn n_pos(&self) -> usize {
        self.data.ndim() - self.names.len()
    }

    /// The named axes and their sizes, in logical order.
    pub fn named_shape(&self) -> NamedShape {
        let sizes = &self.data.shape()[self.n_pos()..];
        NamedShape::new(self.names.iter().cloned().zip(sizes.iter().copied()))
    }

    /// The sizes of the positional axes.
    pub fn positional_shape(&self) -> Vec<usize> {
        self.data.shape()[..self.n_pos()].to_vec()
    }

    /// Positional and named shape together, as shown in error messages.
    pub fn full_shape(&self) -> ArrayShape {
        ArrayShape {
            positional: self.positional_shape().into(),
            named: self.named_shape(),
        }
    }

    /// The size of the named axis `name`, if there is one.
    pub fn axis_size(&self, name: &str) -> Option<usize> {
        self.named_axis(name).map(|i| self.data.shape()[i])
    }

    /// True when the array has a named axis `name`.
    pub fn has_axis(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The axis names in logical order.
    pub fn axis_names(&self) -> &[AxisName] {
        &self.names
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.shape().iter().product()
    }

    /// True when the array has no elements (some axis has size 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data-axis index of the named axis `name`.
    pub(crate) fn named_axis(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| i + self.n_pos())
    }

    /// Like `named_axis`, but an error naming `op` when the axis is missing.
    pub(crate) fn require_axis(&self, op: &'static str, name: &str) -> Result<usize, AxisError> {
        self.named_axis(name).ok_or_else(|| AxisError::MissingAxis {
            op,
            axis: name.into(),
            shape: self.full_shape(),
        })
    }

    /// An error saying that `op` does not accept this array's dtype.
    pub(crate) fn dtype_error(&self, op: &'static str, expected: &'static str) -> AxisError {
        AxisError::DType {
            op,
            got: vec![self.dtype()],
            expected,
        }
    }

    /// The data as `f32`, widening 16-bit floats and converting integers; booleans are a
    /// dtype error naming `op`.
    pub(crate) fn numeric_f32(
        &self,
        op: &'static str,
    ) -> Result<CowArray<'_, f32, IxDyn>, AxisError> {
        match &self.data {
            Storage::F32(a) => Ok(CowArray::from(a.view())),
            Storage::F16(a) => Ok(CowArray::from(a.view().mapv(f16::to_f32))),
            Storage::BF16(a) => Ok(CowArray::from(a.view().mapv(bf16::to_f32))),
            Storage::I64(a) => Ok(CowArray::from(a.view().mapv(|x| x as f32))),
            Storage::Bool(_) => Err(self.dtype_error(op, "a float or i64")),
        }
    }

    /// The elements as `f32`, row-major over the positional axes, then the named axes in
    /// `named_shape()` order. 16-bit floats widen exactly; booleans become 0 or 1; integers
    /// are rounded to nearest.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            Storage::F32(a) => a.view().iter().copied().collect(),
            Storage::F16(a) => a.view().iter().map(|x| x.to_f32()).collect(),
            Storage::BF16(a) => a.view().iter().map(|x| x.to_f32()).collect(),
            Storage::I64(a) => a.view().iter().map(|&x| x as f32).collect(),
            Storage::Bool(a) => a
                .view()
                .iter()
                .map(|&x| if x { 1.0 } else { 0.0 })
                .collect(),
        }
    }

    /// The elements as `i64`, in the order of [`to_f32_vec`](NamedArray::to_f32_vec).
    /// Floats are truncated toward zero (saturating, NaN becomes 0), as by
    /// [`cast`](NamedArray::cast); booleans become 0 or 1.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.data {
            Storage::F32(a) => a.view().iter().map(|&x| x as i64).collect(),
            Storage::F16(a) => a.view().iter().map(|x| x.to_f32() as i64).collect(),
            Storage::BF16(a) => a.view().iter().map(|x| x.to_f32() as i64).collect(),
            Storage::I64(a) => a.view().iter().copied().collect(),
            Storage::Bool(a) => a.view().iter().map(|&x| i64::from(x)).collect(),
        }
    }

    /// The elements as `bool` (nonzero is true), in the order of
    /// [`to_f32_vec`](NamedArray::to_f32_vec).
    pub fn to_bool_vec(&self) -> Vec<bool> {
        match &self.data {
            Storage::F32(a) => a.view().iter().map(|&x| x != 0.0).collect(),
            Storage::F16(a) => a.view().iter().map(|x| x.to_f32() != 0.0).collect(),
            Storage::BF16(a) => a.view().iter().map(|x| x.to_f32() != 0.0).collect(),
            Storage::I64(a) => a.view().iter().map(|&x| x != 0).collect(),
            Storage::Bool(a) => a.view().iter().copied().collect(),
        }
    }

    /// The data as an `f32` ndarray whose axes are the positional axes followed by the named
    /// axes in the order given; `names` must list every named axis exactly once.
    pub fn to_ndarray_f32(&self, names: &[&str]) -> Result<ArrayD<f32>, AxisError> {
        let ordered = self.order_as(names).map_err(|e| match e {
            AxisError::Unlisted { missing, shape, .. } => AxisError::Unlisted {
                op: "to_ndarray_f32",
                missing,
                shape,
            },
            other => other,
        })?;
        Ok(ordered.data.to_f32().to_owned_array())
    }

    /// The value of an array without axes, as `f32`.
    pub fn scalar_f32(&self) -> Result<f32, AxisError> {
        if self.data.ndim() != 0 {
            return Err(AxisError::NotScalar {
                shape: self.full_shape(),
            });
        }
        Ok(self.to_f32_vec().first().copied().unwrap_or(0.0))
    }

    /// Applies `f` to every element in place. If the data is shared with a clone or borrowed
    /// from a mapped file, it is copied first (copy-on-write), so the clone and the file keep
    /// their values.
    pub fn map_f32_inplace(&mut self, f: impl FnMut(f32) -> f32) -> Result<(), AxisError> {
        match &mut self.data {
            Storage::F32(a) => {
                a.view_mut().mapv_inplace(f);
                // The new values come from a closure: a gradient through them is an error
                // naming the op, never a silent zero.
                super::tape::retrace_opaque("map_f32_inplace", self);
                Ok(())
            }
            other => Err(AxisError::DType {
                op: "map_f32_inplace",
                got: vec![other.dtype()],
                expected: "f32",
            }),
        }
    }
}

/// Equal when dtype, positional shape, named axes (with sizes) and elements are equal,
/// whatever the order of the named axes. NaN equals NaN, so an array equals its copy.
impl PartialEq for NamedArray {
    fn eq(&self, other: &NamedArray) -> bool {
        if self.dtype() != other.dtype()
            || self.positional_shape() != other.positional_shape()
            || self.named_shape() != other.named_shape()
        {
            return false;
        }
        let n_pos = self.n_pos();
        let mut perm: Vec<usize> = (0..n_pos).collect();
        for name in &self.names {
            match other.named_axis(name) {
                Some(i) => perm.push(i),
                None => return false,
            }
        }
        views_equal(&self.data, &other.data, &perm)
    }
}

/// How many elements `Debug` and `Display` show before eliding the rest.
const SHOWN_ELEMENTS: usize = 6;

impl fmt::Display for NamedArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamedArray({}{} [", self.dtype(), self.full_shape())?;
        with_storage!(&self.data, a => {
            for (i, x) in a.view().iter().take(SHOWN_ELEMENTS).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{x:?}")?;
            }
        });
        if self.len() > SHOWN_ELEMENTS {
            write!(f, ", ... {} more", self.len() - SHOWN_ELEMENTS)?;
        }
        f.write_str("])")
    }
}

/// Short, like `Display`: the shape and the first few values, never the whole buffer.
impl fmt::Debug for NamedArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ab() -> NamedArray {
        NamedArray::from_f32(&[("a", 2), ("b", 3)], vec![0., 1., 2., 3., 4., 5.]).unwrap()
    }

    #[test]
    fn introspection_reports_names_and_sizes() {
        let x = ab();
        assert_eq!(x.dtype(), DType::F32);
        assert_eq!(x.named_shape().to_string(), "{a: 2, b: 3}");
        assert_eq!(x.positional_shape(), Vec::<usize>::new());
        assert_eq!(x.axis_size("b"), Some(3));
        assert_eq!(x.axis_size("c"), None);
        assert!(x.has_axis("a") && !x.has_axis("c"));
        assert_eq!(x.len(), 6);
    }

    #[test]
    fn cloning_shares_the_buffer() {
        let x = ab();
        let y = x.clone();
        let (Storage::F32(a), Storage::F32(b)) = (x.storage(), y.storage()) else {
            panic!()
        };
        assert_eq!(a.as_ptr(), b.as_ptr());
    }

    #[test]
    fn an_edit_to_one_clone_never_shows_in_another() {
        let x = ab();
        let mut y = x.clone();
        y.map_f32_inplace(|v| v * 10.0).unwrap();
        assert_eq!(x.to_f32_vec(), [0., 1., 2., 3., 4., 5.]);
        assert_eq!(y.to_f32_vec(), [0., 10., 20., 30., 40., 50.]);
    }

    #[test]
    fn equality_ignores_named_axis_order() {
        let x = ab();
        let t = x.order_as(&["b", "a"]).unwrap();
        assert_eq!(
            t.named_shape()
                .names()
                .map(|n| n.as_str())
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(t.to_f32_vec(), [0., 3., 1., 4., 2., 5.]);
        assert_eq!(t, x);
    }

    #[test]
    fn equality_compares_values_dtype_and_shape() {
        let x = ab();
        assert_ne!(x, (&x + 1.0).unwrap());
        assert_ne!(x, x.cast(DType::I64).unwrap());
        assert_ne!(x, x.rename("a", "c").unwrap());
        let nan = NamedArray::full(&[("a", 2)], f32::NAN).unwrap();
        assert_eq!(nan, nan.clone());
    }

    #[test]
    fn flattening_follows_logical_order_and_converts() {
        let m = NamedArray::from_bool(&[("a", 3)], vec![true, false, true]).unwrap();
        assert_eq!(m.to_f32_vec(), [1.0, 0.0, 1.0]);
        assert_eq!(m.to_i64_vec(), [1, 0, 1]);
        let f = NamedArray::from_f32(&[("a", 3)], vec![-1.5, 0.0, 2.7]).unwrap();
        assert_eq!(f.to_i64_vec(), [-1, 0, 2]);
        assert_eq!(f.to_bool_vec(), [true, false, true]);
    }

    #[test]
    fn to_ndarray_uses_the_requested_order() {
        let nd = ab().to_ndarray_f32(&["b", "a"]).unwrap();
        assert_eq!(nd.shape(), [3, 2]);
        assert_eq!(nd[[2, 1]], 5.0);
        let err = ab().to_ndarray_f32(&["b"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "to_ndarray_f32 needs every named axis of {a: 2, b: 3}; missing [\"a\"]"
        );
    }

    #[test]
    fn scalar_f32_needs_a_scalar() {
        assert_eq!(NamedArray::scalar(2.5).scalar_f32().unwrap(), 2.5);
        assert_eq!(
            ab().scalar_f32().unwrap_err().to_string(),
            "expected a scalar (no axes), got {a: 2, b: 3}"
        );
    }

    #[test]
    fn debug_is_short() {
        let big = NamedArray::zeros(&[("batch", 100), ("seq", 1000)]).unwrap();
        let text = format!("{big:?}");
        assert_eq!(
            text,
            "NamedArray(f32{batch: 100, seq: 1000} [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ... 99994 more])"
        );
        assert_eq!(
            format!("{}", NamedArray::scalar(1.0)),
            "NamedArray(f32{} [1.0])"
        );
    }

    #[test]
    fn is_send_sync_static() {
        fn check<T: Send + Sync + Clone + fmt::Debug + PartialEq + 'static>() {}
        check::<NamedArray>();
    }
}
