//! Token generation with a KV cache held in the `Context`: greedy or sampled, seeded.

use crate::nn::side_inputs::TOKEN_POSITIONS;
use crate::nn::{Attention, Context, KVCachingAttention, Layer, LayerError, split_seed};
use crate::nx::{DType, NamedArray};
use crate::tree::{KeyPath, Tree, TreeExt, Walk};
use crate::{Error, Result};

/// How the next token is chosen from the logits.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Sampling {
    /// The most likely token (the first one on ties).
    #[default]
    Greedy,
    /// A random draw from the (filtered) distribution.
    Sample {
        /// Logits are divided by this before the softmax (> 0).
        temperature: f32,
        /// Keep only the `k` most likely tokens.
        top_k: Option<usize>,
        /// Keep the smallest set of most likely tokens whose probability reaches `p`.
        top_p: Option<f32>,
    },
}

/// Settings of [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// How many tokens to add at most.
    pub max_new_tokens: usize,
    /// Greedy or sampled.
    pub sampling: Sampling,
    /// Seed of the sampler (same seed, same tokens).
    pub seed: u64,
    /// Generation of a row ends at any of these; rows that end early are padded with the
    /// stop token they produced, and generation ends when every row has ended.
    pub stop_tokens: Vec<i64>,
    /// Reuse keys and values through a KV cache (else recompute the whole sequence per
    /// token; the results are the same, the cache is faster).
    pub use_kv_cache: bool,
    /// Check every layer's output for NaN and infinite values (see
    /// [`Context::with_finite_check`]): generation fails naming the first layer whose output
    /// is not finite instead of choosing from NaN logits. Off by default; the CLI turns it on.
    pub check_finite: bool,
    /// The most bytes any one array of a forward pass may take (see
    /// [`Context::with_max_memory`]); `None` means what the allocator grants.
    pub max_memory: Option<usize>,
}

impl GenerateOptions {
    /// The context of one forward pass under these options.
    fn context(&self) -> Context {
        let cx = Context::new().with_finite_check(self.check_finite);
        match self.max_memory {
            Some(bytes) => cx.with_max_memory(bytes),
            None => cx,
        }
    }
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 16,
            sampling: Sampling::Greedy,
            seed: 0,
            stop_tokens: Vec::new(),
            use_kv_cache: true,
            check_finite: false,
            max_memory: None,
        }
    }
}

/// A copy of `model` whose every [`Attention`] caches keys and values in the context, in
/// buffers sized by the first call and doubled when outgrown.
pub fn with_kv_cache<T: Tree + Clone>(model: &T) -> Result<T> {
    with_kv_cache_for(model, 0)
}

/// A copy of `model` whose every [`Attention`] caches keys and values in the context, in
/// buffers allocated once for `capacity` positions (the prompt plus the tokens to generate):
/// no decode step regrows or concatenates them.
pub fn with_kv_cache_for<T: Tree + Clone>(model: &T, capacity: usize) -> Result<T> {
    let mut paths: Vec<KeyPath> = Vec::new();
    model.walk(&mut |frame, node| {
        if node.is::<Attention>() {
            paths.push(frame.to_key_path());
            return Walk::SkipChildren;
        }
        Walk::Continue
    });
    let mut cached = model.clone();
    for path in paths {
        let attention = cached
            .get_at(&path)?
            .downcast_ref::<Attention>()
            .cloned()
            .ok_or_else(|| LayerError::Config(format!("{path} is no longer an Attention")))?;
        cached.replace_at(
            &path,
            Box::new(KVCachingAttention::with_capacity(attention, capacity)),
        )?;
    }
    Ok(cached)
}

/// Continues each row of `prompt` (`{batch, seq}` i64 token ids, rows of equal length) and
/// returns the prompt followed by the generated ids, `{batch, seq}`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::models::{GenerateOptions, LlamaConfig, TransformerLm, generate};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let prompt = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
/// let out = generate(&model, &prompt, &GenerateOptions { max_new_tokens: 4, ..Default::default() })?;
/// assert_eq!(out.named_shape().to_string(), "{batch: 1, seq: 7}");
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn generate<L: Layer + Clone>(
    model: &L,
    prompt: &NamedArray,
    options: &GenerateOptions,
) -> Result<NamedArray> {
    generate_with_progress(model, prompt, options, &mut |_, _| {})
}

/// Like [`generate`], calling `on_token(done, max_new_tokens)` after each new token (for a
/// progress bar).
pub fn generate_with_progress<L: Layer + Clone>(
    model: &L,
    prompt: &NamedArray,
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(usize, usize),
) -> Result<NamedArray> {
    let (batch, prompt_len) = prompt_shape(prompt)?;
    let prompt = prompt.move_to_front(&["batch", "seq"])?;
    // Each row is allocated once for its final length: no regrowth inside the decode loop.
    let final_len = prompt_len.saturating_add(options.max_new_tokens);
    let mut rows: Vec<Vec<i64>> = prompt
        .to_i64_vec()
        .chunks(prompt_len)
        .map(|r| {
            let mut row = Vec::with_capacity(final_len);
            row.extend_from_slice(r);
            row
        })
        .collect();
    let mut finished = vec![false; batch];
    let cached = if options.use_kv_cache {
        Some(with_kv_cache_for(model, final_len)?)
    } else {
        None
    };
    let mut cx = options.context();
    for step in 0..options.max_new_tokens {
        let len = rows[0].len();
        let logits = match &cached {
            Some(cached) => {
                // The first call runs the prompt, later ones only the newest token.
                let start = if step == 0 { 0 } else { len - 1 };
                run_tokens(cached, &rows, start, len, &mut cx)?
            }
            None => {
                let mut fresh = options.context();
                run_tokens(model, &rows, 0, len, &mut fresh)?
            }
        };
        let vocab = logits
            .axis_size("vocabulary")
            .ok_or_else(|| no_vocab(&logits))?;
        let n = logits.axis_size("seq").unwrap_or(1);
        let last = logits
            .index_axis("seq", n - 1)?
            .move_to_front(&["batch", "vocabulary"])?
            .to_f32_vec();
        for (b, row) in rows.iter_mut().enumerate() {
            let next = if finished[b] {
                *row.last().unwrap_or(&0)
            } else {
                let seed = split_seed(options.seed, (step * batch + b) as u64);
                choose(&last[b * vocab..(b + 1) * vocab], options.sampling, seed)? as i64
            };
            if options.stop_tokens.contains(&next) {
                finished[b] = true;
            }
            row.push(next);
        }
        on_token(step + 1, options.max_new_tokens);
        if finished.iter().all(|f| *f) {
            break;
        }
    }
    let total = rows[0].len();
    Ok(NamedArray::from_i64(
        &[("batch", batch), ("seq", total)],
        rows.concat(),
    )?)
}

fn prompt_shape(prompt: &NamedArray) -> Result<(usize, usize)> {
    let shape = prompt.named_shape();
    let bad = |why: &str| -> Error {
        LayerError::Config(format!(
            "a prompt must be i64 token ids {{batch, seq}}: {why}; got {shape}"
        ))
        .into()
    };
    if prompt.dtype() != DType::I64 {
        return Err(bad("wrong dtype"));
    }
    match (
        shape.get("batch"),
        shape.get("seq"),
        shape.len(),
        prompt.positional_shape().len(),
    ) {
        (Some(b), Some(s), 2, 0) if b > 0 && s > 0 => Ok((b, s)),
        _ => Err(bad(
            "it needs exactly the axes batch and seq, both non-empty",
        )),
    }
}

fn no_vocab(logits: &NamedArray) -> Error {
    LayerError::Config(format!(
        "the model's output has no vocabulary axis: {}",
        logits.named_shape()
    ))
    .into()
}

/// Runs tokens `start..end` of every row, with their absolute positions.
fn run_tokens(
    model: &dyn Layer,
    rows: &[Vec<i64>],
    start: usize,
    end: usize,
    cx: &mut Context,
) -> Result<NamedArray> {
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| r[start..end].iter().copied())
        .collect();
    let tokens = NamedArray::from_i64(&[("batch", rows.len()), ("seq", end - start)], ids)?;
    let positions = NamedArray::from_i64(
        &[("seq", end - start)],
        (start as i64..end as i64).collect(),
    )?;
    cx.set_side_input(TOKEN_POSITIONS, positions);
    cx.run(model, tokens)
}

/// Picks a token id from one row of logits.
pub fn choose(logits: &[f32], sampling: Sampling, seed: u64) -> Result<usize> {
    if logits.is_empty() {
        return Err(
            LayerError::Config("cannot choose a token from an empty vocabulary".into()).into(),
        );
    }
    // NaN compares false with everything: greedy would return whatever came first, and
    // sampling would weigh NaN. All -inf leaves nothing to choose from.
    if let Some(i) = logits.iter().position(|v| v.is_nan()) {
        return Err(LayerError::UnusableLogits {
            reason: format!("logit {i} of {} is NaN", logits.len()),
        }
        .into());
    }
    if logits.iter().all(|&v| v == f32::NEG_INFINITY) {
        return Err(LayerError::UnusableLogits {
            reason: format!("all {} logits are -infinity", logits.len()),
        }
        .into());
    }
    let argmax = || {
        let mut best = 0;
        for (i, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = i;
            }
        }
        best
    };
    let (temperature, top_k, top_p) = match sampling {
        Sampling::Greedy => return Ok(argmax()),
        Sampling::Sample {
            temperature,
            top_k,
            top_p,
        } => (temperature, top_k, top_p),
    };
    if temperature.is_nan() || temperature <= 0.0 || temperature.is_infinite() {
        return Err(LayerError::Config(format!(
            "temperature must be positive and finite; got {temperature}"
        ))
        .into());
    }
    if let Some(p) = top_p
        && (p.is_nan() || p <= 0.0 || p > 1.0)
    {
        return Err(LayerError::Config(format!("top_p must be in (0, 1]; got {p}")).into());
    }
    if let Some(i) = logits.iter().position(|&v| v == f32::INFINITY) {
        return Err(LayerError::UnusableLogits {
            reason: format!(
                "logit {i} of {} is +infinity, which gives no distribution to sample from",
                logits.len()
            ),
        }
        .into());
    }
    // Candidates sorted by logit, most likely first (index order breaks ties).
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if let Some(k) = top_k {
        order.truncate(k.max(1));
    }
    let max = logits[order[0]] / temperature;
    let weights: Vec<f64> = order
        .iter()
        .map(|&i| f64::from((logits[i] / temperature - max).exp()))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut keep = order.len();
    if let Some(p) = top_p {
        let mut acc = 0.0;
        for (i, w) in weights.iter().enumerate() {
            acc += w / total;
            if acc >= f64::from(p) {
                keep = i + 1;
                break;
            }
        }
    }
    let kept_total: f64 = weights[..keep].iter().sum();
    // A uniform draw in [0, 1) from the top 53 bits of a SplitMix64 output.
    let u = (split_seed(seed, 0) >> 11) as f64 / (1u64 << 53) as f64 * kept_total;
    let mut acc = 0.0;
    for (i, w) in weights[..keep].iter().enumerate() {
        acc += w;
        if u < acc {
            return Ok(order[i]);
        }
    }
    Ok(order[keep - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        assert_eq!(
            choose(&[0.0, 2.0, 2.0, 1.0], Sampling::Greedy, 0).unwrap(),
            1
        );
    }

    #[test]
    fn top_k_one_is_greedy_and_top_p_keeps_the_nucleus() {
        let logits = [0.0, 5.0, 4.9, -3.0];
        let k1 = Sampling::Sample {
            temperature: 1.0,
            top_k: Some(1),
            top_p: None,
        };
        for seed in 0..20 {
            assert_eq!(choose(&logits, k1, seed).unwrap(), 1);
        }
        let p = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.9),
        };
        for seed in 0..50 {
            assert!([1, 2].contains(&choose(&logits, p, seed).unwrap()));
        }
    }

    #[test]
    fn sampling_is_seeded_and_follows_the_distribution() {
        let logits = [0.0f32, (3.0f32).ln()];
        let s = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: None,
        };
        assert_eq!(
            choose(&logits, s, 7).unwrap(),
            choose(&logits, s, 7).unwrap()
        );
        let ones = (0..4000)
            .filter(|&seed| choose(&logits, s, seed).unwrap() == 1)
            .count();
        assert!(
            (2850..3150).contains(&ones),
            "{ones} of 4000, expected about 3000"
        );
    }

    #[test]
    fn bad_settings_are_errors() {
        let bad = Sampling::Sample {
            temperature: 0.0,
            top_k: None,
            top_p: None,
        };
        assert!(choose(&[1.0], bad, 0).is_err());
        let bad = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: Some(1.5),
        };
        assert!(choose(&[1.0], bad, 0).is_err());
        assert!(choose(&[], Sampling::Greedy, 0).is_err());
    }

    #[test]
    fn nan_and_all_negative_infinite_logits_are_refused() {
        let sample = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: None,
        };
        for sampling in [Sampling::Greedy, sample] {
            let err = choose(&[0.5, f32::NAN, 1.0], sampling, 0).unwrap_err();
            assert_eq!(
                err.to_string(),
                "cannot choose a token: logit 1 of 3 is NaN"
            );
            let all = [f32::NEG_INFINITY; 4];
            let err = choose(&all, sampling, 0).unwrap_err();
            assert_eq!(
                err.to_string(),
                "cannot choose a token: all 4 logits are -infinity"
            );
            // Some -inf (masked tokens) is fine: the others are chosen.
            assert_eq!(choose(&[f32::NEG_INFINITY, 2.0], sampling, 3).unwrap(), 1);
        }
        assert_eq!(
            choose(&[0.0, f32::INFINITY], Sampling::Greedy, 0).unwrap(),
            1
        );
        let err = choose(&[0.0, f32::INFINITY], sample, 0).unwrap_err();
        assert!(
            err.to_string().contains("logit 1 of 2 is +infinity"),
            "{err}"
        );
    }
}
