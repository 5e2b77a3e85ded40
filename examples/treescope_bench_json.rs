//! Prints the sizes of the pages measured by `benches/treescope.rs`, and optionally
//! writes them: `cargo run --release --example treescope_bench_json [OUT_DIR]`.

use penzai::prelude::*;
use penzai::treescope;

#[path = "../tests/treescope_support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let model = support::transformer(12, 256, 1024);
    let array = NamedArray::normal(0, &[("rows", 512), ("cols", 512)], 0.0, 1.0)?;
    let page = treescope::to_html(&model);
    let figure = treescope::render_array(&array).to_html();
    let island = page
        .split("class=\"pzt-data\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap_or("");
    println!(
        "{{\"model_page_bytes\": {}, \"model_json_bytes\": {}, \"array_page_bytes\": {}}}",
        page.len(),
        island.len(),
        figure.len()
    );
    if let Some(dir) = std::env::args().nth(1) {
        std::fs::write(format!("{dir}/bench_model.html"), &page)?;
        std::fs::write(format!("{dir}/bench_array.html"), &figure)?;
    }
    Ok(())
}
