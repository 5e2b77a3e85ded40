//! Treescope: look at any tree (a model, its parameters, captured activations) as an
//! interactive HTML page or as terminal text.
//!
//! The pipeline is a pure function: tree -> [`Doc`] -> HTML ([`to_html`]) or text
//! ([`to_text`]). Both renderers read only the `Doc`, so they always agree. Types opt
//! into a custom look with [`Render`]. Arrays get summaries everywhere and heatmaps in
//! HTML ([`render_array`]); [`diff`] compares two trees. Token ids read as text chips, and
//! per-token scores as coloured text, through a vocabulary ([`tokens`]).
//!
//! Pages are single files with inline JS and CSS, make no network request (their
//! Content-Security-Policy forbids it), carry the tree as a readable JSON island, and
//! show every user string as text, never as markup.
//!
//! ```
//! use std::collections::BTreeMap;
//! use penzai::treescope;
//! let params = BTreeMap::from([("lr".to_string(), 0.01f64), ("decay".to_string(), 0.9)]);
//! let text = treescope::to_text_plain(&params);
//! assert_eq!(text, "BTreeMap\n├─ [\"decay\"]: f64 = 0.9\n└─ [\"lr\"]: f64 = 0.01\n");
//! let html = treescope::to_html(&params);
//! assert!(html.starts_with("<!doctype html>"));
//! ```

mod array_data;
pub mod arrayviz;
mod color;
mod diff;
mod display;
mod doc;
mod expand;
mod html;
mod notebook;
mod render;
mod stats;
mod text;
pub mod tokens;

use std::path::Path;

pub use array_data::{ArrayData, Axis, ShapeMismatch, ValueKind, Values};
pub use arrayviz::{ArrayFigure, ArraySpec, Colormap, Precision, render_array};
pub use color::type_hue;
pub use diff::{Diff, DiffCounts, diff};
pub use doc::{ArrayDoc, Doc, DocNode, DocOptions, Mark, NodeKind};
pub use expand::ExpandOptions;
pub use html::HtmlOptions;
pub use notebook::NotebookDisplay;
pub use render::{Render, register_render};
pub use stats::{ArrayStats, format_count, format_number, summary_line};
pub use text::{TextDisplay, TextOptions, display, fmt_text};
pub use tokens::{TokenFigure, TokenText, TokenVocab, render_tokens};

use crate::tree::{KeyPath, Tree};

/// The doc of `tree` with default options.
pub fn to_doc(tree: &dyn Tree) -> Doc {
    Doc::new(tree)
}

/// A self-contained HTML page showing `tree`, with default options ([`HtmlOptions`]).
pub fn to_html(tree: &dyn Tree) -> String {
    HtmlOptions::new().to_html(tree)
}

/// Writes [`to_html`] of `tree` to `path`.
pub fn save_html(tree: &dyn Tree, path: impl AsRef<Path>) -> std::io::Result<()> {
    HtmlOptions::new().save_html(tree, path)
}

/// A page showing `tree` with the nodes at `paths` marked and opened.
///
/// Paths that name no node are ignored.
pub fn to_html_with_selection(tree: &dyn Tree, paths: &[KeyPath]) -> String {
    HtmlOptions::new().select(paths).to_html(tree)
}

/// The terminal text of `tree`, coloured per [`TextOptions::auto`].
pub fn to_text(tree: &dyn Tree) -> String {
    TextOptions::auto().render(tree)
}

/// The text of `tree` without colour (for logs, files and tests).
pub fn to_text_plain(tree: &dyn Tree) -> String {
    TextOptions::plain().render(tree)
}
