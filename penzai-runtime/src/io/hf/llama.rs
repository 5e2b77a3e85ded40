//! The Llama family's checkpoint layout (`LlamaForCausalLM`, `MistralForCausalLM`,
//! `Qwen2ForCausalLM`, `Qwen3ForCausalLM`, `GemmaForCausalLM`, `Gemma2ForCausalLM`,
//! `Gemma3ForCausalLM`): `model.layers.{i}.*` with `nn.Linear` weights stored `[out, in]`.

use super::layout::TensorMap;
use super::{Plan, Skeleton};
use crate::io::hf_config::{HfLlamaConfig as HfLlama, LlamaFamily};
use crate::models::{LlamaConfig, LlamaVariant};

/// One unfused projection: its HF name, our slot, its axes and its row count.
type SeparateProjection<'a> = (&'a str, &'a str, &'a Vec<(&'static str, usize)>, usize);

/// The `model_type` of a family, as in messages and `config.json`.
pub(crate) fn architecture(family: LlamaFamily) -> &'static str {
    match family {
        LlamaFamily::Llama => "llama",
        LlamaFamily::Mistral => "mistral",
        LlamaFamily::Qwen2 => "qwen2",
        LlamaFamily::Qwen3 => "qwen3",
        LlamaFamily::Gemma => "gemma",
        LlamaFamily::Gemma2 => "gemma2",
        LlamaFamily::Gemma3Text => "gemma3_text",
        LlamaFamily::Phi3 => "phi3",
    }
}

/// The transformers class of a family, as `config.json`'s `architectures` names it.
pub(crate) fn class_name(family: LlamaFamily) -> &'static str {
    match family {
        LlamaFamily::Llama => "LlamaForCausalLM",
        LlamaFamily::Mistral => "MistralForCausalLM",
        LlamaFamily::Qwen2 => "Qwen2ForCausalLM",
        LlamaFamily::Qwen3 => "Qwen3ForCausalLM",
        LlamaFamily::Gemma => "GemmaForCausalLM",
        LlamaFamily::Gemma2 => "Gemma2ForCausalLM",
        LlamaFamily::Gemma3Text => "Gemma3ForCausalLM",
        LlamaFamily::Phi3 => "Phi3ForCausalLM",
    }
}

/// Whether the family has norms after attention and the MLP (Gemma 2 and 3).
fn post_norms(family: LlamaFamily) -> bool {
    matches!(family, LlamaFamily::Gemma2 | LlamaFamily::Gemma3Text)
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
        variant: variant(cfg),
    }
}

/// What the family changes, each a visible layer of the model.
fn variant(cfg: &HfLlama) -> LlamaVariant {
    let gemma = cfg.family.is_gemma();
    let rotated = (cfg.head_dim as f64 * cfg.rope.partial_rotary_factor) as usize;
    LlamaVariant {
        rope_scaling: cfg.rope.scaling.clone(),
        rotary_dims: (rotated < cfg.head_dim).then_some(rotated),
        local_rope: cfg
            .local_rope
            .as_ref()
            .map(|r| (r.theta as f32, r.scaling.clone())),
        layer_windows: Some(cfg.layer_windows.clone()),
        qk_norm: cfg.qk_norm,
        norm_plus_one: gemma,
        activation: cfg.activation.clone(),
        // transformers multiplies by sqrt(hidden_size) rounded to the activations' dtype.
        embed_scale: gemma.then(|| (cfg.hidden_size as f64).sqrt() as f32),
        post_norms: post_norms(cfg.family),
        attn_softcap: cfg.attn_logit_softcapping.map(|c| c as f32),
        final_softcap: cfg.final_logit_softcapping.map(|c| c as f32),
        query_scale: cfg.query_pre_attn_scalar.map(|s| (1.0 / s.sqrt()) as f32),
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
        if cfg.qk_norm {
            for (norm, name) in [("q_norm", "query"), ("k_norm", "key")] {
                rows.push(TensorMap::one(
                    hf(&format!("self_attn.{norm}.weight")),
                    &[cfg.head_dim],
                    &[("projection", cfg.head_dim)],
                    ours(&format!("attn.{name}.norm.scale.weights")),
                ));
            }
        }
        let phi3 = cfg.family == LlamaFamily::Phi3;
        if phi3 && cfg.num_key_value_heads != cfg.num_attention_heads {
            // Grouped-query: the query rows, then the key rows, then the value rows.
            let parts = [("query", &q_axes), ("key", &kv_axes), ("value", &kv_axes)]
                .into_iter()
                .map(|(n, axes)| (ours(&format!("attn.{n}.weights")), out_in(axes)))
                .collect();
            rows.push(TensorMap::rows(
                hf("self_attn.qkv_proj.weight"),
                &[q_rows + 2 * kv_rows, d],
                &[("qkv_rows", q_rows + 2 * kv_rows), emb],
                parts,
            ));
        } else if phi3 {
            // Multi-head: queries, keys and values side by side, equal parts.
            rows.push(TensorMap::split(
                hf("self_attn.qkv_proj.weight"),
                &[3 * q_rows, d],
                &[[("qkv", 3)].as_slice(), &q_axes, &[emb]].concat(),
                "qkv",
                ["query", "key", "value"]
                    .iter()
                    .map(|n| ours(&format!("attn.{n}.weights")))
                    .collect(),
            ));
        }
        let separate: &[SeparateProjection<'_>] = if phi3 {
            &[]
        } else {
            &[
                ("q_proj", "query", &q_axes, q_rows),
                ("k_proj", "key", &kv_axes, kv_rows),
                ("v_proj", "value", &kv_axes, kv_rows),
            ]
        };
        for &(proj, name, axes, out) in separate {
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
        let norms: &[(&str, &str)] = if post_norms(cfg.family) {
            &[
                ("post_attention_layernorm", "attn.post_norm"),
                ("pre_feedforward_layernorm", "mlp.norm"),
                ("post_feedforward_layernorm", "mlp.post_norm"),
            ]
        } else {
            &[("post_attention_layernorm", "mlp.norm")]
        };
        for (theirs, mine) in norms {
            rows.push(TensorMap::one(
                hf(&format!("{theirs}.weight")),
                &[d],
                &[emb],
                ours(&format!("{mine}.scale.weights")),
            ));
        }
        if phi3 {
            // Gate rows first, then up rows.
            rows.push(TensorMap::split(
                hf("mlp.gate_up_proj.weight"),
                &[2 * n, d],
                &[("gate_up", 2), neurons, emb],
                "gate_up",
                vec![ours("mlp.gate.weights"), ours("mlp.up.weights")],
            ));
        }
        let gate_up: &[(&str, &str)] = if phi3 {
            &[]
        } else {
            &[("gate_proj", "gate"), ("up_proj", "up")]
        };
        for &(proj, name) in gate_up {
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
