//! The Llama family's HF configs (`model_type`: `llama`, `mistral`, `qwen2`, `qwen3`, `gemma`,
//! `gemma2`, `gemma3_text`): pre-norm RMSNorm blocks, rotary positions, gated MLP,
//! grouped-query attention, and each family's additions.

use super::keys::Keys;
use super::rope::{self, HfRope};
use crate::io::IoError;
use crate::nn::{Activation, RopeScaling};

/// Which HF architecture a [`HfLlamaConfig`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlamaFamily {
    /// `model_type: "llama"`.
    Llama,
    /// `model_type: "mistral"` (optional sliding-window attention).
    Mistral,
    /// `model_type: "qwen2"` (biases on the query, key and value projections; optional
    /// sliding windows on the layers from `max_window_layers` on).
    Qwen2,
    /// `model_type: "qwen3"` (RMSNorms on queries and keys).
    Qwen3,
    /// `model_type: "gemma"` (tanh-GELU gate, `(1 + w)` RMSNorm, `sqrt(d)` embedding scale).
    Gemma,
    /// `model_type: "gemma2"` (Gemma plus post-attention and post-MLP norms, soft caps,
    /// `query_pre_attn_scalar`, sliding windows on alternate layers).
    Gemma2,
    /// `model_type: "gemma3_text"` (Gemma 2 plus query/key norms and a separate RoPE base
    /// for sliding-window layers).
    Gemma3Text,
    /// `model_type: "phi3"` (fused `qkv_proj` and `gate_up_proj`, partial rotary, LongRoPE,
    /// an optional sliding window on every layer).
    Phi3,
}

impl LlamaFamily {
    /// Whether the family is one of the Gemmas.
    pub fn is_gemma(self) -> bool {
        matches!(
            self,
            LlamaFamily::Gemma | LlamaFamily::Gemma2 | LlamaFamily::Gemma3Text
        )
    }
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
    /// transformers; default 10000, Gemma 3's 1e6).
    pub rope_theta: f64,
    /// The RoPE scheme (`rope_scaling` or `rope_parameters`: default, linear, dynamic,
    /// llama3, yarn, longrope) and the rotated fraction (`partial_rotary_factor`).
    pub rope: HfRope,
    /// Gemma 3's RoPE of sliding-window layers (`rope_local_base_freq`, or
    /// `rope_parameters.sliding_attention`).
    pub local_rope: Option<HfRope>,
    /// Each layer's sliding window (`None`: full attention), from `sliding_window`,
    /// `layer_types`, `use_sliding_window`/`max_window_layers` (Qwen) or the alternation of
    /// Gemma 2 and 3.
    pub layer_windows: Vec<Option<usize>>,
    /// RMSNorms on queries and keys (Qwen3, Gemma 3).
    pub qk_norm: bool,
    /// The MLP's gate activation (`hidden_act` / `hidden_activation`).
    pub activation: Activation,
    /// Gemma 2's `attn_logit_softcapping`.
    pub attn_logit_softcapping: Option<f64>,
    /// Gemma 2's `final_logit_softcapping`.
    pub final_logit_softcapping: Option<f64>,
    /// Gemma 2 and 3's `query_pre_attn_scalar` (queries scaled by its inverse square root).
    pub query_pre_attn_scalar: Option<f64>,
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
        let activation = activation(k, family)?;
        k.reject_true("mlp_bias", "MLP biases are not implemented")?;
        k.reject_true(
            "use_bidirectional_attention",
            "bidirectional attention is not implemented",
        )?;
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
            LlamaFamily::Qwen2 | LlamaFamily::Qwen3 => 32768,
            LlamaFamily::Gemma | LlamaFamily::Gemma2 => 8192,
            LlamaFamily::Gemma3Text => 131_072,
            LlamaFamily::Phi3 => 4096,
        };
        let max_position_embeddings = k
            .positive("max_position_embeddings")?
            .unwrap_or(default_max_positions);
        let num_hidden_layers = k.required_positive("num_hidden_layers")?;
        let (sliding_window, layer_windows) = windows(k, family, num_hidden_layers)?;
        let (rope, local_rope) = match family {
            LlamaFamily::Gemma3Text => gemma3_rope(k, max_position_embeddings)?,
            LlamaFamily::Phi3 => {
                let original = k
                    .positive("original_max_position_embeddings")?
                    .unwrap_or(4096);
                let r = rope::read_with(k, 10_000.0, 1.0, max_position_embeddings, original, true)?;
                (r, None)
            }
            _ => (rope::read(k, 10_000.0, max_position_embeddings)?, None),
        };
        if family == LlamaFamily::Phi3 {
            let rotated = (head_dim as f64 * rope.partial_rotary_factor) as usize;
            if rotated < 2 || !rotated.is_multiple_of(2) {
                return Err(k.wrong(
                    "partial_rotary_factor",
                    &format!(
                        "a fraction of head_dim = {head_dim} giving an even number of entries"
                    ),
                    &rope.partial_rotary_factor.into(),
                ));
            }
        } else if rope.partial_rotary_factor != 1.0 {
            // transformers' Llama-like attention rotates whole heads (it fails on a fraction).
            return Err(k.unsupported(
                "partial_rotary_factor",
                &rope.partial_rotary_factor.into(),
                "this family rotates whole heads",
            ));
        }
        let gemma2_on = matches!(family, LlamaFamily::Gemma2 | LlamaFamily::Gemma3Text);
        let (attn_cap, final_cap, query_scalar) = if gemma2_on {
            let default_caps = family == LlamaFamily::Gemma2;
            let cap = |k: &mut Keys<'_>, key, default| -> Result<Option<f64>, IoError> {
                match k.positive_float(key)? {
                    Some(c) => Ok(Some(c)),
                    None if k.has(key) => Ok(None),
                    None => Ok(default_caps.then_some(default)),
                }
            };
            (
                cap(k, "attn_logit_softcapping", 50.0)?,
                cap(k, "final_logit_softcapping", 30.0)?,
                Some(k.positive_float("query_pre_attn_scalar")?.unwrap_or(256.0)),
            )
        } else {
            (None, None, None)
        };
        Ok(HfLlamaConfig {
            family,
            vocab_size: k.required_positive("vocab_size")?,
            intermediate_size: k.required_positive("intermediate_size")?,
            num_hidden_layers,
            rms_norm_eps: k.positive_float("rms_norm_eps")?.unwrap_or(1e-6),
            max_position_embeddings,
            tie_word_embeddings: k.bool("tie_word_embeddings")?.unwrap_or(family.is_gemma()),
            hidden_size,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            rope_theta: rope.theta,
            rope,
            local_rope,
            sliding_window,
            layer_windows,
            attention_bias,
            qk_norm: matches!(family, LlamaFamily::Qwen3 | LlamaFamily::Gemma3Text),
            activation,
            attn_logit_softcapping: attn_cap,
            final_logit_softcapping: final_cap,
            query_pre_attn_scalar: query_scalar,
        })
    }
}

/// The gate activation: SiLU for Llama, Mistral and Qwen; tanh-GELU for Gemma (whose
/// legacy `"gelu"` transformers reads as the tanh form for Gemma 1).
fn activation(k: &mut Keys<'_>, family: LlamaFamily) -> Result<Activation, IoError> {
    let act = k.str("hidden_act")?;
    let gemma_act = k.str("hidden_activation")?;
    if !family.is_gemma() {
        if let Some(a) = gemma_act {
            return Err(k.unsupported("hidden_activation", &a.into(), "not read by this family"));
        }
        return match act {
            None | Some("silu") | Some("swish") => Ok(Activation::Silu),
            Some(a) => Err(k.unsupported("hidden_act", &a.into(), "only silu is implemented")),
        };
    }
    let (key, name) = match (gemma_act, act) {
        (Some(a), _) => ("hidden_activation", a),
        (None, Some(a)) => ("hidden_act", a),
        (None, None) => return Ok(Activation::GeluTanh),
    };
    match name {
        "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" => Ok(Activation::GeluTanh),
        "gelu" if family == LlamaFamily::Gemma => Ok(Activation::GeluTanh),
        "gelu" => Ok(Activation::GeluExact),
        other => Err(k.unsupported(
            key,
            &other.into(),
            "only GELU (tanh or exact) is implemented",
        )),
    }
}

/// The sliding window, and each layer's window, of `family`.
fn windows(
    k: &mut Keys<'_>,
    family: LlamaFamily,
    layers: usize,
) -> Result<(Option<usize>, Vec<Option<usize>>), IoError> {
    let uniform = |w: Option<usize>| Ok((w, vec![w; layers]));
    let window = match family {
        // transformers' MistralConfig defaults to 4096 when the key is absent; an explicit
        // null means global attention.
        LlamaFamily::Mistral => {
            let w = match k.positive("sliding_window")? {
                Some(w) => Some(w),
                None if k.has("sliding_window") => None,
                None => Some(4096),
            };
            return uniform(w);
        }
        LlamaFamily::Llama | LlamaFamily::Gemma => return uniform(None),
        // Phi-3's window (default none) applies to every layer.
        LlamaFamily::Phi3 => return uniform(k.positive("sliding_window")?),
        LlamaFamily::Qwen2 | LlamaFamily::Qwen3 => {
            let on = k.bool("use_sliding_window")?.unwrap_or(false);
            let w = k.positive("sliding_window")?;
            let from = k.positive("max_window_layers")?.unwrap_or(28);
            if !on {
                // Only read when use_sliding_window is true; layer_types must then be full.
                k.get("layer_types");
                check_all_full(k)?;
                return uniform(None);
            }
            let Some(w) = w else {
                return uniform(None);
            };
            let default: Vec<bool> = (0..layers).map(|i| i >= from).collect();
            return per_layer(k, w, layers, default);
        }
        LlamaFamily::Gemma2 | LlamaFamily::Gemma3Text => {
            k.positive("sliding_window")?.unwrap_or(4096)
        }
    };
    let pattern = if family == LlamaFamily::Gemma2 {
        2
    } else {
        // transformers 5 saves the pattern as `_sliding_window_pattern`.
        let saved = k.positive("_sliding_window_pattern")?;
        k.positive("sliding_window_pattern")?.or(saved).unwrap_or(6)
    };
    let default: Vec<bool> = (0..layers).map(|i| (i + 1) % pattern != 0).collect();
    per_layer(k, window, layers, default)
}

/// Per-layer windows from `layer_types` (or `default`, sliding where true).
fn per_layer(
    k: &mut Keys<'_>,
    window: usize,
    layers: usize,
    default: Vec<bool>,
) -> Result<(Option<usize>, Vec<Option<usize>>), IoError> {
    let sliding = match k.get("layer_types") {
        None => default,
        Some(v) => {
            let parsed = v.as_array().and_then(|a| {
                a.iter()
                    .map(|t| match t.as_str() {
                        Some("sliding_attention") => Some(true),
                        Some("full_attention") => Some(false),
                        _ => None,
                    })
                    .collect::<Option<Vec<bool>>>()
            });
            match parsed {
                Some(p) if p.len() == layers => p,
                _ => {
                    return Err(k.wrong(
                        "layer_types",
                        &format!(
                            "{layers} entries, each \"sliding_attention\" or \"full_attention\""
                        ),
                        v,
                    ));
                }
            }
        }
    };
    Ok((
        Some(window),
        sliding.into_iter().map(|s| s.then_some(window)).collect(),
    ))
}

/// `layer_types`, when present without sliding windows, must be all full attention.
fn check_all_full(k: &mut Keys<'_>) -> Result<(), IoError> {
    if let Some(layers) = k.get("layer_types") {
        let all_full = layers
            .as_array()
            .is_some_and(|a| a.iter().all(|t| t == "full_attention"));
        if !all_full {
            return Err(k.unsupported(
                "layer_types",
                layers,
                "sliding layers need use_sliding_window: true and a sliding_window",
            ));
        }
    }
    Ok(())
}

/// Gemma 3's two RoPEs: global (`rope_theta`, default 1e6, with `rope_scaling`) and local
/// (`rope_local_base_freq`, default 1e4); transformers 5 writes both under
/// `rope_parameters` as `full_attention` and `sliding_attention`.
fn gemma3_rope(
    k: &mut Keys<'_>,
    max_positions: usize,
) -> Result<(HfRope, Option<HfRope>), IoError> {
    let nested = k
        .get("rope_parameters")
        .and_then(|v| v.as_object())
        .filter(|m| m.contains_key("full_attention") || m.contains_key("sliding_attention"));
    if nested.is_some()
        && let Some(v) = k.get("rope_scaling")
    {
        return Err(k.unsupported(
            "rope_scaling",
            v,
            "give Gemma 3's scaling inside rope_parameters.full_attention",
        ));
    }
    let Some(nested) = nested else {
        let global = rope::read(k, 1_000_000.0, max_positions)?;
        let local_theta = k
            .positive_float("rope_local_base_freq")?
            .unwrap_or(10_000.0);
        let local = HfRope {
            theta: local_theta,
            scaling: RopeScaling::Default,
            partial_rotary_factor: global.partial_rotary_factor,
        };
        return Ok((global, Some(local)));
    };
    let one = |key: &'static str, theta: f64| -> Result<HfRope, IoError> {
        let mut map = serde_json::Map::new();
        if let Some(v) = nested.get(key) {
            map.insert("rope_parameters".to_owned(), v.clone());
        }
        let mut inner = Keys::new(k.file, &map);
        let r = rope::read(&mut inner, theta, max_positions);
        r.map_err(|e| rename_key(e, key))
    };
    let global = one("full_attention", 1_000_000.0)?;
    let local = one("sliding_attention", 10_000.0)?;
    if let Some((other, v)) = nested
        .iter()
        .find(|(name, _)| *name != "full_attention" && *name != "sliding_attention")
    {
        return Err(k.unsupported(
            &format!("rope_parameters.{other}"),
            v,
            "only full_attention and sliding_attention RoPEs exist in Gemma 3",
        ));
    }
    k.positive_float("rope_local_base_freq")?;
    Ok((global, Some(local)))
}

/// An error about `rope_parameters.x` re-addressed to `rope_parameters.<layer_type>.x`.
fn rename_key(e: IoError, layer_type: &str) -> IoError {
    let fix = |key: String| {
        key.replacen(
            "rope_parameters",
            &format!("rope_parameters.{layer_type}"),
            1,
        )
    };
    match e {
        IoError::ConfigValue {
            file,
            key,
            expected,
            found,
        } => IoError::ConfigValue {
            file,
            key: fix(key),
            expected,
            found,
        },
        IoError::UnsupportedConfig {
            file,
            key,
            value,
            reason,
        } => IoError::UnsupportedConfig {
            file,
            key: fix(key),
            value,
            reason,
        },
        IoError::MissingConfigKey { file, key } => IoError::MissingConfigKey {
            file,
            key: fix(key),
        },
        other => other,
    }
}
