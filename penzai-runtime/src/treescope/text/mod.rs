//! The terminal renderer: a [`Doc`] as an indented tree with guides, optional ANSI colour,
//! folding by depth and array summaries.

mod style;

use std::fmt;
use std::io::IsTerminal;

use style::{Line, Role};

use super::doc::{Doc, DocNode, DocOptions, Mark, NodeKind};
use super::expand::ExpandOptions;
use super::stats::format_count;
use super::tokens::{SharedVocab, text_rows};
use crate::tree::Tree;

/// Options of the text renderer, as a builder.
///
/// ```
/// use penzai::treescope::TextOptions;
/// let text = TextOptions::plain().render(&vec![1u32, 2]);
/// assert_eq!(text, "Vec\n├─ [0]: u32 = 1\n└─ [1]: u32 = 2\n");
/// ```
#[derive(Clone, Debug)]
pub struct TextOptions {
    color: bool,
    fold_depth: Option<usize>,
    width: Option<usize>,
    max_items: usize,
    max_lines: usize,
    tokens: Option<SharedVocab>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions::plain()
    }
}

impl TextOptions {
    /// No colour, no width limit, balanced folding.
    pub fn plain() -> TextOptions {
        TextOptions {
            color: false,
            fold_depth: None,
            width: None,
            max_items: 8,
            max_lines: 200,
            tokens: None,
        }
    }

    /// Colour when stdout is a terminal and `NO_COLOR` is unset (or empty), as the
    /// no-color convention asks.
    pub fn auto() -> TextOptions {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        TextOptions::plain().color(!no_color && std::io::stdout().is_terminal())
    }

    /// Turns ANSI colour on or off.
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    /// Folds every node at this depth or deeper (the root is depth 0), instead of the
    /// balanced folding.
    pub fn fold_depth(mut self, depth: usize) -> Self {
        self.fold_depth = Some(depth);
        self
    }

    /// Cuts lines longer than `width` characters with `…`.
    pub fn width(mut self, width: usize) -> Self {
        self.width = Some(width.max(8));
        self
    }

    /// Children shown per node before a "… N more" line.
    pub fn max_items(mut self, n: usize) -> Self {
        self.max_items = n.max(1);
        self
    }

    /// Line budget of the balanced folding (ignored with [`fold_depth`](Self::fold_depth)).
    pub fn max_lines(mut self, n: usize) -> Self {
        self.max_lines = n;
        self
    }

    /// Shows token-id arrays (i64 with a `seq` axis, every id in the vocabulary) as token
    /// text under their summary, read through `vocab`.
    pub fn tokens(mut self, vocab: impl Into<SharedVocab>) -> Self {
        self.tokens = Some(vocab.into());
        self
    }

    fn doc_options(&self) -> DocOptions {
        DocOptions {
            preview_cells: 0,
            tokens: self.tokens.clone(),
            expand: ExpandOptions {
                max_lines: self.max_lines,
                max_depth: usize::MAX,
                shown_children: self.max_items,
            },
            ..DocOptions::default()
        }
    }

    /// The text of `tree`.
    pub fn render(&self, tree: &dyn Tree) -> String {
        self.render_doc(&Doc::build(tree, &self.doc_options()))
    }

    /// The text of an already built doc.
    pub fn render_doc(&self, doc: &Doc) -> String {
        let mut out = String::new();
        self.node(&doc.root, 0, "", "", &mut out);
        out
    }

    fn node(&self, n: &DocNode, depth: usize, lead: &str, child_lead: &str, out: &mut String) {
        let has_kids = !n.children.is_empty() || n.omitted > 0;
        let open = has_kids
            && match self.fold_depth {
                Some(d) => depth < d,
                None => n.open.unwrap_or(false),
            };
        let mut line = Line::default();
        line.push(Role::Guide, lead);
        header(&mut line, n, open, has_kids);
        line.write(out, self.color, self.width);
        if let Some(spec) = n.array.as_ref().and_then(|a| a.tokens.as_ref()) {
            for row in text_rows(spec) {
                let mut line = Line::default();
                line.push(Role::Guide, format!("{child_lead}  "));
                line.push(Role::Str, row);
                line.write(out, self.color, self.width);
            }
        }
        if !open {
            return;
        }
        let shown = n.children.len().min(self.max_items);
        let hidden = n.children.len() - shown + n.omitted;
        for (i, child) in n.children.iter().take(shown).enumerate() {
            let last = i + 1 == shown && hidden == 0;
            let (branch, cont) = if last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            self.node(
                child,
                depth + 1,
                &format!("{child_lead}{branch}"),
                &format!("{child_lead}{cont}"),
                out,
            );
        }
        if hidden > 0 {
            let mut more = Line::default();
            more.push(Role::Guide, format!("{child_lead}└─ "));
            more.push(
                Role::Muted,
                format!("… {} more", format_count(hidden as u64)),
            );
            more.write(out, self.color, self.width);
        }
    }
}

/// The header line of a node: `key: Type(fields) = value summary {count} # params [mark]`.
fn header(line: &mut Line, n: &DocNode, open: bool, has_kids: bool) {
    if let Some(key) = &n.key {
        let text = key.to_string();
        line.push(
            Role::Key,
            text.strip_prefix('.').unwrap_or(&text).to_owned(),
        );
        line.push(Role::Plain, ": ");
    }
    line.push(Role::Type(n.hue), n.type_name.clone());
    if !n.fields.is_empty() {
        let parts: Vec<String> = n.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        line.push(Role::Field, format!("({})", parts.join(", ")));
    }
    if let Some(v) = &n.value {
        let role = if v.starts_with('"') {
            Role::Str
        } else {
            Role::Number
        };
        line.push(Role::Plain, " = ");
        line.push(role, v.clone());
    }
    if let Some(s) = &n.summary {
        line.push(Role::Plain, " ");
        line.push(Role::Muted, s.clone());
    }
    if let Some(label) = n.array.as_ref().and_then(|a| a.label.as_ref()) {
        line.push(Role::Muted, format!(" label {label:?}"));
    }
    if has_kids && !open {
        let count = n.children.len() + n.omitted;
        let word = match (n.kind, count == 1) {
            (NodeKind::Sequence, true) => "item",
            (NodeKind::Sequence, false) => "items",
            (NodeKind::Map, true) => "entry",
            (NodeKind::Map, false) => "entries",
            (_, true) => "field",
            (_, false) => "fields",
        };
        line.push(Role::Muted, format!(" {{{count} {word}}}"));
    }
    if n.params > 0 && n.kind != NodeKind::Array {
        line.push(Role::Muted, format!("  # {} params", short_count(n.params)));
    }
    if let Some(mark) = n.mark {
        let (role, text) = match mark {
            Mark::Selected => (Role::Selected, "  ◀ selected"),
            Mark::Inserted => (Role::Inserted, "  [+ inserted]"),
            Mark::Removed => (Role::Removed, "  [- removed]"),
            Mark::Changed => (Role::Changed, "  [~ changed]"),
        };
        line.push(role, text);
    }
}

/// `1.05M`, `262.1k`, `950`: parameter counts at a glance (same as the HTML viewer).
fn short_count(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.2}B", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else {
        n.to_string()
    }
}

/// Writes the plain text of `tree` to a formatter, so a type can implement `Display`
/// through Treescope. A width (`{:80}`) cuts long lines.
///
/// ```
/// use std::fmt;
/// use penzai::treescope;
/// struct Scores(Vec<f32>);
/// impl fmt::Display for Scores {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         treescope::fmt_text(&self.0, f)
///     }
/// }
/// assert_eq!(Scores(vec![0.5]).to_string(), "Vec\n└─ [0]: f32 = 0.5\n");
/// ```
pub fn fmt_text(tree: &dyn Tree, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut options = TextOptions::plain();
    if let Some(w) = f.width() {
        options = options.width(w);
    }
    f.write_str(&options.render(tree))
}

/// A tree wrapped for `{}` formatting through [`fmt_text`]; see [`display`].
#[derive(Clone, Copy)]
pub struct TextDisplay<'a>(pub &'a dyn Tree);

impl fmt::Display for TextDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_text(self.0, f)
    }
}

/// Formats any tree with `{}` (plain text, `{:80}` cuts lines at 80 characters).
///
/// ```
/// use penzai::treescope;
/// let scores = vec![0.5f32, 0.25];
/// assert_eq!(format!("{}", treescope::display(&scores)), "Vec\n├─ [0]: f32 = 0.5\n└─ [1]: f32 = 0.25\n");
/// ```
pub fn display(tree: &dyn Tree) -> TextDisplay<'_> {
    TextDisplay(tree)
}
