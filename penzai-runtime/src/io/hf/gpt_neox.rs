//! GPT-NeoX's checkpoint layout (`GPTNeoXForCausalLM`: Pythia, GPT-NeoX-20B), as transformers
//! writes it and as the published checkpoints store it (with the `attention.bias`,
//! `attention.masked_bias` and `attention.rotary_emb.inv_freq` buffers, which are ignored).

use super::layout::{TensorMap, layer_norm};
use super::{Plan, Skeleton};
use crate::io::hf_config::HfGptNeoxConfig as HfNeox;
use crate::models::GptNeoxConfig;

/// The prefix of the body's tensors.
const PREFIX: &str = "gpt_neox.";

/// The model config our builder takes.
pub(crate) fn model_config(cfg: &HfNeox) -> GptNeoxConfig {
    GptNeoxConfig {
        vocab_size: cfg.vocab_size,
        d_model: cfg.hidden_size,
        n_layers: cfg.num_hidden_layers,
        n_heads: cfg.num_attention_heads,
        mlp_hidden: cfg.intermediate_size,
        // torch's LayerNorm adds its (double) epsilon to an f32 variance: f32 arithmetic.
        layer_norm_eps: cfg.layer_norm_eps as f32,
        activation: cfg.activation.clone(),
        rotary_dims: cfg.rotary_dims(),
        // transformers computes the RoPE frequencies in f32 from the base.
        rope_theta: cfg.rope.theta as f32,
        rope_scaling: cfg.rope.scaling.clone(),
        parallel_residual: cfg.use_parallel_residual,
        attention_bias: cfg.attention_bias,
        tie_embeddings: cfg.tie_word_embeddings,
    }
}

/// The model to build, the tensor layout and the buffers to ignore.
pub(crate) fn plan(cfg: &HfNeox) -> Plan {
    let buffers = (0..cfg.num_hidden_layers)
        .flat_map(|i| {
            ["bias", "masked_bias", "rotary_emb.inv_freq"]
                .map(|b| format!("{PREFIX}layers.{i}.attention.{b}"))
        })
        .chain([format!("{PREFIX}rotary_emb.inv_freq")])
        .collect();
    Plan {
        architecture: "gpt_neox",
        skeleton: Skeleton::GptNeox(model_config(cfg)),
        rows: layout(cfg),
        buffers,
        tied: cfg.tie_word_embeddings.then(|| {
            (
                "embed_out.weight".to_owned(),
                format!("{PREFIX}embed_in.weight"),
            )
        }),
    }
}

/// Every GPT-NeoX tensor and the parameter(s) it becomes.
///
/// `query_key_value` packs queries, keys and values per head: its output rows are
/// `[heads, 3, head_dim]` (transformers views them as `(.., heads, 3 * head_dim)` and chunks
/// the last dimension in three), so the split axis `qkv` sits between `heads` and
/// `projection`, unlike GPT-2's `c_attn` where it is outermost.
pub(crate) fn layout(cfg: &HfNeox) -> Vec<TensorMap> {
    let (d, n, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (h, hd) = (cfg.num_attention_heads, cfg.head_dim());
    let emb = ("embedding", d);
    let neurons = ("neurons", n);
    let heads = [("heads", h), ("projection", hd)];
    let qkv_axes = [heads[0], ("qkv", 3), heads[1]];
    let mut rows = vec![TensorMap::one(
        format!("{PREFIX}embed_in.weight"),
        &[v, d],
        &[("vocabulary", v), emb],
        "embed.embeddings",
    )];
    for i in 0..cfg.num_hidden_layers {
        let hf = |s: &str| format!("{PREFIX}layers.{i}.{s}");
        let ours = |s: &str| format!("blocks.{i}.{s}");
        let qkv = |what: &str| {
            ["query", "key", "value"]
                .iter()
                .map(|p| ours(&format!("attn.{p}.{what}")))
                .collect::<Vec<_>>()
        };
        rows.extend(layer_norm(&hf("input_layernorm"), d, &ours("attn.norm")));
        rows.push(TensorMap::split(
            hf("attention.query_key_value.weight"),
            &[3 * d, d],
            &[qkv_axes[0], qkv_axes[1], qkv_axes[2], emb],
            "qkv",
            qkv("weights"),
        ));
        if cfg.attention_bias {
            rows.push(TensorMap::split(
                hf("attention.query_key_value.bias"),
                &[3 * d],
                &qkv_axes,
                "qkv",
                qkv("bias"),
            ));
        }
        rows.push(TensorMap::one(
            hf("attention.dense.weight"),
            &[d, d],
            &[emb, heads[0], heads[1]],
            ours("attn.output.weights"),
        ));
        if cfg.attention_bias {
            rows.push(TensorMap::one(
                hf("attention.dense.bias"),
                &[d],
                &[emb],
                ours("attn.output.bias"),
            ));
        }
        rows.extend(layer_norm(
            &hf("post_attention_layernorm"),
            d,
            &ours("mlp.norm"),
        ));
        for (theirs, mine, shape, axes) in [
            ("dense_h_to_4h", "up", [n, d], [neurons, emb]),
            ("dense_4h_to_h", "down", [d, n], [emb, neurons]),
        ] {
            rows.push(TensorMap::one(
                hf(&format!("mlp.{theirs}.weight")),
                &shape,
                &axes,
                ours(&format!("mlp.{mine}.weights")),
            ));
            rows.push(TensorMap::one(
                hf(&format!("mlp.{theirs}.bias")),
                &shape[..1],
                &axes[..1],
                ours(&format!("mlp.{mine}.bias")),
            ));
        }
    }
    rows.extend(layer_norm(
        &format!("{PREFIX}final_layer_norm"),
        d,
        "final_norm",
    ));
    if !cfg.tie_word_embeddings {
        rows.push(TensorMap::one(
            "embed_out.weight",
            &[v, d],
            &[("vocabulary", v), emb],
            "unembed.weights",
        ));
    }
    rows
}
