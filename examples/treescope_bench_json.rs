//! Prints the sizes of the pages measured by `benches/treescope.rs` and of the medium
//! baseline model's page (`penzai bench`'s `e_treescope_model_html`, with its best render
//! time of five), and optionally writes them:
//! `cargo run --release --example treescope_bench_json [OUT_DIR]`.

use std::collections::BTreeMap;
use std::time::Instant;

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::prelude::*;
use penzai::treescope;

#[path = "../tests/treescope_support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let model = support::transformer(12, 256, 1024);
    // Penzai's medium baseline model, as `penzai bench` builds it (`e_treescope_model_html`).
    let medium = TransformerLm::llama(
        &LlamaConfig {
            vocab_size: 1024,
            d_model: 256,
            n_layers: 12,
            n_heads: 8,
            n_kv_heads: 8,
            head_dim: 32,
            mlp_hidden: 1024,
            ..LlamaConfig::tiny()
        },
        0,
    )?;
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
    if let Some(dir) = std::env::args().nth(1) {
        std::fs::write(format!("{dir}/bench_medium.html"), &medium_page)?;
        std::fs::write(format!("{dir}/bench_model.html"), &page)?;
        std::fs::write(format!("{dir}/bench_array.html"), &figure)?;
    }
    Ok(())
}
