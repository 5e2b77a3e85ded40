//! Text in and out for the CLI: `--prompt`, the `"text"` of `generate`, `tokenize`, and
//! `--model org/name` through the local HuggingFace cache.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use penzai::io::hf_cache;
use penzai::text::{TOKENIZER_FILE, Tokenizer, decode_generation};
use serde_json::{Value, json};

/// What a running command reads: token ids, or a text encoded with the model's tokenizer.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct PromptInput {
    /// Input token ids, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 1..,
        value_name = "IDS"
    )]
    pub tokens: Vec<i64>,
    /// Input text, encoded with the model folder's tokenizer.json (with the special tokens
    /// its template adds, such as Llama's <s>).
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
}

/// The arguments of `penzai tokenize`.
#[derive(Args)]
pub struct TokenizeArgs {
    /// A folder with a tokenizer.json (a checkpoint or a saved model), or a HuggingFace
    /// repository id (org/name) found in the local cache.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The text to encode.
    #[arg(long, value_name = "TEXT")]
    pub prompt: String,
}

/// A prompt's ids, and the tokenizer when the folder has one.
pub struct Prompt {
    /// The ids to run.
    pub ids: Vec<i64>,
    /// The folder's tokenizer: always there for `--prompt`, and for `--tokens` when the
    /// folder has a tokenizer.json.
    pub tokenizer: Option<Tokenizer>,
}

/// The folder `--model` names: the path itself when it exists, else (for `org/name`) the
/// snapshot in the local HuggingFace cache. Nothing is downloaded.
pub fn model_dir(model: &Path) -> Result<PathBuf> {
    let Some(arg) = model.to_str() else {
        return Ok(model.to_path_buf());
    };
    match hf_cache::resolve_model(arg) {
        Ok(dir) => Ok(dir),
        // Not a repository id either: the caller says what is wrong with the path.
        Err(hf_cache::ModelNotFound::NoSuchPath { .. }) => Ok(model.to_path_buf()),
        Err(e) => Err(e.into()),
    }
}

/// The ids of `input`: `--tokens` as given, or `--prompt` encoded with the tokenizer of
/// `dir` (which `--tokens` does not read).
pub fn prompt_ids(dir: &Path, input: &PromptInput) -> Result<Vec<i64>> {
    if input.prompt.is_some() {
        return Ok(prompt(dir, input)?.ids);
    }
    Ok(input.tokens.clone())
}

/// The ids of `input`, with the tokenizer of `dir` when there is one (required for
/// `--prompt`).
pub fn prompt(dir: &Path, input: &PromptInput) -> Result<Prompt> {
    if let Some(text) = &input.prompt {
        let tokenizer = Tokenizer::from_dir(dir)?;
        let ids = tokenizer.encode(text)?;
        anyhow::ensure!(
            !ids.is_empty(),
            "{}: the prompt {text:?} encodes to no tokens; a model needs at least one",
            tokenizer.file()
        );
        return Ok(Prompt {
            ids,
            tokenizer: Some(tokenizer),
        });
    }
    let tokenizer = if dir.join(TOKENIZER_FILE).exists() {
        Some(Tokenizer::from_dir(dir)?)
    } else {
        None
    };
    Ok(Prompt {
        ids: input.tokens.clone(),
        tokenizer,
    })
}

/// `{"output": [ids]}`, plus `"text"` (the whole output decoded, special tokens skipped)
/// when there is a tokenizer.
pub fn generate_output(
    ids: Vec<i64>,
    prompt_len: usize,
    tokenizer: Option<&Tokenizer>,
) -> Result<Value> {
    let Some(tokenizer) = tokenizer else {
        return Ok(json!({ "output": ids }));
    };
    let generation = decode_generation(tokenizer, ids, prompt_len)
        .context("decoding the output with the model's tokenizer")?;
    Ok(json!({ "output": generation.ids, "text": generation.text }))
}

/// `penzai tokenize`: prints `{"ids": [...], "tokens": [...]}`.
pub fn tokenize(args: &TokenizeArgs) -> Result<Value> {
    let dir = model_dir(&args.model)?;
    let encoding = Tokenizer::from_dir(&dir)?.tokenize(&args.prompt)?;
    Ok(json!({ "ids": encoding.ids, "tokens": encoding.tokens }))
}
