//! The HTML renderer: a [`Doc`] becomes one self-contained page (or notebook fragment)
//! whose data travels as a readable, escaped JSON island.

mod array_figure;
mod csp;
mod island;
mod minify;
pub(crate) mod page;
mod token_figure;

use std::path::Path;

use serde::Serialize;

use super::doc::{Doc, DocNode, DocOptions};
use super::expand::{self, ExpandOptions};
use super::tokens::SharedVocab;
use crate::tree::{KeyPath, Tree};

/// Options of the HTML page, as a builder.
///
/// ```
/// use penzai::treescope::HtmlOptions;
/// let tree = vec![1.0f32, 2.0, 3.0];
/// let html = HtmlOptions::new().title("three numbers").expand_depth(1).to_html(&tree);
/// assert!(html.contains("<title>three numbers</title>"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct HtmlOptions {
    title: Option<String>,
    doc: DocOptions,
    depth: Option<usize>,
    selection: Vec<KeyPath>,
}

impl HtmlOptions {
    /// Default options: a balanced first view of about 40 lines, heatmap previews of 256 cells.
    pub fn new() -> HtmlOptions {
        HtmlOptions::default()
    }

    /// The page title (default: the root's type name).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Budget of lines for the initial view of the default expansion.
    pub fn max_lines(mut self, n: usize) -> Self {
        self.doc.expand.max_lines = n;
        self
    }

    /// Nodes this deep or deeper start closed in the default expansion.
    pub fn max_depth(mut self, n: usize) -> Self {
        self.doc.expand.max_depth = n;
        self
    }

    /// Opens exactly the nodes shallower than `depth` instead of the balanced expansion.
    pub fn expand_depth(mut self, depth: usize) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Children shown before an "N more" line that reveals the rest.
    pub fn shown_children(mut self, n: usize) -> Self {
        self.doc.expand.shown_children = n.max(1);
        self
    }

    /// Children kept in the page per node (the rest are counted, not shipped).
    pub fn max_children(mut self, n: usize) -> Self {
        self.doc.max_children = n;
        self
    }

    /// Cells of the heatmap preview shipped per array (0 turns previews off).
    pub fn preview_cells(mut self, n: usize) -> Self {
        self.doc.preview_cells = n;
        self
    }

    /// Shows token-id arrays (i64 with a `seq` axis, every id in the vocabulary) as text
    /// chips read through `vocab` (a `penzai::text::Tokenizer`, or a list of strings).
    pub fn tokens(mut self, vocab: impl Into<SharedVocab>) -> Self {
        self.doc.tokens = Some(vocab.into());
        self
    }

    /// Marks and opens these nodes.
    pub fn select(mut self, paths: &[KeyPath]) -> Self {
        self.selection = paths.to_vec();
        self
    }

    /// Options used to build the [`Doc`].
    pub fn doc_options(&self) -> &DocOptions {
        &self.doc
    }

    /// The doc of `tree` with these options (expansion and selection applied).
    pub fn doc(&self, tree: &dyn Tree) -> Doc {
        let mut doc = Doc::build(tree, &self.doc);
        if let Some(depth) = self.depth {
            expand::to_depth(&mut doc.root, depth);
        }
        doc.select(&self.selection);
        doc
    }

    /// The page for `tree`.
    pub fn to_html(&self, tree: &dyn Tree) -> String {
        self.render_doc(&self.doc(tree))
    }

    /// Writes the page for `tree` to `path`; an error names the path.
    pub fn save_html(&self, tree: &dyn Tree, path: impl AsRef<Path>) -> std::io::Result<()> {
        write_page(path.as_ref(), &self.to_html(tree))
    }

    /// The page for an already built doc.
    pub fn render_doc(&self, doc: &Doc) -> String {
        let title = self
            .title
            .clone()
            .unwrap_or_else(|| doc.root.type_name.clone());
        let body = tree_markup(doc, &self.doc.expand, None);
        page::tree_page(&title, &body, shows_tokens(&doc.root))
    }

    /// The notebook fragment for `tree` (no document shell, no CSP meta). It always carries
    /// every viewer asset, token views included: later outputs in the same notebook page,
    /// such as a token figure's fragment, may rely on them.
    pub fn to_fragment(&self, tree: &dyn Tree) -> String {
        page::fragment(&tree_markup(&self.doc(tree), &self.doc.expand, None), true)
    }
}

/// True when some node of the subtree shows token chips (the page then needs the token
/// views' script and style).
pub(crate) fn shows_tokens(node: &DocNode) -> bool {
    node.array.as_ref().is_some_and(|a| a.tokens.is_some())
        || node.children.iter().any(shows_tokens)
}

/// The viewer markup: toolbar, status line, tree container and the data island.
/// `legend` is an optional line of static text (used by the diff page).
pub(crate) fn tree_markup(doc: &Doc, expand: &ExpandOptions, legend: Option<&str>) -> String {
    let island = json_island(&island::Island::new(&doc.root, expand.shown_children));
    let mut out = String::with_capacity(island.len() + 1024);
    out.push_str(concat!(
        "<div class=\"pzt\">\n<div class=\"pzt-bar\">",
        "<button data-act=\"expand-all\">expand all</button>",
        "<button data-act=\"collapse-all\">collapse all</button>",
        "<button data-act=\"depth\">expand to depth</button>",
        "<input class=\"pzt-depth\" type=\"number\" min=\"0\" value=\"2\" aria-label=\"depth\">",
        "<input class=\"pzt-search\" type=\"search\" placeholder=\"find by path or type\" aria-label=\"find\">",
        "<span class=\"pzt-found\"></span></div>\n",
        "<div class=\"pzt-status\"><span class=\"pzt-hover\" data-path=\"\"></span>",
        "<span class=\"pzt-copied\" data-path=\"\"></span></div>\n",
    ));
    if let Some(legend) = legend {
        out.push_str("<div class=\"pzt-legend\">");
        out.push_str(legend);
        out.push_str("</div>\n");
    }
    out.push_str("<div class=\"pzt-tree\"><noscript>This viewer needs JavaScript; the tree is in the JSON below.</noscript></div>\n");
    out.push_str("<script type=\"application/json\" class=\"pzt-data\">");
    out.push_str(&island);
    out.push_str("</script>\n</div>");
    out
}

/// JSON that is safe inside `<script>`: `<`, `>` and `&` become `\u003c`, `\u003e`,
/// `\u0026`, so no data can close the element or open a comment; JSON parsers read
/// them back as the same characters, and the island stays readable.
/// Writes a page to `path`; the error, if any, names the path (a `std::io::Error` alone
/// does not), so it reads well where `?` turns it into `penzai::Error`.
pub(crate) fn write_page(path: &Path, page: &str) -> std::io::Result<()> {
    std::fs::write(path, page).map_err(|e| {
        std::io::Error::new(e.kind(), format!("{}: cannot write: {e}", path.display()))
    })
}

pub(crate) fn json_island(value: &impl Serialize) -> String {
    let raw = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    let mut out = String::with_capacity(raw.len() + raw.len() / 64);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Line and paragraph separators end a line in some script parsers.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Text escaped for HTML element content and double-quoted attributes.
pub(crate) fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_islands_cannot_close_their_script_element() {
        let s = json_island(&"</script><img src=x onerror=alert(1)> & \u{2028}");
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "</script><img src=x onerror=alert(1)> & \u{2028}");
    }

    #[test]
    fn text_escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_text("<a href=\"x\">'&'"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;"
        );
    }
}
