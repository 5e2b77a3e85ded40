//! LoRA: wrap selected `Linear`s with low-rank adapters, and merge them back.

use crate::grad::Trainable;
use crate::nn::{Context, Initializer, Layer, Linear};
use crate::nx::NamedArray;
use crate::select::{SelectError, Selection, select};
use crate::tree::Key;
use crate::{Error, Result};

fn refs(axes: &[(String, usize)]) -> Vec<(&str, usize)> {
    axes.iter().map(|(a, n)| (a.as_str(), *n)).collect()
}

/// The name of the low-rank axis between an adapter's two factors.
pub const RANK_AXIS: &str = "lowrank";

/// A `Linear` plus a trainable low-rank update: `original(x) + up(down(x))`, where `down`
/// maps the original's input axes to a [`RANK_AXIS`] axis of size `rank` and `up` maps
/// that to the original's output axes (both keep the original's parallel axes).
///
/// `up` starts at zero, so a fresh adapter computes exactly what the original did.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct LowRankAdapter {
    /// The pretrained map.
    pub original: Linear,
    /// Input axes to the low-rank axis.
    pub down: Linear,
    /// The low-rank axis to output axes (zero-initialised).
    pub up: Linear,
}

impl LowRankAdapter {
    /// An adapter of rank `rank` around `original`; its factors are labelled
    /// `label.down.weights` and `label.up.weights`, and `down` is seeded from `seed`.
    pub fn new(original: Linear, rank: usize, seed: u64, label: &str) -> Result<LowRankAdapter> {
        let input = original.input_axes();
        let output = original.output_axes();
        let parallel = original.parallel_axes();
        if let Some((axis, _)) = input
            .iter()
            .chain(&output)
            .chain(&parallel)
            .find(|(a, _)| a.as_str() == RANK_AXIS)
        {
            return Err(Error::Layer(crate::nn::LayerError::Config(format!(
                "cannot adapt a Linear that already has a {:?} axis",
                axis.as_str()
            ))));
        }
        let pairs = |axes: &[(crate::nx::AxisName, usize)]| -> Vec<(String, usize)> {
            axes.iter().map(|(a, n)| (a.to_string(), *n)).collect()
        };
        let (input, output, parallel) = (pairs(&input), pairs(&output), pairs(&parallel));
        let rank_axis = [(RANK_AXIS, rank)];
        let down = Linear::new(
            seed,
            &format!("{label}.down"),
            &refs(&input),
            &rank_axis,
            &refs(&parallel),
            Initializer::LECUN_NORMAL,
        )?;
        let up = Linear::new(
            seed,
            &format!("{label}.up"),
            &rank_axis,
            &refs(&output),
            &refs(&parallel),
            Initializer::Zeros,
        )?;
        Ok(LowRankAdapter { original, down, up })
    }

    /// The rank (the size of the low-rank axis).
    pub fn rank(&self) -> usize {
        self.up.weights.value.axis_size(RANK_AXIS).unwrap_or(0)
    }

    /// The plain `Linear` computing the same function: weights `W + down . up`
    /// (contracted over the low-rank axis), with the original's label.
    pub fn merged(&self) -> Result<Linear> {
        let delta = self
            .down
            .weights
            .value
            .contract(&self.up.weights.value, &[RANK_AXIS])?;
        let weights = (&self.original.weights.value + &delta)?;
        let names: Vec<String> = self
            .original
            .weights
            .value
            .axis_names()
            .iter()
            .map(|a| a.to_string())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        // Keep the original's axis order, so the merged weights read like the original.
        let weights = weights.move_to_front(&names)?;
        Ok(Linear {
            weights: self.original.weights.with_value(weights),
            in_axes: self.original.in_axes.clone(),
            out_axes: self.original.out_axes.clone(),
        })
    }
}

impl Layer for LowRankAdapter {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let base = cx.call_child(Key::field("original"), &self.original, x.clone())?;
        let low = cx.call_child(Key::field("down"), &self.down, x)?;
        let update = cx.call_child(Key::field("up"), &self.up, low)?;
        Ok((&base + &update)?)
    }
}

/// Wraps every `Linear` inside the selected subtrees in a [`LowRankAdapter`] of rank
/// `rank` (factors labelled `lora.<path of the Linear>`). A `Linear` in a slot that only
/// takes a `Linear` is an error naming its path.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::{LowRankAdapter, loraify, merge_lora};
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::nn::Attention;
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let adapted = loraify(select(model.clone()).at_instances_of::<Attention>(), 4, 0)?;
/// assert_eq!(select(adapted.as_dyn()).at_instances_of::<LowRankAdapter>().count(), 8);
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
/// // The second factor starts at zero: nothing changes yet.
/// assert_eq!(
///     adapted.call(tokens.clone(), &mut Context::new())?,
///     model.call(tokens, &mut Context::new())?
/// );
/// assert!(merge_lora(adapted)?.tree_eq(&model));
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn loraify<M: Layer>(sites: Selection<M>, rank: usize, seed: u64) -> Result<M> {
    Ok(sites
        .at_instances_of::<Linear>()
        .try_apply(|path, linear: Linear| {
            LowRankAdapter::new(linear, rank, seed, &format!("lora.{path}"))
        })?)
}

/// The parameters of every adapter's factors (labelled `lora.`...) as the trainable set,
/// everything else frozen: what [`train`](crate::grad::train) or
/// [`value_and_grad`](crate::grad::value_and_grad) take to fine-tune a [`loraify`]d model.
pub fn lora_trainable() -> Trainable {
    Trainable::prefixes(["lora."])
}

/// Replaces every [`LowRankAdapter`] in `model` by its [merged](LowRankAdapter::merged)
/// `Linear`.
pub fn merge_lora<M: Layer>(model: M) -> Result<M, SelectError> {
    select(model)
        .at_instances_of::<LowRankAdapter>()
        .try_apply(|_, adapter: LowRankAdapter| adapter.merged())
}
