//! Reductions and normalizations over named axes: sums, means, extrema, variance, softmax.
//!
//! Each operation permutes the reduced axes to the end (a stride change) and views the data
//! as `(kept, reduced)` lanes — a copy only when the reduced axes cannot be merged in place —
//! then runs a small kernel per lane, over a contiguous slice when the memory allows.
//!
//! Reducing over an empty list of axes follows `jnp`'s `axis=()`: every lane has one
//! element, so `sum`/`mean`/`max` return the values, `var` zeros and `softmax` ones.

use ndarray::{ArrayD, ArrayView1, ArrayViewD, IxDyn};

use super::array::NamedArray;
use super::axes::unique_names;
use super::axis::AxisName;
use super::dtype::{Element, Storage};
use super::error::AxisError;
use super::kernels;
use super::tape::{self, Reduction};

/// How an array splits into lanes for a reduction.
struct LanePlan {
    /// Data axes in lane order: kept axes, then reduced axes.
    perm: Vec<usize>,
    kept_dims: Vec<usize>,
    kept_names: Vec<AxisName>,
    reduced_dims: Vec<usize>,
    outer: usize,
    inner: usize,
}

impl NamedArray {
    fn lane_plan(&self, op: &'static str, axes: &[&str]) -> Result<LanePlan, AxisError> {
        unique_names(op, axes)?;
        let reduced: Vec<usize> = axes
            .iter()
            .map(|a| self.require_axis(op, a))
            .collect::<Result<_, _>>()?;
        let shape = self.data.shape();
        let kept: Vec<usize> = (0..shape.len()).filter(|i| !reduced.contains(i)).collect();
        let n_pos = self.n_pos();
        let kept_names = kept
            .iter()
            .filter(|&&i| i >= n_pos)
            .map(|&i| self.names[i - n_pos].clone())
            .collect();
        let kept_dims: Vec<usize> = kept.iter().map(|&i| shape[i]).collect();
        let reduced_dims: Vec<usize> = reduced.iter().map(|&i| shape[i]).collect();
        Ok(LanePlan {
            outer: kept_dims.iter().product(),
            inner: reduced_dims.iter().product(),
            perm: [kept, reduced].concat(),
            kept_dims,
            kept_names,
            reduced_dims,
        })
    }

    fn empty_reduction_error(&self, op: &'static str, axes: &[&str]) -> AxisError {
        AxisError::EmptyReduction {
            op,
            axes: axes.iter().map(|&a| a.into()).collect(),
            shape: self.full_shape(),
        }
    }
}

/// Runs `f` on every lane of `view` (already in any layout) and collects one value per lane.
fn per_lane<T: Clone, R>(
    view: ArrayViewD<'_, T>,
    plan: &LanePlan,
    f: impl FnMut(ArrayView1<'_, T>) -> R,
) -> Vec<R> {
    let view = view.permuted_axes(plan.perm.clone());
    // The two sizes multiply to the element count by construction.
    let rows = view
        .to_shape((plan.outer, plan.inner))
        .expect("same element count");
    rows.rows().into_iter().map(f).collect()
}

/// A reduced array from one value per lane.
fn reduced<R: Element>(plan: LanePlan, values: Vec<R>) -> NamedArray {
    // One value per kept position, by construction.
    let data = ArrayD::from_shape_vec(IxDyn(&plan.kept_dims), values).expect("one value per lane");
    NamedArray::from_parts(R::into_storage(data), plan.kept_names)
}

/// Runs a slice kernel on a lane, copying it into `scratch` when it is not contiguous.
fn on_slice<R>(lane: ArrayView1<'_, f32>, scratch: &mut Vec<f32>, f: impl Fn(&[f32]) -> R) -> R {
    match lane.as_slice() {
        Some(s) => f(s),
        None => {
            scratch.clear();
            scratch.extend(lane.iter().copied());
            f(scratch)
        }
    }
}

/// Index of the first maximum; a NaN counts as the maximum, as in `jnp.argmax`.
fn argmax_lane<T: Copy + PartialOrd>(lane: ArrayView1<'_, T>, is_nan: impl Fn(T) -> bool) -> i64 {
    let mut best = 0usize;
    for (i, &x) in lane.iter().enumerate() {
        if is_nan(x) {
            return i as i64;
        }
        if x > lane[best] {
            best = i;
        }
    }
    best as i64
}

impl NamedArray {
    /// Sums over the named axes `axes`. Floats sum in `f32` (16-bit ones widened), `i64`
    /// stays `i64` (wrapping), `bool` counts into `i64`. An empty list sums over nothing (see the module docs).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("a", 2), ("b", 3)], vec![1., 2., 3., 4., 5., 6.])?;
    /// assert_eq!(x.sum(&["b"])?.to_f32_vec(), [6., 15.]);
    /// assert_eq!(x.sum(&["a", "b"])?.scalar_f32()?, 21.);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn sum(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = (|| -> Result<NamedArray, AxisError> {
            let plan = self.lane_plan("sum", axes)?;
            Ok(match &self.data {
                Storage::F32(_) | Storage::F16(_) | Storage::BF16(_) => {
                    let a = self.data.to_f32();
                    let mut scratch = vec![];
                    let v = per_lane(a.view(), &plan, |l| on_slice(l, &mut scratch, kernels::sum));
                    reduced(plan, v)
                }
                Storage::I64(a) => {
                    let v = per_lane(a.view(), &plan, |l| l.fold(0i64, |s, &x| s.wrapping_add(x)));
                    reduced(plan, v)
                }
                Storage::Bool(a) => {
                    let v = per_lane(a.view(), &plan, |l| l.iter().filter(|&&x| x).count() as i64);
                    reduced(plan, v)
                }
            })
        })();
        let rule = tape::reduction("sum", Reduction::Sum, self, axes);
        tape::record("sum", &[self], out, rule)
    }

    /// Sums over every named axis (positional axes are kept).
    pub fn sum_all(&self) -> Result<NamedArray, AxisError> {
        let names: Vec<&str> = self.names.iter().map(|n| n.as_str()).collect();
        self.sum(&names)
    }

    /// The mean over the named axes `axes`, as `f32` (NaN over zero-size axes).
    pub fn mean(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = (|| -> Result<NamedArray, AxisError> {
            let plan = self.lane_plan("mean", axes)?;
            let data = self.data.to_f32();
            let n = plan.inner as f32;
            let mut scratch = vec![];
            let v = per_lane(data.view(), &plan, |l| {
                on_slice(l, &mut scratch, kernels::sum) / n
            });
            Ok(reduced(plan, v))
        })();
        let rule = tape::reduction("mean", Reduction::Mean, self, axes);
        tape::record("mean", &[self], out, rule)
    }

    /// The mean over every named axis (positional axes are kept).
    pub fn mean_all(&self) -> Result<NamedArray, AxisError> {
        let names: Vec<&str> = self.names.iter().map(|n| n.as_str()).collect();
        self.mean(&names)
    }

    /// The maximum over the named axes `axes` (NaN if any element is NaN, as in `jnp.max`);
    /// `f32` or `i64`. Zero-size axes are an error: the maximum of nothing is undefined.
    pub fn max(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = self.extremum("max", axes, kernels::max, |l| l.iter().copied().max());
        let rule = tape::reduction("max", Reduction::Extremum, self, axes);
        tape::record("max", &[self], out, rule)
    }

    /// The minimum over the named axes `axes`; see [`max`](NamedArray::max).
    pub fn min(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = self.extremum("min", axes, kernels::min, |l| l.iter().copied().min());
        let rule = tape::reduction("min", Reduction::Extremum, self, axes);
        tape::record("min", &[self], out, rule)
    }

    fn extremum(
        &self,
        op: &'static str,
        axes: &[&str],
        float: fn(&[f32]) -> f32,
        int: fn(ArrayView1<'_, i64>) -> Option<i64>,
    ) -> Result<NamedArray, AxisError> {
        let plan = self.lane_plan(op, axes)?;
        if plan.inner == 0 {
            return Err(self.empty_reduction_error(op, axes));
        }
        match &self.data {
            Storage::F32(_) | Storage::F16(_) | Storage::BF16(_) => {
                let a = self.data.to_f32();
                let mut scratch = vec![];
                let v = per_lane(a.view(), &plan, |l| on_slice(l, &mut scratch, float));
                Ok(reduced(plan, v))
            }
            Storage::I64(a) => {
                // Lanes are non-empty (checked above), so every lane has an extremum.
                let v = per_lane(a.view(), &plan, |l| int(l).unwrap_or(0));
                Ok(reduced(plan, v))
            }
            Storage::Bool(_) => Err(self.dtype_error(op, "a float or i64")),
        }
    }

    /// The index of the first maximum along the named axis `axis`, as `i64` (a NaN counts
    /// as the maximum, as in `jnp.argmax`). The axis is removed.
    pub fn argmax(&self, axis: &str) -> Result<NamedArray, AxisError> {
        let plan = self.lane_plan("argmax", &[axis])?;
        if plan.inner == 0 {
            return Err(self.empty_reduction_error("argmax", &[axis]));
        }
        let v = match &self.data {
            Storage::F32(_) | Storage::F16(_) | Storage::BF16(_) => {
                let a = self.data.to_f32();
                per_lane(a.view(), &plan, |l| argmax_lane(l, f32::is_nan))
            }
            Storage::I64(a) => per_lane(a.view(), &plan, |l| argmax_lane(l, |_| false)),
            Storage::Bool(_) => return Err(self.dtype_error("argmax", "a float or i64")),
        };
        Ok(reduced(plan, v))
    }

    /// The population variance over the named axes `axes` (`jnp.var`, `ddof = 0`), as `f32`.
    pub fn var(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = (|| -> Result<NamedArray, AxisError> {
            let plan = self.lane_plan("var", axes)?;
            let data = self.numeric_f32("var")?;
            let n = plan.inner as f32;
            let mut scratch = vec![];
            let v = per_lane(data.view(), &plan, |l| {
                on_slice(l, &mut scratch, |xs| {
                    let mean = kernels::sum(xs) / n;
                    xs.iter().fold(0.0f32, |s, &x| s + (x - mean) * (x - mean)) / n
                })
            });
            Ok(reduced(plan, v))
        })();
        let rule = tape::reduction("var", Reduction::Var, self, axes);
        tape::record("var", &[self], out, rule)
    }

    /// The softmax over the named axes `axes` jointly, keeping the shape. Stable: the lane
    /// maximum is subtracted first. As in `jax.nn.softmax`, a lane that is all `-inf` (fully
    /// masked) or contains NaN gives NaN everywhere in the lane; `-inf` entries next to
    /// finite ones give 0.
    pub fn softmax(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = self.normalize("softmax", axes, kernels::softmax_inplace);
        let rule = tape::reduction("softmax", Reduction::Softmax, self, axes);
        tape::record("softmax", &[self], out, rule)
    }

    /// The log-softmax over the named axes `axes`: `x - logsumexp(x)`, computed stably; the
    /// same NaN rules as [`softmax`](NamedArray::softmax).
    pub fn log_softmax(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = self.normalize("log_softmax", axes, kernels::log_softmax_inplace);
        let rule = tape::reduction("log_softmax", Reduction::LogSoftmax, self, axes);
        tape::record("log_softmax", &[self], out, rule)
    }

    /// `log(sum(exp(x)))` over the named axes `axes`, computed stably (`-inf` for an all
    /// `-inf` lane).
    pub fn logsumexp(&self, axes: &[&str]) -> Result<NamedArray, AxisError> {
        let out = (|| -> Result<NamedArray, AxisError> {
            let plan = self.lane_plan("logsumexp", axes)?;
            let data = self.numeric_f32("logsumexp")?;
            let mut scratch = vec![];
            let v = per_lane(data.view(), &plan, |l| {
                on_slice(l, &mut scratch, |xs| {
                    let m = kernels::max(xs);
                    if m == f32::NEG_INFINITY {
                        return m;
                    }
                    m + libm::logf(kernels::sum_exp_shifted(xs, m))
                })
            });
            Ok(reduced(plan, v))
        })();
        let rule = tape::reduction("logsumexp", Reduction::LogSumExp, self, axes);
        tape::record("logsumexp", &[self], out, rule)
    }

    /// Applies a lane-to-lane kernel and restores the original axis order.
    fn normalize(
        &self,
        op: &'static str,
        axes: &[&str],
        kernel: fn(&mut [f32]),
    ) -> Result<NamedArray, AxisError> {
        let plan = self.lane_plan(op, axes)?;
        let data = self.numeric_f32(op)?;
        let mut out = vec![0.0f32; plan.outer * plan.inner];
        if plan.inner > 0 {
            let mut chunks = out.chunks_exact_mut(plan.inner);
            // Each lane is copied into its place in the output and transformed there.
            per_lane(data.view(), &plan, |lane| {
                if let Some(chunk) = chunks.next() {
                    match lane.as_slice() {
                        Some(s) => chunk.copy_from_slice(s),
                        None => chunk.iter_mut().zip(lane).for_each(|(o, &x)| *o = x),
                    }
                    kernel(chunk);
                }
            });
        }
        let dims = [plan.kept_dims.as_slice(), plan.reduced_dims.as_slice()].concat();
        // `out` has one value per element, in (kept, reduced) order.
        let out = ArrayD::from_shape_vec(IxDyn(&dims), out).expect("one value per element");
        let mut inverse = vec![0; plan.perm.len()];
        for (i, &p) in plan.perm.iter().enumerate() {
            inverse[p] = i;
        }
        let out = out.permuted_axes(inverse);
        Ok(NamedArray::from_parts(
            Storage::F32(out.into()),
            self.names.clone(),
        ))
    }
}

#[cfg(test)]
#[path = "reduce_tests.rs"]
mod tests;
