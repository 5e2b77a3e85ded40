//! The gradient rule of each differentiable `nx` operation, written with named ops.
//!
//! A rule receives the gradient of the op's result (same axes as the result) and returns one
//! gradient per input, with that input's axes. Broadcasting by name is undone by summing the
//! axes an input lacks ([`reduce_to`]); reductions are undone by broadcasting back.
//!
//! **What a rule keeps.** A rule's captured values live on the tape until the backward
//! reaches it, so each keeps only what its own backward reads, decided when the op is
//! recorded: shapes ([`Like`]) where a shape is enough (sums, means, adds, `where_`'s
//! branches, slicing, gathers); the other factor of a product or contraction only when the
//! input it differentiates can receive a gradient (the input carries a trace of the
//! recording tape: `x` times a frozen weight keeps the weight, not `x`); the output rather
//! than the input where the derivative is a function of the output (`exp`, `tanh`, `sqrt`,
//! `rsqrt`, `softmax`, `log_softmax`); and a recipe instead of an activation's output
//! (`silu`, `gelu_*`) whose input that activation's rule keeps ([`Kept`]). The values are
//! the forward's own shared arrays, never copies, and are dropped as soon as the rule has
//! run. `examples/bench_grad.rs -- --itemize` lists what one transformer block's recording
//! keeps, node by node.

use ndarray::{ArrayD, Axis, IxDyn, Slice, Zip};

use super::super::array::NamedArray;
use super::super::axis::AxisName;
use super::super::dtype::Storage;
use super::super::error::AxisError;
use super::super::shape::NamedShape;
use super::super::shared::SharedArray;
use super::super::slice_map;
use super::{Backward, GradError, Recompute};
use std::borrow::Cow;

/// Wraps an array error of a rule as a [`GradError::Rule`] naming `op`.
fn rule_err(op: &'static str) -> impl Fn(AxisError) -> GradError {
    move |source| GradError::Rule { op, source }
}

/// True when `x` carries a trace of the recording tape, so that a gradient can be asked for
/// it: a rule keeps the values only such an input's gradient reads.
fn traced(x: &NamedArray) -> bool {
    super::recorded_trace(x).is_some()
}

/// `x` when `keep`, for a rule that reads it only for a gradient that may be asked for.
fn kept_if(keep: bool, x: NamedArray) -> Option<NamedArray> {
    keep.then_some(x)
}

/// The value a rule kept for input `input`'s gradient, or [`GradError::NotSaved`] when it
/// decided at record time that no gradient could be asked for (a bug if it happens).
fn saved<'a>(
    op: &'static str,
    input: usize,
    x: &'a Option<NamedArray>,
) -> Result<&'a NamedArray, GradError> {
    x.as_ref().ok_or(GradError::NotSaved { op, input })
}

/// A value a product or contraction keeps for a gradient: the array, or, when it is the
/// output of an elementwise op whose rule keeps that op's input anyway (`silu`, `gelu_*`),
/// the recipe to compute it again when the backward reads it ([`Recompute`]), so that the
/// tape does not hold both the activation's input and its output.
enum Kept {
    Value(NamedArray),
    Recomputed(Recompute),
}

impl Kept {
    fn of(x: NamedArray) -> Kept {
        match super::recomputable(&x) {
            Some(r) => Kept::Recomputed(r),
            None => Kept::Value(x),
        }
    }
}

/// The value kept for input `input`'s gradient (computed again if it was kept as a
/// recipe), or [`GradError::NotSaved`] as for [`saved`].
fn kept_value<'a>(
    op: &'static str,
    input: usize,
    x: &'a Option<Kept>,
) -> Result<Cow<'a, NamedArray>, GradError> {
    match x {
        Some(Kept::Value(x)) => Ok(Cow::Borrowed(x)),
        Some(Kept::Recomputed(r)) => r.value().map(Cow::Owned).map_err(rule_err(op)),
        None => Err(GradError::NotSaved { op, input }),
    }
}

/// The f32 data of `g` with its axes in the order `[positional.., names..]`.
fn data_in_order(g: &NamedArray, names: &[AxisName]) -> Result<ArrayD<f32>, AxisError> {
    let strs: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    Ok(g.move_to_front(&strs)?.data.to_f32().to_owned_array())
}

/// `g` (broadcast to an op's result) summed down to the shape of the input `like`: named
/// axes `like` lacks are summed away; positional axes are summed as numpy broadcasting
/// stretched them.
pub(crate) fn reduce_to(g: &NamedArray, like: &NamedArray) -> Result<NamedArray, AxisError> {
    reduce_to_like(g, &Like::of(like))
}

/// [`reduce_to`] an input of which the rule kept only the shape.
fn reduce_to_like(g: &NamedArray, like: &Like) -> Result<NamedArray, AxisError> {
    let extra: Vec<&str> = g
        .names
        .iter()
        .map(|n| n.as_str())
        .filter(|n| !like.has_axis(n))
        .collect();
    let g = if extra.is_empty() {
        g.clone()
    } else {
        g.sum(&extra)?
    };
    let (gp, lp) = (g.positional_shape(), &like.dims[..like.n_pos()]);
    if gp == lp {
        return Ok(g);
    }
    let mut data = g.data.to_f32().to_owned_array();
    for _ in 0..gp.len().saturating_sub(lp.len()) {
        data = data.sum_axis(Axis(0));
    }
    for (i, &size) in lp.iter().enumerate() {
        if size == 1 && data.shape()[i] != 1 {
            data = data.sum_axis(Axis(i)).insert_axis(Axis(i));
        }
    }
    Ok(NamedArray::from_parts(Storage::F32(data.into()), g.names))
}

/// `g` (a reduction's result gradient) broadcast back over the named axes of `x`.
fn expand_to(g: &NamedArray, x: &Like) -> Result<NamedArray, AxisError> {
    let n_pos = x.n_pos();
    g.broadcast_to(NamedShape::new(
        x.names.iter().cloned().zip(x.dims[n_pos..].iter().copied()),
    ))
}

/// The f32 elements of a gradient and of an array with its axes, in the array's axis order.
type Aligned = (SharedArray<f32>, SharedArray<f32>);

/// The f32 elements of `g` and of `x` (an array with `g`'s axes), both in `x`'s axis order,
/// for a backward computed in one pass over raw elements instead of by composing named ops
/// (one new array instead of one per step). `None` when `x` is laid out otherwise (it has
/// positional axes or is a tagged view), for the caller's general path.
fn aligned(g: &NamedArray, x: &NamedArray) -> Result<Option<Aligned>, AxisError> {
    if !x.positional_shape().is_empty()
        || x.data_order.is_some()
        || g.names.len() != x.names.len()
        || x.names.iter().any(|n| !g.has_axis(n))
    {
        return Ok(None);
    }
    let names: Vec<&str> = x.names.iter().map(|n| n.as_str()).collect();
    let g = g.order_as(&names)?;
    if g.data.shape() != x.data.shape() || g.data_order.is_some() {
        return Ok(None);
    }
    Ok(Some((g.data.to_f32(), x.data.to_f32())))
}

/// `a` summed over its data axes `axes`, keeping them with length 1 (for broadcasting
/// back); `None` for no axes.
fn summed_keeping_axes(a: ndarray::ArrayViewD<'_, f32>, axes: &[usize]) -> Option<ArrayD<f32>> {
    let (&last, rest) = axes.split_last()?;
    let mut s = a.sum_axis(Axis(last)).insert_axis(Axis(last));
    for &ax in rest.iter().rev() {
        s = s.sum_axis(Axis(ax)).insert_axis(Axis(ax));
    }
    Some(s)
}

/// The data axes of `x` named in `axes`.
fn data_axes(x: &NamedArray, axes: &[&str]) -> Vec<usize> {
    x.names
        .iter()
        .enumerate()
        .filter(|(_, n)| axes.contains(&n.as_str()))
        .map(|(i, _)| i)
        .collect()
}

/// The backward of `y = softmax(x)` over `axes`, `dx = y (g - sum(g y))`, in two passes
/// and one new array (as `g y - y sum(g y)`). `None` for the general path.
fn softmax_backward(
    g: &NamedArray,
    y: &NamedArray,
    axes: &[&str],
) -> Result<Option<NamedArray>, AxisError> {
    let Some((gd, yd)) = aligned(g, y)? else {
        return Ok(None);
    };
    let mut out = Zip::from(&gd.view())
        .and(&yd.view())
        .map_collect(|&g, &y| g * y);
    let Some(s) = summed_keeping_axes(out.view(), &data_axes(y, axes)) else {
        return Ok(None);
    };
    let Some(s) = s.broadcast(out.raw_dim()) else {
        return Ok(None);
    };
    Zip::from(&mut out)
        .and(&yd.view())
        .and(&s)
        .for_each(|o, &y, &s| *o -= y * s);
    Ok(Some(NamedArray::from_parts(
        Storage::F32(out.into()),
        y.names.clone(),
    )))
}

/// The backward of `y = log_softmax(x)` over `axes`, `dx = g - exp(y) sum(g)`, in one
/// pass and one new array. `None` for the general path.
fn log_softmax_backward(
    g: &NamedArray,
    y: &NamedArray,
    axes: &[&str],
) -> Result<Option<NamedArray>, AxisError> {
    let Some((gd, yd)) = aligned(g, y)? else {
        return Ok(None);
    };
    let Some(s) = summed_keeping_axes(gd.view(), &data_axes(y, axes)) else {
        return Ok(None);
    };
    let Some(s) = s.broadcast(yd.view().raw_dim()) else {
        return Ok(None);
    };
    let out = Zip::from(&gd.view())
        .and(&yd.view())
        .and(&s)
        .map_collect(|&g, &y, &s| g - libm::expf(y) * s);
    Ok(Some(NamedArray::from_parts(
        Storage::F32(out.into()),
        y.names.clone(),
    )))
}

/// `g * d(x)` elementwise, in one pass and one new array when [`aligned`] allows, else by
/// named ops.
fn times_derivative(
    g: &NamedArray,
    x: &NamedArray,
    d: impl Fn(f32) -> f32 + Sync,
) -> Result<NamedArray, AxisError> {
    match aligned(g, x)? {
        Some((gd, xd)) => {
            // Standard layout (the usual case): the CPU's widest SIMD, both cores when large.
            let (gv, xv) = (gd.view(), xd.view());
            let out = match (gv.to_slice(), xv.to_slice()) {
                (Some(gs), Some(xs)) => {
                    let values = slice_map::map2(gs, xs, |g, x| g * d(x));
                    ArrayD::from_shape_vec(xv.raw_dim(), values)
                        .expect("one value per element of a standard-layout array")
                }
                _ => Zip::from(&gv).and(&xv).map_collect(|&g, &x| g * d(x)),
            };
            Ok(NamedArray::from_parts(
                Storage::F32(out.into()),
                x.names.clone(),
            ))
        }
        None => g * &x.map_f32(d)?,
    }
}

/// Elementwise unary op: `dx = g * d(x)`.
pub(crate) fn unary(
    op: &'static str,
    x: &NamedArray,
    d: impl Fn(f32) -> f32 + Sync + 'static,
) -> impl FnOnce(&NamedArray) -> Backward {
    let x = x.clone();
    move |_| {
        Box::new(move |g, _| {
            let dx = times_derivative(g, &x, d).map_err(rule_err(op))?;
            Ok(vec![Some(dx)])
        })
    }
}

/// Elementwise unary op whose derivative is a function of its output `y` (`exp`, `tanh`,
/// `sqrt`, `rsqrt`): `dx = g * d(y)`. Keeps the output, which the next op usually keeps
/// too, rather than the input.
pub(crate) fn unary_of_output(
    op: &'static str,
    d: impl Fn(f32) -> f32 + Sync + 'static,
) -> impl FnOnce(&NamedArray) -> Backward {
    move |y: &NamedArray| {
        let y = super::untraced(y.clone());
        Box::new(move |g, _| {
            let dx = times_derivative(g, &y, d).map_err(rule_err(op))?;
            Ok(vec![Some(dx)])
        })
    }
}

/// A linear unary op `y = s * x + c` (scalar forms of `+ - * /`, `neg`, `cast`):
/// `dx = s * g`; keeps nothing.
pub(crate) fn scaled(op: &'static str, s: f32) -> impl FnOnce(&NamedArray) -> Backward {
    move |_| {
        Box::new(move |g, _| {
            let dx = if s == 1.0 {
                g.cast(super::super::dtype::DType::F32)
            } else {
                g * s
            };
            Ok(vec![Some(dx.map_err(rule_err(op))?)])
        })
    }
}

/// The binary arithmetic ops, by their partial derivatives.
#[derive(Clone, Copy)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
}

/// `a (op) b`, broadcasting by name. Keeps both shapes; `mul` keeps each factor only when
/// the other can receive a gradient; `div` keeps `b`, and its output when `b` can receive a
/// gradient; `maximum`/`minimum` keep both inputs (their comparison).
pub(crate) fn binary(
    op: &'static str,
    kind: Binary,
    a: &NamedArray,
    b: &NamedArray,
) -> impl FnOnce(&NamedArray) -> Backward {
    let (a, b) = (a.clone(), b.clone());
    move |out: &NamedArray| {
        let (a_like, b_like) = (Like::of(&a), Like::of(&b));
        let (ta, tb) = (traced(&a), traced(&b));
        // What each kind's backward reads, beyond the shapes.
        let (a, b, out) = match kind {
            Binary::Add | Binary::Sub => (None, None, None),
            Binary::Mul => (
                kept_if(tb, a).map(Kept::of),
                kept_if(ta, b).map(Kept::of),
                None,
            ),
            Binary::Div => (
                None,
                Some(Kept::Value(b)),
                kept_if(tb, super::untraced(out.clone())),
            ),
            Binary::Maximum | Binary::Minimum => (Some(Kept::Value(a)), Some(Kept::Value(b)), None),
        };
        Box::new(move |g, wants| {
            let e = rule_err(op);
            let (da, db) = match kind {
                Binary::Add => (Some(g.clone()), Some(g.clone())),
                Binary::Sub => (Some(g.clone()), Some((-g).map_err(&e)?)),
                Binary::Mul => {
                    // Each factor is dropped as soon as it has been read, before the other
                    // side's gradient is made: one fewer array live at once.
                    let (a, mut b) = (a, b);
                    let da = match wants[0] {
                        true => Some((g * &*kept_value(op, 1, &b)?).map_err(&e)?),
                        false => None,
                    };
                    drop(b.take());
                    let db = match wants[1] {
                        true => Some((g * &*kept_value(op, 0, &a)?).map_err(&e)?),
                        false => None,
                    };
                    drop(a);
                    (da, db)
                }
                Binary::Div => {
                    let da = (g / &*kept_value(op, 1, &b)?).map_err(&e)?;
                    let db = if wants[1] {
                        // d(a/b)/db = -a/b^2 = -(g/b) * (a/b), and a/b is the output.
                        let q = saved(op, 1, &out)?;
                        Some((-(&da * q).map_err(&e)?).map_err(&e)?)
                    } else {
                        None
                    };
                    (wants[0].then_some(da), db)
                }
                Binary::Maximum | Binary::Minimum => {
                    let (a, b) = (kept_value(op, 0, &a)?, kept_value(op, 1, &b)?);
                    // The gradient goes to the chosen side; ties go to the left.
                    let left = match kind {
                        Binary::Maximum => a.ge(&b),
                        _ => a.le(&b),
                    }
                    .map_err(&e)?;
                    let zero = NamedArray::scalar(0.0);
                    (
                        Some(NamedArray::where_(&left, g, &zero).map_err(&e)?),
                        Some(NamedArray::where_(&left, &zero, g).map_err(&e)?),
                    )
                }
            };
            let da = da
                .map(|d| reduce_to_like(&d, &a_like))
                .transpose()
                .map_err(&e)?;
            let db = db
                .map(|d| reduce_to_like(&d, &b_like))
                .transpose()
                .map_err(&e)?;
            Ok(vec![da, db])
        })
    }
}

/// `where_(mask, on_true, on_false)`.
pub(crate) fn select(
    mask: &NamedArray,
    on_true: &NamedArray,
    on_false: &NamedArray,
) -> impl FnOnce(&NamedArray) -> Backward {
    // The branches' shapes only: the mask says which gradient goes where.
    let (mask, t, f) = (mask.clone(), Like::of(on_true), Like::of(on_false));
    move |_| {
        Box::new(move |g, wants| {
            let e = rule_err("where_");
            let zero = NamedArray::scalar(0.0);
            let dt = wants[1]
                .then(|| reduce_to_like(&NamedArray::where_(&mask, g, &zero)?, &t))
                .transpose()
                .map_err(&e)?;
            let df = wants[2]
                .then(|| reduce_to_like(&NamedArray::where_(&mask, &zero, g)?, &f))
                .transpose()
                .map_err(&e)?;
            Ok(vec![None, dt, df])
        })
    }
}

/// The named reductions and normalizations.
#[derive(Clone, Copy)]
pub(crate) enum Reduction {
    Sum,
    Mean,
    Extremum,
    Var,
    Softmax,
    LogSoftmax,
    LogSumExp,
}

/// A reduction or normalization of `x` over `axes`. Sums and means keep `x`'s shape,
/// softmax and log-softmax their output, variance its input, extrema and log-sum-exp both.
pub(crate) fn reduction(
    op: &'static str,
    kind: Reduction,
    x: &NamedArray,
    axes: &[&str],
) -> impl FnOnce(&NamedArray) -> Backward {
    let x = x.clone();
    let axes: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
    move |y: &NamedArray| {
        let like = Like::of(&x);
        let (x, y) = match kind {
            Reduction::Sum | Reduction::Mean => (None, None),
            Reduction::Softmax | Reduction::LogSoftmax => (None, Some(super::untraced(y.clone()))),
            Reduction::Var => (Some(x), None),
            Reduction::Extremum | Reduction::LogSumExp => {
                (Some(x), Some(super::untraced(y.clone())))
            }
        };
        Box::new(move |g, _| {
            let e = rule_err(op);
            let axes: Vec<&str> = axes.iter().map(String::as_str).collect();
            let count = || -> f32 {
                axes.iter()
                    .filter_map(|a| like.axis_size(a))
                    .product::<usize>() as f32
            };
            let dx = match kind {
                Reduction::Sum => expand_to(g, &like),
                Reduction::Mean => (g / count()).and_then(|m| expand_to(&m, &like)),
                Reduction::Extremum => {
                    let (x, y) = (saved(op, 0, &x)?, saved(op, 0, &y)?);
                    (|| {
                        // Ties share the gradient equally, as `jnp.max`'s.
                        let hit = x.eq_elem(y)?;
                        let one = NamedArray::where_(
                            &hit,
                            &NamedArray::scalar(1.0),
                            &NamedArray::scalar(0.0),
                        )?;
                        let share = (&one / &one.sum(&axes)?)?;
                        share * g
                    })()
                }
                Reduction::Var => {
                    let x = saved(op, 0, &x)?;
                    (|| {
                        let centered = (x - &x.mean(&axes)?)?;
                        &centered * &(g * (2.0 / count()))?
                    })()
                }
                Reduction::Softmax => {
                    let y = saved(op, 0, &y)?;
                    (|| match softmax_backward(g, y, &axes)? {
                        Some(dx) => Ok(dx),
                        None => {
                            let gy = (g * y)?;
                            y * &(g - &gy.sum(&axes)?)?
                        }
                    })()
                }
                Reduction::LogSoftmax => {
                    let y = saved(op, 0, &y)?;
                    (|| match log_softmax_backward(g, y, &axes)? {
                        Some(dx) => Ok(dx),
                        None => g - &(&y.exp()? * &g.sum(&axes)?)?,
                    })()
                }
                Reduction::LogSumExp => {
                    let (x, y) = (saved(op, 0, &x)?, saved(op, 0, &y)?);
                    (|| g * &(x - y)?.exp()?)()
                }
            }
            .map_err(e)?;
            Ok(vec![Some(dx)])
        })
    }
}

/// `a.contract(b, names)`: each side's gradient is an einsum of the result's gradient with
/// the other side (a GEMM by name), skipped for a side that needs none. Each side is kept
/// only when the other can receive a gradient (`x` times a frozen weight keeps the weight).
pub(crate) fn contraction(a: &NamedArray, b: &NamedArray) -> impl FnOnce(&NamedArray) -> Backward {
    let (a, b) = (a.clone(), b.clone());
    move |_| {
        let (a_names, b_names) = (names_of(&a), names_of(&b));
        let (a_len, b_len) = (a.len(), b.len());
        let (ta, tb) = (traced(&a), traced(&b));
        let (a, b) = (kept_if(tb, a).map(Kept::of), kept_if(ta, b).map(Kept::of));
        Box::new(move |g, wants| {
            let e = rule_err("contract");
            let side = |other: &NamedArray, this: &[String]| {
                let names: Vec<&str> = this.iter().map(String::as_str).collect();
                g.einsum(other, &names).map_err(&e)
            };
            // Each side is dropped as soon as it has been read (as in `mul`), and the
            // smaller input's gradient is made first: the larger side is then freed before
            // the larger gradient is allocated (`x` times a weight: the weight's gradient,
            // then `x` is dropped, then `x`'s gradient).
            let (mut a, mut b) = (a, b);
            let (mut da, mut db) = (None, None);
            for first_a in [a_len <= b_len, a_len > b_len] {
                if first_a {
                    if wants[0] && da.is_none() {
                        da = Some(side(&*kept_value("contract", 1, &b)?, &a_names)?);
                    }
                    drop(b.take());
                } else {
                    if wants[1] && db.is_none() {
                        db = Some(side(&*kept_value("contract", 0, &a)?, &b_names)?);
                    }
                    drop(a.take());
                }
            }
            Ok(vec![da, db])
        })
    }
}

/// The axis names of `x`, in its logical order.
fn names_of(x: &NamedArray) -> Vec<String> {
    x.names.iter().map(|n| n.as_str().to_string()).collect()
}

/// An op that only permutes `x`'s data axes by `perm` and renames the named ones (`tag`,
/// `untag`, `order_as`, `rename`): the gradient is permuted back.
pub(crate) fn permutation(x: &NamedArray, perm: &[usize]) -> impl FnOnce(&NamedArray) -> Backward {
    let names = x.names.clone();
    let perm = perm.to_vec();
    move |y: &NamedArray| {
        let out_names = y.names.clone();
        Box::new(move |g, _| {
            let data = data_in_order(g, &out_names).map_err(rule_err("permute"))?;
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            let data = data.permuted_axes(inverse);
            Ok(vec![Some(NamedArray::from_parts(
                Storage::F32(data.into()),
                names,
            ))])
        })
    }
}

/// `x.reshape_positional(..)`: the gradient's positional axes are reshaped back (row-major,
/// as the forward read them).
pub(crate) fn reshaped(x: &NamedArray) -> impl FnOnce(&NamedArray) -> Backward {
    let like = Like::of(x);
    move |_| {
        Box::new(move |g, _| {
            let e = rule_err("reshape_positional");
            let data = data_in_order(g, &like.names).map_err(&e)?;
            // `to_shape` copies when the gradient's memory is not row-major (a tagged view
            // keeps its data order), where `into_shape_with_order` would refuse.
            let data = data
                .to_shape(IxDyn(&like.dims))
                .map_err(|_| {
                    e(AxisError::Reshape {
                        shape: g.full_shape(),
                        to: like.dims[..like.n_pos()].to_vec(),
                    })
                })?
                .into_owned();
            Ok(vec![Some(NamedArray::from_parts(
                Storage::F32(data.into()),
                like.names,
            ))])
        })
    }
}

/// `x.insert_axis(name)`: the gradient drops the unit axis again.
pub(crate) fn inserted_axis(name: &str) -> impl FnOnce(&NamedArray) -> Backward {
    let name = name.to_string();
    move |_| {
        Box::new(move |g, _| {
            let dx = g.index_axis(&name, 0).map_err(rule_err("insert_axis"))?;
            Ok(vec![Some(dx)])
        })
    }
}

/// `x.broadcast_to(shape)`: the added axes are summed away.
pub(crate) fn broadcast(x: &NamedArray) -> impl FnOnce(&NamedArray) -> Backward {
    let like = Like::of(x);
    move |_| {
        Box::new(move |g, _| {
            let dx = reduce_to_like(g, &like).map_err(rule_err("broadcast_to"))?;
            Ok(vec![Some(dx)])
        })
    }
}

/// A region of one axis of `x` (`index_axis` with `step: None` drops the axis, `slice_axis`
/// keeps it): the gradient is zero outside the region.
pub(crate) fn region(
    op: &'static str,
    x: &NamedArray,
    axis: &str,
    slice: Slice,
    drops_axis: bool,
) -> impl FnOnce(&NamedArray) -> Backward {
    let like = Like::of(x);
    let axis = AxisName::from(axis);
    move |_| {
        Box::new(move |g, _| {
            let e = rule_err(op);
            let ax = like.require_axis(op, &axis).map_err(&e)?;
            let mut full = ArrayD::<f32>::zeros(IxDyn(&like.dims));
            let kept: Vec<AxisName> = like
                .names
                .iter()
                .filter(|n| !drops_axis || **n != axis)
                .cloned()
                .collect();
            let part = data_in_order(g, &kept).map_err(&e)?;
            let mut target = full.slice_axis_mut(Axis(ax), slice);
            if drops_axis {
                target.index_axis_mut(Axis(ax), 0).assign(&part);
            } else {
                target.assign(&part);
            }
            Ok(vec![Some(NamedArray::from_parts(
                Storage::F32(full.into()),
                like.names.clone(),
            ))])
        })
    }
}

/// The shape of an input, kept by rules that need only the shape: the activation itself is
/// not kept alive by the tape.
struct Like {
    dims: Vec<usize>,
    names: Vec<AxisName>,
}

impl Like {
    fn of(x: &NamedArray) -> Like {
        Like {
            dims: x.data.shape().to_vec(),
            names: x.names.clone(),
        }
    }
    fn n_pos(&self) -> usize {
        self.dims.len() - self.names.len()
    }
    fn has_axis(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
    fn axis_size(&self, name: &str) -> Option<usize> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(self.dims[self.n_pos() + i])
    }
    fn require_axis(&self, op: &'static str, name: &str) -> Result<usize, AxisError> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => Ok(self.n_pos() + i),
            None => Err(AxisError::MissingAxis {
                op,
                axis: name.into(),
                shape: self.zeros().full_shape(),
            }),
        }
    }
    fn zeros(&self) -> NamedArray {
        NamedArray::from_parts(
            Storage::F32(ArrayD::<f32>::zeros(IxDyn(&self.dims)).into()),
            self.names.clone(),
        )
    }
}

/// `concat` (`stack: false`) or `stack` of `parts` along `axis`: each part's gradient is
/// its piece of the result's gradient.
pub(crate) fn join(
    op: &'static str,
    parts: &[NamedArray],
    axis: &str,
    stack: bool,
) -> impl FnOnce(&NamedArray) -> Backward {
    let sizes: Vec<usize> = parts
        .iter()
        .map(|p| p.axis_size(axis).unwrap_or(1))
        .collect();
    let axis = axis.to_string();
    move |_| {
        Box::new(move |g, wants| {
            let e = rule_err(op);
            let mut start = 0;
            let mut out = Vec::with_capacity(sizes.len());
            for (i, &size) in sizes.iter().enumerate() {
                let piece = if !wants[i] {
                    None
                } else if stack {
                    Some(g.index_axis(&axis, i).map_err(&e)?)
                } else {
                    Some(g.slice_axis(&axis, start..start + size).map_err(&e)?)
                };
                out.push(piece);
                start += size;
            }
            Ok(out)
        })
    }
}

/// `x.take(axis, indices)`: the gradient adds each gathered row back where it came from.
pub(crate) fn gather(
    x: &NamedArray,
    axis: &str,
    indices: &NamedArray,
) -> impl FnOnce(&NamedArray) -> Backward {
    let like = Like::of(x);
    let indices = indices.clone();
    let axis = AxisName::from(axis);
    move |_| Box::new(move |g, _| Ok(vec![Some(scatter_add(&like, &axis, &indices, g)?), None]))
}

fn scatter_add(
    like: &Like,
    axis: &AxisName,
    indices: &NamedArray,
    g: &NamedArray,
) -> Result<NamedArray, GradError> {
    let e = rule_err("take");
    let ax = like.require_axis("take", axis).map_err(&e)?;
    let shared: Vec<AxisName> = indices
        .names
        .iter()
        .filter(|n| *n != axis && like.has_axis(n))
        .cloned()
        .collect();
    let new: Vec<AxisName> = indices
        .names
        .iter()
        .filter(|n| !shared.contains(n))
        .cloned()
        .collect();
    let rest: Vec<AxisName> = like
        .names
        .iter()
        .filter(|n| *n != axis && !shared.contains(n))
        .cloned()
        .collect();
    let n_pos = like.n_pos();
    let (s, n): (usize, usize) = (
        shared.iter().filter_map(|a| like.axis_size(a)).product(),
        new.iter().filter_map(|a| indices.axis_size(a)).product(),
    );
    let v = like.dims[ax];
    let r = like.dims[..n_pos].iter().product::<usize>()
        * rest
            .iter()
            .filter_map(|a| like.axis_size(a))
            .product::<usize>();
    // g in the layout (shared, new, positional, rest).
    let g_perm: Vec<usize> = shared
        .iter()
        .chain(&new)
        .map(|a| g.named_axis(a))
        .chain((0..n_pos).map(Some))
        .chain(rest.iter().map(|a| g.named_axis(a)))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            e(AxisError::MissingAxis {
                op: "take",
                axis: axis.clone(),
                shape: g.full_shape(),
            })
        })?;
    let gd = g.data.to_f32();
    let gv = gd.view().permuted_axes(g_perm);
    let gv = gv.as_standard_layout();
    let gv = gv.to_shape((s, n, r)).map_err(|_| {
        e(AxisError::NotScalar {
            shape: g.full_shape(),
        })
    })?;
    let idx_order: Vec<&str> = shared.iter().chain(&new).map(|a| a.as_str()).collect();
    let ids = indices.move_to_front(&idx_order).map_err(&e)?.to_i64_vec();
    let mut out = vec![0.0f32; s * v * r];
    for i in 0..s {
        for j in 0..n {
            // Indices were normalized into `0..v` when the forward ran; -1 marks an entry
            // the gather dropped, which receives no gradient.
            let Some(id) = usize::try_from(ids[i * n + j]).ok().filter(|&id| id < v) else {
                continue;
            };
            let row = &mut out[(i * v + id) * r..(i * v + id + 1) * r];
            for (o, &x) in row.iter_mut().zip(gv.slice(ndarray::s![i, j, ..])) {
                *o += x;
            }
        }
    }
    // `out` is laid out (shared, axis, positional, rest); permute to `like`'s layout.
    let dims: Vec<usize> = shared
        .iter()
        .map(|a| like.axis_size(a).unwrap_or(0))
        .chain([v])
        .chain(like.dims[..n_pos].iter().copied())
        .chain(rest.iter().map(|a| like.axis_size(a).unwrap_or(0)))
        .collect();
    let data = ArrayD::from_shape_vec(IxDyn(&dims), out).map_err(|_| {
        e(AxisError::NotScalar {
            shape: like.zeros().full_shape(),
        })
    })?;
    // Position in (shared, axis, positional, rest) of each of like's data axes.
    let perm: Vec<usize> = (0..n_pos)
        .map(|p| shared.len() + 1 + p)
        .chain(like.names.iter().map(|a| {
            if a == axis {
                shared.len()
            } else if let Some(k) = shared.iter().position(|x| x == a) {
                k
            } else {
                let k = rest.iter().position(|x| x == a).unwrap_or(0);
                shared.len() + 1 + n_pos + k
            }
        }))
        .collect();
    let data = data.permuted_axes(perm);
    Ok(NamedArray::from_parts(
        Storage::F32(data.into()),
        like.names.clone(),
    ))
}

/// The assembly of `nmap_any`'s per-call outputs into one array with the named axes
/// `names` (of `sizes`), call `c` being the `c`-th position in row-major order over them:
/// each call's output gets its slice of the gradient.
pub(crate) fn unstack_calls(
    names: &[AxisName],
    sizes: &[usize],
) -> impl FnOnce(&NamedArray) -> Backward {
    let names = names.to_vec();
    let sizes = sizes.to_vec();
    move |_| {
        Box::new(move |g, wants| {
            let e = rule_err("nmap_any");
            let data = data_in_order(g, &names).map_err(&e)?;
            let n_pos = data.ndim() - names.len();
            // Named axes first, then each call's positional block.
            let perm: Vec<usize> = (n_pos..data.ndim()).chain(0..n_pos).collect();
            let data = data.permuted_axes(perm);
            let data = data.as_standard_layout();
            let calls: usize = sizes.iter().product();
            let block: Vec<usize> = data.shape()[names.len()..].to_vec();
            let flat_dims: Vec<usize> = [calls].into_iter().chain(block.iter().copied()).collect();
            let flat = data.to_shape(IxDyn(&flat_dims)).map_err(|_| {
                e(AxisError::NotScalar {
                    shape: g.full_shape(),
                })
            })?;
            Ok((0..calls)
                .map(|c| {
                    wants.get(c).copied().unwrap_or(false).then(|| {
                        NamedArray::from_parts(
                            Storage::F32(flat.index_axis(Axis(0), c).to_owned().into()),
                            vec![],
                        )
                    })
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod rule_tests {
    use super::super::super::NamedArray;
    use super::super::super::kernels::sigmoid;
    use super::times_derivative;

    fn bits(v: &NamedArray) -> Vec<u32> {
        v.to_f32_vec().iter().map(|x| x.to_bits()).collect()
    }

    /// `g * d(x)` gives the elementwise formula's bits on every path: the slice path split
    /// over threads (large, odd length), the serial slice path (small), and the general path
    /// (a gradient stored in another axis order).
    #[test]
    fn times_derivative_matches_the_formula_on_every_path() {
        let d = |x: f32| {
            let s = sigmoid(x);
            s * (1.0 + x * (1.0 - s))
        };
        for (a, b) in [(300, 257), (3, 5)] {
            let n = a * b;
            let xs: Vec<f32> = (0..n)
                .map(|i| (i * 7919 % 2001) as f32 * 0.01 - 10.0)
                .collect();
            let gs: Vec<f32> = (0..n)
                .map(|i| (i * 104_729 % 997) as f32 * 0.001 - 0.5)
                .collect();
            let want: Vec<u32> = xs
                .iter()
                .zip(&gs)
                .map(|(&x, &g)| (g * d(x)).to_bits())
                .collect();
            let x = NamedArray::from_f32(&[("a", a), ("b", b)], xs).unwrap();
            let g = NamedArray::from_f32(&[("a", a), ("b", b)], gs).unwrap();
            assert!(bits(&times_derivative(&g, &x, d).unwrap()) == want);
            let g_ba = g.move_to_front(&["b"]).unwrap();
            let got = times_derivative(&g_ba, &x, d).unwrap();
            assert!(bits(&got.order_as(&["a", "b"]).unwrap()) == want);
        }
    }
}
