//! GPT-2's checkpoint layout (`GPT2LMHeadModel`), both with the `transformer.` prefix that
//! transformers writes today and without it (the published 4.x checkpoints, which also
//! carry the causal-mask buffers `attn.bias` and `attn.masked_bias`).

use super::layout::{TensorMap, layer_norm};
use super::{HfError, Plan, Skeleton};
use crate::io::IoError;
use crate::io::hf_config::HfGpt2Config as HfGpt2;
use crate::models::Gpt2Config;

/// The prefix transformers writes before the body's tensors.
pub(crate) const PREFIX: &str = "transformer.";

/// The model config our builder takes, or an error for settings it does not implement.
pub(crate) fn model_config(cfg: &HfGpt2, file: &str) -> Result<Gpt2Config, HfError> {
    if !cfg.scale_attn_weights {
        return Err(IoError::UnsupportedConfig {
            file: file.to_owned(),
            key: "scale_attn_weights".to_owned(),
            value: "false".to_owned(),
            reason: "unscaled attention scores are not implemented".to_owned(),
        }
        .into());
    }
    Ok(Gpt2Config {
        vocab_size: cfg.vocab_size,
        n_positions: cfg.n_positions,
        d_model: cfg.n_embd,
        n_layers: cfg.n_layer,
        n_heads: cfg.n_head,
        // torch's LayerNorm adds its (double) epsilon to an f32 variance: f32 arithmetic.
        layer_norm_eps: cfg.layer_norm_epsilon as f32,
        activation: cfg.activation.clone(),
        mlp_hidden: Some(cfg.n_inner),
        tie_embeddings: cfg.tie_word_embeddings,
    })
}

/// The model to build, the tensor layout and the buffers to ignore, for a checkpoint whose
/// body tensors start with `prefix` (`"transformer."` or `""`).
pub(crate) fn plan(cfg: &HfGpt2, file: &str, prefix: &str) -> Result<Plan, HfError> {
    let skeleton = Skeleton::Gpt2(model_config(cfg, file)?);
    let buffers = (0..cfg.n_layer)
        .flat_map(|i| {
            [
                format!("{prefix}h.{i}.attn.bias"),
                format!("{prefix}h.{i}.attn.masked_bias"),
            ]
        })
        .collect();
    Ok(Plan {
        architecture: "gpt2",
        skeleton,
        rows: layout(cfg, prefix),
        buffers,
        tied: cfg
            .tie_word_embeddings
            .then(|| ("lm_head.weight".to_owned(), format!("{prefix}wte.weight"))),
    })
}

/// Every GPT-2 tensor and the parameter(s) it becomes.
///
/// GPT-2's `Conv1D` stores weights `[in, out]`, already our `{input.., output..}` order;
/// `c_attn` packs queries, keys and values along its output, each `[heads, head_dim]`.
pub(crate) fn layout(cfg: &HfGpt2, prefix: &str) -> Vec<TensorMap> {
    let (d, n, v) = (cfg.n_embd, cfg.n_inner, cfg.vocab_size);
    let (h, hd) = (cfg.n_head, cfg.head_dim());
    let emb = ("embedding", d);
    let heads = [("heads", h), ("projection", hd)];
    let mut rows = vec![
        TensorMap::one(
            format!("{prefix}wte.weight"),
            &[v, d],
            &[("vocabulary", v), emb],
            "embed.embeddings",
        ),
        TensorMap::one(
            format!("{prefix}wpe.weight"),
            &[cfg.n_positions, d],
            &[("positions", cfg.n_positions), emb],
            "positions.embeddings",
        ),
    ];
    for i in 0..cfg.n_layer {
        let hf = |s: &str| format!("{prefix}h.{i}.{s}");
        let ours = |s: &str| format!("blocks.{i}.{s}");
        let qkv = |what: &str| {
            ["query", "key", "value"]
                .iter()
                .map(|p| ours(&format!("attn.{p}.{what}")))
                .collect::<Vec<_>>()
        };
        let qkv_axes = [("qkv", 3), heads[0], heads[1]];
        rows.extend(layer_norm(&hf("ln_1"), d, &ours("attn.norm")));
        rows.push(TensorMap::split(
            hf("attn.c_attn.weight"),
            &[d, 3 * d],
            &[emb, qkv_axes[0], qkv_axes[1], qkv_axes[2]],
            "qkv",
            qkv("weights"),
        ));
        rows.push(TensorMap::split(
            hf("attn.c_attn.bias"),
            &[3 * d],
            &qkv_axes,
            "qkv",
            qkv("bias"),
        ));
        rows.push(TensorMap::one(
            hf("attn.c_proj.weight"),
            &[d, d],
            &[heads[0], heads[1], emb],
            ours("attn.output.weights"),
        ));
        rows.push(TensorMap::one(
            hf("attn.c_proj.bias"),
            &[d],
            &[emb],
            ours("attn.output.bias"),
        ));
        rows.extend(layer_norm(&hf("ln_2"), d, &ours("mlp.norm")));
        rows.push(TensorMap::one(
            hf("mlp.c_fc.weight"),
            &[d, n],
            &[emb, ("neurons", n)],
            ours("mlp.up.weights"),
        ));
        rows.push(TensorMap::one(
            hf("mlp.c_fc.bias"),
            &[n],
            &[("neurons", n)],
            ours("mlp.up.bias"),
        ));
        rows.push(TensorMap::one(
            hf("mlp.c_proj.weight"),
            &[n, d],
            &[("neurons", n), emb],
            ours("mlp.down.weights"),
        ));
        rows.push(TensorMap::one(
            hf("mlp.c_proj.bias"),
            &[d],
            &[emb],
            ours("mlp.down.bias"),
        ));
    }
    rows.extend(layer_norm(&format!("{prefix}ln_f"), d, "final_norm"));
    if !cfg.tie_word_embeddings {
        rows.push(TensorMap::one(
            "lm_head.weight",
            &[v, d],
            &[("vocabulary", v), emb],
            "unembed.weights",
        ));
    }
    rows
}
