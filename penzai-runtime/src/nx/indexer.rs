//! Dict indexing: `x[{"batch": 0, "seq": pz.slice[2:5], "new": None}]` as an [`Indexer`],
//! built with the [`idx!`](crate::idx) macro or method by method.

use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use ndarray::{Axis, Slice as NdSlice};

use super::array::NamedArray;
use super::axis::AxisName;
use super::dtype::map_storage;
use super::error::AxisError;
use super::index::OutOfRange;

/// A Python-style slice of one axis: `start`, `stop` (either may be absent, negative ones
/// count from the end, out-of-range ones are clipped) and a nonzero `step`, which may be
/// negative to walk backwards (`Slice::new(None, None, -1)` is `pz.slice[::-1]`).
///
/// Rust ranges convert to slices with step 1 (`2..5`, `..3`, `1..`, `..`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// First index (default: the start, or the end for a negative step).
    pub start: Option<i64>,
    /// One past the last index (default: the end, or before the start for a negative step).
    pub stop: Option<i64>,
    /// Stride; negative walks backwards. Zero is an error when the slice is used.
    pub step: i64,
}

impl Slice {
    /// A slice with Python's `start:stop:step` meaning.
    pub fn new(start: Option<i64>, stop: Option<i64>, step: i64) -> Slice {
        Slice { start, stop, step }
    }

    /// The whole axis, backwards (`[::-1]`).
    pub fn reversed() -> Slice {
        Slice::new(None, None, -1)
    }

    /// The indices this slice selects on an axis of `size`, as ndarray's slice (whose
    /// negative steps walk its range from the end, which Python's bounds become exactly).
    fn resolve(self, axis: &str, size: usize) -> Result<NdSlice, AxisError> {
        if self.step == 0 {
            return Err(AxisError::SliceStep { axis: axis.into() });
        }
        let n = i64::try_from(size).unwrap_or(i64::MAX);
        let clip = |i: i64, lo: i64, hi: i64| {
            let i = if i < 0 { i.saturating_add(n) } else { i };
            i.clamp(lo, hi)
        };
        let (first, past) = if self.step > 0 {
            let start = self.start.map_or(0, |s| clip(s, 0, n));
            let stop = self.stop.map_or(n, |s| clip(s, 0, n));
            (start, stop.max(start))
        } else {
            // Walking down from `start` (inclusive) to `stop` (exclusive).
            let start = self.start.map_or(n - 1, |s| clip(s, -1, n - 1));
            let stop = self.stop.map_or(-1, |s| clip(s, -1, n - 1));
            (stop.min(start) + 1, start + 1)
        };
        // Bounds are within 0..=size, so they fit in isize.
        Ok(NdSlice::new(
            first as isize,
            Some(past as isize),
            self.step as isize,
        ))
    }
}

/// What one named axis is indexed with; see [`Indexer`].
#[derive(Clone, Debug, PartialEq)]
pub enum AxisIndex {
    /// One position (negative counts from the end): the axis is removed.
    At(i64),
    /// A slice: the axis stays, shorter (or reversed).
    Slice(Slice),
    /// A new axis of size 1 (Penzai's `None`): the name must not exist yet.
    NewAxis,
    /// An `i64` array of positions (JAX rules: negatives from the end, out of range
    /// clamped). Its named axes are matched with the array's by name (nmap rules) or added;
    /// its positional axes become positional axes of the result, in front.
    Array(NamedArray),
}

/// The marker for a new axis in [`idx!`](crate::idx): `"new" => NewAxis`, Penzai's
/// `{"new": None}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewAxis;

/// Anything that indexes one axis: integers, Rust ranges, [`Slice`], [`NewAxis`], an
/// `i64` [`NamedArray`], or an [`AxisIndex`].
pub trait IntoAxisIndex {
    /// The index.
    fn into_axis_index(self) -> AxisIndex;
}

impl IntoAxisIndex for AxisIndex {
    fn into_axis_index(self) -> AxisIndex {
        self
    }
}

impl IntoAxisIndex for Slice {
    fn into_axis_index(self) -> AxisIndex {
        AxisIndex::Slice(self)
    }
}

impl IntoAxisIndex for NewAxis {
    fn into_axis_index(self) -> AxisIndex {
        AxisIndex::NewAxis
    }
}

impl IntoAxisIndex for NamedArray {
    fn into_axis_index(self) -> AxisIndex {
        AxisIndex::Array(self)
    }
}

impl IntoAxisIndex for &NamedArray {
    fn into_axis_index(self) -> AxisIndex {
        AxisIndex::Array(self.clone())
    }
}

impl IntoAxisIndex for RangeFull {
    fn into_axis_index(self) -> AxisIndex {
        AxisIndex::Slice(Slice::new(None, None, 1))
    }
}

macro_rules! integer_indices {
    ($($t:ty),*) => {$(
        impl IntoAxisIndex for $t {
            fn into_axis_index(self) -> AxisIndex {
                AxisIndex::At(i64::try_from(self).unwrap_or(i64::MAX))
            }
        }
        impl IntoAxisIndex for Range<$t> {
            fn into_axis_index(self) -> AxisIndex {
                AxisIndex::Slice(Slice::new(Some(wide(self.start)), Some(wide(self.end)), 1))
            }
        }
        impl IntoAxisIndex for RangeFrom<$t> {
            fn into_axis_index(self) -> AxisIndex {
                AxisIndex::Slice(Slice::new(Some(wide(self.start)), None, 1))
            }
        }
        impl IntoAxisIndex for RangeTo<$t> {
            fn into_axis_index(self) -> AxisIndex {
                AxisIndex::Slice(Slice::new(None, Some(wide(self.end)), 1))
            }
        }
        impl IntoAxisIndex for RangeInclusive<$t> {
            fn into_axis_index(self) -> AxisIndex {
                let end = wide(*self.end());
                // `..=-1` reaches the end; any other inclusive end is one more exclusive.
                let stop = if end == -1 { None } else { Some(end.saturating_add(1)) };
                AxisIndex::Slice(Slice::new(Some(wide(*self.start())), stop, 1))
            }
        }
        impl IntoAxisIndex for RangeToInclusive<$t> {
            fn into_axis_index(self) -> AxisIndex {
                let end = wide(self.end);
                let stop = if end == -1 { None } else { Some(end.saturating_add(1)) };
                AxisIndex::Slice(Slice::new(None, stop, 1))
            }
        }
    )*};
}
integer_indices!(i32, i64, isize, usize);

/// An integer as `i64`, saturating (indices beyond `i64` are out of range anyway).
fn wide<T: TryInto<i64>>(i: T) -> i64 {
    i.try_into().unwrap_or(i64::MAX)
}

/// A dict index: what to do with each named axis, Penzai's
/// `x[{"batch": 0, "seq": pz.slice[2:5], "new": None}]`.
///
/// Axes not listed are kept whole. Integer positions remove their axis, slices keep it,
/// [`NewAxis`] adds one of size 1, and `i64` arrays gather (see [`AxisIndex::Array`]).
/// Use it with [`NamedArray::index`] to read and [`NamedArray::at`] to update.
///
/// ```
/// use penzai::idx;
/// use penzai::nx::{NamedArray, NewAxis, Slice};
///
/// let x = NamedArray::arange("seq", 6)?.broadcast_to(&[("batch", 2)])?;
/// let y = x.index(&idx! { "batch" => 1, "seq" => 2..5, "new" => NewAxis })?;
/// assert_eq!(y.named_shape().to_string(), "{seq: 3, new: 1}");
/// assert_eq!(y.to_i64_vec(), [2, 3, 4]);
///
/// let backwards = x.index(&idx! { "batch" => -1, "seq" => Slice::new(None, None, -2) })?;
/// assert_eq!(backwards.to_i64_vec(), [5, 3, 1]);
/// # Ok::<(), penzai::nx::AxisError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Indexer {
    entries: Vec<(AxisName, AxisIndex)>,
}

impl Indexer {
    /// An indexer that keeps every axis whole.
    pub fn new() -> Indexer {
        Indexer::default()
    }

    /// Indexes the axis `name` with `index` (a later entry for the same name replaces an
    /// earlier one, as in a dict).
    pub fn with(mut self, name: &str, index: impl IntoAxisIndex) -> Indexer {
        let index = index.into_axis_index();
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = index,
            None => self.entries.push((name.into(), index)),
        }
        self
    }

    /// The entries, in the order given.
    pub fn entries(&self) -> &[(AxisName, AxisIndex)] {
        &self.entries
    }
}

/// Builds an [`Indexer`] from `"axis" => index` pairs, like Penzai's dict index:
/// `idx! { "batch" => 0, "seq" => 2..5, "new" => NewAxis, "vocab" => &ids }`.
#[macro_export]
macro_rules! idx {
    () => { $crate::nx::Indexer::new() };
    ($($name:expr => $index:expr),+ $(,)?) => {
        $crate::nx::Indexer::new()$(.with($name, $index))+
    };
}

/// Temporary names for the positional axes of an index array (never a user name: user
/// names cannot start with a NUL byte).
fn positional_name(i: usize) -> String {
    format!("\u{0}pos{i}")
}

impl NamedArray {
    /// Reads the part of the array `indexer` names; see [`Indexer`] for the rules. Names
    /// that are missing (or, for [`NewAxis`], already present) are errors naming the axis
    /// and the shape; an integer out of range is an error, while array indices follow JAX
    /// (negatives from the end, out of range clamped).
    ///
    /// Differences from Penzai, on purpose: a fixed integer out of range is an error here
    /// (JAX clamps it; in Rust code it is a mistake worth reporting), and a new axis is
    /// written [`NewAxis`] rather than `None` (a Rust `None` has no type to dispatch on).
    ///
    /// The result's positional axes are the index arrays' positional axes (broadcast
    /// together, right-aligned), then this array's.
    pub fn index(&self, indexer: &Indexer) -> Result<NamedArray, AxisError> {
        self.index_with(indexer, OutOfRange::Clamp)
    }

    /// `index` with a choice of what array indices out of range do (updates drop them).
    pub(crate) fn index_with(
        &self,
        indexer: &Indexer,
        mode: OutOfRange,
    ) -> Result<NamedArray, AxisError> {
        const OP: &str = "index";
        for (name, index) in &indexer.entries {
            match index {
                AxisIndex::NewAxis => {
                    if self.has_axis(name) {
                        return Err(AxisError::AxisExists {
                            op: OP,
                            axis: name.clone(),
                            shape: self.full_shape(),
                        });
                    }
                }
                _ => {
                    self.require_axis(OP, name)?;
                }
            }
        }
        let mut out = self.clone();
        // Slices and single positions first: they only change strides.
        for (name, index) in &indexer.entries {
            match index {
                AxisIndex::Slice(slice) => {
                    let ax = out.require_axis(OP, name)?;
                    let nd = slice.resolve(name, out.data.shape()[ax])?;
                    let data = map_storage!(&out.data, a => a.slice_axis(Axis(ax), nd));
                    let sliced = Ok(NamedArray::from_parts(data, out.names.clone()));
                    let rule = super::tape::region(OP, &out, name, nd, false);
                    out = super::tape::record(OP, &[&out], sliced, rule)?;
                }
                AxisIndex::At(i) => {
                    let ax = out.require_axis(OP, name)?;
                    let size = out.data.shape()[ax];
                    let n = i64::try_from(size).unwrap_or(i64::MAX);
                    let j = if *i < 0 { i.saturating_add(n) } else { *i };
                    if !(0..n).contains(&j) {
                        return Err(AxisError::IndexOutOfRange {
                            op: OP,
                            axis: name.clone(),
                            index: *i,
                            size,
                        });
                    }
                    // In range, so it fits in usize.
                    out = out.index_axis(name, j as usize)?;
                }
                AxisIndex::NewAxis | AxisIndex::Array(_) => {}
            }
        }
        // Gathers: positional axes of index arrays get temporary names, right-aligned so
        // that they broadcast together, and become positional again at the end.
        let max_pos = indexer
            .entries
            .iter()
            .filter_map(|(_, i)| match i {
                AxisIndex::Array(a) => Some(a.n_pos()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let temp: Vec<String> = (0..max_pos).map(positional_name).collect();
        for (name, index) in &indexer.entries {
            if let AxisIndex::Array(ids) = index {
                let k = ids.n_pos();
                let names: Vec<&str> = temp[max_pos - k..].iter().map(String::as_str).collect();
                let named_ids = ids.tag_prefix(&names)?;
                out = out.take_recorded(OP, name, &named_ids, mode)?;
            }
        }
        for (name, index) in &indexer.entries {
            if let AxisIndex::NewAxis = index {
                out = out.insert_axis(name)?;
            }
        }
        if max_pos > 0 {
            // Only the temporary names that some index array had.
            let present: Vec<&str> = temp
                .iter()
                .map(String::as_str)
                .filter(|n| out.has_axis(n))
                .collect();
            out = out.untag_prefix(&present)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> NamedArray {
        // {a: 2, b: 5}, element (a, b) = 10 a + b.
        let data = (0..2)
            .flat_map(|a| (0..5).map(move |b| 10 * a + b))
            .collect();
        NamedArray::from_i64(&[("a", 2), ("b", 5)], data).unwrap()
    }

    #[test]
    fn integers_remove_axes_and_count_from_the_end() {
        let x = grid();
        assert_eq!(
            x.index(&idx! { "a" => 1 }).unwrap().to_i64_vec(),
            [10, 11, 12, 13, 14]
        );
        let last = x.index(&idx! { "a" => -1, "b" => -2 }).unwrap();
        assert_eq!((last.axis_names().len(), last.to_i64_vec()), (0, vec![13]));
        assert_eq!(
            x.index(&idx! { "b" => 5 }).unwrap_err().to_string(),
            "index: index 5 is out of range for axis \"b\" of size 5"
        );
    }

    #[test]
    fn slices_follow_python_including_negative_steps() {
        let x = NamedArray::arange("s", 6).unwrap();
        let at = |s: Slice| x.index(&Indexer::new().with("s", s)).unwrap().to_i64_vec();
        assert_eq!(at(Slice::reversed()), [5, 4, 3, 2, 1, 0]);
        assert_eq!(at(Slice::new(Some(4), Some(1), -1)), [4, 3, 2]);
        assert_eq!(at(Slice::new(Some(-2), None, 1)), [4, 5]);
        assert_eq!(at(Slice::new(None, Some(-4), -1)), [5, 4, 3]);
        assert_eq!(at(Slice::new(Some(1), Some(100), 2)), [1, 3, 5]);
        assert_eq!(at(Slice::new(Some(3), Some(1), 1)), Vec::<i64>::new());
        assert_eq!(at(Slice::new(Some(100), None, -2)), [5, 3, 1]);
        let ranges = |i: Indexer| x.index(&i).unwrap().to_i64_vec();
        assert_eq!(ranges(idx! { "s" => 1..3 }), [1, 2]);
        assert_eq!(ranges(idx! { "s" => ..2 }), [0, 1]);
        assert_eq!(ranges(idx! { "s" => 4.. }), [4, 5]);
        assert_eq!(ranges(idx! { "s" => 1..=2 }), [1, 2]);
        assert_eq!(ranges(idx! { "s" => -2..=-1 }), [4, 5]);
        assert_eq!(ranges(idx! { "s" => .. }), [0, 1, 2, 3, 4, 5]);
        assert_eq!(
            x.index(&idx! { "s" => Slice::new(None, None, 0) })
                .unwrap_err()
                .to_string(),
            "index: the slice of axis \"s\" has step 0"
        );
    }

    #[test]
    fn new_axes_must_be_new_and_others_must_exist() {
        let x = grid();
        let y = x.index(&idx! { "n" => NewAxis, "a" => 0 }).unwrap();
        assert_eq!(y.named_shape().to_string(), "{b: 5, n: 1}");
        assert_eq!(
            x.index(&idx! { "a" => NewAxis }).unwrap_err().to_string(),
            "index: axis \"a\" already exists in {a: 2, b: 5}"
        );
        assert_eq!(
            x.index(&idx! { "z" => 0 }).unwrap_err().to_string(),
            "index: no axis \"z\" in {a: 2, b: 5}"
        );
    }

    #[test]
    fn named_index_arrays_match_shared_names_and_add_new_ones() {
        let x = grid();
        // One index per `a`: element (a, ids[a]).
        let per_row = NamedArray::from_i64(&[("a", 2)], vec![4, 1]).unwrap();
        assert_eq!(
            x.index(&idx! { "b" => &per_row }).unwrap().to_i64_vec(),
            [4, 11]
        );
        // A new axis `k`, clamped and counted from the end like JAX.
        let ks = NamedArray::from_i64(&[("k", 3)], vec![-1, 9, 0]).unwrap();
        let got = x.index(&idx! { "b" => &ks }).unwrap();
        assert_eq!(got.named_shape().to_string(), "{a: 2, k: 3}");
        assert_eq!(got.to_i64_vec(), [4, 4, 0, 14, 14, 10]);
    }

    #[test]
    fn positional_index_arrays_add_positional_axes_in_front() {
        let x = grid();
        let ids = NamedArray::wrap_i64(ndarray::arr1(&[3, 0]).into_dyn());
        let got = x.index(&idx! { "b" => &ids }).unwrap();
        assert_eq!(got.positional_shape(), [2]);
        assert_eq!(got.named_shape().to_string(), "{a: 2}");
        assert_eq!(got.to_i64_vec(), [3, 13, 0, 10]);
        // Two positional index arrays iterate together (numpy advanced indexing).
        let rows = NamedArray::wrap_i64(ndarray::arr1(&[1, 0]).into_dyn());
        let got = x.index(&idx! { "a" => &rows, "b" => &ids }).unwrap();
        assert_eq!(
            (got.positional_shape(), got.to_i64_vec()),
            (vec![2], vec![13, 0])
        );
    }

    #[test]
    fn float_index_arrays_are_refused() {
        let x = grid();
        let f = NamedArray::from_f32(&[("k", 1)], vec![0.0]).unwrap();
        assert!(matches!(
            x.index(&idx! { "b" => f }).unwrap_err(),
            AxisError::DType { op: "index", .. }
        ));
    }
}
