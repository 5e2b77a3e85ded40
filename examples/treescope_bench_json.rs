//! Prints the sizes of the pages measured by `benches/treescope.rs` and of the medium
//! baseline model's page (`penzai bench`'s `e_treescope_model_html`, with its best render
//! time of five), and optionally writes them:
//! `cargo run --release --example treescope_bench_json [OUT_DIR]`.
//! The medium page's bytes by part (viewer assets, and the JSON island by field) go to
//! stderr, as the rows of the itemization table in BENCHMARKS.md; `--itemize PAGE.html`
//! prints only that table, for a page saved by another build.

use std::collections::BTreeMap;
use std::time::Instant;

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::prelude::*;
use penzai::treescope;

#[path = "../tests/treescope_support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path] = args.as_slice()
        && flag == "--itemize"
    {
        for (part, bytes) in itemize(&std::fs::read_to_string(path)?)? {
            println!("| {part} | {bytes} |");
        }
        return Ok(());
    }
    let model = support::transformer(12, 256, 1024);
    // Penzai's medium baseline model, as `penzai bench` builds it (`e_treescope_model_html`).
    let medium = TransformerLm::llama(&LlamaConfig::penzai_medium(), 0)?;
    let medium_page = treescope::to_html(&medium);
    let mut medium_ms = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        let page = treescope::to_html(&medium);
        medium_ms = medium_ms.min(start.elapsed().as_secs_f64() * 1e3);
        drop(page);
    }
    let array = NamedArray::normal(0, &[("rows", 512), ("cols", 512)], 0.0, 1.0)?;
    let page = treescope::to_html(&model);
    let figure = treescope::render_array(&array).to_html();
    let island = page
        .split("class=\"pzt-data\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap_or("");
    // Treescope's 10,000-leaf case: 100 keys, each {weights: 5 x 10 floats, bias: 50 floats}.
    let leaves: BTreeMap<String, BTreeMap<String, Vec<Vec<f32>>>> = (0..100)
        .map(|k| {
            let entry = BTreeMap::from([
                ("weights".to_owned(), vec![vec![0.5f32; 10]; 5]),
                ("bias".to_owned(), vec![vec![0.25f32; 50]]),
            ]);
            (format!("layer{k}"), entry)
        })
        .collect();
    let start = Instant::now();
    let leaves_page = treescope::to_html(&leaves);
    let leaves_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"medium_page_bytes\": {}, \"medium_best_ms\": {:.1}, \"model_page_bytes\": {}, \
         \"model_json_bytes\": {}, \"array_page_bytes\": {}, \
         \"leaves_10k_page_bytes\": {}, \"leaves_10k_ms\": {:.1}}}",
        medium_page.len(),
        medium_ms,
        page.len(),
        island.len(),
        figure.len(),
        leaves_page.len(),
        leaves_ms
    );
    for (part, bytes) in itemize(&medium_page)? {
        eprintln!("| {part} | {bytes} |");
    }
    if let Some(dir) = args.first() {
        std::fs::write(format!("{dir}/bench_medium.html"), &medium_page)?;
        std::fs::write(format!("{dir}/bench_model.html"), &page)?;
        std::fs::write(format!("{dir}/bench_array.html"), &figure)?;
    }
    Ok(())
}

/// The contents of every `open ... </tag>` element of `page` (`<script>` or `<style>`
/// exactly, so the JSON islands are not counted as viewer code).
fn elements<'p>(page: &'p str, open: &str, close: &str) -> Vec<&'p str> {
    page.split(open)
        .skip(1)
        .filter_map(|s| s.split(close).next())
        .collect()
}

/// A running byte count per part, in first-seen order.
#[derive(Default)]
struct Parts(Vec<(&'static str, usize)>);

impl Parts {
    fn add(&mut self, part: &'static str, n: usize) {
        match self.0.iter_mut().find(|p| p.0 == part) {
            Some(p) => p.1 += n,
            None => self.0.push((part, n)),
        }
    }
}

const OTHER: &str = "other node fields and structure";
const PREVIEW_REST: &str = "previews: axes, range, colormap, zoom";

/// `"key":value,` as the island writes it.
fn entry(k: &str, v: &serde_json::Value) -> usize {
    k.len() + 4 + serde_json::to_string(v).map_or(0, |s| s.len())
}

fn walk(node: &serde_json::Value, parts: &mut Parts) {
    let Some(fields) = node.as_object() else {
        return;
    };
    for (k, v) in fields {
        match k.as_str() {
            "children" => {
                for child in v.as_array().into_iter().flatten() {
                    walk(child, parts);
                }
            }
            "array" => {
                for (ak, av) in v.as_object().into_iter().flatten() {
                    match ak.as_str() {
                        "preview" => {
                            for (pk, pv) in av.as_object().into_iter().flatten() {
                                if pk != "data" {
                                    parts.add(PREVIEW_REST, entry(pk, pv));
                                    continue;
                                }
                                for (dk, dv) in pv.as_object().into_iter().flatten() {
                                    let cells = dk == "b64" || dk == "cells";
                                    let part = if cells {
                                        "previews: cells"
                                    } else {
                                        PREVIEW_REST
                                    };
                                    parts.add(part, entry(dk, dv));
                                }
                            }
                        }
                        "stats" => parts.add("array statistics objects", entry(ak, av)),
                        "label" => parts.add("parameter labels", entry(ak, av)),
                        _ => parts.add(OTHER, entry(ak, av)),
                    }
                }
            }
            "summary" => parts.add("summary lines", entry(k, v)),
            "type" => parts.add("type names", entry(k, v)),
            "fields" => parts.add("static fields", entry(k, v)),
            "key" => parts.add("keys", entry(k, v)),
            _ => parts.add(OTHER, entry(k, v)),
        }
    }
}

/// Bytes of the page by part: viewer JS and CSS, the rest of the shell, and the JSON island
/// by field (each field's key and value as written, compact).
fn itemize(page: &str) -> anyhow::Result<Vec<(&'static str, usize)>> {
    let js: usize = elements(page, "<script>", "</script>")
        .iter()
        .map(|s| s.len())
        .sum();
    let css: usize = elements(page, "<style>", "</style>")
        .iter()
        .map(|s| s.len())
        .sum();
    let island = elements(page, "class=\"pzt-data\">", "</script>")
        .first()
        .copied()
        .unwrap_or("");
    let data: serde_json::Value = serde_json::from_str(island)?;
    let mut parts = Parts::default();
    parts.add("viewer JS", js);
    parts.add("viewer CSS", css);
    parts.add(
        "page shell, CSP, toolbar",
        page.len() - js - css - island.len(),
    );
    walk(&data["root"], &mut parts);
    for table in ["types", "fieldsets"] {
        if let Some(v) = data.get(table) {
            parts.add("shared tables (types, fieldsets)", entry(table, v));
        }
    }
    let counted: usize = parts.0.iter().map(|p| p.1).sum();
    // Braces, commas and the keys of containers: what no field above owns.
    parts.add(OTHER, page.len().saturating_sub(counted));
    parts.add("total", page.len());
    Ok(parts.0)
}
