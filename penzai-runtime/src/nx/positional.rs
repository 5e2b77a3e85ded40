//! Operations on positional axes: Penzai's habit "untag, do a positional op, tag".
//!
//! Each works on the positional axes alone and vectorizes over the named ones, as a
//! positional numpy operation inside `nmap` would.

use ndarray::{Axis, IxDyn};

use super::array::NamedArray;
use super::construct::checked_len;
use super::dtype::map_storage;
use super::error::AxisError;
use super::shape::{ArrayShape, IntoNamedShape};
use super::tape;

/// The name a positional axis borrows while a named-axis operation runs on it (no user
/// name starts with a NUL byte).
const BORROWED: &str = "\u{0}positional";

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
        self.permuted(&perm, self.names.clone())?
            .tag_prefix(&[BORROWED])
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
                .order_as(&["p"])
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
