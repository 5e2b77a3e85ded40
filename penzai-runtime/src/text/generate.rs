//! Text in, text out: [`generate_text`] encodes a prompt, runs
//! [`models::generate`](crate::models::generate) and decodes the result.

use super::{TextError, Tokenizer};
use crate::Result;
use crate::models::{GenerateOptions, generate_with_progress};
use crate::nn::Layer;
use crate::nx::NamedArray;

/// What [`generate_text`] returns: the ids and the text, whole and new part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextGeneration {
    /// The prompt's ids (with the template's special tokens), then the new ids.
    pub ids: Vec<i64>,
    /// How many of `ids` are the prompt's.
    pub prompt_len: usize,
    /// The whole sequence decoded, special tokens skipped.
    pub text: String,
    /// The text the new tokens added to the prompt's text.
    pub new_text: String,
}

impl TextGeneration {
    /// The generated ids, without the prompt's.
    pub fn new_ids(&self) -> &[i64] {
        &self.ids[self.prompt_len..]
    }
}

/// The prompt's ids as a `{batch: 1, seq}` model input.
///
/// An empty encoding (an empty prompt with a tokenizer that adds no beginning-of-text
/// token) is an error: a model cannot continue nothing.
pub fn encode_prompt(tokenizer: &Tokenizer, prompt: &str) -> Result<NamedArray> {
    let ids = tokenizer.encode(prompt)?;
    if ids.is_empty() {
        return Err(TextError::EmptyPrompt {
            file: tokenizer.file().to_owned(),
            text: prompt.to_owned(),
        }
        .into());
    }
    Ok(NamedArray::from_i64(
        &[("batch", 1), ("seq", ids.len())],
        ids,
    )?)
}

/// Continues `prompt` with `model` and returns the ids and the decoded text.
///
/// The prompt is encoded with the tokenizer's special tokens (as transformers does by
/// default), generation follows `options` (greedy or sampled, stop ids, KV cache), and the
/// output is decoded without special tokens.
///
/// ```
/// use penzai::io::hf;
/// use penzai::models::GenerateOptions;
/// use penzai::text::{Tokenizer, generate_text};
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/gpt2-text");
/// let model = hf::load(dir)?.model;
/// let tokenizer = Tokenizer::from_dir(dir)?;
/// let options = GenerateOptions { max_new_tokens: 4, ..Default::default() };
/// let out = generate_text(&model, &tokenizer, "The quick brown fox", &options)?;
/// assert_eq!(out.new_ids().len(), 4);
/// assert!(out.text.starts_with("The quick brown fox"));
/// assert_eq!(out.text, format!("The quick brown fox{}", out.new_text));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate_text<L: Layer + Clone>(
    model: &L,
    tokenizer: &Tokenizer,
    prompt: &str,
    options: &GenerateOptions,
) -> Result<TextGeneration> {
    generate_text_with_progress(model, tokenizer, prompt, options, &mut |_, _| {})
}

/// Like [`generate_text`], calling `on_token(done, max_new_tokens)` after each new token.
pub fn generate_text_with_progress<L: Layer + Clone>(
    model: &L,
    tokenizer: &Tokenizer,
    prompt: &str,
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(usize, usize),
) -> Result<TextGeneration> {
    let input = encode_prompt(tokenizer, prompt)?;
    let prompt_len = input.axis_size("seq").unwrap_or(0);
    let ids = generate_with_progress(model, &input, options, on_token)?.to_i64_vec();
    Ok(decode_generation(tokenizer, ids, prompt_len)?)
}

/// Decodes a generated sequence whose first `prompt_len` ids are the prompt's.
pub fn decode_generation(
    tokenizer: &Tokenizer,
    ids: Vec<i64>,
    prompt_len: usize,
) -> Result<TextGeneration, TextError> {
    let prompt_len = prompt_len.min(ids.len());
    let text = tokenizer.decode_skipping_special_tokens(&ids)?;
    let prompt_text = tokenizer.decode_skipping_special_tokens(&ids[..prompt_len])?;
    // Decoding the new ids alone would lose what joins them to the prompt (a leading space
    // a decoder strips, a character split across the boundary), so cut the whole text. A
    // prompt ending inside a character decodes with replacement characters at its end,
    // which the whole text has not.
    let new_text = match text
        .strip_prefix(&prompt_text)
        .or_else(|| text.strip_prefix(prompt_text.trim_end_matches('\u{FFFD}')))
    {
        Some(rest) => rest.to_owned(),
        None => tokenizer.decode_skipping_special_tokens(&ids[prompt_len..])?,
    };
    Ok(TextGeneration {
        ids,
        prompt_len,
        text,
        new_text,
    })
}
