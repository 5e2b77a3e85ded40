//! Activation patching: clean activations into a corrupted run, one site at a time or as a
//! sweep over sites x positions batched along a `worlds` axis in one forward pass.

use crate::interpret::{Captured, resample};
use crate::nn::{Context, Layer, LayerError};
use crate::nx::{DType, NamedArray};
use crate::select::Selection;
use crate::{Error, Result};

/// The axis along which [`patch_sweep`] batches its counterfactual runs.
pub const WORLDS: &str = "worlds";

/// The model with the output of each selected layer replaced by its activation in the
/// clean run (where `mask` is 1, e.g. one position; everywhere when `None`). Run it on
/// the corrupted input.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::{capture, patch};
/// use penzai::models::{LlamaConfig, TransformerBlock, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let clean = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![5, 6, 7])?;
/// let corrupted = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![9, 6, 7])?;
/// let blocks = select(model.clone()).at_instances_of::<TransformerBlock>().nth(0);
/// let clean_run = capture(blocks.clone(), clean, &mut Context::new())?;
/// // Patching every position of block 0's output restores the clean logits.
/// let patched = patch(blocks, &clean_run, None)?.call(corrupted, &mut Context::new())?;
/// assert_eq!(patched, clean_run.output);
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn patch<M: Layer>(
    sites: Selection<M>,
    clean: &Captured,
    mask: Option<NamedArray>,
) -> Result<M> {
    resample(sites, &clean.activations, mask)
}

/// A layer that copies one world's activation into others along the worlds axis:
/// `x + mask * (x[worlds = source] - x)`. The mask (over `worlds` and, say, `seq`) is 1
/// where a world takes the source's value.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct PatchFromWorld {
    /// The worlds axis.
    #[tree(skip)]
    pub worlds_axis: String,
    /// The world whose values are copied.
    #[tree(skip)]
    pub source: usize,
    /// Where to copy (1) and where to keep (0).
    pub mask: NamedArray,
}

impl Layer for PatchFromWorld {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        if let Some(axis) = self.mask.axis_names().iter().find(|a| !x.has_axis(a)) {
            return Err(LayerError::Check(format!(
                "the patching mask {} has axis {:?}, which the activation {} lacks",
                self.mask.named_shape(),
                axis.as_str(),
                x.named_shape()
            ))
            .into());
        }
        let source = x.index_axis(&self.worlds_axis, self.source)?;
        let delta = (&source - &x)?;
        let mask = self.mask.cast(DType::F32)?;
        Ok((&x + &(&mask * &delta)?)?.broadcast_to(x.named_shape().as_pairs())?)
    }
}

/// The result of [`patch_sweep`].
#[derive(Clone, Debug)]
pub struct PatchingSweep {
    /// `metric(patched) - metric(corrupted)` over `{site, <position axis>, ..}`: one row per
    /// selected layer (in tree order), one column per position.
    pub effects: NamedArray,
    /// The metric on the clean input.
    pub clean: NamedArray,
    /// The metric on the corrupted input.
    pub corrupted: NamedArray,
}

/// Patches the clean output of each selected layer, one position at a time, into the
/// corrupted run, and reports the effect of each patch on `metric`.
///
/// All `sites x positions` runs, plus the clean and corrupted baselines, are stacked along
/// a [`WORLDS`] axis and computed in **one** forward pass (Penzai's approach): world 0 is
/// clean, world 1 corrupted, and world `2 + site * positions + p` is corrupted except that
/// site `site` takes world 0's value at position `p`. `metric` maps the model's output to
/// a score that keeps the worlds axis (and may keep others, e.g. `batch`). The batch
/// grows by `sites x positions`, so sweep a sub-range of sites when memory is short.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::{logit_difference, patch_sweep};
/// use penzai::models::{LlamaConfig, TransformerBlock, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let clean = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![5, 6, 7])?;
/// let corrupted = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![9, 6, 7])?;
/// let sweep = patch_sweep(
///     select(model).at_instances_of::<TransformerBlock>(),
///     &clean,
///     &corrupted,
///     "seq",
///     |logits| logit_difference(logits, 8, 9),
///     &mut Context::new(),
/// )?;
/// assert_eq!(sweep.effects.named_shape().to_string(), "{site: 2, seq: 3, batch: 1}");
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn patch_sweep<M: Layer>(
    sites: Selection<M>,
    clean: &NamedArray,
    corrupted: &NamedArray,
    position_axis: &str,
    metric: impl Fn(&NamedArray) -> Result<NamedArray>,
    cx: &mut Context,
) -> Result<PatchingSweep> {
    let config = |m: String| Error::Layer(LayerError::Config(m));
    if clean.named_shape() != corrupted.named_shape() {
        return Err(config(format!(
            "clean and corrupted inputs differ in shape: {} and {}",
            clean.named_shape(),
            corrupted.named_shape()
        )));
    }
    if clean.has_axis(WORLDS) {
        return Err(config(format!(
            "the inputs already have a {WORLDS:?} axis: {}",
            clean.named_shape()
        )));
    }
    let positions = clean.axis_size(position_axis).ok_or_else(|| {
        config(format!(
            "the inputs {} have no position axis {position_axis:?}",
            clean.named_shape()
        ))
    })?;
    let n_sites = sites.count();
    let worlds = 2 + n_sites * positions;
    let world = |site: usize, p: usize| 2 + site * positions + p;

    let mut inputs = vec![clean.clone(), corrupted.clone()];
    inputs.resize(worlds, corrupted.clone());
    let input = NamedArray::stack(&inputs, WORLDS)?;

    let masks = (0..n_sites)
        .map(|site| -> Result<NamedArray> {
            let mut mask = vec![0.0f32; worlds * positions];
            for p in 0..positions {
                mask[world(site, p) * positions + p] = 1.0;
            }
            Ok(NamedArray::from_f32(
                &[(WORLDS, worlds), (position_axis, positions)],
                mask,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    // `chain_after_with` calls the closure once per site, in tree order.
    let mut masks = masks.into_iter();
    let model = sites.chain_after_with(|_, _| PatchFromWorld {
        worlds_axis: WORLDS.to_owned(),
        source: 0,
        mask: masks.next().unwrap_or_else(|| NamedArray::scalar(0.0)),
    })?;

    let output = cx.run(&model, input)?;
    let scores = metric(&output)?;
    if scores.axis_size(WORLDS) != Some(worlds) {
        return Err(config(format!(
            "the metric must keep the {WORLDS:?} axis ({worlds}); it returned {}",
            scores.named_shape()
        )));
    }
    let clean_score = scores.index_axis(WORLDS, 0)?;
    let corrupted_score = scores.index_axis(WORLDS, 1)?;
    let mut rows = Vec::with_capacity(n_sites);
    for s in 0..n_sites {
        let row = (0..positions)
            .map(|p| Ok((&scores.index_axis(WORLDS, world(s, p))? - &corrupted_score)?))
            .collect::<Result<Vec<_>>>()?;
        rows.push(NamedArray::stack(&row, position_axis)?);
    }
    let effects = if rows.is_empty() {
        NamedArray::zeros(&[("site", 0), (position_axis, positions)])?
    } else {
        NamedArray::stack(&rows, "site")?
    };
    Ok(PatchingSweep {
        effects,
        clean: clean_score,
        corrupted: corrupted_score,
    })
}

/// `logits[correct] - logits[wrong]` at the last position of the `seq` axis, over the
/// `vocabulary` axis of a language model's logits; every other axis is kept.
pub fn logit_difference(logits: &NamedArray, correct: usize, wrong: usize) -> Result<NamedArray> {
    let seq = logits.axis_size("seq").unwrap_or(0);
    if seq == 0 {
        return Err(Error::Layer(LayerError::NeedsAxis {
            axis: "seq".into(),
            expected: None,
            got: logits.named_shape(),
        }));
    }
    let last = logits.index_axis("seq", seq - 1)?;
    Ok((&last.index_axis("vocabulary", correct)? - &last.index_axis("vocabulary", wrong)?)?)
}
