//! [`Tokenizer`]: a checkpoint's `tokenizer.json`, read by the `tokenizers` library.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::TextError;
use super::pieces::{DecoderKind, display_text};
use crate::io::json_error;
use crate::treescope::{TokenText, TokenVocab};

/// The file name of a HuggingFace tokenizer.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// A checkpoint's tokenizer: text to token ids and back, exactly as the `tokenizers` library
/// (and so transformers) does it, for any `tokenizer.json` it reads: byte-level BPE (GPT-2,
/// Llama 3, Qwen), SentencePiece-style BPE with byte fallback (Llama 2, Gemma, Mistral),
/// WordPiece or Unigram.
///
/// Ids are `i64`, as model inputs are. Cloning is cheap (the tables are shared).
///
/// ```
/// use penzai::text::Tokenizer;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/llama-text");
/// let tokenizer = Tokenizer::from_dir(dir)?;
/// let ids = tokenizer.encode("Hello, world!")?;
/// assert_eq!(ids[0], 1); // Llama 2's template adds <s>
/// assert_eq!(tokenizer.decode(&ids)?, "<s> Hello, world!");
/// assert_eq!(tokenizer.decode_skipping_special_tokens(&ids)?, "Hello, world!");
///
/// // A folder without tokenizer.json is an error naming the file.
/// let err = Tokenizer::from_dir(env!("CARGO_MANIFEST_DIR")).unwrap_err();
/// assert!(err.to_string().contains("tokenizer.json: not found"));
/// # Ok::<(), penzai::text::TextError>(())
/// ```
#[derive(Clone)]
pub struct Tokenizer {
    inner: Arc<tokenizers::Tokenizer>,
    file: String,
    vocab_size: usize,
    special: Arc<HashSet<u32>>,
    decoder: DecoderKind,
}

/// A text's encoding: the ids and the vocabulary entry (piece) of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// The token ids.
    pub ids: Vec<i64>,
    /// Each id's piece as the vocabulary stores it (`"Ġworld"`, `"▁Hello"`, `"<0xE6>"`).
    pub tokens: Vec<String>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("file", &self.file)
            .field("vocab_size", &self.vocab_size)
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Reads `dir/tokenizer.json`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Tokenizer, TextError> {
        Tokenizer::from_file(dir.as_ref().join(TOKENIZER_FILE))
    }

    /// Reads a `tokenizer.json` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer, TextError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TextError::Missing { file: file.clone() },
            _ => TextError::Read {
                file: file.clone(),
                message: e.to_string(),
            },
        })?;
        Tokenizer::from_json_bytes(&file, &bytes)
    }

    /// Reads a `tokenizer.json` already in memory; `file` names it in errors.
    pub fn from_json_bytes(file: &str, bytes: &[u8]) -> Result<Tokenizer, TextError> {
        let text = std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
            file: file.to_owned(),
            offset: e.valid_up_to() as u64,
        })?;
        let malformed = |json: &serde_json::Error| TextError::Malformed {
            file: file.to_owned(),
            offset: Some(json_error::byte_offset(text, json) as u64),
            message: json_error::message(json),
        };
        // JSON syntax first: the library panics on some truncated files instead of failing.
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| malformed(&e))?;
        let inner = guarded(file, "read", || {
            tokenizers::Tokenizer::from_bytes(text.as_bytes())
        })?
        .map_err(|e| match e.downcast_ref::<serde_json::Error>() {
            // The library parses with serde_json: its errors carry a position.
            Some(json) => malformed(json),
            None => TextError::Malformed {
                file: file.to_owned(),
                offset: None,
                message: e.to_string(),
            },
        })?;
        let special = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, token)| token.special)
            .map(|(id, _)| id)
            .collect();
        Ok(Tokenizer {
            vocab_size: inner.get_vocab_size(true),
            decoder: DecoderKind::of(inner.get_decoder()),
            special: Arc::new(special),
            inner: Arc::new(inner),
            file: file.to_owned(),
        })
    }

    /// The file this tokenizer was read from (as given).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How many tokens the tokenizer knows, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The ids of `text`, with the special tokens the tokenizer's template adds (Llama's
    /// `<s>`, for example), as transformers encodes a prompt by default.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, TextError> {
        Ok(self.tokenize(text)?.ids)
    }

    /// The ids of `text` without the template's special tokens.
    pub fn encode_without_special_tokens(&self, text: &str) -> Result<Vec<i64>, TextError> {
        Ok(self.encoding(text, false)?.ids)
    }

    /// The ids of `text` and their vocabulary pieces, with the template's special tokens.
    ///
    /// ```
    /// use penzai::text::Tokenizer;
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/gpt2-text");
    /// let encoding = Tokenizer::from_dir(dir)?.tokenize("The model")?;
    /// assert_eq!(encoding.tokens, ["The", "Ġmodel"]);
    /// # Ok::<(), penzai::text::TextError>(())
    /// ```
    pub fn tokenize(&self, text: &str) -> Result<Encoding, TextError> {
        self.encoding(text, true)
    }

    fn encoding(&self, text: &str, add_special_tokens: bool) -> Result<Encoding, TextError> {
        let encode_error = |message: String| TextError::Encode {
            file: self.file.clone(),
            text: text.chars().take(40).collect(),
            message,
        };
        let encoding = guarded(&self.file, "encode", || {
            self.inner.encode(text, add_special_tokens)
        })?
        .map_err(|e| encode_error(e.to_string()))?;
        Ok(Encoding {
            ids: encoding.get_ids().iter().map(|&id| i64::from(id)).collect(),
            tokens: encoding.get_tokens().to_vec(),
        })
    }

    /// The text of `ids`, special tokens included (transformers' `decode` default).
    pub fn decode(&self, ids: &[i64]) -> Result<String, TextError> {
        self.decode_ids(ids, false)
    }

    /// The text of `ids` without special tokens: what a reader wants to see of a model's
    /// output.
    pub fn decode_skipping_special_tokens(&self, ids: &[i64]) -> Result<String, TextError> {
        self.decode_ids(ids, true)
    }

    fn decode_ids(&self, ids: &[i64], skip_special_tokens: bool) -> Result<String, TextError> {
        let ids = self.checked_ids(ids)?;
        guarded(&self.file, "decode", || {
            self.inner.decode(&ids, skip_special_tokens)
        })?
        .map_err(|e| TextError::Decode {
            file: self.file.clone(),
            message: e.to_string(),
        })
    }

    /// `ids` as the library's `u32`s, each one the tokenizer knows.
    fn checked_ids(&self, ids: &[i64]) -> Result<Vec<u32>, TextError> {
        ids.iter()
            .enumerate()
            .map(|(position, &id)| {
                u32::try_from(id)
                    .ok()
                    .filter(|&id| self.inner.id_to_token(id).is_some())
                    .ok_or_else(|| TextError::UnknownId {
                        file: self.file.clone(),
                        id,
                        position,
                        vocab_size: self.vocab_size,
                    })
            })
            .collect()
    }

    /// The vocabulary piece of `id` (`"Ġworld"`, `"▁Hello"`, `"<0xE6>"`), if it has one.
    pub fn piece(&self, id: i64) -> Option<String> {
        self.inner.id_to_token(u32::try_from(id).ok()?)
    }

    /// Whether `id` is a special token (`<s>`, `<|endoftext|>`, ...).
    pub fn is_special(&self, id: i64) -> bool {
        u32::try_from(id).is_ok_and(|id| self.special.contains(&id))
    }

    /// The id of a piece or added token (`"<|endoftext|>"`), if the tokenizer has it.
    pub fn token_id(&self, piece: &str) -> Option<i64> {
        self.inner.token_to_id(piece).map(i64::from)
    }

    /// How token `id` reads on its own: its bytes as text (a byte-level `"Ġworld"` is
    /// `" world"`, SentencePiece's `"▁Hello"` is `" Hello"`, a byte-fallback `"<0x0A>"` is
    /// `"\n"`; bytes that are only part of a character show as `\xE6`), with its piece and
    /// whether it is special or such bytes. This is what Treescope shows on a token chip.
    pub fn token_text(&self, id: i64) -> Option<TokenText> {
        let piece = self.piece(id)?;
        let special = self.is_special(id);
        let (text, bytes) = if special {
            (piece.clone(), false)
        } else {
            display_text(&piece, self.decoder)
        };
        Some(TokenText {
            text,
            piece,
            special,
            bytes,
        })
    }

    /// The `tokenizers` library's tokenizer, for anything this type does not wrap.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

impl TokenVocab for Tokenizer {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn token_text(&self, id: i64) -> Option<TokenText> {
        Tokenizer::token_text(self, id)
    }
}

/// Runs a call into the `tokenizers` library, turning a panic inside it (the library
/// `expect`s in a few places a damaged file can reach) into an error naming the file.
fn guarded<T>(file: &str, action: &str, call: impl FnOnce() -> T) -> Result<T, TextError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        TextError::Malformed {
            file: file.to_owned(),
            offset: None,
            message: format!("the tokenizers library failed to {action} with it: {why}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_library_is_an_error_naming_the_file() {
        let err = guarded("t.json", "read", || -> u8 { panic!("Helper") }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.json: not a valid tokenizer.json: the tokenizers library failed to read with it: Helper"
        );
        assert_eq!(guarded("t.json", "read", || 7), Ok(7));
    }
}
