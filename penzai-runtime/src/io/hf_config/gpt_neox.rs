//! GPT-NeoX's HF config (`model_type: "gpt_neox"`: Pythia, GPT-NeoX-20B).

use super::gpt2::activation_from_hf_name;
use super::keys::Keys;
use super::rope::{self, HfRope};
use crate::io::IoError;
use crate::nn::Activation;

/// A GPT-NeoX architecture, as a checkpoint's HF `config.json` states it (the model builder's
/// own config is [`models::GptNeoxConfig`](crate::models::GptNeoxConfig)).
///
/// Absent optional keys take transformers' `GPTNeoXConfig` defaults; the size keys
/// (`vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`,
/// `num_attention_heads`) are required. The RoPE is read from the 4.x keys `rotary_pct`
/// (default 0.25) and `rotary_emb_base` (default 10000) as Pythia's configs give them, or from
/// transformers 5's `rope_parameters` (`partial_rotary_factor`, `rope_theta`, any RoPE type).
///
/// ```
/// use penzai::io::hf_config::{Architecture, HfConfig};
///
/// let json = br#"{"model_type": "gpt_neox", "hidden_size": 64, "intermediate_size": 256,
///                 "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 97,
///                 "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": true}"#;
/// let config = HfConfig::from_json_bytes("config.json", json)?;
/// let Architecture::GptNeox(neox) = &config.architecture else { unreachable!() };
/// assert_eq!(neox.head_dim(), 16);
/// assert_eq!(neox.rotary_dims(), 4);
/// assert!(neox.use_parallel_residual && neox.attention_bias && !neox.tie_word_embeddings);
/// # Ok::<(), penzai::io::IoError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HfGptNeoxConfig {
    /// Vocabulary size (`vocab_size`).
    pub vocab_size: usize,
    /// Residual stream width (`hidden_size`).
    pub hidden_size: usize,
    /// MLP hidden width (`intermediate_size`).
    pub intermediate_size: usize,
    /// Number of blocks (`num_hidden_layers`).
    pub num_hidden_layers: usize,
    /// Attention heads (`num_attention_heads`); divides `hidden_size`.
    pub num_attention_heads: usize,
    /// The MLP activation (`hidden_act`, default exact `gelu`).
    pub activation: Activation,
    /// LayerNorm epsilon (`layer_norm_eps`, default 1e-5).
    pub layer_norm_eps: f64,
    /// The RoPE: base (`rotary_emb_base` / `rope_theta`), scheme, and the rotated fraction of
    /// each head (`rotary_pct` / `partial_rotary_factor`).
    pub rope: HfRope,
    /// Longest sequence the model was trained for (`max_position_embeddings`, default 2048).
    pub max_position_embeddings: usize,
    /// Attention and MLP in parallel off the same input (`use_parallel_residual`, default
    /// true).
    pub use_parallel_residual: bool,
    /// Biases on the query/key/value and output projections (`attention_bias`, default
    /// true).
    pub attention_bias: bool,
    /// Whether the LM head reuses the token embedding (`tie_word_embeddings`, default false).
    pub tie_word_embeddings: bool,
}

impl HfGptNeoxConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// How many leading entries of each head RoPE rotates: transformers'
    /// `int(head_dim * partial_rotary_factor)`.
    pub fn rotary_dims(&self) -> usize {
        (self.head_dim() as f64 * self.rope.partial_rotary_factor) as usize
    }

    pub(super) fn from_keys(k: &mut Keys<'_>) -> Result<HfGptNeoxConfig, IoError> {
        k.reject_true("add_cross_attention", "cross-attention is not implemented")?;
        let hidden_size = k.required_positive("hidden_size")?;
        let heads = k.required_positive("num_attention_heads")?;
        if hidden_size % heads != 0 {
            return Err(k.wrong(
                "num_attention_heads",
                &format!("a divisor of hidden_size = {hidden_size}"),
                &heads.into(),
            ));
        }
        let activation = match k.str("hidden_act")? {
            None => Activation::GeluExact,
            Some(name) => activation_from_hf_name(name).ok_or_else(|| {
                k.unsupported(
                    "hidden_act",
                    &name.into(),
                    "supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu",
                )
            })?,
        };
        let max_position_embeddings = k.positive("max_position_embeddings")?.unwrap_or(2048);
        // transformers 5 folds the 4.x keys into rope_parameters when they are absent there.
        let base = k.positive_float("rotary_emb_base")?.unwrap_or(10_000.0);
        let pct = match k.get("rotary_pct") {
            None => 0.25,
            Some(v) => match v.as_f64() {
                Some(x) if x > 0.0 && x <= 1.0 => x,
                _ => return Err(k.wrong("rotary_pct", "a fraction in (0, 1]", v)),
            },
        };
        let rope = rope::read_with(
            k,
            base,
            pct,
            max_position_embeddings,
            max_position_embeddings,
            false,
        )?;
        let head_dim = hidden_size / heads;
        let rotated = (head_dim as f64 * rope.partial_rotary_factor) as usize;
        if rotated < 2 || !rotated.is_multiple_of(2) {
            let key = if k.has("rotary_pct") {
                "rotary_pct"
            } else {
                "partial_rotary_factor"
            };
            return Err(k.wrong(
                key,
                &format!(
                    "a fraction of the head width {head_dim} giving an even number of entries"
                ),
                &rope.partial_rotary_factor.into(),
            ));
        }
        Ok(HfGptNeoxConfig {
            vocab_size: k.required_positive("vocab_size")?,
            intermediate_size: k.required_positive("intermediate_size")?,
            num_hidden_layers: k.required_positive("num_hidden_layers")?,
            layer_norm_eps: k.positive_float("layer_norm_eps")?.unwrap_or(1e-5),
            use_parallel_residual: k.bool("use_parallel_residual")?.unwrap_or(true),
            attention_bias: k.bool("attention_bias")?.unwrap_or(true),
            tie_word_embeddings: k.bool("tie_word_embeddings")?.unwrap_or(false),
            hidden_size,
            num_attention_heads: heads,
            activation,
            rope,
            max_position_embeddings,
        })
    }
}
