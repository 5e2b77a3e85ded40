//! Indexing by name: gathers, single indices, slices, and joining or splitting along an axis.

use std::ops::{Bound, RangeBounds};

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice, s};

use super::array::NamedArray;
use super::axis::AxisName;
use super::construct::checked_len;
use super::dtype::{DType, Element, Storage, map_storage};
use super::error::AxisError;
use super::shape::{ArrayShape, IntoNamedShape, NamedShape};
use super::tape;

/// One axis of a gather's output, before it is put in its final place.
#[derive(PartialEq)]
enum Slot {
    Positional(usize),
    Named(AxisName),
}

/// What a gather does with an index outside `0..size`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OutOfRange {
    /// Refuse it (and negative indices): ids looked up from user data.
    Error,
    /// Count negatives from the end, then clamp into range (JAX's indexing).
    Clamp,
    /// Count negatives from the end; a gather of an index still out of range yields the
    /// element type's default (updates use it to drop such writes, as JAX does).
    Fill,
}

/// `idx` normalized for an axis of size `v` under `mode`: each entry is an index in
/// `0..v`, or -1 for a `Fill` entry out of range.
fn normalize_indices(
    op: &'static str,
    axis: &str,
    idx: ArrayViewD<'_, i64>,
    v: usize,
    mode: OutOfRange,
) -> Result<ArrayD<i64>, AxisError> {
    let size = i64::try_from(v).unwrap_or(i64::MAX);
    let bad = |index: i64| AxisError::IndexOutOfRange {
        op,
        axis: axis.into(),
        index,
        size: v,
    };
    let mut first_bad = None;
    let out = idx.mapv(|i| match mode {
        OutOfRange::Error if (0..size).contains(&i) => i,
        OutOfRange::Error => {
            first_bad.get_or_insert(i);
            0
        }
        OutOfRange::Clamp if size == 0 => {
            first_bad.get_or_insert(i);
            0
        }
        OutOfRange::Clamp => (if i < 0 { i.saturating_add(size) } else { i }).clamp(0, size - 1),
        OutOfRange::Fill => {
            let j = if i < 0 { i.saturating_add(size) } else { i };
            if (0..size).contains(&j) { j } else { -1 }
        }
    });
    match first_bad {
        Some(i) => Err(bad(i)),
        None => Ok(out),
    }
}

/// `out[i, j, :] = src[i, idx[i, j], :]` for `src: (s, v, r)` and `idx: (s, n)` views whose
/// indices were normalized into `0..v` (or -1, which yields `T::default()`).
fn gather<T: Copy + Default>(
    src: ArrayViewD<'_, T>,
    idx: ArrayViewD<'_, i64>,
    (s, v, r, n): (usize, usize, usize, usize),
) -> Vec<T> {
    // Both shapes multiply to the element counts of the views, by construction.
    let src = src.to_shape((s, v, r)).expect("same element count");
    let idx = idx.to_shape((s, n)).expect("same element count");
    let mut out = Vec::with_capacity(s * n * r);
    for (i, ids) in idx.outer_iter().enumerate() {
        for &id in ids {
            let Ok(id) = usize::try_from(id) else {
                out.extend(std::iter::repeat_n(T::default(), r));
                continue;
            };
            let row = src.slice(s![i, id, ..]);
            match row.as_slice() {
                Some(contiguous) => out.extend_from_slice(contiguous),
                None => out.extend(row.iter().copied()),
            }
        }
    }
    out
}

impl NamedArray {
    /// Gathers along the named axis `axis` with the `i64` array `indices`: the result has
    /// `axis` replaced by the named axes of `indices`. Axes that `indices` shares with `self`
    /// are matched element by element (nmap rules), not crossed.
    ///
    /// Indices follow JAX: a negative index counts from the end (`-1` is the last), and an
    /// index still out of range is clamped to the first or last element. Use
    /// [`take_checked`](NamedArray::take_checked) where an out-of-range index is a mistake
    /// to report (token ids, for one).
    ///
    /// The result's named axes are `self`'s other axes in order, then the indices' new axes
    /// (Penzai's order: indexing is `nmap` over `self` then the indices).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // Embedding lookup: {vocabulary, embedding} by ids {batch, seq}.
    /// let table = NamedArray::arange_f32("vocabulary", 5)?.broadcast_to(&[("embedding", 2)])?;
    /// let ids = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![4, 0, -1])?;
    /// let x = table.take("vocabulary", &ids)?;
    /// assert_eq!(x.named_shape().to_string(), "{embedding: 2, batch: 1, seq: 3}");
    /// assert_eq!(x.order_as(&["batch", "seq", "embedding"])?.to_f32_vec(), [4., 4., 0., 0., 4., 4.]);
    ///
    /// // Out of range clamps, as in JAX; `take_checked` refuses it.
    /// let far = NamedArray::from_i64(&[("seq", 2)], vec![9, -9])?;
    /// assert_eq!(table.take("vocabulary", &far)?.move_to_front(&["seq"])?.to_f32_vec(), [4., 4., 0., 0.]);
    /// assert_eq!(
    ///     table.take_checked("vocabulary", &far).unwrap_err().to_string(),
    ///     "take: index 9 is out of range for axis \"vocabulary\" of size 5"
    /// );
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn take(&self, axis: &str, indices: &NamedArray) -> Result<NamedArray, AxisError> {
        self.take_recorded("take", axis, indices, OutOfRange::Clamp)
    }

    /// Like [`take`](NamedArray::take), but an index outside `0..size` (negative ones
    /// included) is an [`AxisError::IndexOutOfRange`] naming the axis.
    pub fn take_checked(&self, axis: &str, indices: &NamedArray) -> Result<NamedArray, AxisError> {
        self.take_recorded("take", axis, indices, OutOfRange::Error)
    }

    /// [`take_with`](NamedArray::take_with), recorded on the gradient tape: the backward
    /// pass scatters into the positions the forward read (negatives counted from the end,
    /// clamped under `Clamp`; dropped `Fill` entries receive nothing), not the raw indices.
    pub(crate) fn take_recorded(
        &self,
        op: &'static str,
        axis: &str,
        indices: &NamedArray,
        mode: OutOfRange,
    ) -> Result<NamedArray, AxisError> {
        let out = self.take_with(op, axis, indices, mode);
        tape::record(op, &[self, indices], out, |o| {
            let used = self
                .used_indices(axis, indices, mode)
                .unwrap_or_else(|| indices.clone());
            tape::gather(self, axis, &used)(o)
        })
    }

    /// The indices a gather under `mode` reads along `axis` (-1 for dropped entries).
    fn used_indices(
        &self,
        axis: &str,
        indices: &NamedArray,
        mode: OutOfRange,
    ) -> Option<NamedArray> {
        let Storage::I64(idx) = &indices.data else {
            return None;
        };
        let v = self.axis_size(axis)?;
        let used = normalize_indices("take", axis, idx.view(), v, mode).ok()?;
        Some(NamedArray::from_parts(
            Storage::I64(used.into()),
            indices.names.clone(),
        ))
    }

    /// The gather behind `take`, indexing and updates.
    pub(crate) fn take_with(
        &self,
        op: &'static str,
        axis: &str,
        indices: &NamedArray,
        mode: OutOfRange,
    ) -> Result<NamedArray, AxisError> {
        let ax = self.require_axis(op, axis)?;
        let Storage::I64(idx) = &indices.data else {
            return Err(indices.dtype_error(op, "i64 indices"));
        };
        if indices.n_pos() != 0 {
            return Err(AxisError::HasPositional {
                op,
                shape: indices.full_shape(),
            });
        }
        let v = self.data.shape()[ax];
        let idx = normalize_indices(op, axis, idx.view(), v, mode)?;
        // Split the axes: shared (matched), new (from the indices), rest (from self).
        let in_self = |n: &AxisName| n != axis && self.has_axis(n);
        let (shared, new): (Vec<AxisName>, Vec<AxisName>) =
            indices.names.iter().cloned().partition(in_self);
        let mismatched: Vec<(AxisName, usize, usize)> = shared
            .iter()
            .filter_map(|n| match (self.axis_size(n), indices.axis_size(n)) {
                (Some(a), Some(b)) if a != b => Some((n.clone(), a, b)),
                _ => None,
            })
            .collect();
        if !mismatched.is_empty() {
            return Err(AxisError::SizeMismatch {
                op,
                sizes: mismatched,
                left: self.full_shape(),
                right: indices.full_shape(),
            });
        }
        let n_pos = self.n_pos();
        let rest: Vec<AxisName> = self
            .names
            .iter()
            .filter(|n| *n != axis && !shared.contains(n))
            .cloned()
            .collect();
        // Every name here was found on its side above.
        let find = |a: &NamedArray, n: &AxisName| a.named_axis(n).expect("axis found above");
        let src_perm: Vec<usize> = shared
            .iter()
            .map(|n| find(self, n))
            .chain([ax])
            .chain(0..n_pos)
            .chain(rest.iter().map(|n| find(self, n)))
            .collect();
        let idx_perm: Vec<usize> = shared
            .iter()
            .chain(&new)
            .map(|n| find(indices, n))
            .collect();
        let size_of = |a: &NamedArray, names: &[AxisName]| {
            names
                .iter()
                .filter_map(|n| a.axis_size(n))
                .product::<usize>()
        };
        let (s, n) = (size_of(self, &shared), size_of(indices, &new));
        let r = self.data.shape()[..n_pos].iter().product::<usize>() * size_of(self, &rest);
        // The output, in computation order: shared, new, positional, rest.
        let slots: Vec<Slot> = shared
            .iter()
            .chain(&new)
            .map(|n| Slot::Named(n.clone()))
            .chain((0..n_pos).map(Slot::Positional))
            .chain(rest.iter().map(|n| Slot::Named(n.clone())))
            .collect();
        let dims: Vec<usize> = shared
            .iter()
            .map(|n| self.axis_size(n))
            .chain(new.iter().map(|n| indices.axis_size(n)))
            .chain((0..n_pos).map(|i| Some(self.data.shape()[i])))
            .chain(rest.iter().map(|n| self.axis_size(n)))
            .map(|d| d.unwrap_or(0))
            .collect();
        let out_len = checked_len(dims.iter().copied());
        // The final order: positional axes, self's other names, then the new ones.
        let mut names: Vec<AxisName> = self.names.iter().filter(|n| *n != axis).cloned().collect();
        names.extend(new.iter().cloned());
        if out_len.is_none() {
            let named = NamedShape::new(names.iter().cloned().map(|n| {
                let size = self.axis_size(&n).or(indices.axis_size(&n)).unwrap_or(0);
                (n, size)
            }));
            return Err(AxisError::TooLarge {
                op,
                shape: ArrayShape {
                    positional: self.positional_shape().into(),
                    named,
                },
            });
        }
        let targets = (0..n_pos)
            .map(Slot::Positional)
            .chain(names.iter().map(|n| Slot::Named(n.clone())));
        // Each target slot occurs once in `slots`.
        let perm: Vec<usize> = targets
            .map(|t| {
                slots
                    .iter()
                    .position(|x| *x == t)
                    .expect("every slot placed")
            })
            .collect();
        fn build<T: Element>(
            src: ArrayViewD<'_, T>,
            src_perm: Vec<usize>,
            idx: ArrayViewD<'_, i64>,
            idx_perm: Vec<usize>,
            sizes: (usize, usize, usize, usize),
            dims: &[usize],
            perm: &[usize],
        ) -> Storage {
            let values = gather(
                src.permuted_axes(src_perm),
                idx.permuted_axes(idx_perm),
                sizes,
            );
            // `gather` returns one value per output element.
            let out = ArrayD::from_shape_vec(IxDyn(dims), values).expect("one value per element");
            T::into_storage(out.permuted_axes(perm))
        }
        let sizes = (s, v, r, n);
        let data = match &self.data {
            Storage::F32(a) => build(
                a.view(),
                src_perm,
                idx.view(),
                idx_perm,
                sizes,
                &dims,
                &perm,
            ),
            Storage::F16(a) => build(
                a.view(),
                src_perm,
                idx.view(),
                idx_perm,
                sizes,
                &dims,
                &perm,
            ),
            Storage::BF16(a) => build(
                a.view(),
                src_perm,
                idx.view(),
                idx_perm,
                sizes,
                &dims,
                &perm,
            ),
            Storage::I64(a) => build(
                a.view(),
                src_perm,
                idx.view(),
                idx_perm,
                sizes,
                &dims,
                &perm,
            ),
            Storage::Bool(a) => build(
                a.view(),
                src_perm,
                idx.view(),
                idx_perm,
                sizes,
                &dims,
                &perm,
            ),
        };
        Ok(NamedArray::from_parts(data, names))
    }

    /// The slice at index `i` of the named axis `name`, which is removed. No copy.
    pub fn index_axis(&self, name: &str, i: usize) -> Result<NamedArray, AxisError> {
        let ax = self.require_axis("index_axis", name)?;
        let size = self.data.shape()[ax];
        if i >= size {
            return Err(AxisError::IndexOutOfRange {
                op: "index_axis",
                axis: name.into(),
                index: i64::try_from(i).unwrap_or(i64::MAX),
                size,
            });
        }
        let data = map_storage!(&self.data, a => a.index_axis(Axis(ax), i));
        let names = self.names.iter().filter(|n| *n != name).cloned().collect();
        let out = Ok(NamedArray::from_parts(data, names));
        let slice = Slice::new(i as isize, Some(i as isize + 1), 1);
        let rule = tape::region("index_axis", self, name, slice, true);
        tape::record("index_axis", &[self], out, rule)
    }

    /// The elements of `range` along the named axis `name`, which keeps its name. No copy.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::arange("seq", 10)?;
    /// assert_eq!(x.slice_axis("seq", 2..5)?.to_i64_vec(), [2, 3, 4]);
    /// assert_eq!(x.slice_axis_step("seq", 1.., 3)?.to_i64_vec(), [1, 4, 7]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn slice_axis(
        &self,
        name: &str,
        range: impl RangeBounds<usize>,
    ) -> Result<NamedArray, AxisError> {
        self.slice_axis_step(name, range, 1)
    }

    /// Every `step`-th element of `range` along the named axis `name`, starting at the
    /// range's start. No copy.
    pub fn slice_axis_step(
        &self,
        name: &str,
        range: impl RangeBounds<usize>,
        step: usize,
    ) -> Result<NamedArray, AxisError> {
        let ax = self.require_axis("slice_axis", name)?;
        let size = self.data.shape()[ax];
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => size,
        };
        if start > end || end > size || step == 0 || step > isize::MAX as usize {
            return Err(AxisError::BadSlice {
                axis: name.into(),
                start,
                end,
                step,
                size,
            });
        }
        // Bounds are within the axis, so they fit in isize.
        let slice = Slice::new(start as isize, Some(end as isize), step as isize);
        let data = map_storage!(&self.data, a => a.slice_axis(Axis(ax), slice));
        let out = Ok(NamedArray::from_parts(data, self.names.clone()));
        let rule = tape::region("slice_axis", self, name, slice, false);
        tape::record("slice_axis", &[self], out, rule)
    }

    /// Joins arrays end to end along their named axis `axis`. The arrays must share dtype,
    /// positional shape and every other named axis (in any order); the result follows the
    /// first array's axis order.
    pub fn concat(arrays: &[NamedArray], axis: &str) -> Result<NamedArray, AxisError> {
        let inputs: Vec<&NamedArray> = arrays.iter().collect();
        let out = join("concat", arrays, axis, false);
        tape::record(
            "concat",
            &inputs,
            out,
            tape::join("concat", arrays, axis, false),
        )
    }

    /// Stacks arrays of one shape along a new named axis `axis` (first in logical order).
    pub fn stack(arrays: &[NamedArray], axis: &str) -> Result<NamedArray, AxisError> {
        let inputs: Vec<&NamedArray> = arrays.iter().collect();
        let out = join("stack", arrays, axis, true);
        tape::record(
            "stack",
            &inputs,
            out,
            tape::join("stack", arrays, axis, true),
        )
    }

    /// Splits along the named axis `axis` into its slices, which share this array's data.
    pub fn unstack(&self, axis: &str) -> Result<Vec<NamedArray>, AxisError> {
        let ax = self.require_axis("unstack", axis)?;
        (0..self.data.shape()[ax])
            .map(|i| self.index_axis(axis, i))
            .collect()
    }

    /// Adds the named axes of `shape` that are missing, repeating the data along them
    /// (nmap rules: existing axes must already have the given size; nothing stretches).
    pub fn broadcast_to(&self, shape: impl IntoNamedShape) -> Result<NamedArray, AxisError> {
        let target = NamedShape::new(shape.into_pairs());
        let target_shape = ArrayShape {
            positional: Box::default(),
            named: target.clone(),
        };
        let mut names = self.names.clone();
        let mut dims = self.data.shape().to_vec();
        let mut mismatched = vec![];
        for (name, size) in &target {
            match self.axis_size(name) {
                Some(own) if own != size => mismatched.push((name.clone(), own, size)),
                Some(_) => {}
                None if names.contains(name) => {
                    return Err(AxisError::RepeatedAxis {
                        op: "broadcast_to",
                        axis: name.clone(),
                    });
                }
                None => {
                    names.push(name.clone());
                    dims.push(size);
                }
            }
        }
        if !mismatched.is_empty() {
            return Err(AxisError::SizeMismatch {
                op: "broadcast_to",
                sizes: mismatched,
                left: self.full_shape(),
                right: target_shape,
            });
        }
        if checked_len(dims.iter().copied()).is_none() {
            return Err(AxisError::TooLarge {
                op: "broadcast_to",
                shape: target_shape,
            });
        }
        let added = dims.len() - self.data.ndim();
        let data = map_storage!(&self.data, a => {
            let mut view = a.view();
            for _ in 0..added {
                let end = Axis(view.ndim());
                view = view.insert_axis(end);
            }
            // New axes have size 1 and old ones keep their size, so this broadcast fits.
            view.broadcast(IxDyn(&dims)).expect("unit axes broadcast").to_owned().into()
        });
        let out = Ok(NamedArray::from_parts(data, names));
        tape::record("broadcast_to", &[self], out, tape::broadcast(self))
    }
}

/// `concat` and `stack`: checks the shapes, aligns axis orders and joins the views.
fn join(
    op: &'static str,
    arrays: &[NamedArray],
    axis: &str,
    stack: bool,
) -> Result<NamedArray, AxisError> {
    let first = arrays.first().ok_or(AxisError::NoArrays { op })?;
    let dtypes: Vec<DType> = arrays.iter().map(|a| a.dtype()).collect();
    if dtypes.iter().any(|&d| d != first.dtype()) {
        return Err(AxisError::DType {
            op,
            got: dtypes,
            expected: "arrays of one dtype",
        });
    }
    let mismatch = || AxisError::ShapeMismatch {
        op,
        axis: axis.into(),
        args: arrays.iter().map(|a| a.full_shape()).collect(),
    };
    for array in arrays {
        if stack && array.has_axis(axis) {
            return Err(AxisError::AxisExists {
                op,
                axis: axis.into(),
                shape: array.full_shape(),
            });
        }
        if !stack {
            array.require_axis(op, axis)?;
        }
        let same_names =
            array.names.len() == first.names.len() && first.names.iter().all(|n| array.has_axis(n));
        let same_sizes = first
            .names
            .iter()
            .all(|n| n == axis || array.axis_size(n) == first.axis_size(n));
        if !same_names || !same_sizes || array.positional_shape() != first.positional_shape() {
            return Err(mismatch());
        }
    }
    let n_pos = first.n_pos();
    // Every array has every name of `first`, checked above.
    let perm = |a: &NamedArray| -> Vec<usize> {
        (0..n_pos)
            .chain(
                first
                    .names
                    .iter()
                    .map(|n| a.named_axis(n).expect("checked above")),
            )
            .collect()
    };
    let at = if stack {
        Axis(n_pos)
    } else {
        Axis(first.named_axis(axis).unwrap_or(n_pos))
    };
    fn joined<T: Element>(
        arrays: &[NamedArray],
        perm: &dyn Fn(&NamedArray) -> Vec<usize>,
        at: Axis,
        stack: bool,
    ) -> Option<Storage> {
        let views: Vec<ArrayViewD<'_, T>> = arrays
            .iter()
            .map(|a| T::view_of(&a.data).map(|v| v.permuted_axes(perm(a))))
            .collect::<Option<_>>()?;
        let out = match join_contiguous(&views, at, stack) {
            Some(out) => out,
            None if stack => ndarray::stack(at, &views).ok()?,
            None => ndarray::concatenate(at, &views).ok()?,
        };
        Some(T::into_storage(out))
    }
    let data = match first.dtype() {
        DType::F32 => joined::<f32>(arrays, &perm, at, stack),
        DType::F16 => joined::<half::f16>(arrays, &perm, at, stack),
        DType::BF16 => joined::<half::bf16>(arrays, &perm, at, stack),
        DType::I64 => joined::<i64>(arrays, &perm, at, stack),
        DType::Bool => joined::<bool>(arrays, &perm, at, stack),
        // Arrays hold only the dtypes above.
        _ => None,
    };
    let data = data.ok_or_else(mismatch)?;
    let mut names = first.names.clone();
    if stack {
        names.insert(0, axis.into());
    }
    Ok(NamedArray::from_parts(data, names))
}

/// `views` joined at `at` (stacked on a new axis there, or concatenated along it) when every
/// view is contiguous in row-major order: per index of the axes before `at`, each view's run
/// in turn, one slice copy each. ndarray's `concatenate` assigns element by element through an
/// n-dimensional zip (RoPE's concatenation of rotated halves showed in profiles). `None` when
/// a view is not contiguous or the shapes do not join (the caller falls back).
fn join_contiguous<T: Clone>(
    views: &[ArrayViewD<'_, T>],
    at: Axis,
    stack: bool,
) -> Option<ndarray::ArrayD<T>> {
    let first = views.first()?.shape();
    let slices: Vec<&[T]> = views.iter().map(|v| v.as_slice()).collect::<Option<_>>()?;
    let rank_ok = views.iter().all(|v| v.ndim() == first.len());
    if !rank_ok || at.0 > first.len() || (!stack && at.0 == first.len()) {
        return None;
    }
    let outer: usize = first[..at.0].iter().product();
    let mut shape = first.to_vec();
    if stack {
        shape.insert(at.0, views.len());
    } else {
        shape[at.0] = views.iter().map(|v| v.shape()[at.0]).sum();
    }
    let runs: Vec<usize> = views
        .iter()
        .map(|v| v.shape()[at.0..].iter().product())
        .collect();
    let mut out = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for (s, &n) in slices.iter().zip(&runs) {
            out.extend_from_slice(s.get(o * n..(o + 1) * n)?);
        }
    }
    ndarray::ArrayD::from_shape_vec(shape, out).ok()
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
