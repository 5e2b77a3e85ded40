//! Text in and out: a checkpoint's `tokenizer.json` ([`Tokenizer`]), and generation from a
//! prompt to text ([`generate_text`]).
//!
//! Tokenization is the `tokenizers` library's (pure Rust, the same code transformers runs),
//! so ids and decoded text equal transformers' for every `tokenizer.json` it reads:
//! byte-level BPE (GPT-2, Llama 3, Qwen) and SentencePiece-style BPE with byte fallback
//! (Llama 2, Gemma, Mistral) among them. A missing or malformed file is a [`TextError`]
//! naming it.
//!
//! ```
//! use penzai::io::hf;
//! use penzai::models::GenerateOptions;
//! use penzai::text::{Tokenizer, generate_text};
//!
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/llama-text");
//! let model = hf::load(dir)?.model;
//! let tokenizer = Tokenizer::from_dir(dir)?;
//! let out = generate_text(&model, &tokenizer, "Der Bäcker", &GenerateOptions::default())?;
//! assert!(out.text.starts_with("Der Bäcker"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod generate;
mod pieces;
mod tokenizer;

pub use error::TextError;
pub use generate::{
    TextGeneration, decode_generation, encode_prompt, generate_text, generate_text_with_progress,
};
pub use tokenizer::{Encoding, TOKENIZER_FILE, Tokenizer};
