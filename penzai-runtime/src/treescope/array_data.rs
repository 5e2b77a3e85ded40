//! The one place that reads a [`NamedArray`]: everything else in Treescope sees an
//! [`ArrayData`], so a change in the array API is a change to this file only.

use std::borrow::Cow;
use std::fmt;

use half::{bf16, f16};

use crate::nx::{ArrayElement, NamedArray, SharedArray, Storage};

/// The element kind of an array, as far as drawing it is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// Floating point: drawn with a continuous colormap.
    Float,
    /// Integers: drawn categorically.
    Int,
    /// Booleans: drawn categorically.
    Bool,
}

/// The values of an array, flattened row-major (positional axes first, then named axes
/// in order), borrowed when the array allows it.
#[derive(Clone, Debug)]
pub enum Values<'a> {
    /// 32-bit floats.
    F32(Cow<'a, [f32]>),
    /// IEEE half-precision floats, read in place (a mapped checkpoint's bytes) and widened
    /// only where a value is used: a block at a time for statistics, the kept cells of a
    /// figure.
    F16(Cow<'a, [f16]>),
    /// bfloat16 floats, read in place like [`Values::F16`].
    BF16(Cow<'a, [bf16]>),
    /// 64-bit integers.
    I64(Cow<'a, [i64]>),
    /// Booleans.
    Bool(Cow<'a, [bool]>),
}

impl Values<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F16(v) => v.len(),
            Values::BF16(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element kind.
    pub fn kind(&self) -> ValueKind {
        match self {
            Values::F32(_) | Values::F16(_) | Values::BF16(_) => ValueKind::Float,
            Values::I64(_) => ValueKind::Int,
            Values::Bool(_) => ValueKind::Bool,
        }
    }

    /// Element `i` as `f64` (booleans as 0/1), for differences and tooltips.
    pub(crate) fn get_f64(&self, i: usize) -> f64 {
        match self {
            Values::F32(v) => v[i] as f64,
            Values::F16(v) => f64::from(v[i]),
            Values::BF16(v) => f64::from(v[i]),
            Values::I64(v) => v[i] as f64,
            Values::Bool(v) => v[i] as u8 as f64,
        }
    }
}

/// One axis: its name (`None` for a positional axis) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The axis name, or `None` for a positional axis.
    pub name: Option<String>,
    /// Number of entries along the axis.
    pub size: usize,
}

impl Axis {
    /// The label shown to users: the name, or `axis i` for positional axis `i`.
    pub fn label(&self, position: usize) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("axis {position}"),
        }
    }
}

/// Why an [`ArrayData`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("array data has {given} values but its shape {shape} holds {expected}")]
pub struct ShapeMismatch {
    /// The shape, as text.
    pub shape: String,
    /// Number of values the shape holds.
    pub expected: usize,
    /// Number of values given.
    pub given: usize,
}

/// An array as Treescope sees it: dtype name, axes and row-major values.
///
/// Built from a [`NamedArray`] with [`ArrayData::from_named`], or directly from values
/// (useful for data that is not a `NamedArray`, such as the difference of two arrays).
#[derive(Clone, Debug)]
pub struct ArrayData<'a> {
    dtype: String,
    axes: Vec<Axis>,
    values: Values<'a>,
}

impl<'a> ArrayData<'a> {
    /// Array data from named axes and row-major values; fails when the sizes disagree.
    pub fn new(
        dtype: impl Into<String>,
        axes: Vec<Axis>,
        values: Values<'a>,
    ) -> Result<ArrayData<'a>, ShapeMismatch> {
        let expected = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.size))
            .unwrap_or(usize::MAX);
        let data = ArrayData {
            dtype: dtype.into(),
            axes,
            values,
        };
        if expected != data.values.len() {
            return Err(ShapeMismatch {
                shape: data.shape_text(),
                expected,
                given: data.values.len(),
            });
        }
        Ok(data)
    }

    /// `f32` data with named axes, e.g. `&[("batch", 2), ("seq", 3)]`.
    pub fn from_f32(
        axes: &[(&str, usize)],
        values: Vec<f32>,
    ) -> Result<ArrayData<'static>, ShapeMismatch> {
        ArrayData::new("f32", named_axes(axes), Values::F32(Cow::Owned(values)))
    }

    /// `i64` data with named axes.
    pub fn from_i64(
        axes: &[(&str, usize)],
        values: Vec<i64>,
    ) -> Result<ArrayData<'static>, ShapeMismatch> {
        ArrayData::new("i64", named_axes(axes), Values::I64(Cow::Owned(values)))
    }

    /// Boolean data with named axes.
    pub fn from_bool(
        axes: &[(&str, usize)],
        values: Vec<bool>,
    ) -> Result<ArrayData<'static>, ShapeMismatch> {
        ArrayData::new("bool", named_axes(axes), Values::Bool(Cow::Owned(values)))
    }

    /// The view of a [`NamedArray`]: borrowed when its memory is already row-major in
    /// logical axis order, copied otherwise.
    pub fn from_named(array: &'a NamedArray) -> ArrayData<'a> {
        let mut axes: Vec<Axis> = array
            .positional_shape()
            .into_iter()
            .map(|size| Axis { name: None, size })
            .collect();
        axes.extend(array.named_shape().iter().map(|(name, size)| Axis {
            name: Some(name.as_str().to_owned()),
            size,
        }));
        let values = match array.storage() {
            Storage::F32(a) => Values::F32(
                a.as_slice()
                    .map_or_else(|| Cow::Owned(array.to_f32_vec()), Cow::Borrowed),
            ),
            Storage::F16(a) => Values::F16(in_order(a)),
            Storage::BF16(a) => Values::BF16(in_order(a)),
            Storage::I64(a) => Values::I64(
                a.as_slice()
                    .map_or_else(|| Cow::Owned(array.to_i64_vec()), Cow::Borrowed),
            ),
            Storage::Bool(a) => Values::Bool(
                a.as_slice()
                    .map_or_else(|| Cow::Owned(array.to_bool_vec()), Cow::Borrowed),
            ),
        };
        ArrayData {
            dtype: array.dtype().name().to_owned(),
            axes,
            values,
        }
    }

    /// The dtype name (`f32`, `i64`, `bool`).
    pub fn dtype(&self) -> &str {
        &self.dtype
    }

    /// The axes, positional first, in storage order.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// The row-major values.
    pub fn values(&self) -> &Values<'a> {
        &self.values
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The shape as text: `[3, 4]` for positional axes, `{batch: 2, seq: 8}` for named
    /// ones, both for a mix (`[3]{batch: 2}`).
    pub fn shape_text(&self) -> String {
        ShapeText(&self.axes).to_string()
    }
}

/// The elements in logical order: borrowed when the memory already is, else copied.
fn in_order<T: ArrayElement>(a: &SharedArray<T>) -> Cow<'_, [T]> {
    a.as_slice().map_or_else(
        || Cow::Owned(a.view().iter().copied().collect()),
        Cow::Borrowed,
    )
}

fn named_axes(axes: &[(&str, usize)]) -> Vec<Axis> {
    axes.iter()
        .map(|&(name, size)| Axis {
            name: Some(name.to_owned()),
            size,
        })
        .collect()
}

/// Displays a list of axes as `[3, 4]{batch: 2}`.
pub(crate) struct ShapeText<'a>(pub &'a [Axis]);

impl fmt::Display for ShapeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let positional: Vec<usize> = self
            .0
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| a.size)
            .collect();
        let named: Vec<(&str, usize)> = self
            .0
            .iter()
            .filter_map(|a| a.name.as_deref().map(|n| (n, a.size)))
            .collect();
        if !positional.is_empty() || named.is_empty() {
            f.write_str("[")?;
            for (i, s) in positional.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{s}")?;
            }
            f.write_str("]")?;
        }
        if !named.is_empty() {
            f.write_str("{")?;
            for (i, (n, s)) in named.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{n}: {s}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_text_shows_positional_then_named_axes() {
        let a = ArrayData::from_f32(&[("batch", 2), ("seq", 3)], vec![0.0; 6]).unwrap();
        assert_eq!(a.shape_text(), "{batch: 2, seq: 3}");
        let axes = vec![
            Axis {
                name: None,
                size: 4,
            },
            Axis {
                name: Some("b".into()),
                size: 2,
            },
        ];
        let b = ArrayData::new("f32", axes, Values::F32(vec![0.0; 8].into())).unwrap();
        assert_eq!(b.shape_text(), "[4]{b: 2}");
    }

    #[test]
    fn mismatched_sizes_are_an_error_not_a_panic() {
        let e = ArrayData::from_f32(&[("batch", 2)], vec![0.0; 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "array data has 3 values but its shape {batch: 2} holds 2"
        );
    }
}
