//! The Llama family's checkpoint layout (`LlamaForCausalLM`, `MistralForCausalLM`,
//! `Qwen2ForCausalLM`): `model.layers.{i}.*` with `nn.Linear` weights stored `[out, in]`.

use super::layout::TensorMap;
use super::{Plan, Skeleton};
use crate::io::hf_config::{HfLlamaConfig as HfLlama, LlamaFamily};
use crate::models::LlamaConfig;

/// The `model_type` of a family, as in messages and `config.json`.
pub(crate) fn architecture(family: LlamaFamily) -> &'static str {
    match family {
        LlamaFamily::Llama => "llama",
        LlamaFamily::Mistral => "mistral",
        LlamaFamily::Qwen2 => "qwen2",
    }
}

/// The model config our builder takes.
pub(crate) fn model_config(cfg: &HfLlama) -> LlamaConfig {
    LlamaConfig {
        vocab_size: cfg.vocab_size,
        d_model: cfg.hidden_size,
        n_layers: cfg.num_hidden_layers,
        n_heads: cfg.num_attention_heads,
        n_kv_heads: cfg.num_key_value_heads,
        head_dim: cfg.head_dim,
        mlp_hidden: cfg.intermediate_size,
        // transformers computes RoPE frequencies and norms in f32 from these values.
        rope_theta: cfg.rope_theta as f32,
        rms_eps: cfg.rms_norm_eps as f32,
        tie_embeddings: cfg.tie_word_embeddings,
        sliding_window: cfg.sliding_window,
        qkv_bias: cfg.attention_bias.qkv,
        output_bias: cfg.attention_bias.output,
    }
}

/// The model to build and the tensor layout.
pub(crate) fn plan(cfg: &HfLlama) -> Plan {
    let skeleton = Skeleton::Llama(model_config(cfg));
    Plan {
        architecture: architecture(cfg.family),
        skeleton,
        rows: layout(cfg),
        buffers: Vec::new(),
        tied: cfg.tie_word_embeddings.then(|| {
            (
                "lm_head.weight".to_owned(),
                "model.embed_tokens.weight".to_owned(),
            )
        }),
    }
}

/// Every tensor of the family and the parameter it becomes.
///
/// Query head `h` of HF's grouped-query attention uses key/value head `h / (heads /
/// kv_heads)`, so HF's query rows `[heads * head_dim]` are `kv_heads, q_per_kv, projection`
/// in our axes, exactly the grouping our attention broadcasts over.
pub(crate) fn layout(cfg: &HfLlama) -> Vec<TensorMap> {
    let m = model_config(cfg);
    let (d, v, n) = (cfg.hidden_size, cfg.vocab_size, cfg.intermediate_size);
    let emb = ("embedding", d);
    let neurons = ("neurons", n);
    let with_projection = |heads: Vec<(&'static str, usize)>| {
        let mut axes = heads;
        axes.push(("projection", cfg.head_dim));
        axes
    };
    let q_axes = with_projection(m.query_head_axes());
    let kv_axes = with_projection(m.kv_head_axes());
    let q_rows = cfg.num_attention_heads * cfg.head_dim;
    let kv_rows = cfg.num_key_value_heads * cfg.head_dim;
    let out_in = |axes: &[(&'static str, usize)]| [axes, &[emb]].concat();

    let mut rows = vec![TensorMap::one(
        "model.embed_tokens.weight",
        &[v, d],
        &[("vocabulary", v), emb],
        "embed.embeddings",
    )];
    for i in 0..cfg.num_hidden_layers {
        let hf = |s: &str| format!("model.layers.{i}.{s}");
        let ours = |s: &str| format!("blocks.{i}.{s}");
        rows.push(TensorMap::one(
            hf("input_layernorm.weight"),
            &[d],
            &[emb],
            ours("attn.norm.scale.weights"),
        ));
        for (proj, name, axes, out) in [
            ("q_proj", "query", &q_axes, q_rows),
            ("k_proj", "key", &kv_axes, kv_rows),
            ("v_proj", "value", &kv_axes, kv_rows),
        ] {
            rows.push(TensorMap::one(
                hf(&format!("self_attn.{proj}.weight")),
                &[out, d],
                &out_in(axes),
                ours(&format!("attn.{name}.weights")),
            ));
            if cfg.attention_bias.qkv {
                rows.push(TensorMap::one(
                    hf(&format!("self_attn.{proj}.bias")),
                    &[out],
                    axes,
                    ours(&format!("attn.{name}.bias")),
                ));
            }
        }
        rows.push(TensorMap::one(
            hf("self_attn.o_proj.weight"),
            &[d, q_rows],
            &[[emb].as_slice(), &q_axes].concat(),
            ours("attn.output.weights"),
        ));
        if cfg.attention_bias.output {
            rows.push(TensorMap::one(
                hf("self_attn.o_proj.bias"),
                &[d],
                &[emb],
                ours("attn.output.bias"),
            ));
        }
        rows.push(TensorMap::one(
            hf("post_attention_layernorm.weight"),
            &[d],
            &[emb],
            ours("mlp.norm.scale.weights"),
        ));
        for (proj, name) in [("gate_proj", "gate"), ("up_proj", "up")] {
            rows.push(TensorMap::one(
                hf(&format!("mlp.{proj}.weight")),
                &[n, d],
                &[neurons, emb],
                ours(&format!("mlp.{name}.weights")),
            ));
        }
        rows.push(TensorMap::one(
            hf("mlp.down_proj.weight"),
            &[d, n],
            &[emb, neurons],
            ours("mlp.down.weights"),
        ));
    }
    rows.push(TensorMap::one(
        "model.norm.weight",
        &[d],
        &[emb],
        "final_norm.scale.weights",
    ));
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
