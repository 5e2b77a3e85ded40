//! The Llama family's HF configs (`model_type`: `llama`, `mistral`, `qwen2`): pre-norm RMSNorm
//! blocks, rotary positions, SwiGLU MLP, grouped-query attention.

use serde_json::Value;

use super::keys::Keys;
use crate::io::IoError;

/// Which HF architecture a [`HfLlamaConfig`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlamaFamily {
    /// `model_type: "llama"`.
    Llama,
    /// `model_type: "mistral"` (optional sliding-window attention).
    Mistral,
    /// `model_type: "qwen2"` (biases on the query, key and value projections).
    Qwen2,
}

/// Which attention projections carry a bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttentionBias {
    /// Query, key and value projections.
    pub qkv: bool,
    /// Output projection.
    pub output: bool,
}

/// A Llama-family architecture, as a checkpoint's HF `config.json` states it (the model
/// builder's own config is [`models::LlamaConfig`](crate::models::LlamaConfig)).
///
/// Absent optional keys take transformers' defaults for the family; the size keys
/// (`vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`,
/// `num_attention_heads`) are required.
#[derive(Debug, Clone, PartialEq)]
pub struct HfLlamaConfig {
    /// The HF architecture.
    pub family: LlamaFamily,
    /// Vocabulary size (`vocab_size`).
    pub vocab_size: usize,
    /// Residual stream width (`hidden_size`).
    pub hidden_size: usize,
    /// MLP hidden width (`intermediate_size`).
    pub intermediate_size: usize,
    /// Number of blocks (`num_hidden_layers`).
    pub num_hidden_layers: usize,
    /// Query heads (`num_attention_heads`).
    pub num_attention_heads: usize,
    /// Key/value heads (`num_key_value_heads`, default `num_attention_heads`); divides
    /// `num_attention_heads`.
    pub num_key_value_heads: usize,
    /// Width of one head (`head_dim`, default `hidden_size / num_attention_heads`); even.
    pub head_dim: usize,
    /// RMSNorm epsilon (`rms_norm_eps`, default 1e-6).
    pub rms_norm_eps: f64,
    /// RoPE base wavelength (`rope_theta`, or `rope_parameters.rope_theta` in newer
    /// transformers; default 10000).
    pub rope_theta: f64,
    /// Longest sequence the model was trained for (`max_position_embeddings`).
    pub max_position_embeddings: usize,
    /// Whether the LM head reuses the token embedding (`tie_word_embeddings`, default false).
    pub tie_word_embeddings: bool,
    /// Sliding attention window (Mistral's `sliding_window`; default 4096 as in transformers'
    /// `MistralConfig`, `null` for global attention). Always `None` for Llama and Qwen2.
    pub sliding_window: Option<usize>,
    /// Attention projection biases (Llama's `attention_bias`; always q/k/v for Qwen2).
    pub attention_bias: AttentionBias,
}

impl HfLlamaConfig {
    /// Query heads sharing one key/value head.
    pub fn query_heads_per_kv_head(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    pub(super) fn from_keys(
        k: &mut Keys<'_>,
        family: LlamaFamily,
    ) -> Result<HfLlamaConfig, IoError> {
        if let Some(act) = k.str("hidden_act")?
            && act != "silu"
        {
            return Err(k.unsupported("hidden_act", &act.into(), "only silu is implemented"));
        }
        if let Some(v) = k.get("rope_scaling") {
            return Err(k.unsupported("rope_scaling", v, "RoPE scaling is not implemented"));
        }
        if let Some(v) = k.get("partial_rotary_factor")
            && v.as_f64() != Some(1.0)
        {
            return Err(k.unsupported(
                "partial_rotary_factor",
                v,
                "partial rotary embeddings are not implemented",
            ));
        }
        k.reject_true("mlp_bias", "MLP biases are not implemented")?;
        let attention_bias = match family {
            LlamaFamily::Qwen2 => AttentionBias {
                qkv: true,
                output: false,
            },
            _ => {
                let on = k.bool("attention_bias")?.unwrap_or(false);
                AttentionBias {
                    qkv: on,
                    output: on,
                }
            }
        };
        let sliding_window = sliding_window(k, family)?;
        let rope_theta = rope_theta(k)?;

        let hidden_size = k.required_positive("hidden_size")?;
        let heads = k.required_positive("num_attention_heads")?;
        let kv_heads = k.positive("num_key_value_heads")?.unwrap_or(heads);
        if heads % kv_heads != 0 {
            return Err(k.wrong(
                "num_key_value_heads",
                &format!("a divisor of num_attention_heads = {heads}"),
                &kv_heads.into(),
            ));
        }
        let head_dim = match k.positive("head_dim")? {
            Some(d) => d,
            None if hidden_size % heads == 0 => hidden_size / heads,
            None => {
                return Err(k.wrong(
                    "num_attention_heads",
                    &format!("a divisor of hidden_size = {hidden_size} (or an explicit head_dim)"),
                    &heads.into(),
                ));
            }
        };
        if head_dim % 2 != 0 {
            return Err(k.wrong(
                "head_dim",
                "an even number (RoPE rotates pairs)",
                &head_dim.into(),
            ));
        }
        let default_max_positions = match family {
            LlamaFamily::Llama => 2048,
            LlamaFamily::Mistral => 4096 * 32,
            LlamaFamily::Qwen2 => 32768,
        };
        Ok(HfLlamaConfig {
            family,
            vocab_size: k.required_positive("vocab_size")?,
            intermediate_size: k.required_positive("intermediate_size")?,
            num_hidden_layers: k.required_positive("num_hidden_layers")?,
            rms_norm_eps: k.positive_float("rms_norm_eps")?.unwrap_or(1e-6),
            max_position_embeddings: k
                .positive("max_position_embeddings")?
                .unwrap_or(default_max_positions),
            tie_word_embeddings: k.bool("tie_word_embeddings")?.unwrap_or(false),
            hidden_size,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            rope_theta,
            sliding_window,
            attention_bias,
        })
    }
}

/// The sliding window of `family`, rejecting Qwen2's per-layer windows.
fn sliding_window(k: &mut Keys<'_>, family: LlamaFamily) -> Result<Option<usize>, IoError> {
    match family {
        // transformers' MistralConfig defaults to 4096 when the key is absent; an explicit
        // null means global attention.
        LlamaFamily::Mistral => match k.positive("sliding_window")? {
            Some(w) => Ok(Some(w)),
            None if k.has("sliding_window") => Ok(None),
            None => Ok(Some(4096)),
        },
        LlamaFamily::Qwen2 => {
            k.reject_true(
                "use_sliding_window",
                "Qwen2's per-layer sliding windows are not implemented",
            )?;
            // Only read when use_sliding_window is true.
            k.get("sliding_window");
            k.get("max_window_layers");
            if let Some(layers) = k.get("layer_types") {
                let all_full = layers
                    .as_array()
                    .is_some_and(|a| a.iter().all(|t| t == "full_attention"));
                if !all_full {
                    return Err(k.unsupported(
                        "layer_types",
                        layers,
                        "only full_attention layers are implemented",
                    ));
                }
            }
            Ok(None)
        }
        LlamaFamily::Llama => Ok(None),
    }
}

/// `rope_theta` at top level (transformers 4.x) or in `rope_parameters` (newer releases).
fn rope_theta(k: &mut Keys<'_>) -> Result<f64, IoError> {
    let top = k.positive_float("rope_theta")?;
    let Some(params) = k.get("rope_parameters") else {
        return Ok(top.unwrap_or(10_000.0));
    };
    let Some(params) = params.as_object() else {
        return Err(k.wrong("rope_parameters", "an object", params));
    };
    let mut nested = None;
    for (key, v) in params {
        match (key.as_str(), v) {
            ("rope_type", Value::String(t)) if t == "default" => {}
            ("rope_theta", v) => match v.as_f64() {
                Some(x) if x.is_finite() && x > 0.0 => nested = Some(x),
                _ => {
                    return Err(k.wrong(
                        "rope_parameters.rope_theta",
                        "a finite positive number",
                        v,
                    ));
                }
            },
            _ => {
                return Err(k.unsupported(
                    &format!("rope_parameters.{key}"),
                    v,
                    "only default RoPE (rope_type \"default\" with rope_theta) is implemented",
                ));
            }
        }
    }
    match (top, nested) {
        (Some(a), Some(b)) if a != b => Err(k.wrong(
            "rope_theta",
            &format!("the same value as rope_parameters.rope_theta = {b}"),
            &a.into(),
        )),
        (a, b) => Ok(a.or(b).unwrap_or(10_000.0)),
    }
}
