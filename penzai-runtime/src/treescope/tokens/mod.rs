//! Token views: arrays of token ids shown as text chips, and per-token scores (a loss, a
//! probability, the logit lens's top token per block) as text coloured by value, with the
//! value on hover.
//!
//! The semantics follow Penzai's token visualization: every axis but the last makes one
//! labelled row per index (`batch` first), the last axis (`seq` when present) runs along the
//! row, and special tokens are set apart. Text comes from a [`TokenVocab`]: a checkpoint's
//! tokenizer (`penzai::text::Tokenizer`) or a plain list of strings.
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::treescope::tokens::render_tokens;
//!
//! let vocab = ["<s>", "The", " cat", " sat", "\n"];
//! let ids = NamedArray::from_i64(&[("batch", 1), ("seq", 5)], vec![0, 1, 2, 3, 4])?;
//! let loss = NamedArray::from_f32(&[("batch", 1), ("seq", 5)], vec![0.0, 2.5, 0.5, 4.0, 1.0])?;
//! let figure = render_tokens(&ids, &vocab)?.scores(&loss)?.score_label("loss");
//! assert_eq!(figure.to_text(), "tokens {batch: 1, seq: 5}, loss in [0, 4]\nbatch 0: │<s> ⟨0⟩│The ⟨2.5⟩│ cat ⟨0.5⟩│ sat ⟨4⟩│\\n ⟨1⟩│\n");
//! let page = figure.to_html(); // one self-contained page: chips coloured by loss
//! assert!(page.contains("pzk-spec"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod spec;
mod text;

use std::sync::Arc;

use serde::Serialize;

use crate::nx::{DType, NamedArray};

pub use spec::{ScoreScale, TokenEntry, TokenRow, TokenSpec};

/// How one token reads, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenText {
    /// The text the token stands for (`" world"` for GPT-2's `"Ġworld"`, `"\n"` for a
    /// byte-fallback `"<0x0A>"`).
    pub text: String,
    /// The vocabulary entry itself.
    pub piece: String,
    /// A control token (`<s>`, `<|endoftext|>`): shown apart from text.
    pub special: bool,
    /// Bytes that are only part of a character (a byte-fallback `<0xE6>`, a byte-level
    /// piece cut inside a character), written in `text` as `\xHH`.
    pub bytes: bool,
}

/// A vocabulary Treescope can read token text from (Penzai's `SentencePieceProcessorLike`).
///
/// Implemented by `penzai::text::Tokenizer` and by lists of strings (`[&str; N]`, `Vec<String>`:
/// the id is the index, no token is special).
pub trait TokenVocab {
    /// How many ids the vocabulary has.
    fn vocab_size(&self) -> usize;
    /// How token `id` reads, or `None` for an id the vocabulary lacks.
    fn token_text(&self, id: i64) -> Option<TokenText>;
}

impl<S: AsRef<str>> TokenVocab for [S] {
    fn vocab_size(&self) -> usize {
        self.len()
    }

    fn token_text(&self, id: i64) -> Option<TokenText> {
        let text = self.get(usize::try_from(id).ok()?)?.as_ref().to_owned();
        Some(TokenText {
            piece: text.clone(),
            text,
            special: false,
            bytes: false,
        })
    }
}

impl<S: AsRef<str>, const N: usize> TokenVocab for [S; N] {
    fn vocab_size(&self) -> usize {
        N
    }

    fn token_text(&self, id: i64) -> Option<TokenText> {
        self.as_slice().token_text(id)
    }
}

impl<S: AsRef<str>> TokenVocab for Vec<S> {
    fn vocab_size(&self) -> usize {
        self.len()
    }

    fn token_text(&self, id: i64) -> Option<TokenText> {
        self.as_slice().token_text(id)
    }
}

/// A vocabulary shared with the tree renderers ([`HtmlOptions::tokens`](super::HtmlOptions::tokens),
/// [`TextOptions::tokens`](super::TextOptions::tokens)), which then show token-id arrays as
/// chips.
#[derive(Clone)]
pub struct SharedVocab(pub Arc<dyn TokenVocab + Send + Sync>);

impl std::fmt::Debug for SharedVocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedVocab({} tokens)", self.0.vocab_size())
    }
}

impl<V: TokenVocab + Send + Sync + 'static> From<V> for SharedVocab {
    fn from(vocab: V) -> SharedVocab {
        SharedVocab(Arc::new(vocab))
    }
}

/// Why a token view could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenViewError {
    /// The token array does not hold integer ids.
    #[error("token ids must be i64, but the array {shape} holds {dtype}")]
    NotIds {
        /// The array's shape.
        shape: String,
        /// Its dtype.
        dtype: String,
    },
    /// An array has positional axes (a token view lays out named axes only).
    #[error("{what} {shape} has positional axes; name them first (`tag`)")]
    Positional {
        /// Which array (`token ids` or `scores`).
        what: &'static str,
        /// Its shape.
        shape: String,
    },
    /// The scores do not have the tokens' axes.
    #[error("scores {scores} must have the token ids' axes {tokens} (in any order)")]
    ScoreShape {
        /// The token ids' shape.
        tokens: String,
        /// The scores' shape.
        scores: String,
    },
    /// An axis order names an axis the tokens lack, or leaves one out.
    #[error("axis order {order:?} must list each axis of {shape} once")]
    AxisOrder {
        /// The order asked for.
        order: Vec<String>,
        /// The token ids' shape.
        shape: String,
    },
}

/// A token view of one array of ids, optionally coloured by per-token scores; rendered to
/// a page, a fragment or terminal text. Made by [`render_tokens`].
#[derive(Clone)]
pub struct TokenFigure<'a> {
    tokens: &'a NamedArray,
    vocab: &'a dyn TokenVocab,
    scores: Option<&'a NamedArray>,
    order: Option<Vec<String>>,
    vmin: Option<f64>,
    vmax: Option<f64>,
    score_label: String,
    max_tokens: usize,
    title: Option<String>,
}

/// The token view of `tokens` (i64 ids with named axes) read through `vocab`.
pub fn render_tokens<'a>(
    tokens: &'a NamedArray,
    vocab: &'a dyn TokenVocab,
) -> Result<TokenFigure<'a>, TokenViewError> {
    if tokens.dtype() != DType::I64 {
        return Err(TokenViewError::NotIds {
            shape: tokens.named_shape().to_string(),
            dtype: tokens.dtype().name().to_owned(),
        });
    }
    if !tokens.positional_shape().is_empty() {
        return Err(TokenViewError::Positional {
            what: "token ids",
            shape: describe(tokens),
        });
    }
    Ok(TokenFigure {
        tokens,
        vocab,
        scores: None,
        order: None,
        vmin: None,
        vmax: None,
        score_label: "score".to_owned(),
        max_tokens: 4096,
        title: None,
    })
}

fn describe(array: &NamedArray) -> String {
    format!(
        "{} with positional shape {:?}",
        array.named_shape(),
        array.positional_shape()
    )
}

impl<'a> TokenFigure<'a> {
    /// Colours each token by its score (same axes as the ids, in any order): Penzai's
    /// `show_token_scores`. Signed scores use a diverging colormap around zero, others a
    /// sequential one.
    pub fn scores(mut self, scores: &'a NamedArray) -> Result<Self, TokenViewError> {
        if !scores.positional_shape().is_empty() {
            return Err(TokenViewError::Positional {
                what: "scores",
                shape: describe(scores),
            });
        }
        let mut ours: Vec<(String, usize)> = axes(self.tokens);
        let mut theirs: Vec<(String, usize)> = axes(scores);
        ours.sort();
        theirs.sort();
        if ours != theirs {
            return Err(TokenViewError::ScoreShape {
                tokens: self.tokens.named_shape().to_string(),
                scores: scores.named_shape().to_string(),
            });
        }
        self.scores = Some(scores);
        Ok(self)
    }

    /// What the scores are, for the hover text and the caption (`loss`, `p(top)`).
    pub fn score_label(mut self, label: impl Into<String>) -> Self {
        self.score_label = label.into();
        self
    }

    /// Lays the axes out in this order: one row per index of all but the last, the last
    /// along the row. Default: `batch` first, `seq` last, the others as stored.
    pub fn axis_order(mut self, order: &[&str]) -> Result<Self, TokenViewError> {
        let mut given: Vec<&str> = order.to_vec();
        let mut have: Vec<String> = axes(self.tokens).into_iter().map(|(n, _)| n).collect();
        given.sort_unstable();
        have.sort_unstable();
        if given.len() != have.len() || given.iter().zip(&have).any(|(a, b)| *a != b) {
            return Err(TokenViewError::AxisOrder {
                order: order.iter().map(|s| s.to_string()).collect(),
                shape: self.tokens.named_shape().to_string(),
            });
        }
        self.order = Some(order.iter().map(|s| s.to_string()).collect());
        Ok(self)
    }

    /// Score at the low end of the colormap.
    pub fn vmin(mut self, v: f64) -> Self {
        self.vmin = Some(v);
        self
    }

    /// Score at the high end of the colormap (Penzai's `vmax`; default: three root mean
    /// squares, so a few outliers do not wash out the rest).
    pub fn vmax(mut self, v: f64) -> Self {
        self.vmax = Some(v);
        self
    }

    /// Most tokens shown; longer rows end with "… N more", extra rows are counted.
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n.max(1);
        self
    }

    /// A caption above the figure.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// What the page draws.
    pub fn spec(&self) -> TokenSpec {
        let order = self
            .order
            .clone()
            .unwrap_or_else(|| spec::default_order(&axes(self.tokens)));
        spec::build(&spec::Request {
            tokens: self.tokens,
            vocab: self.vocab,
            scores: self.scores,
            order: &order,
            vmin: self.vmin,
            vmax: self.vmax,
            score_label: &self.score_label,
            max_tokens: self.max_tokens,
            title: self.title.clone(),
        })
    }

    /// The title of the figure's own page: its title, or the token array's shape.
    pub(crate) fn page_title(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| format!("tokens {}", self.tokens.named_shape()))
    }

    /// The figure as terminal text: a caption line, then one line per row with the tokens
    /// between `│` (special tokens in `«»`, scores in `⟨⟩`, control characters escaped).
    pub fn to_text(&self) -> String {
        text::render(&self.spec())
    }
}

pub(crate) use text::rows as text_rows;

fn axes(array: &NamedArray) -> Vec<(String, usize)> {
    array
        .named_shape()
        .iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect()
}
