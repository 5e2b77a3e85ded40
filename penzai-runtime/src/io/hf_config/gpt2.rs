//! GPT-2's HF config (`model_type: "gpt2"`).

use super::keys::Keys;
use crate::io::IoError;
use crate::nn::Activation;

/// The activation a transformers name (`activation_function`, `hidden_act`) stands for;
/// `None` for names we do not implement.
///
/// ```
/// use penzai::io::hf_config::activation_from_hf_name;
/// use penzai::nn::Activation;
///
/// assert_eq!(activation_from_hf_name("gelu_new"), Some(Activation::GeluTanh));
/// assert_eq!(activation_from_hf_name("quick_gelu"), None);
/// ```
pub fn activation_from_hf_name(name: &str) -> Option<Activation> {
    Some(match name {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "gelu" => Activation::GeluExact,
        "relu" => Activation::Relu,
        "silu" | "swish" => Activation::Silu,
        _ => return None,
    })
}

/// The transformers name of `activation`, the one [`activation_from_hf_name`] reads back;
/// `None` for activations transformers has no name for.
pub fn activation_hf_name(activation: &Activation) -> Option<&'static str> {
    Some(match activation {
        Activation::GeluTanh => "gelu_new",
        Activation::GeluExact => "gelu",
        Activation::Relu => "relu",
        Activation::Silu => "silu",
        _ => return None,
    })
}

/// A GPT-2 architecture, as a checkpoint's HF `config.json` states it (the model builder's
/// own config is [`models::Gpt2Config`](crate::models::Gpt2Config)).
///
/// Absent optional keys take transformers' `GPT2Config` defaults; the size keys (`n_embd`,
/// `n_layer`, `n_head`, `n_positions`, `vocab_size`) are required.
#[derive(Debug, Clone, PartialEq)]
pub struct HfGpt2Config {
    /// Vocabulary size (`vocab_size`).
    pub vocab_size: usize,
    /// Maximum sequence length, i.e. rows of the position table (`n_positions`).
    pub n_positions: usize,
    /// Embedding width (`n_embd`).
    pub n_embd: usize,
    /// Number of blocks (`n_layer`).
    pub n_layer: usize,
    /// Attention heads per block (`n_head`); divides `n_embd`.
    pub n_head: usize,
    /// MLP hidden width (`n_inner`, default `4 * n_embd`).
    pub n_inner: usize,
    /// MLP nonlinearity (`activation_function`, default `gelu_new`).
    pub activation: Activation,
    /// LayerNorm epsilon (`layer_norm_epsilon`, default 1e-5).
    pub layer_norm_epsilon: f64,
    /// Whether attention scores are divided by `sqrt(head_dim)` (`scale_attn_weights`,
    /// default true).
    pub scale_attn_weights: bool,
    /// Whether the LM head reuses the token embedding (`tie_word_embeddings`, default true).
    pub tie_word_embeddings: bool,
}

impl HfGpt2Config {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    pub(super) fn from_keys(k: &mut Keys<'_>) -> Result<HfGpt2Config, IoError> {
        k.reject_true(
            "scale_attn_by_inverse_layer_idx",
            "per-layer attention scaling is not implemented",
        )?;
        k.reject_true(
            "reorder_and_upcast_attn",
            "the reordered, upcast attention is not implemented",
        )?;
        k.reject_true("add_cross_attention", "cross-attention is not implemented")?;
        let n_embd = k.required_positive("n_embd")?;
        let n_head = k.required_positive("n_head")?;
        if n_embd % n_head != 0 {
            return Err(IoError::ConfigValue {
                file: k.file.to_owned(),
                key: "n_head".to_owned(),
                expected: format!("a divisor of n_embd = {n_embd}"),
                found: format!("number {n_head}"),
            });
        }
        let activation = match k.str("activation_function")? {
            None => Activation::GeluTanh,
            Some(name) => activation_from_hf_name(name).ok_or_else(|| {
                k.unsupported(
                    "activation_function",
                    &name.into(),
                    "supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu",
                )
            })?,
        };
        // `n_ctx` is an old alias of n_positions that nothing reads any more.
        k.get("n_ctx");
        Ok(HfGpt2Config {
            vocab_size: k.required_positive("vocab_size")?,
            n_positions: k.required_positive("n_positions")?,
            n_layer: k.required_positive("n_layer")?,
            n_inner: k.positive("n_inner")?.unwrap_or(n_embd.saturating_mul(4)),
            layer_norm_epsilon: k.positive_float("layer_norm_epsilon")?.unwrap_or(1e-5),
            scale_attn_weights: k.bool("scale_attn_weights")?.unwrap_or(true),
            tie_word_embeddings: k.bool("tie_word_embeddings")?.unwrap_or(true),
            n_embd,
            n_head,
            activation,
        })
    }
}
