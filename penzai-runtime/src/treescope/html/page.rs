//! The page shells: one self-contained document with the viewer's CSS and JS inlined and
//! a Content-Security-Policy that forbids every network request.

use std::sync::OnceLock;

use super::csp;
use super::escape_text;
use super::minify::{minify_css, minify_js};

const VIEWER_CSS: &str = include_str!("assets/viewer.css");
const ARRAYVIZ_CSS: &str = include_str!("assets/arrayviz.css");
const TREE_JS: &str = include_str!("assets/tree.js");
const ARRAYVIZ_JS: &str = include_str!("assets/arrayviz.js");
const TOKENS_CSS: &str = include_str!("assets/tokens.css");
const TOKENS_JS: &str = include_str!("assets/tokens.js");

/// The inlined assets, minified once per process (see `minify`): the sources stay
/// commented and indented. The token views' script and style are only inlined into pages
/// that show tokens, so there are two policies.
struct Assets {
    /// The tree viewer's and the array viewer's styles.
    styles: [String; 2],
    tokens_style: String,
    // The array viewer goes first: the token views take its colours, and the tree viewer
    // calls both.
    array_script: String,
    tokens_script: String,
    tree_script: String,
    policy: String,
    policy_with_tokens: String,
}

impl Assets {
    fn styles(&self, tokens: bool) -> Vec<&str> {
        let mut out = vec![self.styles[0].as_str(), self.styles[1].as_str()];
        if tokens {
            out.push(&self.tokens_style);
        }
        out
    }

    fn scripts(&self, tokens: bool) -> Vec<&str> {
        let mut out = vec![self.array_script.as_str()];
        if tokens {
            out.push(&self.tokens_script);
        }
        out.push(&self.tree_script);
        out
    }
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut a = Assets {
            styles: [minify_css(VIEWER_CSS), minify_css(ARRAYVIZ_CSS)],
            tokens_style: minify_css(TOKENS_CSS),
            array_script: minify_js(ARRAYVIZ_JS),
            tokens_script: minify_js(TOKENS_JS),
            tree_script: minify_js(TREE_JS),
            policy: String::new(),
            policy_with_tokens: String::new(),
        };
        a.policy = csp::policy(&a.scripts(false), &a.styles(false));
        a.policy_with_tokens = csp::policy(&a.scripts(true), &a.styles(true));
        a
    })
}

fn head(title: &str, tokens: bool) -> String {
    let a = assets();
    let styles = a.styles(tokens);
    let mut out = String::with_capacity(styles.iter().map(|s| s.len()).sum::<usize>() + 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.push_str(if tokens {
        &a.policy_with_tokens
    } else {
        &a.policy
    });
    out.push_str(
        "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    out.push_str(&escape_text(title));
    out.push_str("</title>\n");
    for css in styles {
        out.push_str("<style>");
        out.push_str(css);
        out.push_str("</style>\n");
    }
    out.push_str("</head>\n");
    out
}

fn scripts(out: &mut String, tokens: bool) {
    for js in assets().scripts(tokens) {
        out.push_str("<script>");
        out.push_str(js);
        out.push_str("</script>\n");
    }
}

/// A full page around the tree viewer markup `body`; `tokens` when it shows token chips.
pub(crate) fn tree_page(title: &str, body: &str, tokens: bool) -> String {
    let mut out = head(title, tokens);
    let script_len: usize = assets().scripts(tokens).iter().map(|s| s.len()).sum();
    out.reserve(body.len() + script_len + 128);
    out.push_str("<body class=\"pz-body\">\n");
    out.push_str(body);
    out.push('\n');
    scripts(&mut out, tokens);
    out.push_str("</body>\n</html>\n");
    out
}

/// A full page showing one array (or token) figure fragment.
pub(crate) fn array_page(title: &str, figure: &str, tokens: bool) -> String {
    let body = format!("<div class=\"pza-page\">{figure}</div>");
    tree_page(title, &body, tokens)
}

/// A fragment for notebooks: styles, markup and scripts without a document around them.
///
/// Notebook front ends insert outputs into their own page, where a `<meta>` policy has no
/// effect; the viewer still builds its DOM with `textContent` only, so data cannot run.
pub(crate) fn fragment(body: &str, tokens: bool) -> String {
    let mut out = String::with_capacity(body.len() + 40_000);
    out.push_str("<div class=\"pz-fragment\">");
    for css in assets().styles(tokens) {
        out.push_str("<style>");
        out.push_str(css);
        out.push_str("</style>");
    }
    out.push_str(body);
    scripts(&mut out, tokens);
    out.push_str("</div>");
    out
}
