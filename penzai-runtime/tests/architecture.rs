//! The runtime's layering, checked on its sources.
//!
//! `penzai-runtime` is one crate whose top-level modules form layers:
//! `nx` -> `tree` -> `nn` -> {`treescope`, `models`, `select`, `grad`, `io`, `interpret`} -> `text`. A module
//! may name only the modules below it ([`ALLOWED`]); the glue at the crate root (`error`,
//! `prelude`, `__private`, `lib.rs`) may name anything. This test reads every source file,
//! finds each path into the crate (`crate::..`, `$crate::..`, `super::..` that leaves the
//! module, `::penzai::..`, and `"crate::.."` in attribute strings such as serde's
//! `serialize_with`), and fails on a path that points upward or sideways outside the table.
//!
//! It also checks the rule inside Treescope that keeps its render tree independent of the
//! renderers (`doc` and everything it uses never reach `html` or `text`), and that
//! documentation examples are written as user code (`penzai::`, never `penzai_runtime::`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Each top-level module and what its code may name besides itself. Root glue (`error`,
/// `prelude`, `__private`) is absent: it may name anything, and only `error` (the crate-wide
/// `Error`/`Result` that `Layer::call` returns) may be named from here, by `nn` and above.
const ALLOWED: &[(&str, &[&str])] = &[
    ("quote", &[]),
    // The allocator setting every model call applies (see `heap`): uses nothing.
    ("heap", &[]),
    ("nx", &[]),
    ("tree", &["nx"]),
    ("nn", &["nx", "tree", "error"]),
    ("treescope", &["nx", "tree", "nn", "error"]),
    ("models", &["nx", "tree", "nn", "error"]),
    ("select", &["nx", "tree", "nn", "treescope", "error"]),
    ("grad", &["nx", "tree", "nn", "models", "error"]),
    ("io", &["nx", "tree", "nn", "models", "interpret", "error"]),
    (
        "interpret",
        &[
            "nx",
            "tree",
            "nn",
            "treescope",
            "models",
            "select",
            "grad",
            "error",
        ],
    ),
    // Text in and out: tokenizers over the loaders (`io`) and the token views (`treescope`).
    (
        "text",
        &["nx", "tree", "nn", "treescope", "models", "io", "error"],
    ),
];

/// Modules below every layer, which any module may use (they use nothing of the crate).
const BASE: &[&str] = &["quote", "heap"];

/// Root modules that glue the layers together (see the module documentation).
const GLUE: &[&str] = &["error", "prelude", "__private"];

/// The Treescope modules that make up its render tree, and the renderers they must not reach.
const TREESCOPE_IR: &str = "doc";
const TREESCOPE_RENDERERS: &[&str] = &["html", "text"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// One path into the crate found in a source file.
#[derive(Debug)]
struct Reference {
    file: PathBuf,
    line: usize,
    /// The module the path is written in.
    from: Vec<String>,
    /// The absolute path it names (crate-relative segments).
    target: Vec<String>,
    /// Written inside a `macro_rules!` body (the macro's expansions are glue like a derive's,
    /// so they may name `__private`, and so may an invocation of a macro defined there).
    in_macro: bool,
    /// A macro invocation (`crate::sequential_layer! { .. }`): exported macros sit at the
    /// crate root, so the edge goes to the module that defines the macro.
    invokes_macro: bool,
}

#[test]
fn modules_only_name_the_layers_below_them() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let reexports = root_reexports();
    let macros = macro_homes();
    let mut problems = Vec::new();
    let mut count = 0;
    for r in all_references() {
        let Some(from) = r.from.first().map(String::as_str) else {
            continue; // lib.rs
        };
        if GLUE.contains(&from) {
            continue;
        }
        let Some(deps) = allowed.get(from) else {
            problems.push(format!(
                "{}: module `{from}` is not in the layering table of tests/architecture.rs; add it",
                r.file.display()
            ));
            continue;
        };
        count += 1;
        let Some(first) = r.target.first() else {
            continue;
        };
        let to = if r.invokes_macro && r.target.len() == 1 {
            match macros.get(first) {
                Some(home) => home.as_str(),
                None => {
                    problems.push(format!(
                        "{}:{}: no `macro_rules! {first}` in the sources",
                        r.file.display(),
                        r.line
                    ));
                    continue;
                }
            }
        } else {
            match reexports.get(first.as_str()) {
                Some(module) if !is_module(first) => module.as_str(),
                _ => first.as_str(),
            }
        };
        let base = BASE.contains(&to) && from != to;
        // Glue reached through a macro (a `macro_rules!` body, or an invocation of a glue
        // macro such as `__record_layer!`) is what a derive's expansion is.
        let glue_macro = to == "__private" && (r.in_macro || r.invokes_macro);
        if to == from || to == "macros" || base || glue_macro {
            continue;
        }
        if !deps.contains(to) {
            problems.push(format!(
                "{}:{}: `{from}` names `crate::{}`, but `{from}` may only use {:?}",
                r.file.display(),
                r.line,
                r.target.join("::"),
                deps
            ));
        }
    }
    assert!(count > 500, "the scan found only {count} references");
    assert!(
        problems.is_empty(),
        "upward paths:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layering_table_has_no_cycle() {
    let table: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    fn reaches(table: &BTreeMap<&str, &[&str]>, from: &str, to: &str, depth: usize) -> bool {
        depth < 32
            && table.get(from).is_some_and(|deps| {
                deps.iter()
                    .any(|d| *d == to || reaches(table, d, to, depth + 1))
            })
    }
    for m in table.keys() {
        assert!(!reaches(&table, m, m, 0), "{m} depends on itself");
    }
    for base in BASE {
        assert!(
            table.get(base).is_some_and(|deps| deps.is_empty()),
            "{base} uses nothing"
        );
    }
    // `tree` knows nothing of layers, and neither it nor `nx` uses the crate-wide error.
    assert!(!reaches(&table, "tree", "nn", 0));
    assert!(!reaches(&table, "tree", "error", 0));
}

#[test]
fn treescope_render_tree_reaches_no_renderer() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in all_references() {
        if r.from.first().map(String::as_str) != Some("treescope") || r.from.len() < 2 {
            continue;
        }
        if r.target.first().map(String::as_str) == Some("treescope") && r.target.len() > 1 {
            edges
                .entry(r.from[1].clone())
                .or_default()
                .insert(r.target[1].clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![TREESCOPE_IR.to_owned()];
    while let Some(m) = stack.pop() {
        if !seen.insert(m.clone()) {
            continue;
        }
        stack.extend(edges.get(&m).into_iter().flatten().cloned());
    }
    for renderer in TREESCOPE_RENDERERS {
        assert!(
            !seen.contains(*renderer),
            "treescope::{TREESCOPE_IR} reaches the renderer `{renderer}` through {seen:?} (edges {edges:?})"
        );
    }
    assert!(seen.len() > 2, "{seen:?}");
}

#[test]
fn doc_examples_use_the_facade_paths() {
    let mut problems = Vec::new();
    for (file, tokens) in source_files() {
        for_each_doc(&tokens, &mut |line, text| {
            if text.contains("penzai_runtime") {
                problems.push(format!("{}:{line}: {}", file.display(), text.trim()));
            }
        });
    }
    assert!(
        problems.is_empty(),
        "documentation should read as user code (`penzai::...`):\n{}",
        problems.join("\n")
    );
}

/// The scanner itself: it must see grouped imports, `super` chains and serde strings.
#[test]
fn the_scanner_finds_every_kind_of_path() {
    let src = r#"
        use crate::{nn::{Layer, AnyLayer}, tree::Tree as T};
        use super::super::io::Thing;
        #[serde(serialize_with = "crate::treescope::f")]
        struct S;
        fn f() { ::penzai::select::select(x); }
        mod inner { use super::super::nx::NamedArray; }
        macro_rules! m { () => { $crate::__private::Box::new(1) } }
        /// [`NamedArray`](crate::models::X) is documentation, not a path.
        fn g() {}
    "#;
    let tokens = TokenStream::from_str(src).unwrap();
    let from = vec!["tree".to_owned(), "walk".to_owned()];
    let mut out = Vec::new();
    scan(&tokens, &from, false, Path::new("x.rs"), &mut out);
    let found: Vec<(String, bool)> = out
        .iter()
        .map(|r| (r.target.join("::"), r.in_macro))
        .collect();
    let expected = [
        ("nn::Layer", false),
        ("nn::AnyLayer", false),
        ("tree::Tree", false),
        ("io::Thing", false),
        ("treescope::f", false),
        ("select::select", false),
        ("tree::nx::NamedArray", false),
        ("__private::Box::new", true),
    ];
    let expected: Vec<(String, bool)> = expected.iter().map(|(p, m)| (p.to_string(), *m)).collect();
    assert_eq!(found, expected);
}

/// Each `macro_rules!` macro and the top-level module that defines it.
fn macro_homes() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (file, tokens) in source_files() {
        let home = module_of(&file).first().cloned().unwrap_or_default();
        fn visit(stream: &TokenStream, home: &str, out: &mut BTreeMap<String, String>) {
            let tokens: Vec<TokenTree> = stream.clone().into_iter().collect();
            for (i, t) in tokens.iter().enumerate() {
                if is_ident(t, "macro_rules")
                    && is_punct(tokens.get(i + 1), '!')
                    && let Some(TokenTree::Ident(name)) = tokens.get(i + 2)
                {
                    out.insert(name.to_string(), home.to_owned());
                } else if let TokenTree::Group(g) = t {
                    visit(&g.stream(), home, out);
                }
            }
        }
        visit(&tokens, &home, &mut out);
    }
    out
}

fn is_module(name: &str) -> bool {
    ALLOWED.iter().any(|(m, _)| *m == name) || GLUE.contains(&name)
}

/// Root re-exports (`pub use nn::{Layer, ..}` in lib.rs): item name -> its module.
fn root_reexports() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let tokens: Vec<TokenTree> = TokenStream::from_str(&text).unwrap().into_iter().collect();
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_ident(&tokens[i], "use") {
            let (paths, next) = parse_path(&tokens, i + 1);
            for p in paths {
                if let (Some(first), Some(last)) = (p.first(), p.last()) {
                    let module = if first == "penzai_macros" {
                        "macros".to_owned()
                    } else {
                        first.clone()
                    };
                    // The derive macro `Tree` shares its name with the trait: the trait wins.
                    let entry = out.entry(last.clone()).or_insert_with(|| module.clone());
                    if entry == "macros" {
                        *entry = module;
                    }
                }
            }
            i = next;
        } else {
            i += 1;
        }
    }
    assert!(
        out.contains_key("Tree") && out.contains_key("Error"),
        "{out:?}"
    );
    out
}

fn source_files() -> Vec<(PathBuf, TokenStream)> {
    fn visit(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    visit(&src_dir(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let tokens =
                TokenStream::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f, tokens)
        })
        .collect()
}

/// The module a file defines: `src/tree/walk.rs` -> `tree::walk`, `src/tree/mod.rs` -> `tree`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn all_references() -> Vec<Reference> {
    let mut out = Vec::new();
    for (file, tokens) in source_files() {
        let from = module_of(&file);
        scan(&tokens, &from, false, &file, &mut out);
    }
    out
}

fn is_ident(t: &TokenTree, name: &str) -> bool {
    matches!(t, TokenTree::Ident(i) if i == name)
}

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// `::` at `i` (two joint colons).
fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(i + 1), ':')
}

/// Parses a path or use-tree starting at `i` (`a::b`, `a::{b, c::d}`, `a as b`), returning
/// every full path it names and the index after it.
fn parse_path(tokens: &[TokenTree], mut i: usize) -> (Vec<Vec<String>>, usize) {
    if is_path_sep(tokens, i) {
        i += 2;
    }
    let mut prefix = Vec::new();
    loop {
        match tokens.get(i) {
            Some(TokenTree::Ident(id)) => {
                prefix.push(id.to_string());
                i += 1;
            }
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut paths = Vec::new();
                let mut j = 0;
                while j < inner.len() {
                    let (sub, next) = parse_path(&inner, j);
                    for s in sub {
                        let mut full = prefix.clone();
                        full.extend(s.into_iter().filter(|seg| seg != "self"));
                        paths.push(full);
                    }
                    j = next.max(j + 1);
                    // Skip to the next top-level comma.
                    while j < inner.len() && !is_punct(inner.get(j), ',') {
                        j += 1;
                    }
                    j += 1;
                }
                return (paths, i + 1);
            }
            _ => return (vec![prefix], i),
        }
        if is_path_sep(tokens, i) {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// Resolves a `super::`/`self::` path written in module `from` to a crate-relative path.
fn resolve_relative(from: &[String], path: &[String]) -> Vec<String> {
    let mut base: Vec<String> = from.to_vec();
    let mut rest = path;
    while let Some((first, tail)) = rest.split_first() {
        match first.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = tail;
    }
    base.extend(rest.iter().cloned());
    base
}

fn line_of(t: &TokenTree) -> usize {
    t.span().start().line
}

/// Collects the crate paths in `stream`, written in module `from`.
fn scan(
    stream: &TokenStream,
    from: &[String],
    in_macro: bool,
    file: &Path,
    out: &mut Vec<Reference>,
) {
    let tokens: Vec<TokenTree> = stream.clone().into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let push = |out: &mut Vec<Reference>, target: Vec<String>, invokes_macro: bool| {
            out.push(Reference {
                file: file.to_owned(),
                line: line_of(t),
                from: from.to_vec(),
                target,
                in_macro,
                invokes_macro,
            });
        };
        // `mod name { .. }`: an inline module, one level deeper.
        if is_ident(t, "mod")
            && let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) =
                (tokens.get(i + 1), tokens.get(i + 2))
            && g.delimiter() == Delimiter::Brace
        {
            let mut inner = from.to_vec();
            inner.push(name.to_string());
            scan(&g.stream(), &inner, in_macro, file, out);
            i += 3;
            continue;
        }
        if is_ident(t, "macro_rules")
            && is_punct(tokens.get(i + 1), '!')
            && let Some(TokenTree::Group(g)) = tokens.get(i + 3)
        {
            scan(&g.stream(), from, true, file, out);
            i += 4;
            continue;
        }
        // Not the middle of a longer path (`a::crate` never occurs; `::penzai` may).
        let continues_path = i >= 3
            && is_path_sep(&tokens, i - 2)
            && matches!(tokens.get(i - 3), Some(TokenTree::Ident(_)));
        let starts_path = !continues_path && is_path_sep(&tokens, i + 1);
        if starts_path && (is_ident(t, "crate") || is_ident(t, "penzai")) {
            let (paths, next) = parse_path(&tokens, i + 1);
            let invokes_macro = is_punct(tokens.get(next), '!');
            for p in paths {
                push(out, p, invokes_macro);
            }
            i = next;
            continue;
        }
        if starts_path && (is_ident(t, "super") || is_ident(t, "self")) {
            let (paths, next) = parse_path(&tokens, i);
            for p in paths {
                let target = resolve_relative(from, &p);
                // Paths that stay inside the top-level module are not layering edges, but the
                // Treescope rule looks at its submodules, so keep those too.
                push(out, target, false);
            }
            i = next;
            continue;
        }
        match t {
            TokenTree::Group(g) => scan(&g.stream(), from, in_macro, file, out),
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                let body = text.trim_matches('"');
                if text.starts_with('"')
                    && let Some(rest) = body
                        .strip_prefix("crate::")
                        .or_else(|| body.strip_prefix("$crate::"))
                {
                    let target: Vec<String> = rest.split("::").map(str::to_owned).collect();
                    let is_path = target.iter().all(|seg| {
                        !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_')
                    });
                    if is_path {
                        push(out, target, false);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Calls `f` with the line and text of every doc comment in `stream`.
fn for_each_doc(stream: &TokenStream, f: &mut dyn FnMut(usize, &str)) {
    let tokens: Vec<TokenTree> = stream.clone().into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        if let TokenTree::Group(g) = t {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let is_doc_attr = g.delimiter() == Delimiter::Bracket
                && i > 0
                && is_punct(tokens.get(i - 1), '#')
                && inner.first().is_some_and(|t| is_ident(t, "doc"));
            if is_doc_attr && let Some(TokenTree::Literal(lit)) = inner.get(2) {
                f(line_of(t), &lit.to_string());
            } else {
                for_each_doc(&g.stream(), f);
            }
        }
    }
}
