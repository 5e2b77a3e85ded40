//! The page shells: one self-contained document with the viewer's CSS and JS inlined and
//! a Content-Security-Policy that forbids every network request.

use std::sync::OnceLock;

use super::csp;
use super::escape_text;

const VIEWER_CSS: &str = include_str!("assets/viewer.css");
const ARRAYVIZ_CSS: &str = include_str!("assets/arrayviz.css");
const TREE_JS: &str = include_str!("assets/tree.js");
const ARRAYVIZ_JS: &str = include_str!("assets/arrayviz.js");
const TOKENS_CSS: &str = include_str!("assets/tokens.css");
const TOKENS_JS: &str = include_str!("assets/tokens.js");

/// The inlined assets: the source files without comment lines and indentation, so that
/// every page carries about a quarter less boilerplate; the sources stay commented.
struct Assets {
    styles: [String; 3],
    // The array viewer goes first: the token views take its colours, and the tree viewer
    // calls both.
    scripts: [String; 3],
    policy: String,
}

fn compact(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines().map(str::trim) {
        let comment = line.starts_with("//") || (line.starts_with("/*") && line.ends_with("*/"));
        if !line.is_empty() && !comment {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let styles = [
            compact(VIEWER_CSS),
            compact(ARRAYVIZ_CSS),
            compact(TOKENS_CSS),
        ];
        let scripts = [compact(ARRAYVIZ_JS), compact(TOKENS_JS), compact(TREE_JS)];
        let policy = csp::policy(
            &[&scripts[0], &scripts[1], &scripts[2]],
            &[&styles[0], &styles[1], &styles[2]],
        );
        Assets {
            styles,
            scripts,
            policy,
        }
    })
}

fn head(title: &str) -> String {
    let a = assets();
    let mut out = String::with_capacity(a.styles.iter().map(String::len).sum::<usize>() + 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.push_str(&a.policy);
    out.push_str(
        "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    out.push_str(&escape_text(title));
    out.push_str("</title>\n");
    for css in &a.styles {
        out.push_str("<style>");
        out.push_str(css);
        out.push_str("</style>\n");
    }
    out.push_str("</head>\n");
    out
}

fn scripts(out: &mut String) {
    for js in &assets().scripts {
        out.push_str("<script>");
        out.push_str(js);
        out.push_str("</script>\n");
    }
}

/// A full page around the tree viewer markup `body`.
pub(crate) fn tree_page(title: &str, body: &str) -> String {
    let mut out = head(title);
    out.reserve(body.len() + assets().scripts.iter().map(String::len).sum::<usize>() + 128);
    out.push_str("<body class=\"pz-body\">\n");
    out.push_str(body);
    out.push('\n');
    scripts(&mut out);
    out.push_str("</body>\n</html>\n");
    out
}

/// A full page showing one array figure fragment.
pub(crate) fn array_page(title: &str, figure: &str) -> String {
    let body = format!("<div class=\"pza-page\">{figure}</div>");
    tree_page(title, &body)
}

/// A fragment for notebooks: styles, markup and scripts without a document around them.
///
/// Notebook front ends insert outputs into their own page, where a `<meta>` policy has no
/// effect; the viewer still builds its DOM with `textContent` only, so data cannot run.
pub(crate) fn fragment(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 40_000);
    out.push_str("<div class=\"pz-fragment\">");
    for css in &assets().styles {
        out.push_str("<style>");
        out.push_str(css);
        out.push_str("</style>");
    }
    out.push_str(body);
    scripts(&mut out);
    out.push_str("</div>");
    out
}
