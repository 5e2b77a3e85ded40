//! Typed access to a config's JSON object, remembering which keys were read so the rest can
//! be classified (harmless, or unrecognized).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::io::IoError;

/// Keys every HF config may carry that do not affect a float32 forward pass: bookkeeping,
/// token ids, generation defaults, training-only settings.
const HARMLESS: &[&str] = &[
    "_name_or_path",
    "_attn_implementation_autoset",
    "architectures",
    "attn_implementation",
    "bad_words_ids",
    "begin_suppress_tokens",
    "bos_token_id",
    "chunk_size_feed_forward",
    "cross_attention_hidden_size",
    "decoder_start_token_id",
    "diversity_penalty",
    "do_sample",
    "dtype",
    "early_stopping",
    "encoder_no_repeat_ngram_size",
    "eos_token_id",
    "exponential_decay_length_penalty",
    "finetuning_task",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "id2label",
    "initializer_range",
    "is_decoder",
    "is_encoder_decoder",
    "label2id",
    "length_penalty",
    "max_length",
    "min_length",
    "model_type",
    "no_repeat_ngram_size",
    "num_beam_groups",
    "num_beams",
    "num_return_sequences",
    "output_attentions",
    "output_hidden_states",
    "output_scores",
    "pad_token_id",
    "prefix",
    "pretraining_tp",
    "problem_type",
    "pruned_heads",
    "remove_invalid_values",
    "repetition_penalty",
    "return_dict",
    "return_dict_in_generate",
    "sep_token_id",
    "suppress_tokens",
    "task_specific_params",
    "temperature",
    "tf_legacy_loss",
    "tie_encoder_decoder",
    "tokenizer_class",
    "top_k",
    "top_p",
    "torch_dtype",
    "torchscript",
    "transformers_version",
    "typical_p",
    "use_bfloat16",
    "use_cache",
];

/// Whether `key` is a dropout probability (ignored: inference does not drop).
fn is_dropout(key: &str) -> bool {
    key.ends_with("_pdrop") || key.contains("dropout")
}

/// Whether `key` is known not to affect a float32 forward pass.
fn is_harmless(key: &str) -> bool {
    HARMLESS.contains(&key) || key.starts_with("summary_") || is_dropout(key)
}

/// A config object with typed, error-reporting getters.
pub(super) struct Keys<'a> {
    pub file: &'a str,
    map: &'a Map<String, Value>,
    read: BTreeSet<&'a str>,
}

impl<'a> Keys<'a> {
    pub fn new(file: &'a str, map: &'a Map<String, Value>) -> Keys<'a> {
        Keys {
            file,
            map,
            read: BTreeSet::new(),
        }
    }

    /// The value at `key`, marking it read; JSON `null` counts as absent.
    pub fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.insert(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` is present at all (even as `null`), marking it read.
    pub fn has(&mut self, key: &'a str) -> bool {
        self.read.insert(key);
        self.map.contains_key(key)
    }

    pub fn wrong(&self, key: &str, expected: &str, found: &Value) -> IoError {
        IoError::ConfigValue {
            file: self.file.to_owned(),
            key: key.to_owned(),
            expected: expected.to_owned(),
            found: describe(found),
        }
    }

    /// An optional positive integer below 2^32 (so sizes derived from it cannot overflow).
    pub fn positive(&mut self, key: &'a str) -> Result<Option<usize>, IoError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_u64().and_then(|x| u32::try_from(x).ok()) {
            Some(x) if x > 0 => Ok(Some(x as usize)),
            _ => Err(self.wrong(key, "a positive integer below 2^32", v)),
        }
    }

    /// A required positive integer.
    pub fn required_positive(&mut self, key: &'a str) -> Result<usize, IoError> {
        self.positive(key)?
            .ok_or_else(|| IoError::MissingConfigKey {
                file: self.file.to_owned(),
                key: key.to_owned(),
            })
    }

    /// An optional finite positive number.
    pub fn positive_float(&mut self, key: &'a str) -> Result<Option<f64>, IoError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(self.wrong(key, "a finite positive number", v)),
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &'a str) -> Result<Option<bool>, IoError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.as_bool()
            .map(Some)
            .ok_or_else(|| self.wrong(key, "a boolean", v))
    }

    /// An optional string.
    pub fn str(&mut self, key: &'a str) -> Result<Option<&'a str>, IoError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.as_str()
            .map(Some)
            .ok_or_else(|| self.wrong(key, "a string", v))
    }

    /// Errors if `key` holds `true`: a feature whose numerics are not implemented.
    pub fn reject_true(&mut self, key: &'a str, reason: &str) -> Result<(), IoError> {
        if self.bool(key)? == Some(true) {
            return Err(self.unsupported(key, &Value::Bool(true), reason));
        }
        Ok(())
    }

    pub fn unsupported(&self, key: &str, value: &Value, reason: &str) -> IoError {
        IoError::UnsupportedConfig {
            file: self.file.to_owned(),
            key: key.to_owned(),
            value: value.to_string(),
            reason: reason.to_owned(),
        }
    }

    /// Keys neither read nor known to be harmless, sorted.
    pub fn unrecognized(&self) -> Vec<String> {
        self.map
            .keys()
            .filter(|k| !self.read.contains(k.as_str()) && !is_harmless(k))
            .cloned()
            .collect()
    }

    /// The harmless keys and their values, minus those describing the stored file itself
    /// (which a writer of another file must set anew).
    pub fn harmless(&self) -> Map<String, Value> {
        const ABOUT_THE_FILE: &[&str] = &[
            "model_type",
            "architectures",
            "dtype",
            "torch_dtype",
            "transformers_version",
            "_name_or_path",
        ];
        self.map
            .iter()
            .filter(|(k, _)| {
                !self.read.contains(k.as_str())
                    && is_harmless(k)
                    && !ABOUT_THE_FILE.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A short description of a JSON value for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.len() <= 40 => format!("string {s:?}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}
