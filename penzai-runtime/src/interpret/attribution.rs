//! Gradient-based attribution: attribution patching (gradient x activation difference, one
//! backward pass for every site and position) and the gradient of an effect with respect to
//! an ablation mask (every head at once).

use crate::grad::{GradSite, Trainable, value_and_grad, value_and_grad_arrays};
use crate::interpret::{Ablate, Replacement, ablate, capture};
use crate::nn::{Context, Layer, LayerError};
use crate::nx::NamedArray;
use crate::select::{Selection, select};
use crate::tree::{KeyPath, TreeExt, Walk};
use crate::{Error, Result};

/// The axis of [`attribution_patching`]'s estimates that lists the sites.
pub const SITE_AXIS: &str = "site";

/// Estimates, with one forward and one backward pass on the corrupted input, the effect on
/// `metric` of patching each selected layer's clean output into the corrupted run at each
/// position: `grad(metric at corrupted) . (clean - corrupted)` summed over every axis but
/// `position_axis` and `batch` (Nanda's attribution patching, the first-order Taylor
/// approximation of [`patch_sweep`](super::patch_sweep)'s effects). The result is
/// `{site, <position axis>, batch?}`, sites in tree order, as `patch_sweep`'s `effects`.
/// `metric` maps the model's output to scores; their sum is differentiated.
pub fn attribution_patching<M: Layer + Clone>(
    sites: Selection<M>,
    clean: &NamedArray,
    corrupted: &NamedArray,
    position_axis: &str,
    metric: impl Fn(&NamedArray) -> Result<NamedArray>,
) -> Result<NamedArray> {
    if clean.named_shape() != corrupted.named_shape() {
        return Err(Error::Layer(LayerError::Config(format!(
            "clean and corrupted inputs differ in shape: {} and {}",
            clean.named_shape(),
            corrupted.named_shape()
        ))));
    }
    let paths = sites.paths().to_vec();
    let clean_run = capture(sites.clone(), clean.clone(), &mut Context::new())?;
    let corrupted_run = capture(sites.clone(), corrupted.clone(), &mut Context::new())?;
    let marked = sites.chain_after_with(|path, _| GradSite::new(path.to_string()))?;
    let (_, grads) = value_and_grad(&marked, &Trainable::labels(Vec::<String>::new()), |m| {
        let out = m.call(corrupted.clone(), &mut Context::new())?;
        Ok(metric(&out)?.sum_all()?)
    })?;
    let mut rows = Vec::with_capacity(paths.len());
    for path in &paths {
        let missing = || {
            Error::Layer(LayerError::Config(format!(
                "the site {path} did not run on the corrupted input"
            )))
        };
        let g = grads.site(&path.to_string()).ok_or_else(missing)?;
        let (Some(c), Some(k)) = (
            clean_run.activations.get(path),
            corrupted_run.activations.get(path),
        ) else {
            return Err(missing());
        };
        let product = (g * &(c - k)?)?;
        let summed: Vec<&str> = product
            .axis_names()
            .iter()
            .map(|a| a.as_str())
            .filter(|a| *a != position_axis && *a != "batch")
            .collect();
        rows.push(if summed.is_empty() {
            product.clone()
        } else {
            product.sum(&summed)?
        });
    }
    Ok(NamedArray::stack(&rows, SITE_AXIS)?.move_to_front(&[SITE_AXIS, position_axis])?)
}

/// The gradient of `loss` with respect to an ablation mask after each selected layer (the
/// layers' outputs replaced by `with` where the mask is 1), taken at `mask` (zeros: the
/// unablated model). With a `{heads}` mask on attention outputs, each entry is the
/// first-order effect of ablating that head, all heads from one backward pass. Returns the
/// loss and one gradient per selected layer, by the path of its [`Ablate`] layer.
pub fn ablation_mask_gradient<M: Layer + Clone>(
    sites: Selection<M>,
    with: Replacement,
    mask: &NamedArray,
    loss: impl FnOnce(&M) -> Result<NamedArray>,
) -> Result<(f32, Vec<(KeyPath, NamedArray)>)> {
    let ablated = ablate(sites, with, Some(mask.clone()))?;
    let ablate_paths = select(ablated.clone())
        .at_instances_of::<Ablate>()
        .paths()
        .to_vec();
    let mut mask_paths = Vec::new();
    ablated.walk(&mut |frame, node| {
        if node.downcast_ref::<NamedArray>().is_some() {
            let path = frame.to_key_path();
            if ablate_paths.iter().any(|a| path.starts_with(a)) {
                mask_paths.push(path);
            }
        }
        Walk::Continue
    });
    let (value, grads) = value_and_grad_arrays(&ablated, &mask_paths, loss)?;
    Ok((value, grads.into_iter().collect()))
}
