//! Per-token scores to look at with Treescope's token views: the most likely token at each
//! position (of a model's logits or of every block's, through the logit lens), and the loss
//! of each token given the ones before it.

use crate::nn::LayerError;
use crate::nx::{DType, NamedArray};
use crate::{Error, Result};

/// The most likely token at each position and its probability.
#[derive(Clone, Debug, PartialEq)]
pub struct TopTokens {
    /// The argmax over `vocabulary` (i64), with the logits' other axes.
    pub ids: NamedArray,
    /// Its softmax probability (f32), with the same axes.
    pub probs: NamedArray,
}

/// The most likely token of `logits` (any axes, one of them `vocabulary`) at each position:
/// for the logit lens's `{layer, batch, seq, vocabulary}`, the top token per block and
/// position, ready for [`render_tokens(..).scores(..)`](crate::treescope::render_tokens).
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::{logit_lens, top_tokens};
/// use penzai::models::{LlamaConfig, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
/// let lens = logit_lens(&model, tokens, &mut Context::new())?;
/// let top = top_tokens(&lens)?;
/// assert_eq!(top.ids.named_shape().to_string(), "{layer: 2, batch: 1, seq: 3}");
/// assert!(top.probs.to_f32_vec().iter().all(|&p| p > 0.0 && p <= 1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn top_tokens(logits: &NamedArray) -> Result<TopTokens> {
    Ok(TopTokens {
        ids: logits.argmax("vocabulary")?,
        probs: logits.softmax(&["vocabulary"])?.max(&["vocabulary"])?,
    })
}

/// Each token's loss given the ones before it, and the tokens it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLoss {
    /// The predicted tokens: `tokens` without its first position.
    pub targets: NamedArray,
    /// `-log p(target | earlier tokens)` in nats (f32), with the targets' axes.
    pub loss: NamedArray,
}

/// The next-token loss of `tokens` under `logits` (the model's output on `tokens`: the
/// same axes plus `vocabulary`): position `t` of the logits predicts token `t + 1`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::next_token_loss;
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::treescope::render_tokens;
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4])?;
/// let logits = model.call(tokens.clone(), &mut Context::new())?;
/// let scored = next_token_loss(&logits, &tokens)?;
/// assert_eq!(scored.targets.to_i64_vec(), [2, 3, 4]);
/// let vocab: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
/// let page = render_tokens(&scored.targets, &vocab)?.scores(&scored.loss)?.score_label("loss").to_html();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn next_token_loss(logits: &NamedArray, tokens: &NamedArray) -> Result<TokenLoss> {
    let bad = |why: &str| -> Error {
        LayerError::Config(format!(
            "next_token_loss: {why}; got logits {} and tokens {}",
            logits.named_shape(),
            tokens.named_shape()
        ))
        .into()
    };
    if tokens.dtype() != DType::I64 {
        return Err(bad("the tokens must be i64 ids"));
    }
    let token_axes: Vec<String> = tokens
        .named_shape()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let vocab = logits
        .axis_size("vocabulary")
        .ok_or_else(|| bad("the logits need a vocabulary axis"))?;
    let sorted = |a: &NamedArray| {
        let mut pairs: Vec<(String, usize)> = a
            .named_shape()
            .iter()
            .filter(|(n, _)| n.as_str() != "vocabulary")
            .map(|(n, s)| (n.to_string(), s))
            .collect();
        pairs.sort();
        pairs
    };
    let same_axes =
        sorted(logits) == sorted(tokens) && !tokens.named_shape().contains("vocabulary");
    if !same_axes || !token_axes.iter().any(|n| n == "seq") {
        return Err(bad(
            "the logits must have the tokens' axes (one of them seq) plus vocabulary",
        ));
    }
    let n = tokens.axis_size("seq").unwrap_or(0);
    if n < 2 {
        return Err(bad(
            "at least two tokens are needed (the first is never predicted)",
        ));
    }
    let order: Vec<&str> = token_axes.iter().map(String::as_str).collect();
    let targets = tokens.slice_axis("seq", 1..)?.move_to_front(&order)?;
    let mut with_vocab = order.clone();
    with_vocab.push("vocabulary");
    let log_probs = logits
        .slice_axis("seq", ..n - 1)?
        .log_softmax(&["vocabulary"])?
        .move_to_front(&with_vocab)?
        .to_f32_vec();
    let ids = targets.to_i64_vec();
    let mut loss = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let id = usize::try_from(id)
            .ok()
            .filter(|&id| id < vocab)
            .ok_or_else(|| {
                bad(&format!(
                    "token id {id} is outside the vocabulary (0..{vocab})"
                ))
            })?;
        loss.push(-log_probs[i * vocab + id]);
    }
    Ok(TokenLoss {
        loss: NamedArray::from_f32(targets.named_shape(), loss)?,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_the_negative_log_probability_of_the_next_token() {
        // Position 0 puts all but e^0 on token 1; position 1 is uniform over 2 tokens.
        let logits = NamedArray::from_f32(
            &[("seq", 3), ("vocabulary", 2)],
            vec![0.0, 0.0, 0.0, 0.0, 5.0, 0.0],
        )
        .unwrap();
        let tokens = NamedArray::from_i64(&[("seq", 3)], vec![0, 1, 0]).unwrap();
        let scored = next_token_loss(&logits, &tokens).unwrap();
        assert_eq!(scored.targets.to_i64_vec(), [1, 0]);
        let loss = scored.loss.to_f32_vec();
        assert!((loss[0] - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((loss[1] - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn mismatched_axes_are_an_error_naming_both_shapes() {
        let logits = NamedArray::from_f32(&[("seq", 2), ("vocabulary", 2)], vec![0.0; 4]).unwrap();
        let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 2)], vec![0, 1]).unwrap();
        let err = next_token_loss(&logits, &tokens).unwrap_err().to_string();
        assert!(
            err.contains("{seq: 2, vocabulary: 2}") && err.contains("{batch: 1, seq: 2}"),
            "{err}"
        );
        let short = NamedArray::from_i64(&[("seq", 1)], vec![0]).unwrap();
        let one = NamedArray::from_f32(&[("seq", 1), ("vocabulary", 2)], vec![0.0; 2]).unwrap();
        assert!(next_token_loss(&one, &short).is_err());
        let out_of_vocab = NamedArray::from_i64(&[("seq", 2)], vec![0, 7]).unwrap();
        let err = next_token_loss(&logits, &out_of_vocab)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("token id 7 is outside the vocabulary (0..2)"),
            "{err}"
        );
    }

    #[test]
    fn top_tokens_are_the_argmax_and_its_probability() {
        let logits = NamedArray::from_f32(
            &[("seq", 2), ("vocabulary", 3)],
            vec![0.0, 2.0, 0.0, 1.0, 1.0, 1.0],
        )
        .unwrap();
        let top = top_tokens(&logits).unwrap();
        assert_eq!(top.ids.to_i64_vec(), [1, 0]);
        let p = top.probs.to_f32_vec();
        let e2 = 2f32.exp();
        assert!((p[0] - e2 / (e2 + 2.0)).abs() < 1e-6);
        assert!((p[1] - 1.0 / 3.0).abs() < 1e-6);
    }
}
