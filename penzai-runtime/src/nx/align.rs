//! Broadcasting by name: lines several arrays up on the union of their axes.
//!
//! Penzai's rule: the result has the union of the named axes, in first-seen order; an axis
//! shared by several arrays must have one size (named axes never stretch from size 1); an
//! array without an axis is repeated along it. Positional axes broadcast as in numpy,
//! right-aligned, size 1 stretching.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use super::array::NamedArray;
use super::axis::AxisName;
use super::construct::checked_len;
use super::error::AxisError;
use super::shape::{ArrayShape, NamedShape};

/// The union of several arrays' named axes, and the names whose sizes disagree.
pub(crate) struct NamedUnion {
    pub names: Vec<AxisName>,
    pub sizes: Vec<usize>,
    pub conflicts: Vec<AxisName>,
}

impl NamedUnion {
    pub(crate) fn of(arrays: &[&NamedArray]) -> NamedUnion {
        let mut union = NamedUnion {
            names: vec![],
            sizes: vec![],
            conflicts: vec![],
        };
        for array in arrays {
            let n_pos = array.n_pos();
            for (j, name) in array.names.iter().enumerate() {
                let size = array.data.shape()[n_pos + j];
                match union.names.iter().position(|n| n == name) {
                    None => {
                        union.names.push(name.clone());
                        union.sizes.push(size);
                    }
                    Some(k) if union.sizes[k] != size && !union.conflicts.contains(name) => {
                        union.conflicts.push(name.clone());
                    }
                    Some(_) => {}
                }
            }
        }
        union
    }

    pub(crate) fn named_shape(&self) -> NamedShape {
        NamedShape::new(self.names.iter().cloned().zip(self.sizes.iter().copied()))
    }

    /// An error listing every conflicting axis and every argument's shape.
    pub(crate) fn inconsistent(&self, op: &'static str, arrays: &[&NamedArray]) -> AxisError {
        AxisError::Inconsistent {
            op,
            axes: self.conflicts.clone(),
            args: arrays.iter().map(|a| a.full_shape()).collect(),
        }
    }
}

/// Numpy's broadcast of two positional shapes, if they are compatible.
fn broadcast_positional(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() >= n {
            s[i + s.len() - n]
        } else {
            1
        }
    };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The common shape several arrays broadcast to: positional axes, then the named union.
pub(crate) struct Alignment {
    pub pos: Vec<usize>,
    pub names: Vec<AxisName>,
    pub sizes: Vec<usize>,
}

impl Alignment {
    /// Aligns the two operands of a binary operation `op`.
    pub(crate) fn pair(
        op: &'static str,
        a: &NamedArray,
        b: &NamedArray,
    ) -> Result<Alignment, AxisError> {
        let union = NamedUnion::of(&[a, b]);
        if !union.conflicts.is_empty() {
            let sizes = union
                .conflicts
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        a.axis_size(n).unwrap_or(0),
                        b.axis_size(n).unwrap_or(0),
                    )
                })
                .collect();
            return Err(AxisError::SizeMismatch {
                op,
                sizes,
                left: a.full_shape(),
                right: b.full_shape(),
            });
        }
        let pos = broadcast_positional(&a.positional_shape(), &b.positional_shape()).ok_or_else(
            || AxisError::PositionalBroadcast {
                op,
                left: a.full_shape(),
                right: b.full_shape(),
            },
        )?;
        Alignment::checked(op, pos, union.names, union.sizes)
    }

    /// Aligns any number of arrays (as for `where_`).
    pub(crate) fn many(op: &'static str, arrays: &[&NamedArray]) -> Result<Alignment, AxisError> {
        let union = NamedUnion::of(arrays);
        if !union.conflicts.is_empty() {
            return Err(union.inconsistent(op, arrays));
        }
        let mut pos: Vec<usize> = vec![];
        for (i, array) in arrays.iter().enumerate() {
            let shape = array.positional_shape();
            pos = match broadcast_positional(&pos, &shape) {
                Some(p) => p,
                None => {
                    // Name the first earlier array this one cannot broadcast with.
                    let j = (0..i)
                        .find(|&j| {
                            broadcast_positional(&arrays[j].positional_shape(), &shape).is_none()
                        })
                        .unwrap_or(0);
                    return Err(AxisError::PositionalBroadcast {
                        op,
                        left: arrays[j].full_shape(),
                        right: array.full_shape(),
                    });
                }
            };
        }
        Alignment::checked(op, pos, union.names, union.sizes)
    }

    /// The alignment, if an array of its shape can be made ([`checked_len`]); the union of
    /// two arrays' axes can be far larger than either.
    fn checked(
        op: &'static str,
        pos: Vec<usize>,
        names: Vec<AxisName>,
        sizes: Vec<usize>,
    ) -> Result<Alignment, AxisError> {
        if checked_len(pos.iter().chain(&sizes).copied()).is_none() {
            return Err(AxisError::TooLarge {
                op,
                shape: ArrayShape {
                    positional: pos.into(),
                    named: NamedShape::new(names.into_iter().zip(sizes)),
                },
            });
        }
        Ok(Alignment { pos, names, sizes })
    }

    /// The full result shape: positional axes, then named axes.
    pub(crate) fn shape(&self) -> IxDyn {
        IxDyn(&[self.pos.as_slice(), self.sizes.as_slice()].concat())
    }

    /// A view of `array`'s data (`view`) with its axes permuted into the result order and
    /// size-1 axes inserted where it lacks one, ready to be broadcast to `shape()`.
    pub(crate) fn prepare<'a, T>(
        &self,
        array: &NamedArray,
        view: ArrayViewD<'a, T>,
    ) -> ArrayViewD<'a, T> {
        let n_pos = array.n_pos();
        let mut named: Vec<(usize, usize)> = array
            .names
            .iter()
            .enumerate()
            .filter_map(|(j, name)| {
                self.names
                    .iter()
                    .position(|n| n == name)
                    .map(|k| (k, n_pos + j))
            })
            .collect();
        named.sort_unstable();
        let perm: Vec<usize> = (0..n_pos)
            .chain(named.iter().map(|&(_, axis)| axis))
            .collect();
        let mut view = view.permuted_axes(perm);
        for _ in n_pos..self.pos.len() {
            view = view.insert_axis(Axis(0));
        }
        for (k, name) in self.names.iter().enumerate() {
            if !array.has_axis(name) {
                view = view.insert_axis(Axis(self.pos.len() + k));
            }
        }
        view
    }

    /// Wraps a result computed in this alignment's shape.
    pub(crate) fn finish(self, data: super::dtype::Storage) -> NamedArray {
        NamedArray::from_parts(data, self.names)
    }
}

/// Broadcasts a prepared view to `shape`; alignment guarantees it fits.
fn broadcast<'a, T>(view: &'a ArrayViewD<'_, T>, shape: &IxDyn) -> ArrayViewD<'a, T> {
    // `Alignment` checked every size: each axis equals the result's or is 1.
    view.broadcast(shape.clone())
        .expect("aligned views broadcast to the result shape")
}

/// Applies `f` elementwise to two prepared views, broadcasting both to `shape`.
pub(crate) fn zip2<A: Copy, B: Copy, C>(
    shape: &IxDyn,
    a: &ArrayViewD<'_, A>,
    b: &ArrayViewD<'_, B>,
    f: impl Fn(A, B) -> C,
) -> ArrayD<C> {
    let (a, b) = (broadcast(a, shape), broadcast(b, shape));
    if let Some(values) = zip2_runs(&a, &b, &f) {
        return ArrayD::from_shape_vec(shape.clone(), values)
            .expect("one value per element of the broadcast shape");
    }
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

/// `f` over two views of one shape by slice loops, which the compiler vectorizes, when one is
/// contiguous and the other is too or repeats one contiguous run over its leading axes (a
/// bias or a scale broadcast over batch and sequence); `None` otherwise. ndarray's `Zip`
/// steps n-dimensional views and took 11% of Penzai's medium forward.
fn zip2_runs<A: Copy, B: Copy, C>(
    a: &ArrayViewD<'_, A>,
    b: &ArrayViewD<'_, B>,
    f: &impl Fn(A, B) -> C,
) -> Option<Vec<C>> {
    let (xs, ys) = (a.as_slice(), b.as_slice());
    if xs.is_none() && ys.is_none() {
        return None;
    }
    let mut out = Vec::with_capacity(a.len());
    match (xs, ys) {
        (Some(x), Some(y)) => out.extend(x.iter().zip(y).map(|(&x, &y)| f(x, y))),
        (Some(x), None) => {
            if let Some(y) = repeated_run(b) {
                for chunk in x.chunks_exact(y.len()) {
                    out.extend(chunk.iter().zip(y).map(|(&x, &y)| f(x, y)));
                }
            } else {
                let (y, run) = repeated_elements(b)?;
                for (chunk, &y) in x.chunks_exact(run).zip(y) {
                    out.extend(chunk.iter().map(|&x| f(x, y)));
                }
            }
        }
        (None, Some(y)) => {
            if let Some(x) = repeated_run(a) {
                for chunk in y.chunks_exact(x.len()) {
                    out.extend(x.iter().zip(chunk).map(|(&x, &y)| f(x, y)));
                }
            } else {
                let (x, run) = repeated_elements(a)?;
                for (chunk, &x) in y.chunks_exact(run).zip(x) {
                    out.extend(chunk.iter().map(|&y| f(x, y)));
                }
            }
        }
        (None, None) => return None,
    }
    Some(out)
}

/// `f` over three views of one shape by slice loops when each is contiguous or repeats one
/// contiguous run over its leading axes (`where_` with a mask broadcast over batch and heads;
/// the n-dimensional zip showed in the gradient step's profile); `None` otherwise.
///
/// The runs are products of trailing sizes, so the shortest divides the others: the result is
/// made in chunks of that length, each operand's chunk a subslice.
fn zip3_runs<A: Copy, B: Copy, C: Copy, R>(
    a: &ArrayViewD<'_, A>,
    b: &ArrayViewD<'_, B>,
    c: &ArrayViewD<'_, C>,
    f: &impl Fn(A, B, C) -> R,
) -> Option<Vec<R>> {
    fn run<'a, T>(v: &ArrayViewD<'a, T>) -> Option<&'a [T]> {
        v.to_slice().or_else(|| repeated_run(v))
    }
    let (ra, rb, rc) = (run(a)?, run(b)?, run(c)?);
    let n = a.len();
    let chunk = ra.len().min(rb.len()).min(rc.len());
    if n == 0 || chunk == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(chunk) {
        let part = |r: usize| (start % r)..(start % r + chunk);
        let (xa, xb, xc) = (
            &ra[part(ra.len())],
            &rb[part(rb.len())],
            &rc[part(rc.len())],
        );
        out.extend(xa.iter().zip(xb).zip(xc).map(|((&x, &y), &z)| f(x, y, z)));
    }
    Some(out)
}

/// The elements of a view broadcast over its trailing axes (a per-row statistic against its
/// rows): the contiguous elements before the trailing stride-0 axes, and how many times each
/// repeats; `None` unless that is the view's layout and it is not empty.
fn repeated_elements<'a, T>(view: &ArrayViewD<'a, T>) -> Option<(&'a [T], usize)> {
    if view.is_empty() {
        return None;
    }
    let trail = view.strides().iter().rev().take_while(|&&s| s == 0).count();
    let nd = view.ndim();
    let run: usize = view.shape()[nd - trail..].iter().product();
    let mut lead = view.clone();
    for ax in (nd - trail..nd).rev() {
        lead.index_axis_inplace(Axis(ax), 0);
    }
    lead.to_slice().map(|elements| (elements, run))
}

/// The run a broadcast view repeats: its elements past the leading stride-0 axes, when those
/// are contiguous in row-major order and not empty.
fn repeated_run<'a, T>(view: &ArrayViewD<'a, T>) -> Option<&'a [T]> {
    if view.is_empty() {
        return None;
    }
    let lead = view.strides().iter().take_while(|&&s| s == 0).count();
    let mut inner = view.clone();
    for _ in 0..lead {
        inner.index_axis_inplace(Axis(0), 0);
    }
    inner.to_slice().filter(|run| !run.is_empty())
}

/// Applies `f` elementwise to three prepared views, broadcasting them to `shape`.
pub(crate) fn zip3<A: Copy, B: Copy, C: Copy, R>(
    shape: &IxDyn,
    a: &ArrayViewD<'_, A>,
    b: &ArrayViewD<'_, B>,
    c: &ArrayViewD<'_, C>,
    f: impl Fn(A, B, C) -> R,
) -> ArrayD<R> {
    let (a, b, c) = (
        broadcast(a, shape),
        broadcast(b, shape),
        broadcast(c, shape),
    );
    if let Some(values) = zip3_runs(&a, &b, &c, &f) {
        return ArrayD::from_shape_vec(shape.clone(), values)
            .expect("one value per element of the broadcast shape");
    }
    Zip::from(&a)
        .and(&b)
        .and(&c)
        .map_collect(|&x, &y, &z| f(x, y, z))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slice fast paths of `zip2` give what the n-dimensional zip gives, for contiguous,
    /// broadcast (leading, middle and trailing axes) and permuted operands.
    #[test]
    fn zip2_fast_paths_match_the_general_zip() {
        use ndarray::IxDyn;
        let shape = IxDyn(&[2, 3, 4]);
        let a = ArrayD::from_shape_fn(shape.clone(), |i| (i[0] * 100 + i[1] * 10 + i[2]) as f32);
        let bias = ArrayD::from_shape_fn(IxDyn(&[1, 1, 4]), |i| i[2] as f32 * 0.5);
        let rows = ArrayD::from_shape_fn(IxDyn(&[1, 3, 4]), |i| (i[1] * 4 + i[2]) as f32);
        let middle = ArrayD::from_shape_fn(IxDyn(&[2, 1, 4]), |i| (i[0] + i[2]) as f32);
        let column = ArrayD::from_shape_fn(IxDyn(&[2, 3, 1]), |i| (i[0] * 3 + i[1]) as f32);
        let scalar = ArrayD::from_elem(IxDyn(&[1, 1, 1]), 3.0f32);
        let permuted = ArrayD::from_shape_fn(IxDyn(&[4, 3, 2]), |i| (i[0] + 7 * i[2]) as f32);
        let permuted = permuted.view().permuted_axes(IxDyn(&[2, 1, 0]));
        let f = |x: f32, y: f32| x * 2.0 - y;
        let want = |x: &ArrayViewD<'_, f32>, y: &ArrayViewD<'_, f32>| {
            let (x, y) = (broadcast(x, &shape), broadcast(y, &shape));
            Zip::from(&x).and(&y).map_collect(|&p, &q| f(p, q))
        };
        let others = [
            a.view(),
            bias.view(),
            rows.view(),
            middle.view(),
            column.view(),
            scalar.view(),
            permuted.clone(),
        ];
        for other in &others {
            assert_eq!(zip2(&shape, &a.view(), other, f), want(&a.view(), other));
            assert_eq!(zip2(&shape, other, &a.view(), f), want(other, &a.view()));
        }
        let empty = ArrayD::<f32>::zeros(IxDyn(&[0, 4]));
        let got = zip2(
            &IxDyn(&[0, 4]),
            &empty.view(),
            &bias.view().index_axis_move(Axis(0), 0),
            f,
        );
        assert_eq!(got.shape(), &[0, 4]);
    }

    /// The slice path of `zip3` gives what the n-dimensional zip gives, with operands that are
    /// contiguous, broadcast over leading axes (runs of different lengths) or neither.
    #[test]
    fn zip3_fast_path_matches_the_general_zip() {
        use ndarray::IxDyn;
        let shape = IxDyn(&[2, 3, 4]);
        let a = ArrayD::from_shape_fn(shape.clone(), |i| (i[0] * 100 + i[1] * 10 + i[2]) as f32);
        let row = ArrayD::from_shape_fn(IxDyn(&[1, 1, 4]), |i| i[2] as f32 * 0.5);
        let plane = ArrayD::from_shape_fn(IxDyn(&[1, 3, 4]), |i| (i[1] * 4 + i[2]) as f32);
        let mask = ArrayD::from_shape_fn(IxDyn(&[1, 3, 4]), |i| i[1] >= i[2]);
        let column = ArrayD::from_shape_fn(IxDyn(&[2, 3, 1]), |i| (i[0] * 3 + i[1]) as f32);
        let f = |m: bool, x: f32, y: f32| if m { x } else { y - 1.0 };
        let want = |m: &ArrayViewD<'_, bool>, x: &ArrayViewD<'_, f32>, y: &ArrayViewD<'_, f32>| {
            let (m, x, y) = (
                broadcast(m, &shape),
                broadcast(x, &shape),
                broadcast(y, &shape),
            );
            Zip::from(&m)
                .and(&x)
                .and(&y)
                .map_collect(|&m, &x, &y| f(m, x, y))
        };
        let full_mask = ArrayD::from_shape_fn(shape.clone(), |i| (i[0] + i[2]) % 2 == 0);
        for m in [mask.view(), full_mask.view()] {
            for x in [a.view(), row.view(), plane.view(), column.view()] {
                for y in [a.view(), row.view(), plane.view()] {
                    assert_eq!(zip3(&shape, &m, &x, &y, f), want(&m, &x, &y));
                }
            }
        }
    }

    #[test]
    fn positional_shapes_broadcast_like_numpy() {
        assert_eq!(broadcast_positional(&[3], &[2, 1]), Some(vec![2, 3]));
        assert_eq!(broadcast_positional(&[], &[4]), Some(vec![4]));
        assert_eq!(broadcast_positional(&[3], &[4]), None);
    }

    #[test]
    fn union_keeps_first_seen_order_and_reports_conflicts() {
        let a = NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap();
        let b = NamedArray::zeros(&[("c", 4), ("a", 5), ("b", 3)]).unwrap();
        let u = NamedUnion::of(&[&a, &b]);
        assert_eq!(u.names, ["a", "b", "c"]);
        assert_eq!(u.conflicts, ["a"]);
    }
}
