//! The gradient rule of indexed updates (`x.at(..).set/add/mul/min/max`, scatter-add).
//!
//! The forward writes value element `k` (the value broadcast over the indexed part) into
//! the flat position `targets[k]` of `x` (1-based, 0 for a dropped write), in order. The
//! rule replays those writes on the gradient: a position written by `set` passes nothing
//! back to `x`, and only the last write to it receives the gradient; `add` passes the
//! gradient to both sides; `mul` by the product rule; `min`/`max` to whichever of the
//! original element and the writes was selected (the first one reaching the final value).

use ndarray::{ArrayD, IxDyn};

use super::super::array::NamedArray;
use super::super::dtype::Storage;
use super::super::error::AxisError;
use super::super::update::Combine;
use super::{Backward, GradError, reduce_to};

/// What the rule of one indexed update keeps from its forward.
pub(crate) struct UpdateRecord {
    /// How the written values combined with the old ones.
    pub how: Combine,
    /// The updated array, before the update.
    pub x: NamedArray,
    /// The value as the caller gave it (its gradient is summed back to its shape).
    pub value: NamedArray,
    /// The value broadcast over the indexed part (the part's axes), as f32.
    pub written: Vec<f32>,
    /// The indexed part's shape: its data dims and names.
    pub part: NamedArray,
    /// Flat 1-based positions in `x` of each written element; 0 for dropped writes.
    pub targets: Vec<i64>,
}

/// The rule of an indexed update, from what its forward kept.
pub(crate) fn indexed_update(rec: UpdateRecord) -> Backward {
    Box::new(move |g, wants| backward(rec, g, wants))
}

fn backward(
    rec: UpdateRecord,
    g: &NamedArray,
    wants: &[bool],
) -> Result<Vec<Option<NamedArray>>, GradError> {
    let op = rec.how.op();
    let e = |source: AxisError| GradError::Rule { op, source };
    let names: Vec<&str> = rec.x.names.iter().map(|n| n.as_str()).collect();
    let g_flat = g.order_as(&names).map_err(e)?.to_f32_vec();
    let mut gx = g_flat.clone();
    let mut gv = vec![0.0f32; rec.targets.len()];
    // The writes grouped by position, each group in write order (a stable sort; positions
    // are 1-based and 0 is a dropped write): memory in the number of writes, not of `x`.
    let mut writes: Vec<(usize, usize)> = rec
        .targets
        .iter()
        .enumerate()
        .filter_map(|(k, &t)| {
            let p = usize::try_from(t - 1).ok()?;
            (p < gx.len()).then_some((p, k))
        })
        .collect();
    writes.sort_by_key(|&(p, _)| p);
    let old = (matches!(rec.how, Combine::Mul | Combine::Min | Combine::Max))
        .then(|| rec.x.to_f32_vec())
        .unwrap_or_default();
    for group in writes.chunk_by(|a, b| a.0 == b.0) {
        let p = group[0].0;
        let ks: Vec<usize> = group.iter().map(|&(_, k)| k).collect();
        let last = ks[ks.len() - 1];
        let gp = g_flat[p];
        match rec.how {
            Combine::Set => {
                gx[p] = 0.0;
                gv[last] = gp;
            }
            Combine::Add => {
                for &k in &ks {
                    gv[k] = gp;
                }
            }
            Combine::Mul => {
                // Products of the other factors, from prefix and suffix products (exact
                // with zeros, unlike a division).
                let factors: Vec<f32> = std::iter::once(old[p])
                    .chain(ks.iter().map(|&k| rec.written[k]))
                    .collect();
                let mut prefix = vec![1.0f32; factors.len() + 1];
                for (i, f) in factors.iter().enumerate() {
                    prefix[i + 1] = prefix[i] * f;
                }
                let mut suffix = 1.0f32;
                for i in (0..factors.len()).rev() {
                    let others = prefix[i] * suffix;
                    if i == 0 {
                        gx[p] = gp * others;
                    } else {
                        gv[ks[i - 1]] = gp * others;
                    }
                    suffix *= factors[i];
                }
            }
            Combine::Min | Combine::Max => {
                let mut current = old[p];
                let mut owner = None;
                for &k in &ks {
                    let v = rec.written[k];
                    let better = match rec.how {
                        Combine::Min => v < current,
                        _ => v > current,
                    };
                    if better {
                        current = v;
                        owner = Some(k);
                    }
                }
                if let Some(k) = owner {
                    gx[p] = 0.0;
                    gv[k] = gp;
                }
            }
        }
    }
    let shaped = |dims: &[usize], data: Vec<f32>, like: &NamedArray| {
        ArrayD::from_shape_vec(IxDyn(dims), data)
            .map(|a| NamedArray::from_parts(Storage::F32(a.into()), like.names.clone()))
            .map_err(|_| {
                e(AxisError::TooLarge {
                    op,
                    shape: like.full_shape(),
                })
            })
    };
    let dx = if wants.first().copied().unwrap_or(false) {
        Some(shaped(rec.x.data.shape(), gx, &rec.x)?)
    } else {
        None
    };
    let dv = if wants.get(1).copied().unwrap_or(false) {
        let on_part = shaped(rec.part.data.shape(), gv, &rec.part)?;
        Some(reduce_to(&on_part, &rec.value).map_err(e)?)
    } else {
        None
    };
    Ok(vec![dx, dv])
}
