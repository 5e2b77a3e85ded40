//! End-to-end tests of the Treescope pages in real headless Chromium (WebDriver).
//!
//! Needs the Debian packages `chromium` and `chromium-driver`. Without them the test is
//! skipped on a developer machine and fails in CI (`CI` set), so CI cannot pass by
//! silently testing nothing.

mod browser;
mod treescope_support;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use browser::Browser;
use penzai::prelude::*;
use std::collections::BTreeMap;

use penzai::text::Tokenizer;
use penzai::treescope::{self, ArrayData, ArrayFigure, HtmlOptions, render_tokens};
use serde_json::{Value, json};
use treescope_support::{EVIL_KEY, EVIL_TYPE, hostile, transformer};

fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pz-treescope-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    path
}

/// The page loaded, logged no console error, made no request, and carries its CSP.
fn assert_clean_page(b: &Browser, what: &str) {
    let errors: Vec<Value> = b
        .console()
        .into_iter()
        .filter(|e| e["level"].as_str() == Some("SEVERE"))
        .collect();
    assert!(errors.is_empty(), "{what}: console errors {errors:?}");
    let requests = b.script(
        "return performance.getEntriesByType('resource').map(e => e.name)",
        json!([]),
    );
    assert_eq!(requests, json!([]), "{what}: the page requested resources");
    let csp = b.script(
        "const m = document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]'); return m ? m.content : null",
        json!([]),
    );
    let csp = csp.as_str().unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'none'"),
        "{what}: CSP {csp:?}"
    );
}

/// The DOM index of the node at `path` (revealing it if needed), for CSS selectors.
fn node_index(b: &Browser, path: &str) -> i64 {
    let i = b.script(
        "const v = document.querySelector('.pzt').pztView; \
         const i = v.nodes.findIndex(n => n.path === arguments[0]); if (i >= 0) v.reveal(i); return i",
        json!([path]),
    );
    let i = i.as_i64().unwrap_or(-1);
    assert!(i >= 0, "no node with path {path}");
    i
}

fn header(i: i64) -> String {
    format!(".pzt-n[data-i=\"{i}\"] > .pzt-h")
}

fn is_open(b: &Browser, i: i64) -> bool {
    b.script(
        "return document.querySelector(`.pzt-n[data-i=\"${arguments[0]}\"]`).classList.contains('pzt-open')",
        json!([i]),
    ) == Value::Bool(true)
}

fn rendered_nodes(b: &Browser) -> i64 {
    b.script(
        "return document.querySelectorAll('.pzt-n').length",
        json!([]),
    )
    .as_i64()
    .unwrap()
}

#[test]
fn pages_work_in_headless_chromium() {
    if let Some(why) = browser::missing_browser() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("CI needs chromium and chromium-driver: {why}");
        }
        eprintln!(
            "skipped: chromium not installed ({why}); apt-get install chromium chromium-driver"
        );
        return;
    }
    let dir = out_dir();
    let b = Browser::start();
    model_page(&b, &dir);
    hostile_page(&b, &dir);
    long_sequence_page(&b, &dir);
    array_page(&b, &dir);
    preview_page(&b, &dir);
    diff_and_selection_pages(&b, &dir);
    layer_library_page(&b, &dir);
    token_pages(&b, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

fn model_page(b: &Browser, dir: &Path) {
    let model = transformer(3, 16, 32);
    let page = write(dir, "model.html", &treescope::to_html(&model));
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    assert_clean_page(b, "model page");
    // The console check can see errors at all (and this reading empties the log again).
    b.script("console.error('pz-probe')", json!([]));
    let seen = b.console();
    assert!(
        seen.iter()
            .any(|e| e["level"] == "SEVERE"
                && e["message"].as_str().unwrap_or("").contains("pz-probe")),
        "console errors are not being collected: {seen:?}"
    );

    // Expand and collapse a node with a click on its header.
    let blocks = node_index(b, "blocks");
    let was_open = is_open(b, blocks);
    b.click(&b.find(&format!("{} > .pzt-t", header(blocks))));
    assert_ne!(is_open(b, blocks), was_open, "a click toggles the node");
    b.click(&b.find(&format!("{} > .pzt-t", header(blocks))));
    assert_eq!(
        is_open(b, blocks),
        was_open,
        "a second click toggles it back"
    );

    // The keyboard does the same: Enter on the focused toggle.
    b.type_text(
        &b.find(&format!("{} > .pzt-tog", header(blocks))),
        "\u{E007}",
    );
    assert_ne!(is_open(b, blocks), was_open, "Enter toggles the node");
    b.type_text(
        &b.find(&format!("{} > .pzt-tog", header(blocks))),
        "\u{E007}",
    );
    assert_eq!(is_open(b, blocks), was_open);

    // Collapsed subtrees have no DOM until opened.
    b.click(&b.find("[data-act=collapse-all]"));
    let mlp = node_index(b, "blocks[2].mlp");
    let descendants = |b: &Browser| {
        b.script(
            "return document.querySelectorAll(`.pzt-n[data-i=\"${arguments[0]}\"] .pzt-n`).length",
            json!([mlp]),
        )
    };
    assert!(!is_open(b, mlp));
    assert_eq!(
        descendants(b),
        json!(0),
        "a closed node starts without child DOM"
    );
    b.click(&b.find(&format!("{} > .pzt-t", header(mlp))));
    assert!(is_open(b, mlp));
    assert_eq!(
        descendants(b),
        json!(3),
        "opening mlp builds its three children, not their closed subtrees"
    );

    // The path under the pointer, and the copy button whose text selects the same node.
    let query = node_index(b, "blocks[1].attn.query");
    let head = b.find(&header(query));
    b.pointer(&head, 0, 0, false);
    assert_eq!(b.text(&b.find(".pzt-hover")), "blocks[1].attn.query");
    b.pointer(
        &b.find(&format!("{} > .pzt-copy", header(query))),
        0,
        0,
        true,
    );
    let copied = b.attr(&b.find(".pzt-copied"), "data-path").unwrap();
    assert_eq!(copied, "blocks[1].attn.query");
    let path = KeyPath::from_str(&copied).expect("the copied path parses");
    let node = penzai::tree::get(&model, &path).expect("the copied path selects a node");
    assert_eq!(node.type_name(), "Linear");

    // A heatmap on demand, with a tooltip naming the index by axis.
    let weights = node_index(b, "blocks[0].mlp.up.weights");
    b.pointer(
        &b.find(&format!("{} > .pzt-heatbtn", header(weights))),
        0,
        0,
        true,
    );
    b.wait_for(
        "const h = document.querySelector('.pzt-heat'); return !!h && h.dataset.ready === '1'",
        "the heatmap",
    );
    let canvas = b.find(".pzt-heat canvas.pza-canvas");
    let size = b.script(
        "const r = document.querySelector('.pzt-heat canvas.pza-canvas').getBoundingClientRect(); return [r.width, r.height]",
        json!([]),
    );
    let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    b.pointer(
        &canvas,
        (-w / 2.0 + 2.0) as i64,
        (-h / 2.0 + 2.0) as i64,
        false,
    );
    let tip = b.script(
        "return document.querySelector('.pzt-heat .pza-tip').textContent",
        json!([]),
    );
    let tip = tip.as_str().unwrap_or_default();
    assert!(
        tip.starts_with("embedding=0, hidden=0\nvalue: "),
        "tooltip {tip:?}"
    );

    // Search opens the ancestors of every match.
    let search = b.find(".pzt-search");
    b.type_text(&search, "mlp.down");
    b.wait_for(
        "return document.querySelector('.pzt-found').textContent !== ''",
        "search results",
    );
    assert_eq!(b.text(&b.find(".pzt-found")), "6 matches");
    let hits = b.find_all(".pzt-hit > .pzt-h");
    assert_eq!(hits.len(), 6);
    for hit in &hits {
        assert!(!b.text(hit).is_empty(), "every match is visible");
    }
    let by_type = b.script(
        "const v = document.querySelector('.pzt').pztView; v.find('RmsNorm'); return document.querySelector('.pzt-found').textContent",
        json!([]),
    );
    assert_eq!(
        by_type,
        json!("7 matches"),
        "search also matches type names"
    );

    // Expand all, collapse all, expand to depth N.
    b.click(&b.find("[data-act=expand-all]"));
    let total = model.all_paths().len() as i64;
    assert_eq!(rendered_nodes(b), total, "expand all renders every node");
    b.click(&b.find("[data-act=collapse-all]"));
    let open = b.script(
        "return document.querySelectorAll('.pzt-open').length",
        json!([]),
    );
    assert_eq!(open, json!(1), "collapse all leaves only the root open");
    b.script(
        "document.querySelector('.pzt-depth').value = '2'",
        json!([]),
    );
    b.click(&b.find("[data-act=depth]"));
    let open = b.script(
        "return document.querySelectorAll('.pzt-open').length",
        json!([]),
    );
    assert_eq!(
        open,
        json!(1 + 3),
        "depth 2 opens the root and its three children"
    );
    assert_clean_page(b, "model page after interaction");
}

fn hostile_page(b: &Browser, dir: &Path) {
    let page = write(
        dir,
        "hostile.html",
        &HtmlOptions::new()
            .title(EVIL_TYPE)
            .expand_depth(5)
            .to_html(&hostile()),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    assert_eq!(
        b.script("return typeof window.__pwned", json!([])),
        json!("undefined"),
        "a payload ran"
    );
    let text = b
        .script("return document.body.innerText", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for payload in [
        EVIL_KEY,
        EVIL_TYPE,
        "</script><img src=x onerror=",
        "</script><script>window.__pwned='value'",
    ] {
        let shown = text.contains(payload) || text.contains(&payload.replace('"', "\\\""));
        assert!(
            shown,
            "payload {payload:?} is shown as text; page text:\n{text}"
        );
    }
    assert_eq!(
        b.script("return document.images.length", json!([])),
        json!(0)
    );
    assert_eq!(
        b.script("return document.scripts.length", json!([])),
        json!(3),
        "only the island and our two scripts (no token views on this page)"
    );
    assert_eq!(
        b.script("return document.title", json!([])),
        json!(EVIL_TYPE)
    );
    assert_clean_page(b, "hostile page");
}

fn long_sequence_page(b: &Browser, dir: &Path) {
    let long: Vec<u32> = (0..50).collect();
    let page = write(dir, "long.html", &treescope::to_html(&long));
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    assert_eq!(rendered_nodes(b), 1 + 20, "twenty items shown first");
    let more = b.find(".pzt-more");
    assert_eq!(b.text(&more), "… 30 more");
    b.click(&more);
    assert_eq!(rendered_nodes(b), 1 + 50);
    assert!(b.find_all(".pzt-more").is_empty());
    assert_clean_page(b, "long sequence page");
}

fn array_page(b: &Browser, dir: &Path) {
    // Distinct values per layer make the slider's effect visible; the payload is large and
    // regular enough to be deflated, so DecompressionStream is exercised too.
    let (layers, seq, dim) = (3usize, 8usize, 16usize);
    let values: Vec<f32> = (0..layers * seq * dim)
        .map(|i| (i / (seq * dim) * 100 + i % (seq * dim)) as f32)
        .collect();
    let data =
        ArrayData::from_f32(&[("layer", layers), ("seq", seq), ("dim", dim)], values).unwrap();
    let spec = ArrayFigure::new(data.clone()).sliders(&["layer"]).spec();
    assert!(spec.data.z, "the payload is deflated");
    let page = write(
        dir,
        "array.html",
        &ArrayFigure::new(data)
            .sliders(&["layer"])
            .pixels_per_cell(12)
            .to_html(),
    );
    b.open(&page);
    b.wait_for(
        "const f = document.querySelector('.pza'); return f.dataset.ready === '1'",
        "the figure",
    );
    let canvas = b.find("canvas.pza-canvas");
    let corner = |b: &Browser| {
        b.pointer(
            &canvas,
            -(dim as i64) * 6 + 6,
            -(seq as i64) * 6 + 6 + 12,
            false,
        );
        b.script(
            "return document.querySelector('.pza-tip').textContent",
            json!([]),
        )
    };
    assert_eq!(corner(b), json!("seq=1, dim=0, layer=0\nvalue: 16"));
    let slider = b.find("input[type=range][data-axis=layer]");
    b.type_text(&slider, "\u{E014}\u{E014}");
    assert_eq!(b.text(&b.find(".pza-readout")), "2 / 3");
    assert_eq!(corner(b), json!("seq=1, dim=0, layer=2\nvalue: 216"));

    // A NamedArray with special values: NaN is named in the tooltip.
    let x = NamedArray::from_f32(
        &[("row", 2), ("col", 2)],
        vec![f32::NAN, 1.0, -1.0, f32::INFINITY],
    )
    .unwrap();
    let page = write(
        dir,
        "special.html",
        &treescope::render_array(&x).pixels_per_cell(20).to_html(),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pza').dataset.ready === '1'",
        "the figure",
    );
    let canvas = b.find("canvas.pza-canvas");
    b.pointer(&canvas, -10, -10, false);
    assert_eq!(
        b.script(
            "return document.querySelector('.pza-tip').textContent",
            json!([])
        ),
        json!("row=0, col=0\nvalue: NaN")
    );
    b.pointer(&canvas, 10, 10, false);
    assert_eq!(
        b.script(
            "return document.querySelector('.pza-tip').textContent",
            json!([])
        ),
        json!("row=1, col=1\nvalue: +inf")
    );
    assert_clean_page(b, "array page");
}

/// A tree page's heatmap preview (six bits per cell, one character each) draws every kept
/// cell from a value within half a level of the array's, in that value's colour, with
/// NaN and infinities kept.
fn preview_page(b: &Browser, dir: &Path) {
    let (rows, cols) = (32usize, 32usize);
    let mut values: Vec<f32> = (0..rows * cols)
        .map(|i| (i as f32 * 0.37).sin() * 2.0)
        .collect();
    values[0] = f32::NAN;
    values[1] = f32::INFINITY;
    values[2] = f32::NEG_INFINITY;
    let x = NamedArray::from_f32(&[("r", rows), ("c", cols)], values.clone()).unwrap();
    let tree = BTreeMap::from([("x".to_owned(), x)]);
    let html = treescope::to_html(&tree);
    assert!(html.contains(r#""enc":"q6""#), "the preview is coarse");
    let page = write(dir, "preview.html", &html);
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    b.click(&b.find(".pzt-heatbtn"));
    b.wait_for(
        "const h = document.querySelector('.pzt-heat'); return !!h && h.dataset.ready === '1'",
        "the preview heatmap",
    );
    // Per kept cell (8 first and 8 last of each axis, a gap line between): the decoded
    // value, the colour the arrayviz colormap gives it, and the canvas pixel's colour
    // (one away from the corner, where no glyph inks).
    let got = b.script(
        "const f = document.querySelector('.pzt-heat').pzaFigure, s = f.spec;
         const g = f.canvas.getContext('2d'), out = [];
         for (let p = 0; p < 16; p++) for (let q = 0; q < 16; q++) {
           const v = f.values[p * 16 + q], r = p < 8 ? p : p + 1, c = q < 8 ? q : q + 1;
           const px = [...g.getImageData(c * f.cp + 1, r * f.cp, 1, 1).data.slice(0, 3)];
           const want = Number.isNaN(v) ? [255, 0, 255]
             : PZ.arrayviz.rgb(s.cmap, (v - s.vmin) / (s.vmax - s.vmin));
           out.push([String(v), want, px]);
         }
         return { cells: out, lo: s.data.lo, hi: s.data.hi, enc: s.data.enc }",
        json!([]),
    );
    assert_eq!(got["enc"], "q6");
    let (lo, hi) = (got["lo"].as_f64().unwrap(), got["hi"].as_f64().unwrap());
    let half_level = (hi - lo) / 60.0 / 2.0 + 1e-6;
    let kept: Vec<usize> = (0..8).chain(24..32).collect();
    let cells = got["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 256);
    for (k, cell) in cells.iter().enumerate() {
        let truth = values[kept[k / 16] * cols + kept[k % 16]] as f64;
        let shown = cell[0].as_str().unwrap();
        match shown {
            "NaN" => assert!(truth.is_nan(), "cell {k}: NaN for {truth}"),
            "Infinity" => assert_eq!(truth, f64::INFINITY, "cell {k}"),
            "-Infinity" => assert_eq!(truth, f64::NEG_INFINITY, "cell {k}"),
            v => {
                let v: f64 = v.parse().unwrap();
                assert!((v - truth).abs() <= half_level, "cell {k}: {v} for {truth}");
            }
        }
        assert_eq!(
            cell[1], cell[2],
            "cell {k} ({shown}) is drawn in its colour"
        );
    }
    assert_clean_page(b, "preview page");
}

fn diff_and_selection_pages(b: &Browser, dir: &Path) {
    let before = transformer(2, 8, 8);
    let mut after = before.clone();
    after.blocks[0].mlp.up.weights =
        treescope_support::array(&[("embedding", 8), ("hidden", 32)], 4242);
    after.blocks.pop();
    let page = write(
        dir,
        "diff.html",
        &treescope::diff(&before, &after).to_html(),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the diff viewer",
    );
    assert_eq!(b.find_all(".pzt-m-changed").len(), 1);
    assert_eq!(b.find_all(".pzt-m-removed").len(), 1);
    b.wait_for(
        "const h = document.querySelector('.pzt-m-changed .pzt-heat'); return !!h && h.dataset.ready === '1'",
        "the difference heatmap",
    );
    assert_clean_page(b, "diff page");

    let selected: KeyPath = "blocks[1].mlp.gate".parse().unwrap();
    let page = write(
        dir,
        "selection.html",
        &treescope::to_html_with_selection(&before, &[selected]),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the selection viewer",
    );
    let marked = b.find_all(".pzt-m-selected > .pzt-h");
    assert_eq!(marked.len(), 1);
    assert!(
        b.text(&marked[0]).starts_with("gate:"),
        "the selected node is visible"
    );
    assert_clean_page(b, "selection page");
}

fn layer_library_page(b: &Browser, dir: &Path) {
    let model =
        penzai::models::TransformerLm::gpt2(&penzai::models::Gpt2Config::tiny(), 0).unwrap();
    let page = write(dir, "gpt2.html", &treescope::to_html(&model));
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    b.click(&b.find("[data-act=expand-all]"));
    assert_eq!(rendered_nodes(b), model.all_paths().len() as i64);
    for button in b.find_all(".pzt-heatbtn").iter().take(5) {
        b.pointer(button, 0, 0, true);
    }
    b.wait_for(
        "return [...document.querySelectorAll('.pzt-heat')].every(h => h.dataset.ready === '1')",
        "five heatmaps",
    );
    assert_clean_page(b, "layer library page");
}

/// The token views: chips with hover text, scores as colours, chips inside the tree, and
/// hostile pieces shown as text.
fn token_pages(b: &Browser, dir: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-text");
    let tokenizer = Tokenizer::from_dir(&fixture).unwrap();
    let ids = tokenizer
        .encode("Der Bäcker sagt: “日本語 🙂” and\tmore.\n")
        .unwrap();
    let n = ids.len();
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", n)], ids.clone()).unwrap();
    let mut values: Vec<f32> = (0..n).map(|i| i as f32 - 4.0).collect();
    values[3] = f32::NAN;
    let scores = NamedArray::from_f32(&[("batch", 1), ("seq", n)], values).unwrap();
    let figure = render_tokens(&tokens, &tokenizer)
        .unwrap()
        .scores(&scores)
        .unwrap()
        .score_label("loss");
    let spec = figure.spec();
    let page = write(dir, "tokens.html", &figure.to_html());
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzk').dataset.ready === '1'",
        "the token view",
    );
    assert_clean_page(b, "token page");
    let shown: Vec<String> = ids
        .iter()
        .map(|id| {
            let entry = spec.tokens.iter().find(|e| e.id == *id).unwrap();
            entry.shown.clone()
        })
        .collect();
    assert_eq!(
        b.script(
            "return [...document.querySelectorAll('.pzk-tok')].map(e => e.textContent)",
            json!([])
        ),
        json!(shown),
        "one chip per token, in order"
    );
    let style = |i: usize, prop: &str| {
        b.script(
            "return getComputedStyle(document.querySelectorAll('.pzk-tok')[arguments[0]])[arguments[1]]",
            json!([i, prop]),
        )
    };
    assert_eq!(
        style(3, "backgroundColor"),
        json!("rgb(255, 0, 255)"),
        "NaN is magenta"
    );
    assert_ne!(style(0, "backgroundColor"), style(n - 1, "backgroundColor"));
    let class = |i: usize| {
        b.script(
            "return document.querySelectorAll('.pzk-tok')[arguments[0]].className",
            json!([i]),
        )
    };
    assert!(
        class(0).as_str().unwrap().contains("pzk-special"),
        "<s> is special"
    );
    let tab = shown.iter().position(|s| s == "\\t").unwrap();
    assert!(
        class(tab).as_str().unwrap().contains("pzk-esc"),
        "a tab is escaped"
    );

    // Hover shows the id, the piece and the score.
    let chips = b.find_all(".pzk-tok");
    b.pointer(&chips[1], 0, 0, false);
    let tip = b.find(".pzk-tip");
    assert_eq!(style_of(b, ".pzk-tip", "display"), json!("block"));
    let text = b.text(&tip);
    let piece = tokenizer.piece(ids[1]).unwrap();
    assert!(text.contains(&format!("id {}", ids[1])), "{text}");
    assert!(
        text.contains(&format!("piece {}", serde_json::to_string(&piece).unwrap())),
        "{text}"
    );
    assert!(text.contains("batch 0, position 1"), "{text}");
    assert!(text.contains("loss: -3"), "{text}");
    b.pointer(&chips[3], 0, 0, false);
    assert!(b.text(&b.find(".pzk-tip")).contains("loss: NaN"));

    // Inside a tree: the prompt's chips under its summary, hover included.
    let tree = BTreeMap::from([("prompt".to_owned(), tokens.clone())]);
    let page = write(
        dir,
        "tokens-tree.html",
        &HtmlOptions::new().tokens(tokenizer.clone()).to_html(&tree),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzt').dataset.ready === '1'",
        "the tree viewer",
    );
    assert_clean_page(b, "token tree page");
    let chips = b.find_all(".pzt-tokens .pzk-tok");
    assert_eq!(chips.len(), n, "the prompt's chips are in the tree");
    b.pointer(&chips[2], 0, 0, false);
    assert!(
        b.text(&b.find(".pzt-tokens .pzk-tip"))
            .contains(&format!("id {}", ids[2]))
    );

    // Pieces are text, whatever they hold.
    let vocab = [
        "</script><script>window.__pwned=1</script>",
        "<img src=x onerror=window.__pwned=2>",
        "\u{202E}gnp.exe",
    ];
    let ids = NamedArray::from_i64(&[("seq", 3)], vec![0, 1, 2]).unwrap();
    let page = write(
        dir,
        "tokens-hostile.html",
        &render_tokens(&ids, &vocab).unwrap().to_html(),
    );
    b.open(&page);
    b.wait_for(
        "return document.querySelector('.pzk').dataset.ready === '1'",
        "the hostile token view",
    );
    assert_eq!(
        b.script("return typeof window.__pwned", json!([])),
        json!("undefined")
    );
    assert_eq!(
        b.script("return document.images.length", json!([])),
        json!(0)
    );
    let chips = b.script(
        "return [...document.querySelectorAll('.pzk-tok')].map(e => e.textContent)",
        json!([]),
    );
    assert_eq!(chips, json!([vocab[0], vocab[1], "\\u{202e}gnp.exe"]));
    assert_clean_page(b, "hostile token page");
}

fn style_of(b: &Browser, css: &str, prop: &str) -> Value {
    b.script(
        "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]",
        json!([css, prop]),
    )
}
