//! Losses for language models.

use crate::error::Result;
use crate::nn::{Context, Layer};
use crate::nx::NamedArray;

/// The mean cross-entropy of `logits` (with a `vocabulary` axis) against integer `targets`
/// (the logits' other axes): `mean(logsumexp(logits) - logits[target])`.
pub fn cross_entropy(logits: &NamedArray, targets: &NamedArray) -> Result<NamedArray> {
    let log_probs = logits.log_softmax(&["vocabulary"])?;
    // Gather each position's target: `take` over `vocabulary` with the targets' axes shared.
    let picked = log_probs.take("vocabulary", targets)?;
    Ok((-picked.mean_all()?)?)
}

/// The mean next-token cross-entropy of a language model on `tokens` (`{batch, seq}` or
/// `{seq}` ids): the logits at positions `0..n-1` against the tokens at `1..n`, as
/// `penzai grad` and torch's `cross_entropy(logits[:-1], ids[1:])` compute it.
pub fn next_token_loss(model: &dyn Layer, tokens: &NamedArray) -> Result<NamedArray> {
    let batched = if tokens.has_axis("batch") {
        tokens.clone()
    } else {
        tokens.insert_axis("batch")?
    };
    let n = batched.axis_size("seq").unwrap_or(0);
    let logits = model.call(batched.clone(), &mut Context::new())?;
    let inputs = logits.slice_axis("seq", 0..n.saturating_sub(1))?;
    let targets = batched.slice_axis("seq", 1..n.max(1))?;
    cross_entropy(&inputs, &targets)
}
