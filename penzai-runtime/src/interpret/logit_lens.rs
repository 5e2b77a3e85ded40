//! Logit lens: decode each block's residual stream as if it were the last.

use super::capture::capture;
use crate::models::TransformerLm;
use crate::nn::{Context, Layer, LayerError};
use crate::nx::NamedArray;
use crate::select::{Selection, select};
use crate::tree::Key;
use crate::{Error, Result};

/// Runs the model once on `x`, captures the output of each selected layer, decodes each
/// with `decode`, and stacks the results along a new `layer` axis (in tree order).
pub fn logit_lens_at<M: Layer>(
    sites: Selection<M>,
    decode: &dyn Layer,
    x: NamedArray,
    cx: &mut Context,
) -> Result<NamedArray> {
    let paths = sites.paths().to_vec();
    let run = capture(sites, x, cx)?;
    let mut decoded = Vec::with_capacity(paths.len());
    for path in &paths {
        let residual = run.activations.get(path).ok_or_else(|| {
            Error::Layer(LayerError::Config(format!("the layer at {path} never ran")))
        })?;
        decoded.push(cx.call_child(Key::field("decode"), decode, residual.clone())?);
    }
    if decoded.is_empty() {
        return Err(Error::Layer(LayerError::Config(
            "the logit lens needs at least one selected layer".into(),
        )));
    }
    Ok(NamedArray::stack(&decoded, "layer")?)
}

/// The logit lens of a [`TransformerLm`]: the residual stream after each block, through
/// the model's `final_norm` and `unembed`, as logits `{layer, batch, seq, vocabulary}`.
/// The last layer's logits are the model's.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::logit_lens;
/// use penzai::models::{LlamaConfig, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
/// let lens = logit_lens(&model, tokens.clone(), &mut Context::new())?;
/// assert_eq!(lens.named_shape().to_string(), "{layer: 2, batch: 1, seq: 3, vocabulary: 64}");
/// assert_eq!(lens.index_axis("layer", 1)?, model.call(tokens, &mut Context::new())?);
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn logit_lens(
    model: &TransformerLm,
    tokens: NamedArray,
    cx: &mut Context,
) -> Result<NamedArray> {
    let step = |name: &str| {
        model.steps.get_named(name).cloned().ok_or_else(|| {
            Error::Layer(LayerError::Config(format!(
                "the logit lens needs a TransformerLm step named {name:?}"
            )))
        })
    };
    let decode = crate::nn::Sequential::from_layers([step("final_norm")?, step("unembed")?]);
    let blocks = select(model.clone()).at_path("blocks")?.at_children();
    logit_lens_at(blocks, &decode, tokens, cx)
}
