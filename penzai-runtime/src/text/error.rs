//! `TextError`: every way reading a tokenizer, encoding a prompt or decoding ids can fail.

/// An error loading a checkpoint's `tokenizer.json`, or using it.
///
/// Every variant names the tokenizer file, so a message read on its own says which tokenizer
/// was meant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The folder has no `tokenizer.json`.
    #[error(
        "{file}: not found: the folder has no tokenizer.json (text in and out needs the checkpoint's tokenizer; token ids work without one)"
    )]
    Missing {
        /// The path looked for.
        file: String,
    },
    /// The operating system refused to read the file.
    #[error("{file}: cannot read: {message}")]
    Read {
        /// The file.
        file: String,
        /// The OS error's message.
        message: String,
    },
    /// The file is not valid UTF-8.
    #[error("{file}: invalid UTF-8 at byte offset {offset}")]
    NotUtf8 {
        /// The file.
        file: String,
        /// Offset of the first invalid byte.
        offset: u64,
    },
    /// The file is not a tokenizer the `tokenizers` library reads: malformed JSON, or JSON
    /// of the wrong shape (an unknown model type, a merge naming a token the vocabulary
    /// lacks, ...).
    #[error("{file}: not a valid tokenizer.json{}: {message}", at_offset(.offset))]
    Malformed {
        /// The file.
        file: String,
        /// Where the JSON parser stopped, when it reported a position.
        offset: Option<u64>,
        /// What the parser or the library said.
        message: String,
    },
    /// Encoding a text failed inside the tokenizer.
    #[error("{file}: cannot encode {text:?}: {message}")]
    Encode {
        /// The tokenizer file.
        file: String,
        /// The start of the text (at most 40 characters).
        text: String,
        /// What the library said.
        message: String,
    },
    /// A token id the tokenizer does not know (negative, or past its vocabulary).
    #[error(
        "{file}: token id {id} (at position {position}) is outside the tokenizer's vocabulary (0..{vocab_size})"
    )]
    UnknownId {
        /// The tokenizer file.
        file: String,
        /// The id.
        id: i64,
        /// Its position in the sequence decoded.
        position: usize,
        /// How many ids the tokenizer knows (added tokens included).
        vocab_size: usize,
    },
    /// Decoding ids failed inside the tokenizer.
    #[error("{file}: cannot decode: {message}")]
    Decode {
        /// The tokenizer file.
        file: String,
        /// What the library said.
        message: String,
    },
    /// A prompt encoded to no tokens at all (an empty prompt with a tokenizer that adds no
    /// beginning-of-text token), which no model can continue.
    #[error(
        "{file}: the prompt {text:?} encodes to no tokens; a model needs at least one to continue"
    )]
    EmptyPrompt {
        /// The tokenizer file.
        file: String,
        /// The prompt.
        text: String,
    },
}

fn at_offset(offset: &Option<u64>) -> String {
    offset.map_or_else(String::new, |o| format!(" (byte offset {o})"))
}
