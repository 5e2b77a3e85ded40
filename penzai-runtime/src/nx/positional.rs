//! Operations on positional axes: Penzai's habit "untag, do a positional op, tag".
//!
//! Each works on the positional axes alone and vectorizes over the named ones, as a
//! positional numpy operation inside `nmap` would.

use ndarray::{Axis, IxDyn};

use super::array::NamedArray;
use super::axis::AxisName;
use super::construct::checked_len;
use super::dtype::map_storage;
use super::error::AxisError;
use super::indexer::{AxisIndex, Indexer, IntoAxisIndex};
use super::shape::{ArrayShape, IntoNamedShape};
use super::tape;

/// The name a positional axis borrows while a named-axis operation runs on it (no user
/// name starts with a NUL byte).
const BORROWED: &str = "\u{0}positional";

/// The temporary name of positional axis `i` while a named operation runs on all of them.
fn temp_name(i: usize) -> String {
    format!("\u{0}axis{i}")
}

impl NamedArray {
    /// The positional axis `axis` as a named axis `BORROWED`, for named operations.
    fn borrow_positional(&self, op: &'static str, axis: usize) -> Result<NamedArray, AxisError> {
        let n_pos = self.n_pos();
        if axis >= n_pos {
            return Err(AxisError::PositionalAxis {
                op,
                axis,
                shape: self.full_shape(),
            });
        }
        let perm: Vec<usize> = [axis]
            .into_iter()
            .chain((0..self.data.ndim()).filter(|&i| i != axis))
            .collect();
        // Through `permuted`, so that a gradient tape records the move.
        self.permuted(&perm, self.names.clone())?
            .tag_prefix(&[BORROWED])
    }

    /// Every positional axis as a temporary named axis (`temp_name(i)` for axis `i`).
    fn name_all_positional(&self) -> Result<(NamedArray, Vec<String>), AxisError> {
        let temps: Vec<String> = (0..self.n_pos()).map(temp_name).collect();
        let refs: Vec<&str> = temps.iter().map(String::as_str).collect();
        Ok((self.tag_prefix(&refs)?, temps))
    }

    /// Makes the temporary axes `names` positional again, in that order. The result is laid
    /// out as a fresh positional result (see `tag`), not as a view.
    fn unname_positional(&self, names: &[String]) -> Result<NamedArray, AxisError> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut out = self.untag_prefix(&refs)?;
        out.data_order = None;
        Ok(out)
    }

    /// Indexes the positional axis `axis` as numpy indexes one axis, vectorized over the
    /// named axes: an integer removes the axis (negative counts from the end), a
    /// [`Slice`](super::Slice)
    /// keeps it (negative steps walk backwards: `Slice::reversed()` is `[::-1]`),
    /// [`NewAxis`](super::NewAxis) inserts a size-1 axis before `axis` (`axis` may then be
    /// the positional count, to append), and an `i64` array gathers: its positional axes
    /// take the place of `axis` and its named axes are matched by name (nmap rules).
    /// Gathered indices follow JAX (negative from the end, out of range clamped), as in
    /// [`take`](NamedArray::take); a single integer out of range is an error.
    ///
    /// This is Penzai's "untag, index positionally, tag" habit (`x.untag("seq")[::-1]`).
    ///
    /// ```
    /// use penzai::nx::{NamedArray, Slice};
    ///
    /// let x = NamedArray::arange("seq", 5)?.untag(&["seq"])?;
    /// let rev = x.index_positional(0, Slice::reversed())?.tag(&["seq"])?;
    /// assert_eq!(rev.to_i64_vec(), [4, 3, 2, 1, 0]);
    /// assert_eq!(x.index_positional(0, -1)?.to_i64_vec(), [4]);
    /// let ids = NamedArray::wrap_i64(ndarray::arr1(&[3, 0, -1]).into_dyn());
    /// assert_eq!(x.index_positional(0, &ids)?.to_i64_vec(), [3, 0, 4]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn index_positional(
        &self,
        axis: usize,
        index: impl IntoAxisIndex,
    ) -> Result<NamedArray, AxisError> {
        const OP: &str = "index_positional";
        let index = index.into_axis_index();
        let n_pos = self.n_pos();
        let limit = if matches!(index, AxisIndex::NewAxis) {
            n_pos + 1
        } else {
            n_pos
        };
        if axis >= limit {
            return Err(AxisError::PositionalAxis {
                op: OP,
                axis,
                shape: self.full_shape(),
            });
        }
        // The checks whose errors would otherwise name the temporary axes.
        match &index {
            AxisIndex::At(i) => {
                let size = self.data.shape()[axis];
                let n = i64::try_from(size).unwrap_or(i64::MAX);
                if !(-n..n).contains(i) {
                    return Err(AxisError::PositionalIndex {
                        op: OP,
                        axis,
                        index: *i,
                        size,
                        shape: self.full_shape(),
                    });
                }
            }
            AxisIndex::Slice(slice) if slice.step == 0 => {
                return Err(AxisError::PositionalSliceStep { op: OP, axis });
            }
            AxisIndex::Array(ids) => self.check_index_array(OP, ids)?,
            _ => {}
        }
        let (named, temps) = self.name_all_positional()?;
        let new_axis = temp_name(n_pos);
        let target = match index {
            AxisIndex::NewAxis => &new_axis,
            _ => &temps[axis],
        };
        let out = named.index(&Indexer::new().with(target, index.clone()))?;
        // The index array's positional axes, named for the final reordering.
        let gathered: Vec<String> = (0..out.n_pos())
            .map(|i| format!("\u{0}gathered{i}"))
            .collect();
        let refs: Vec<&str> = gathered.iter().map(String::as_str).collect();
        let out = out.tag_prefix(&refs)?;
        let middle: Vec<String> = match index {
            AxisIndex::At(_) => vec![],
            AxisIndex::Slice(_) => vec![temps[axis].clone()],
            AxisIndex::NewAxis => std::iter::once(new_axis.clone())
                .chain(temps.get(axis).cloned())
                .collect(),
            AxisIndex::Array(_) => gathered,
        };
        let order: Vec<String> = temps[..axis]
            .iter()
            .cloned()
            .chain(middle)
            .chain(temps.iter().skip(axis + 1).cloned())
            .collect();
        out.unname_positional(&order)
    }

    /// Gathers along the positional axis `axis` with the `i64` array `indices`, as
    /// `jnp.take(x, indices, axis)` inside Penzai's `nmap`: the positional axes of
    /// `indices` replace `axis`, their named axes are matched with this array's by name.
    /// Negative indices count from the end and out-of-range ones are clamped (JAX's
    /// indexing rule; `jnp.take` itself fills with NaN, which integer arrays cannot hold).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // {batch: 2} + positional [3]: pick positions per batch row.
    /// let x = NamedArray::from_f32(&[("batch", 2), ("seq", 3)], vec![0., 1., 2., 10., 11., 12.])?
    ///     .untag_prefix(&["seq"])?;
    /// let picks = NamedArray::from_i64(&[("batch", 2)], vec![2, 0])?;
    /// let y = x.take_positional(0, &picks)?;
    /// assert_eq!(y.positional_shape(), Vec::<usize>::new());
    /// assert_eq!(y.to_f32_vec(), [2., 10.]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn take_positional(
        &self,
        axis: usize,
        indices: &NamedArray,
    ) -> Result<NamedArray, AxisError> {
        if axis >= self.n_pos() {
            return Err(AxisError::PositionalAxis {
                op: "take_positional",
                axis,
                shape: self.full_shape(),
            });
        }
        self.check_index_array("take_positional", indices)?;
        self.index_positional(axis, indices)
    }

    /// An index array must be `i64` and agree with this array on the sizes of shared names.
    fn check_index_array(&self, op: &'static str, ids: &NamedArray) -> Result<(), AxisError> {
        if ids.dtype() != super::DType::I64 {
            return Err(ids.dtype_error(op, "i64 indices"));
        }
        let clashes: Vec<AxisName> = ids
            .names
            .iter()
            .filter(|n| matches!(self.axis_size(n), Some(s) if Some(s) != ids.axis_size(n)))
            .cloned()
            .collect();
        if !clashes.is_empty() {
            return Err(AxisError::Inconsistent {
                op,
                axes: clashes,
                args: vec![self.full_shape(), ids.full_shape()],
            });
        }
        Ok(())
    }

    /// Sums the product of the last `n` positional axes of `self` with the first `n`
    /// positional axes of `other` (`jnp.tensordot(a, b, n)` inside Penzai's `nmap`, which
    /// is how Penzai contracts positional axes). Named axes are vectorized: shared names are
    /// matched, the others kept. The result's positional axes are `self`'s remaining ones,
    /// then `other`'s. Floats only, with an `f32` result, as
    /// [`contract`](NamedArray::contract).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // A batch of matrix-vector products over positional axes.
    /// let m = NamedArray::from_f32(&[("batch", 2), ("i", 2), ("j", 3)], (0..12).map(|v| v as f32).collect())?
    ///     .untag_prefix(&["i", "j"])?;
    /// let v = NamedArray::from_f32(&[("j", 3)], vec![1., 0., 1.])?.untag(&["j"])?;
    /// let mv = m.tensordot_positional(&v, 1)?;
    /// assert_eq!(mv.positional_shape(), [2]);
    /// assert_eq!(mv.tag(&["i"])?.order_as(&["batch", "i"])?.to_f32_vec(), [2., 8., 14., 20.]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn tensordot_positional(
        &self,
        other: &NamedArray,
        n: usize,
    ) -> Result<NamedArray, AxisError> {
        const OP: &str = "tensordot_positional";
        let (a_pos, b_pos) = (self.positional_shape(), other.positional_shape());
        let mismatch = || AxisError::PositionalContract {
            op: OP,
            n,
            left: self.full_shape(),
            right: other.full_shape(),
        };
        if n > a_pos.len() || n > b_pos.len() || a_pos[a_pos.len() - n..] != b_pos[..n] {
            return Err(mismatch());
        }
        let left_free: Vec<String> = (0..a_pos.len() - n)
            .map(|i| format!("\u{0}left{i}"))
            .collect();
        let summed: Vec<String> = (0..n).map(|i| format!("\u{0}summed{i}")).collect();
        let right_free: Vec<String> = (0..b_pos.len() - n)
            .map(|i| format!("\u{0}right{i}"))
            .collect();
        fn strs<'a>(parts: &[&'a [String]]) -> Vec<&'a str> {
            parts
                .iter()
                .flat_map(|v| v.iter().map(String::as_str))
                .collect()
        }
        let a = self.tag_prefix(&strs(&[&left_free, &summed]))?;
        let b = other.tag_prefix(&strs(&[&summed, &right_free]))?;
        let out = a.contract(&b, &strs(&[&summed]))?;
        let free: Vec<String> = left_free.into_iter().chain(right_free).collect();
        out.unname_positional(&free)
    }

    /// Sums over the positional axis `axis` (numbered from 0), which is removed.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("b", 2), ("d", 3)], vec![1., 2., 3., 4., 5., 6.])?;
    /// let per_b = x.untag(&["d"])?.sum_positional(0)?;
    /// assert_eq!(per_b.to_f32_vec(), [6., 15.]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn sum_positional(&self, axis: usize) -> Result<NamedArray, AxisError> {
        self.borrow_positional("sum_positional", axis)?
            .sum(&[BORROWED])
    }

    /// The mean over the positional axis `axis`, which is removed.
    pub fn mean_positional(&self, axis: usize) -> Result<NamedArray, AxisError> {
        self.borrow_positional("mean_positional", axis)?
            .mean(&[BORROWED])
    }

    /// The maximum over the positional axis `axis`, which is removed.
    pub fn max_positional(&self, axis: usize) -> Result<NamedArray, AxisError> {
        self.borrow_positional("max_positional", axis)?
            .max(&[BORROWED])
    }

    /// The minimum over the positional axis `axis`, which is removed.
    pub fn min_positional(&self, axis: usize) -> Result<NamedArray, AxisError> {
        self.borrow_positional("min_positional", axis)?
            .min(&[BORROWED])
    }

    /// The positional axes reshaped to `shape` (same element count, row-major), the named
    /// axes untouched.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::arange("heads_and_dim", 6)?.untag(&["heads_and_dim"])?;
    /// let split = x.reshape_positional(&[2, 3])?.tag(&["heads", "dim"])?;
    /// assert_eq!(split.named_shape().to_string(), "{heads: 2, dim: 3}");
    /// assert_eq!(split.to_i64_vec(), [0, 1, 2, 3, 4, 5]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn reshape_positional(&self, shape: &[usize]) -> Result<NamedArray, AxisError> {
        let n_pos = self.n_pos();
        let old: usize = self.data.shape()[..n_pos].iter().product();
        if checked_len(shape.iter().copied()) != Some(old) {
            return Err(AxisError::Reshape {
                shape: self.full_shape(),
                to: shape.to_vec(),
            });
        }
        let dims: Vec<usize> = shape
            .iter()
            .chain(&self.data.shape()[n_pos..])
            .copied()
            .collect();
        let data = map_storage!(&self.data, a => {
            // Same element count, checked above, so the row-major reshape succeeds.
            a.view().to_shape(IxDyn(&dims)).expect("same element count").into_owned().into()
        });
        let out = Ok(NamedArray::from_parts(data, self.names.clone()));
        tape::record("reshape_positional", &[self], out, tape::reshaped(self))
    }

    /// Broadcasts to the positional shape `positional` (numpy rules: right-aligned, size-1
    /// axes stretch, missing leading axes are added) and adds the named axes of `named`
    /// that are missing (named axes never stretch): Penzai's `broadcast_to` with both
    /// shapes.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let row = NamedArray::arange("b", 2)?;
    /// let x = row.broadcast_to_full(&[3], &[("c", 1)])?;
    /// assert_eq!(x.positional_shape(), [3]);
    /// assert_eq!(x.named_shape().to_string(), "{b: 2, c: 1}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn broadcast_to_full(
        &self,
        positional: &[usize],
        named: impl IntoNamedShape,
    ) -> Result<NamedArray, AxisError> {
        let with_names = self.broadcast_to(named)?;
        let own = with_names.positional_shape();
        let fits = own.len() <= positional.len()
            && own
                .iter()
                .rev()
                .zip(positional.iter().rev())
                .all(|(&a, &b)| a == b || a == 1);
        if !fits {
            return Err(AxisError::PositionalBroadcast {
                op: "broadcast_to_full",
                left: with_names.full_shape(),
                right: ArrayShape {
                    positional: positional.into(),
                    named: with_names.named_shape(),
                },
            });
        }
        let lead = positional.len() - own.len();
        let dims: Vec<usize> = positional
            .iter()
            .chain(&with_names.data.shape()[own.len()..])
            .copied()
            .collect();
        let data = map_storage!(&with_names.data, a => {
            let mut view = a.view();
            for _ in 0..lead {
                view = view.insert_axis(Axis(0));
            }
            // Checked above: every own axis is 1 or the target size.
            view.broadcast(IxDyn(&dims)).expect("shapes checked above").to_owned().into()
        });
        let out = Ok(NamedArray::from_parts(data, with_names.names.clone()));
        tape::record(
            "broadcast_to_full",
            &[&with_names],
            out,
            tape::broadcast(&with_names),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nx::{NewAxis, Slice};

    fn grid() -> NamedArray {
        // positional [2, 3], named {n: 2}.
        NamedArray::from_f32(
            &[("p", 2), ("q", 3), ("n", 2)],
            (0..12).map(|i| i as f32).collect(),
        )
        .unwrap()
        .untag_prefix(&["p", "q"])
        .unwrap()
    }

    #[test]
    fn reductions_remove_one_positional_axis_per_named_slice() {
        let x = grid();
        let s = x.sum_positional(1).unwrap();
        assert_eq!(s.positional_shape(), [2]);
        assert_eq!(s.named_shape().to_string(), "{n: 2}");
        // (p, n): sum over q of 6p + 2q + n.
        assert_eq!(
            s.tag(&["p"])
                .unwrap()
                .move_to_front(&["p"])
                .unwrap()
                .to_f32_vec(),
            [6., 9., 24., 27.]
        );
        assert_eq!(x.max_positional(0).unwrap().positional_shape(), [3]);
        assert_eq!(
            x.min_positional(0)
                .unwrap()
                .to_f32_vec()
                .iter()
                .sum::<f32>(),
            15.
        );
        assert_eq!(x.mean_positional(0).unwrap().positional_shape(), [3]);
        assert_eq!(
            x.sum_positional(2).unwrap_err().to_string(),
            "sum_positional: no positional axis 2 in {n: 2} + positional [2, 3]"
        );
    }

    #[test]
    fn reshape_keeps_row_major_order_and_checks_the_count() {
        let x = grid();
        let flat = x.reshape_positional(&[6]).unwrap();
        assert_eq!(flat.positional_shape(), [6]);
        assert_eq!(flat.to_f32_vec(), x.to_f32_vec());
        assert_eq!(
            x.reshape_positional(&[4]).unwrap_err().to_string(),
            "cannot reshape the positional axes of {n: 2} + positional [2, 3] to [4]"
        );
    }

    /// `grid` read back as (p, q, n) row-major values.
    fn by_pqn(x: &NamedArray, pos: &[&str]) -> Vec<f32> {
        let t = x.tag(pos).unwrap();
        let mut order: Vec<&str> = pos.to_vec();
        order.extend(
            t.axis_names()
                .iter()
                .map(|n| n.as_str())
                .filter(|n| !pos.contains(n)),
        );
        t.order_as(&order).unwrap().to_f32_vec()
    }

    #[test]
    fn integer_indexing_removes_a_positional_axis() {
        let x = grid();
        // q = 1: values 6p + 2 + n.
        let y = x.index_positional(1, 1).unwrap();
        assert_eq!(y.positional_shape(), [2]);
        assert_eq!(by_pqn(&y, &["p"]), [2., 3., 8., 9.]);
        assert_eq!(
            x.index_positional(0, -1).unwrap(),
            x.index_positional(0, 1).unwrap()
        );
        assert_eq!(
            x.index_positional(1, 3).unwrap_err().to_string(),
            "index_positional: index 3 is out of range for positional axis 1 (size 3) of \
             {n: 2} + positional [2, 3]"
        );
        assert!(matches!(
            x.index_positional(1, -4).unwrap_err(),
            AxisError::PositionalIndex { index: -4, .. }
        ));
        assert_eq!(
            x.index_positional(2, 0).unwrap_err().to_string(),
            "index_positional: no positional axis 2 in {n: 2} + positional [2, 3]"
        );
    }

    #[test]
    fn slices_keep_the_axis_in_place_and_may_walk_backwards() {
        let x = grid();
        let rev = x.index_positional(1, Slice::reversed()).unwrap();
        assert_eq!(rev.positional_shape(), [2, 3]);
        // (p, q', n) = 6p + 2(2 - q') + n.
        assert_eq!(
            by_pqn(&rev, &["p", "q"]),
            [4., 5., 2., 3., 0., 1., 10., 11., 8., 9., 6., 7.]
        );
        let every_other = x.index_positional(1, Slice::new(None, None, -2)).unwrap();
        assert_eq!(every_other.positional_shape(), [2, 2]);
        assert_eq!(by_pqn(&every_other, &["p", "q"])[..4], [4., 5., 0., 1.]);
        let head = x.index_positional(0, ..1).unwrap();
        assert_eq!(head.positional_shape(), [1, 3]);
        assert_eq!(
            x.index_positional(0, Slice::new(None, None, 0))
                .unwrap_err()
                .to_string(),
            "index_positional: the slice of positional axis 0 has step 0"
        );
    }

    #[test]
    fn new_axes_go_before_the_given_position_or_at_the_end() {
        let x = grid();
        assert_eq!(
            x.index_positional(1, NewAxis).unwrap().positional_shape(),
            [2, 1, 3]
        );
        let end = x.index_positional(2, NewAxis).unwrap();
        assert_eq!(end.positional_shape(), [2, 3, 1]);
        assert_eq!(end.to_f32_vec().len(), 12);
        assert!(x.index_positional(3, NewAxis).is_err());
    }

    #[test]
    fn gathers_put_the_index_axes_where_the_axis_was() {
        let x = grid();
        // Positional indices [[2, 0], [-1, 9]] on q: 9 clamps to 2, -1 is 2.
        let ids = NamedArray::wrap_i64(ndarray::arr2(&[[2, 0], [-1, 9]]).into_dyn());
        let y = x.take_positional(1, &ids).unwrap();
        assert_eq!(y.positional_shape(), [2, 2, 2]);
        assert_eq!(y.named_shape().to_string(), "{n: 2}");
        let got = by_pqn(&y, &["p", "i", "j"]);
        // p = 0: q = 2, 0, 2, 2 -> 4, 0, 4, 4 (n = 0) and +1 for n = 1.
        assert_eq!(got[..8], [4., 5., 0., 1., 4., 5., 4., 5.]);
        // Named indices are matched per row of `n`, not crossed.
        let per_n = NamedArray::from_i64(&[("n", 2)], vec![0, 2]).unwrap();
        let z = x.take_positional(1, &per_n).unwrap();
        assert_eq!(z.positional_shape(), [2]);
        // (p, n) = 6p + 2 q(n) + n with q(0) = 0, q(1) = 2.
        assert_eq!(by_pqn(&z, &["p"]), [0., 5., 6., 11.]);
        // Index arrays must be i64 and agree on shared sizes.
        let floats = NamedArray::from_f32(&[("n", 2)], vec![0., 1.]).unwrap();
        assert!(matches!(
            x.take_positional(0, &floats).unwrap_err(),
            AxisError::DType { .. }
        ));
        let wrong = NamedArray::from_i64(&[("n", 3)], vec![0, 1, 0]).unwrap();
        assert_eq!(
            x.take_positional(0, &wrong).unwrap_err().to_string(),
            "inconsistent named axes in take_positional for [\"n\"]: args[0] is \
             {n: 2} + positional [2, 3], args[1] is {n: 3}"
        );
        assert!(matches!(
            x.take_positional(2, &per_n).unwrap_err(),
            AxisError::PositionalAxis { axis: 2, .. }
        ));
    }

    #[test]
    fn untag_positional_op_tag_round_trips() {
        let x = NamedArray::arange("seq", 4)
            .unwrap()
            .broadcast_to(&[("batch", 2)])
            .unwrap();
        let rev = x
            .untag(&["seq"])
            .unwrap()
            .index_positional(0, Slice::reversed())
            .unwrap()
            .tag(&["seq"])
            .unwrap();
        assert_eq!(rev.named_shape().to_string(), "{batch: 2, seq: 4}");
        assert_eq!(
            rev.order_as(&["batch", "seq"]).unwrap().to_i64_vec(),
            [3, 2, 1, 0, 3, 2, 1, 0]
        );
    }

    #[test]
    fn tensordot_contracts_trailing_with_leading_positional_axes() {
        // a: {batch: 2} + positional [2, 3]; b: positional [3, 2].
        let a = NamedArray::from_f32(
            &[("batch", 2), ("i", 2), ("j", 3)],
            (0..12).map(|v| v as f32).collect(),
        )
        .unwrap()
        .untag_prefix(&["i", "j"])
        .unwrap();
        let b =
            NamedArray::wrap(ndarray::arr2(&[[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]]).into_dyn());
        let c = a.tensordot_positional(&b, 1).unwrap();
        assert_eq!(c.positional_shape(), [2, 2]);
        assert_eq!(c.named_shape().to_string(), "{batch: 2}");
        // Row [0, 1, 2] times b is [2, 3], row [3, 4, 5] is [8, 9]; batch 1 adds 6 to each
        // element, so 12 to each result. Read as (i, k, batch).
        assert_eq!(
            by_pqn(&c, &["i", "k"]),
            [2., 14., 3., 15., 8., 20., 9., 21.]
        );
        // All positional axes: a full contraction per batch row.
        let ones = NamedArray::ones(&[("i", 2), ("j", 3)])
            .unwrap()
            .untag(&["i", "j"])
            .unwrap();
        let total = a.tensordot_positional(&ones, 2).unwrap();
        assert_eq!(total.positional_shape(), Vec::<usize>::new());
        assert_eq!(total.to_f32_vec(), [15., 51.]);
        // n = 0 is an outer product.
        let outer = b.tensordot_positional(&b, 0).unwrap();
        assert_eq!(outer.positional_shape(), [3, 2, 3, 2]);
        assert_eq!(
            a.tensordot_positional(&b, 2).unwrap_err().to_string(),
            "tensordot_positional: cannot contract the last 2 positional axes of \
             {batch: 2} + positional [2, 3] with the first 2 of {} + positional [3, 2]"
        );
    }

    #[test]
    fn broadcast_follows_numpy_on_positional_axes() {
        let x = NamedArray::wrap(ndarray::arr2(&[[1.0f32], [2.0]]).into_dyn());
        let y = x.broadcast_to_full(&[4, 2, 3], &[("n", 2)]).unwrap();
        assert_eq!(y.positional_shape(), [4, 2, 3]);
        assert_eq!(y.named_shape().to_string(), "{n: 2}");
        assert_eq!(y.to_f32_vec().iter().sum::<f32>(), 4. * 3. * 2. * 3.);
        assert!(matches!(
            x.broadcast_to_full(&[3, 3], &[] as &[(&str, usize)])
                .unwrap_err(),
            AxisError::PositionalBroadcast { .. }
        ));
    }
}
