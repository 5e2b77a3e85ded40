//! Shared by the hf_* and cli_* tests: fixture paths and their expected.json.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use penzai::prelude::*;
use serde_json::Value;

/// Every committed fixture.
pub const FIXTURES: [&str; 23] = [
    "gpt2",
    "gpt2-legacy",
    "gpt2-bf16",
    "llama-mha",
    "llama-gqa-tied",
    "llama-sharded",
    "llama-f16",
    "mistral-sliding",
    "qwen2-mqa",
    "qwen2-sliding",
    "llama3-rope",
    "llama-linear",
    "llama-dynamic",
    "llama-yarn",
    "llama-longrope",
    "qwen3-qknorm",
    "gemma-mqa",
    "gemma2-softcap",
    "gemma3-text",
    "phi3-longrope",
    "phi3-gqa",
    "neox-parallel",
    "neox-sequential",
];

/// The folder of fixture `name`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What transformers computed for a fixture.
pub struct Expected {
    /// Token ids of each prompt.
    pub prompts: Vec<Vec<i64>>,
    /// Per prompt, the logits row-major `[seq, vocab]`.
    pub logits: Vec<Vec<f32>>,
    /// Per prompt, the greedy new tokens.
    pub greedy: Vec<Vec<i64>>,
}

impl Expected {
    /// Reads `tests/fixtures/<name>/expected.json`.
    pub fn read(name: &str) -> Expected {
        let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let ints = |v: &Value| -> Vec<i64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        };
        let floats = |v: &Value| -> Vec<f32> {
            v.as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row.as_array().unwrap().iter())
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        Expected {
            prompts: v["prompts"].as_array().unwrap().iter().map(ints).collect(),
            logits: v["logits"].as_array().unwrap().iter().map(floats).collect(),
            greedy: v["greedy_new_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(ints)
                .collect(),
        }
    }

    /// The prompts as `{batch, seq}` token ids.
    pub fn prompts_array(&self) -> NamedArray {
        let seq = self.prompts[0].len();
        NamedArray::from_i64(
            &[("batch", self.prompts.len()), ("seq", seq)],
            self.prompts.concat(),
        )
        .unwrap()
    }
}
