//! Ablation: replace selected activations by zeros, a mean, or values from another run,
//! everywhere or only where a mask says (a head, a position).

use std::collections::BTreeMap;

use crate::nn::{Context, Layer, LayerError};
use crate::nx::{DType, NamedArray};
use crate::select::Selection;
use crate::tree::KeyPath;
use crate::{Error, Result};

/// What an [`Ablate`] layer puts in place of an activation.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub enum Replacement {
    /// Zeros.
    Zero,
    /// The activation's mean over the named axes (e.g. `batch`), broadcast back.
    Mean {
        /// The axes averaged over.
        #[tree(skip)]
        axes: Vec<String>,
    },
    /// Fixed values (another run's activation at the same site), broadcast by name.
    Values(NamedArray),
}

impl Replacement {
    /// The mean over the named axes.
    pub fn mean(axes: &[&str]) -> Replacement {
        Replacement::Mean {
            axes: axes.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn for_input(&self, x: &NamedArray) -> Result<NamedArray> {
        let shape = x.named_shape();
        let value = match self {
            Replacement::Zero => NamedArray::zeros(&shape)?,
            Replacement::Mean { axes } => {
                let axes: Vec<&str> = axes.iter().map(String::as_str).collect();
                x.mean(&axes)?
            }
            Replacement::Values(v) => v.clone(),
        };
        Ok(value.broadcast_to(&shape)?)
    }
}

/// A layer that replaces its input by a [`Replacement`], either entirely or where `mask`
/// is 1 (0 keeps the input; values in between interpolate). The mask is broadcast by
/// name, so `{heads: 4}` with a 1 at head 2 ablates head 2 at every position.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Ablate {
    /// What replaces the input.
    pub with: Replacement,
    /// Where to replace (1) and where to keep (0); everywhere when absent.
    pub mask: Option<NamedArray>,
}

impl Layer for Ablate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        let replacement = self.with.for_input(&x)?;
        let Some(mask) = &self.mask else {
            return Ok(replacement);
        };
        if let Some(axis) = mask.axis_names().iter().find(|a| !x.has_axis(a)) {
            return Err(LayerError::Check(format!(
                "the ablation mask {} has axis {:?}, which the activation {} lacks",
                mask.named_shape(),
                axis.as_str(),
                x.named_shape()
            ))
            .into());
        }
        let mask = mask.cast(DType::F32)?;
        // `x + mask * (r - x)` keeps `x` exactly where the mask is 0.
        let delta = (&replacement - &x)?;
        Ok((&x + &(&mask * &delta)?)?.broadcast_to(x.named_shape().as_pairs())?)
    }
}

/// An [`Ablate`] layer after each selected layer, replacing its output by `with` (where
/// `mask` is 1, or everywhere). Returns the ablated model.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::{Replacement, ablate};
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::nn::Softmax;
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// // Knock out query head group 1 (`kv_heads` 1) in block 0's attention weights.
/// let heads = NamedArray::from_f32(&[("kv_heads", 2)], vec![0.0, 1.0])?;
/// let ablated = ablate(
///     select(model).at_path("blocks[0].attn.delta.attention.scores")?.at_instances_of::<Softmax>(),
///     Replacement::Zero,
///     Some(heads),
/// )?;
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4])?;
/// let logits = ablated.call(tokens, &mut Context::new())?;
/// assert_eq!(logits.named_shape().to_string(), "{batch: 1, seq: 4, vocabulary: 64}");
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn ablate<M: Layer>(
    sites: Selection<M>,
    with: Replacement,
    mask: Option<NamedArray>,
) -> Result<M> {
    let layer = Ablate { with, mask };
    Ok(sites.chain_after_with(|_, _| layer.clone())?)
}

/// Resample ablation (and activation patching): after each selected layer, its output is
/// replaced by the activation `values` holds for that layer's path, e.g. from
/// [`capture`](super::capture) on another input; where `mask` is 1, or everywhere.
pub fn resample<M: Layer>(
    sites: Selection<M>,
    values: &BTreeMap<KeyPath, NamedArray>,
    mask: Option<NamedArray>,
) -> Result<M> {
    if let Some(missing) = sites.paths().iter().find(|p| !values.contains_key(*p)) {
        return Err(Error::Layer(LayerError::Config(format!(
            "no activation recorded for {missing} (recorded: {})",
            values
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    Ok(sites.chain_after_with(|path, _| Ablate {
        with: Replacement::Values(values[path].clone()),
        mask: mask.clone(),
    })?)
}
