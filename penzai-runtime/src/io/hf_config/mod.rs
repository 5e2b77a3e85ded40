//! HuggingFace `config.json` parsed into typed architecture configs.
//!
//! Keys fall in three classes. Keys we implement are read and validated (a wrong JSON type or
//! out-of-range value is an [`IoError::ConfigValue`] naming the key). Keys that would change the
//! numerics in ways we do not implement (an unknown `rope_scaling` type, `mlp_bias: true`,
//! `scale_attn_by_inverse_layer_idx: true`, a `hidden_act` other than silu, ...) are an
//! [`IoError::UnsupportedConfig`] naming the key. Keys known not to matter for a float32 forward
//! pass (`architectures`, `torch_dtype`, token ids, dropout probabilities, generation defaults,
//! ...) are ignored. Any other key is kept in [`HfConfig::unrecognized_keys`] so a caller can
//! warn about it: new transformers releases add keys faster than any list can follow.

mod gpt2;
mod gpt_neox;
mod keys;
mod llama;
mod rope;

use std::path::Path;

use serde_json::{Map, Value};

pub use gpt_neox::HfGptNeoxConfig;
pub use gpt2::{HfGpt2Config, activation_from_hf_name, activation_hf_name};
pub use llama::{AttentionBias, HfLlamaConfig, LlamaFamily};
pub use rope::HfRope;

use crate::io::{IoError, json_error};
use keys::Keys;

/// The architecture described by an HF `config.json`.
// A config, read once per load: boxing the larger variant would only make matching noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Architecture {
    /// `model_type: "gpt2"`.
    Gpt2(HfGpt2Config),
    /// `model_type: "gpt_neox"` (Pythia, GPT-NeoX-20B).
    GptNeox(HfGptNeoxConfig),
    /// `model_type: "llama"`, `"mistral"`, `"qwen2"`, `"qwen3"`, `"gemma"`, `"gemma2"`,
    /// `"gemma3_text"` or `"phi3"`.
    Llama(HfLlamaConfig),
}

impl Architecture {
    /// The vocabulary size the config states.
    pub fn vocab_size(&self) -> usize {
        match self {
            Architecture::Gpt2(c) => c.vocab_size,
            Architecture::GptNeox(c) => c.vocab_size,
            Architecture::Llama(c) => c.vocab_size,
        }
    }
}

/// A parsed HF config: the architecture, plus the keys we neither use nor know to be harmless.
///
/// ```
/// use penzai::io::hf_config::{Architecture, HfConfig};
///
/// let json = br#"{"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4,
///                 "n_positions": 64, "vocab_size": 97, "architectures": ["GPT2LMHeadModel"]}"#;
/// let config = HfConfig::from_json_bytes("config.json", json)?;
/// let Architecture::Gpt2(gpt2) = &config.architecture else { unreachable!() };
/// assert_eq!(gpt2.head_dim(), 8);
/// assert!(gpt2.tie_word_embeddings);
///
/// let bad = br#"{"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
///                 "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 2,
///                 "vocab_size": 97, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
///                 "rope_scaling": {"rope_type": "made_up", "factor": 2.0}}"#;
/// let err = HfConfig::from_json_bytes("config.json", bad).unwrap_err();
/// assert!(err.to_string().contains("\"rope_scaling.rope_type\""), "{err}");
/// # Ok::<(), penzai::io::IoError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HfConfig {
    /// The typed architecture.
    pub architecture: Architecture,
    /// Keys present in the file that were neither read nor known to be harmless, sorted.
    pub unrecognized_keys: Vec<String>,
    /// The keys known not to affect the forward pass (token ids, generation defaults,
    /// dropout rates, ...) with their values, kept so a model written back (see
    /// [`hf::export`](crate::io::hf::export)) keeps them; bookkeeping about the file itself
    /// (`architectures`, `dtype`, `transformers_version`, ...) is left out.
    pub passthrough: Map<String, Value>,
}

impl HfConfig {
    /// Reads and parses the config at `path` (usually `<model dir>/config.json`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<HfConfig, IoError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| IoError::os(&name, "read", &e))?;
        HfConfig::from_json_bytes(&name, &bytes)
    }

    /// Parses config JSON; `file` names it in errors. Malformed JSON is an
    /// [`IoError::InvalidJson`] with the byte offset.
    pub fn from_json_bytes(file: &str, bytes: &[u8]) -> Result<HfConfig, IoError> {
        let text = json_error::utf8(file, bytes, 0)?;
        let value: Value = json_error::parse(file, text, 0)?;
        let Value::Object(map) = &value else {
            return Err(IoError::InvalidJson {
                file: file.to_owned(),
                offset: text.len() as u64 - text.trim_start().len() as u64,
                message: "a config must be a JSON object".to_owned(),
            });
        };
        HfConfig::from_object(file, map)
    }

    fn from_object(file: &str, map: &Map<String, Value>) -> Result<HfConfig, IoError> {
        let mut keys = Keys::new(file, map);
        let model_type = keys
            .str("model_type")?
            .ok_or_else(|| IoError::MissingConfigKey {
                file: file.to_owned(),
                key: "model_type".to_owned(),
            })?;
        let architecture = match model_type {
            "gpt2" => Architecture::Gpt2(HfGpt2Config::from_keys(&mut keys)?),
            "gpt_neox" => Architecture::GptNeox(HfGptNeoxConfig::from_keys(&mut keys)?),
            "llama" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Llama)?)
            }
            "mistral" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Mistral)?)
            }
            "qwen2" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Qwen2)?)
            }
            "qwen3" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Qwen3)?)
            }
            "gemma" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Gemma)?)
            }
            "gemma2" => {
                Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Gemma2)?)
            }
            "phi3" => Architecture::Llama(HfLlamaConfig::from_keys(&mut keys, LlamaFamily::Phi3)?),
            "gemma3_text" => Architecture::Llama(HfLlamaConfig::from_keys(
                &mut keys,
                LlamaFamily::Gemma3Text,
            )?),
            other => {
                return Err(IoError::UnsupportedModelType {
                    file: file.to_owned(),
                    model_type: other.to_owned(),
                });
            }
        };
        Ok(HfConfig {
            architecture,
            unrecognized_keys: keys.unrecognized(),
            passthrough: keys.harmless(),
        })
    }
}
