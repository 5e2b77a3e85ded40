//! An [`HfConfig`] written back as transformers' `config.json`.
//!
//! The keys that define the architecture are written from the typed config (with `dtype`
//! float32, since export writes f32 tensors), after the harmless keys the config was read
//! with ([`HfConfig::passthrough`]: token ids, generation defaults, ...). Keys the typed config
//! leaves out take transformers' defaults, which is what [`HfConfig`] assumed when it read
//! their absence.

use serde_json::{Value, json};

use super::llama;
use crate::io::hf_config::{
    HfGpt2Config, HfGptNeoxConfig, HfLlamaConfig, LlamaFamily, activation_hf_name,
};
use crate::io::{Architecture, HfConfig, IoError};
use crate::nn::Activation;

/// The config as a JSON object; `file` names it in errors (an activation transformers has no
/// name for).
pub(crate) fn to_json(config: &HfConfig, file: &str) -> Result<Value, IoError> {
    let architecture = match &config.architecture {
        Architecture::Gpt2(cfg) => gpt2(cfg, file)?,
        Architecture::GptNeox(cfg) => gpt_neox(cfg, file)?,
        Architecture::Llama(cfg) => llama(cfg, file)?,
    };
    let mut out = config.passthrough.clone();
    if let Value::Object(keys) = architecture {
        out.extend(keys);
    }
    Ok(Value::Object(out))
}

fn gpt2(cfg: &HfGpt2Config, file: &str) -> Result<Value, IoError> {
    let activation = hf_activation(&cfg.activation, file, "activation_function")?;
    Ok(json!({
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": cfg.vocab_size,
        "n_positions": cfg.n_positions,
        "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer,
        "n_head": cfg.n_head,
        "n_inner": cfg.n_inner,
        "activation_function": activation,
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "scale_attn_weights": cfg.scale_attn_weights,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "dtype": "float32",
    }))
}

/// GPT-NeoX's config in transformers 5's form (`rope_parameters`, its rotated fraction always
/// stated since NeoX's default is a quarter), with the 4.x keys `rotary_pct` and
/// `rotary_emb_base` beside it so older transformers read the same RoPE.
fn gpt_neox(cfg: &HfGptNeoxConfig, file: &str) -> Result<Value, IoError> {
    let activation = hf_activation(&cfg.activation, file, "hidden_act")?;
    let mut rope = cfg.rope.to_json();
    if let Value::Object(map) = &mut rope {
        map.insert(
            "partial_rotary_factor".into(),
            cfg.rope.partial_rotary_factor.into(),
        );
    }
    Ok(json!({
        "model_type": "gpt_neox",
        "architectures": ["GPTNeoXForCausalLM"],
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "hidden_act": activation,
        "layer_norm_eps": cfg.layer_norm_eps,
        "rope_parameters": rope,
        "rotary_pct": cfg.rope.partial_rotary_factor,
        "rotary_emb_base": cfg.rope.theta,
        "max_position_embeddings": cfg.max_position_embeddings,
        "use_parallel_residual": cfg.use_parallel_residual,
        "attention_bias": cfg.attention_bias,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "dtype": "float32",
    }))
}

fn llama(cfg: &HfLlamaConfig, file: &str) -> Result<Value, IoError> {
    let architecture = llama::class_name(cfg.family);
    let activation = hf_activation(&cfg.activation, file, "hidden_act")?;
    // transformers' "gelu_new" is the tanh form; Gemma names it "gelu_pytorch_tanh".
    let activation = match activation {
        "gelu_new" => "gelu_pytorch_tanh",
        other => other,
    };
    let layer_types: Vec<&str> = cfg
        .layer_windows
        .iter()
        .map(|w| {
            if w.is_some() {
                "sliding_attention"
            } else {
                "full_attention"
            }
        })
        .collect();
    let mut out = json!({
        "model_type": llama::architecture(cfg.family),
        "architectures": [architecture],
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": activation,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_parameters": cfg.rope.to_json(),
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "dtype": "float32",
    });
    if let Value::Object(map) = &mut out {
        match cfg.family {
            LlamaFamily::Llama => {
                map.insert("attention_bias".into(), cfg.attention_bias.qkv.into());
            }
            LlamaFamily::Mistral => {
                map.insert("sliding_window".into(), cfg.sliding_window.into());
            }
            LlamaFamily::Qwen2 | LlamaFamily::Qwen3 => {
                let on = cfg.layer_windows.iter().any(Option::is_some);
                map.insert("use_sliding_window".into(), on.into());
                if let Some(w) = cfg.sliding_window.filter(|_| on) {
                    map.insert("sliding_window".into(), w.into());
                    map.insert("layer_types".into(), json!(layer_types));
                }
                if cfg.family == LlamaFamily::Qwen3 {
                    map.insert("attention_bias".into(), cfg.attention_bias.qkv.into());
                }
            }
            LlamaFamily::Gemma => {
                map.insert("attention_bias".into(), cfg.attention_bias.qkv.into());
            }
            LlamaFamily::Phi3 => {
                map.insert("sliding_window".into(), cfg.sliding_window.into());
                if let crate::nn::RopeScaling::LongRope {
                    original_max_position_embeddings,
                    ..
                } = &cfg.rope.scaling
                {
                    map.insert(
                        "original_max_position_embeddings".into(),
                        (*original_max_position_embeddings).into(),
                    );
                }
            }
            LlamaFamily::Gemma2 | LlamaFamily::Gemma3Text => {
                map.insert("attention_bias".into(), cfg.attention_bias.qkv.into());
                map.remove("hidden_act");
                map.insert("hidden_activation".into(), activation.into());
                map.insert("sliding_window".into(), cfg.sliding_window.into());
                map.insert("layer_types".into(), json!(layer_types));
                map.insert(
                    "attn_logit_softcapping".into(),
                    cfg.attn_logit_softcapping.into(),
                );
                map.insert(
                    "final_logit_softcapping".into(),
                    cfg.final_logit_softcapping.into(),
                );
                map.insert(
                    "query_pre_attn_scalar".into(),
                    cfg.query_pre_attn_scalar.into(),
                );
                if let Some(local) = &cfg.local_rope {
                    map.insert(
                        "rope_parameters".into(),
                        json!({
                            "full_attention": cfg.rope.to_json(),
                            "sliding_attention": local.to_json(),
                        }),
                    );
                }
            }
        }
    }
    Ok(out)
}

/// transformers' name for `activation`, written under `key`; an activation it has no name
/// for is an error naming the key.
fn hf_activation(activation: &Activation, file: &str, key: &str) -> Result<&'static str, IoError> {
    activation_hf_name(activation).ok_or_else(|| IoError::UnsupportedConfig {
        file: file.to_owned(),
        key: key.to_owned(),
        value: format!("\"{activation:?}\""),
        reason: "transformers has no name for this activation".to_owned(),
    })
}
