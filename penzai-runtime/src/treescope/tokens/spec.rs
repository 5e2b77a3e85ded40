//! The token view's spec: rows of ids, the text of each distinct id, and the score scale.
//! Rust decides everything (layout, truncation, colour range, escaping); `tokens.js` and the
//! text renderer only draw it.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::TokenVocab;
use crate::nx::NamedArray;

/// What a token view draws.
#[derive(Clone, Debug, Serialize)]
pub struct TokenSpec {
    /// Caption above the figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The ids' shape as text (`{batch: 2, seq: 8}`).
    pub shape: String,
    /// One row per index of the outer axes.
    pub rows: Vec<TokenRow>,
    /// Rows left out past the token budget.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_rows: usize,
    /// How each distinct id reads, in id order.
    pub tokens: Vec<TokenEntry>,
    /// The colour scale, when the view shows scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScoreScale>,
}

/// One row: the ids along the last axis at one index of the others.
#[derive(Clone, Debug, Serialize)]
pub struct TokenRow {
    /// The outer index (`batch 0`, `layer 3, batch 0`), empty for a 1-D array.
    pub label: String,
    /// The ids shown.
    pub ids: Vec<i64>,
    /// Their scores, when the view shows scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<Score>>,
    /// Ids left out at the end of the row.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

/// How one id reads.
#[derive(Clone, Debug, Serialize)]
pub struct TokenEntry {
    /// The id.
    pub id: i64,
    /// The text to show, control and invisible characters escaped (`\n`, `\u{200b}`).
    pub shown: String,
    /// The vocabulary piece (empty for an unknown id).
    pub piece: String,
    /// A special (control) token.
    #[serde(skip_serializing_if = "is_false")]
    pub special: bool,
    /// `shown` is not the token's plain text (characters were escaped, or the token is
    /// bytes of a character): drawn in another colour, as Penzai draws pieces that need
    /// quoting.
    #[serde(skip_serializing_if = "is_false")]
    pub escaped: bool,
    /// The vocabulary has no such id.
    #[serde(skip_serializing_if = "is_false")]
    pub unknown: bool,
}

/// The mapping from score to colour.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreScale {
    /// What the scores are (`score`, `loss`, `p(top)`).
    pub label: String,
    /// `diverging` (signed scores) or `sequential`.
    pub cmap: &'static str,
    /// Score at the low end.
    pub vmin: f64,
    /// Score at the high end.
    pub vmax: f64,
}

/// One score: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (which JSON numbers
/// cannot hold and JavaScript's `Number` reads back).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f32);

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f32(x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if x > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Everything [`build`] reads.
pub(crate) struct Request<'a> {
    pub tokens: &'a NamedArray,
    pub vocab: &'a dyn TokenVocab,
    pub scores: Option<&'a NamedArray>,
    pub order: &'a [String],
    pub vmin: Option<f64>,
    pub vmax: Option<f64>,
    pub score_label: &'a str,
    pub max_tokens: usize,
    pub title: Option<String>,
}

/// Penzai's default layout: `batch` first, `seq` last, the others as stored.
pub(crate) fn default_order(axes: &[(String, usize)]) -> Vec<String> {
    let mut order: Vec<String> = axes.iter().map(|(n, _)| n.clone()).collect();
    if let Some(i) = order.iter().position(|n| n == "batch") {
        let b = order.remove(i);
        order.insert(0, b);
    }
    if let Some(i) = order.iter().position(|n| n == "seq") {
        let s = order.remove(i);
        order.push(s);
    }
    order
}

pub(crate) fn build(r: &Request<'_>) -> TokenSpec {
    let order: Vec<&str> = r.order.iter().map(String::as_str).collect();
    // The figure checked the order and the scores' axes against the ids.
    let ids = r
        .tokens
        .move_to_front(&order)
        .map(|a| a.to_i64_vec())
        .unwrap_or_default();
    let scores = r
        .scores
        .and_then(|s| s.move_to_front(&order).ok())
        .map(|s| s.to_f32_vec());
    let shape = r.tokens.named_shape();
    let sizes: Vec<usize> = order.iter().filter_map(|n| shape.get(n)).collect();
    let (outer, row_len) = match sizes.split_last() {
        Some((last, outer)) => (outer.to_vec(), *last),
        None => (Vec::new(), 1),
    };
    let n_rows: usize = outer.iter().product();
    let shown_len = row_len.min(r.max_tokens);
    // Empty rows cost nothing: all of them are shown.
    let shown_rows = r
        .max_tokens
        .checked_div(shown_len)
        .map_or(n_rows, |fit| n_rows.min(fit.max(1)));

    let mut rows = Vec::with_capacity(shown_rows);
    for row in 0..shown_rows {
        let start = row * row_len;
        let range = start..(start + shown_len).min(ids.len());
        rows.push(TokenRow {
            label: row_label(&order, &outer, row),
            ids: ids[range.clone()].to_vec(),
            scores: scores
                .as_ref()
                .map(|s| s[range.clone()].iter().map(|&x| Score(x)).collect()),
            omitted: row_len - shown_len,
        });
    }

    let mut entries = BTreeMap::new();
    for id in rows.iter().flat_map(|row| row.ids.iter().copied()) {
        entries.entry(id).or_insert_with(|| entry(r.vocab, id));
    }
    let scale = scores.as_ref().map(|_| {
        let shown: Vec<f32> = rows
            .iter()
            .flat_map(|row| row.scores.iter().flatten().map(|s| s.0))
            .collect();
        scale(&shown, r.vmin, r.vmax, r.score_label)
    });
    TokenSpec {
        title: r.title.clone(),
        shape: shape.to_string(),
        rows,
        omitted_rows: n_rows - shown_rows,
        tokens: entries.into_values().collect(),
        scale,
    }
}

/// `batch 0`, `layer 3, batch 0`: the outer index of row `row`.
fn row_label(order: &[&str], outer: &[usize], mut row: usize) -> String {
    let mut index = vec![0; outer.len()];
    for (d, &size) in outer.iter().enumerate().rev() {
        index[d] = row % size.max(1);
        row /= size.max(1);
    }
    order
        .iter()
        .zip(&index)
        .map(|(name, i)| format!("{name} {i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entry(vocab: &dyn TokenVocab, id: i64) -> TokenEntry {
    match vocab.token_text(id) {
        Some(t) => {
            let shown = escape(&t.text);
            TokenEntry {
                id,
                escaped: shown != t.text || t.bytes,
                shown,
                piece: t.piece,
                special: t.special,
                unknown: false,
            }
        }
        None => TokenEntry {
            id,
            shown: format!("<unknown id {id}>"),
            piece: String::new(),
            special: false,
            escaped: false,
            unknown: true,
        },
    }
}

/// Text as a chip shows it: control characters, and characters that are invisible or
/// reorder text (zero-width, bidirectional controls), as escapes; an empty text as `∅`.
pub(crate) fn escape(text: &str) -> String {
    if text.is_empty() {
        return "∅".to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{AD}')
}

/// The colour range: explicit bounds win; signed scores get a symmetric diverging range
/// (Penzai's three root mean squares, capped at the largest magnitude), one-signed scores a
/// sequential range from zero.
fn scale(values: &[f32], vmin: Option<f64>, vmax: Option<f64>, label: &str) -> ScoreScale {
    let finite: Vec<f64> = values
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| x as f64)
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let signed = vmin.unwrap_or(lo) < 0.0 && vmax.unwrap_or(hi) > 0.0;
    let (cmap, mut low, mut high) = if signed {
        let rms = (finite.iter().map(|x| x * x).sum::<f64>() / finite.len().max(1) as f64).sqrt();
        let m = (3.0 * rms).min(lo.abs().max(hi.abs()));
        let m = if m > 0.0 { m } else { 1.0 };
        ("diverging", -m, m)
    } else if hi <= 0.0 && lo < 0.0 {
        ("sequential", lo, 0.0)
    } else {
        ("sequential", 0.0_f64.min(lo), hi)
    };
    if let Some(v) = vmin {
        low = v;
        if vmax.is_none() && cmap == "diverging" {
            high = -v;
        }
    }
    if let Some(v) = vmax {
        high = v;
        if vmin.is_none() && cmap == "diverging" {
            low = -v;
        }
    }
    ScoreScale {
        label: label.to_owned(),
        cmap,
        vmin: low,
        vmax: high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_and_invisible_characters_only() {
        assert_eq!(escape("a\tb\nc"), "a\\tb\\nc");
        assert_eq!(escape(" world"), " world");
        assert_eq!(escape("日本"), "日本");
        assert_eq!(escape("\u{202E}evil"), "\\u{202e}evil");
        assert_eq!(escape("\u{7}"), "\\u{7}");
        assert_eq!(escape(""), "∅");
    }

    #[test]
    fn signed_scores_get_a_symmetric_diverging_scale() {
        let s = scale(&[-1.0, 0.5, 2.0], None, None, "x");
        assert_eq!(s.cmap, "diverging");
        assert_eq!(s.vmin, -s.vmax);
        assert!(s.vmax > 0.0 && s.vmax <= 2.0);
    }

    #[test]
    fn losses_get_a_sequential_scale_from_zero_and_overrides_win() {
        let s = scale(&[0.5, 3.0, f32::NAN], None, None, "loss");
        assert_eq!((s.cmap, s.vmin, s.vmax), ("sequential", 0.0, 3.0));
        let s = scale(&[-3.0, -0.5], None, None, "log p");
        assert_eq!((s.cmap, s.vmin, s.vmax), ("sequential", -3.0, 0.0));
        let s = scale(&[0.5, 3.0], Some(1.0), Some(2.0), "loss");
        assert_eq!((s.vmin, s.vmax), (1.0, 2.0));
    }

    #[test]
    fn default_order_puts_batch_first_and_seq_last() {
        let axes = |names: &[&str]| -> Vec<(String, usize)> {
            names.iter().map(|n| (n.to_string(), 2)).collect()
        };
        assert_eq!(
            default_order(&axes(&["seq", "layer", "batch"])),
            ["batch", "layer", "seq"]
        );
        assert_eq!(default_order(&axes(&["a", "b"])), ["a", "b"]);
    }

    #[test]
    fn row_labels_name_every_outer_index() {
        assert_eq!(
            row_label(&["layer", "batch", "seq"], &[2, 3], 4),
            "layer 1, batch 1"
        );
        assert_eq!(row_label(&["seq"], &[], 0), "");
    }
}
