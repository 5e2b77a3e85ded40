//! The one place that reads a [`NamedArray`]: everything else in Treescope sees an
//! [`ArrayData`], so a change in the array API is a change to this file only.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

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

/// An array as Treescope sees it: dtype name, axes and values.
///
/// Built from a [`NamedArray`] with [`ArrayData::from_named`], or directly from values
/// (useful for data that is not a `NamedArray`, such as the difference of two arrays).
///
/// The values are held as the array stores them: an array whose memory is dense but not
/// row-major in logical order (a weight loaded transposed, say) is borrowed as it lies, with
/// its strides, so statistics read it in storage order and a preview gathers only the cells
/// it shows. The row-major copy [`values`](ArrayData::values) returns is made on first use.
#[derive(Clone, Debug)]
pub struct ArrayData<'a> {
    dtype: String,
    axes: Vec<Axis>,
    /// Every element exactly once, in memory order.
    stored: Values<'a>,
    /// Where each logical element lies in `stored`; `None` when `stored` is row-major.
    strided: Option<Strided>,
    /// The row-major copy of a strided array, made when first asked for.
    row_major: OnceLock<Values<'a>>,
}

/// The position of element `(i_0, i_1, ...)` is `offset + sum(i_d * strides[d])`.
#[derive(Clone, Debug)]
struct Strided {
    offset: usize,
    strides: Vec<isize>,
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
            stored: values,
            strided: None,
            row_major: OnceLock::new(),
        };
        if expected != data.stored.len() {
            return Err(ShapeMismatch {
                shape: data.shape_text(),
                expected,
                given: data.stored.len(),
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

    /// The view of a [`NamedArray`]: borrowed when its memory is dense (row-major in
    /// logical order or not), copied only when it has gaps (a strided slice).
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
        let (stored, strided) = match array.storage() {
            Storage::F32(a) => as_stored(a, Values::F32),
            Storage::F16(a) => as_stored(a, Values::F16),
            Storage::BF16(a) => as_stored(a, Values::BF16),
            Storage::I64(a) => as_stored(a, Values::I64),
            Storage::Bool(a) => as_stored(a, Values::Bool),
        };
        ArrayData {
            dtype: array.dtype().name().to_owned(),
            axes,
            stored,
            strided,
            row_major: OnceLock::new(),
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

    /// The row-major values (copied from the stored order on first use when the array's
    /// memory is not row-major; see [`stored_values`](ArrayData::stored_values)).
    pub fn values(&self) -> &Values<'a> {
        if self.strided.is_none() {
            return &self.stored;
        }
        self.row_major.get_or_init(|| {
            let every: Vec<Vec<usize>> = self.axes.iter().map(|a| (0..a.size).collect()).collect();
            self.gather(&every)
        })
    }

    /// The element kind.
    pub fn values_kind(&self) -> ValueKind {
        self.stored.kind()
    }

    /// True when the stored order is row-major (so [`values`](ArrayData::values) borrows).
    pub fn is_row_major(&self) -> bool {
        self.strided.is_none()
    }

    /// True once the row-major copy of a strided array has been made.
    #[cfg(test)]
    pub(crate) fn row_major_copied(&self) -> bool {
        self.row_major.get().is_some()
    }

    /// Every value exactly once, in the order the array's memory holds them (row-major
    /// when the array is; transposed for a weight stored transposed). Statistics that do
    /// not depend on order read this, and never copy.
    pub fn stored_values(&self) -> &Values<'a> {
        &self.stored
    }

    /// The values at the kept indices of every axis (`kept[d]` lists indices of axis `d`),
    /// row-major over the kept entries, read through the strides: only those cells are
    /// touched. A zero-axis array gives its one value.
    pub(crate) fn gather(&self, kept: &[Vec<usize>]) -> Values<'static> {
        let sizes: Vec<usize> = self.axes.iter().map(|a| a.size).collect();
        let (offset, strides) = match &self.strided {
            Some(s) => (s.offset, s.strides.clone()),
            None => (0, row_major_strides(&sizes)),
        };
        match &self.stored {
            Values::F32(v) => Values::F32(Cow::Owned(gather_strided(v, offset, &strides, kept))),
            Values::F16(v) => Values::F16(Cow::Owned(gather_strided(v, offset, &strides, kept))),
            Values::BF16(v) => Values::BF16(Cow::Owned(gather_strided(v, offset, &strides, kept))),
            Values::I64(v) => Values::I64(Cow::Owned(gather_strided(v, offset, &strides, kept))),
            Values::Bool(v) => Values::Bool(Cow::Owned(gather_strided(v, offset, &strides, kept))),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.stored.len()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }

    /// The shape as text: `[3, 4]` for positional axes, `{batch: 2, seq: 8}` for named
    /// ones, both for a mix (`[3]{batch: 2}`).
    pub fn shape_text(&self) -> String {
        ShapeText(&self.axes).to_string()
    }
}

/// The elements of `a` as its memory holds them, with the strides that locate each logical
/// element when that is not row-major order; copied (in logical order) only when the
/// memory has gaps.
fn as_stored<'a, T: ArrayElement>(
    a: &'a SharedArray<T>,
    wrap: impl Fn(Cow<'a, [T]>) -> Values<'a>,
) -> (Values<'a>, Option<Strided>) {
    if let Some(row_major) = a.as_slice() {
        return (wrap(Cow::Borrowed(row_major)), None);
    }
    let view = a.view();
    match view.to_slice_memory_order() {
        Some(memory) => {
            // The memory-order slice starts at the lowest address; the logical first
            // element may lie further in (an axis with a negative stride).
            let offset = (view.as_ptr() as usize - memory.as_ptr() as usize)
                / std::mem::size_of::<T>().max(1);
            let strides = view.strides().to_vec();
            (
                wrap(Cow::Borrowed(memory)),
                Some(Strided { offset, strides }),
            )
        }
        None => {
            // Not dense (a slice of a fused weight, such as GPT-2's query out of `c_attn`):
            // copy row by row, each row one slice copy when the last axis is unit-stride,
            // instead of stepping an n-dimensional index per element.
            let mut values = Vec::with_capacity(view.len());
            for row in view.rows() {
                match row.as_slice() {
                    Some(row) => values.extend_from_slice(row),
                    None => values.extend(row.iter().copied()),
                }
            }
            (wrap(Cow::Owned(values)), None)
        }
    }
}

/// Element strides of a row-major array of these sizes.
fn row_major_strides(sizes: &[usize]) -> Vec<isize> {
    let mut strides = vec![1isize; sizes.len()];
    for d in (0..sizes.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * sizes[d + 1] as isize;
    }
    strides
}

/// The values at the kept indices of every axis, row-major over the kept entries: element
/// `(i_0, i_1, ...)` is `values[offset + sum(i_d * strides[d])]`.
pub(crate) fn gather_strided<T: Copy>(
    values: &[T],
    offset: usize,
    strides: &[isize],
    kept: &[Vec<usize>],
) -> Vec<T> {
    let n: usize = kept.iter().map(Vec::len).product();
    if n == 0 || kept.is_empty() {
        // A zero-axis array is its one value (an empty kept list keeps the first one,
        // as the page expects at least one cell when the array has any).
        return values.get(offset).map(|v| vec![*v]).unwrap_or_default();
    }
    let mut out = Vec::with_capacity(n);
    let last = kept.len() - 1;
    let at = |base: isize, d: usize, i: usize| base + i as isize * strides[d];
    let mut pos = vec![0usize; kept.len()];
    loop {
        let base = (0..last).fold(offset as isize, |b, d| at(b, d, kept[d][pos[d]]));
        out.extend(
            kept[last]
                .iter()
                .map(|&i| values[at(base, last, i) as usize]),
        );
        // Advance the odometer over the outer axes.
        let mut d = last;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < kept[d].len() {
                break;
            }
            pos[d] = 0;
        }
    }
}

/// The values at the kept indices of every axis of a row-major array of these sizes.
pub(crate) fn gather_row_major<T: Copy>(
    values: &[T],
    sizes: &[usize],
    kept: &[Vec<usize>],
) -> Vec<T> {
    gather_strided(values, 0, &row_major_strides(sizes), kept)
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

    /// A `{rows: 5, cols: 7}` array whose memory is column-major (only strides differ).
    fn transposed(dtype: crate::nx::DType) -> (NamedArray, NamedArray) {
        let values: Vec<f32> = (0..35).map(|i| ((i * 13) % 17) as f32 - 8.0).collect();
        let stored = NamedArray::from_f32(&[("cols", 7), ("rows", 5)], values)
            .unwrap()
            .cast(dtype)
            .unwrap();
        let logical = stored.order_as(&["rows", "cols"]).unwrap();
        let row_major = NamedArray::from_f32(&[("rows", 5), ("cols", 7)], logical.to_f32_vec())
            .unwrap()
            .cast(dtype)
            .unwrap();
        (logical, row_major)
    }

    #[test]
    fn a_transposed_array_is_borrowed_as_stored_and_read_through_its_strides() {
        use crate::nx::DType;
        use crate::treescope::ArrayStats;
        for dtype in [DType::F32, DType::BF16, DType::F16] {
            let (logical, row_major) = transposed(dtype);
            let (t, r) = (
                ArrayData::from_named(&logical),
                ArrayData::from_named(&row_major),
            );
            assert!(!t.is_row_major() && r.is_row_major(), "{dtype:?}");
            assert_eq!(t.axes(), r.axes());
            let borrowed = match t.stored_values() {
                Values::F32(v) => matches!(v, Cow::Borrowed(_)),
                Values::F16(v) => matches!(v, Cow::Borrowed(_)),
                Values::BF16(v) => matches!(v, Cow::Borrowed(_)),
                _ => false,
            };
            assert!(borrowed, "{dtype:?}: the stored values are not copied");
            // The row-major copy, made on demand, is the logical order.
            let as_f64 = |v: &Values<'_>| (0..v.len()).map(|i| v.get_f64(i)).collect::<Vec<_>>();
            assert_eq!(as_f64(t.values()), as_f64(r.values()), "{dtype:?}");
            // Gathering a few cells reads the same logical cells as the row-major array.
            let kept = vec![vec![0, 1, 4], vec![0, 5, 6]];
            assert_eq!(
                as_f64(&t.gather(&kept)),
                as_f64(&r.gather(&kept)),
                "{dtype:?}"
            );
            // Statistics do not depend on the order they are read in.
            let (st, sr) = (ArrayStats::of(&t), ArrayStats::of(&r));
            assert_eq!(
                (st.min, st.max, st.zeros, st.count),
                (sr.min, sr.max, sr.zeros, sr.count)
            );
            assert!((st.mean.unwrap() - sr.mean.unwrap()).abs() < 1e-12);
            assert!((st.std.unwrap() - sr.std.unwrap()).abs() < 1e-12);
        }
    }

    #[test]
    fn a_slice_that_is_not_dense_is_copied_in_logical_order() {
        // Columns 2..6 of a 5 x 7 array (rows unit-stride), and the same slice transposed
        // (rows strided): both copies equal the row-major values.
        let values: Vec<f32> = (0..35).map(|i| i as f32).collect();
        let x = NamedArray::from_f32(&[("rows", 5), ("cols", 7)], values).unwrap();
        for part in [
            x.slice_axis("cols", 2..6).unwrap(),
            x.slice_axis("cols", 2..6)
                .unwrap()
                .order_as(&["cols", "rows"])
                .unwrap(),
        ] {
            let data = ArrayData::from_named(&part);
            let got: Vec<f64> = (0..data.values().len())
                .map(|i| data.values().get_f64(i))
                .collect();
            let want: Vec<f64> = part.to_f32_vec().iter().map(|v| f64::from(*v)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn the_preview_of_a_transposed_array_equals_the_row_major_one() {
        use crate::treescope::ArrayFigure;
        let (logical, row_major) = transposed(crate::nx::DType::BF16);
        for cells in [8, 1 << 10] {
            let spec = |a: &NamedArray| {
                let spec = ArrayFigure::new(ArrayData::from_named(a))
                    .max_cells(cells)
                    .spec();
                serde_json::to_string(&spec).unwrap()
            };
            assert_eq!(spec(&logical), spec(&row_major), "max_cells {cells}");
        }
    }

    #[test]
    fn gathering_keeps_the_edges_through_any_strides() {
        // 3 x 4 stored column-major: element (i, j) at j * 3 + i, the slice starting at 1.
        let stored: Vec<i64> = (0..13).collect();
        let got = gather_strided(&stored, 1, &[1, 3], &[vec![0, 2], vec![1, 3]]);
        assert_eq!(got, vec![4, 10, 6, 12]);
        assert_eq!(
            gather_strided(&stored, 5, &[], &[]),
            vec![5],
            "a zero-axis array"
        );
        assert_eq!(row_major_strides(&[2, 3, 4]), vec![12, 4, 1]);
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
