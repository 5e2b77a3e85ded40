//! Treescope rendering speed and page size.
//!
//! `cargo bench --bench treescope` (criterion). Targets: the HTML page of a 12-block
//! transformer-like tree (d_model 256) under 20 ms and 150 KB; a 512 x 512 array figure
//! under 10 ms and 400 KB. Page sizes are printed before the timings.

use criterion::{Criterion, criterion_group, criterion_main};
use penzai::models::{Gpt2Config, TransformerLm};
use penzai::prelude::*;
use penzai::treescope;

#[path = "../tests/treescope_support/mod.rs"]
mod support;

fn count_arrays(tree: &dyn Tree) -> usize {
    let mut n = 0;
    penzai::tree::walk(tree, &mut |_, node| {
        n += usize::from(matches!(
            node.leaf(),
            Some(penzai::tree::Leaf::Array { .. })
        ));
        Walk::Continue
    });
    n
}

fn bench(c: &mut Criterion) {
    let model = support::transformer(12, 256, 1024);
    let array = NamedArray::normal(0, &[("rows", 512), ("cols", 512)], 0.0, 1.0).expect("shape");
    let html = treescope::to_html(&model);
    let figure = treescope::render_array(&array).to_html();
    eprintln!(
        "treescope sizes: model page {} bytes ({} arrays, {} params); 512x512 array page {} bytes; model text {} bytes",
        html.len(),
        count_arrays(&model),
        treescope::to_doc(&model).root.params,
        figure.len(),
        treescope::to_text_plain(&model).len(),
    );

    c.bench_function("treescope/to_html transformer 12x256", |b| {
        b.iter(|| treescope::to_html(&model))
    });
    c.bench_function("treescope/render_array 512x512 to_html", |b| {
        b.iter(|| treescope::render_array(&array).to_html())
    });
    // The layer library's GPT-2 at the same size: more nodes and arrays (biases, norms).
    let cfg = Gpt2Config {
        vocab_size: 1024,
        n_positions: 128,
        d_model: 256,
        n_layers: 12,
        n_heads: 4,
        ..Gpt2Config::tiny()
    };
    let gpt2 = TransformerLm::gpt2(&cfg, 0).expect("a valid config");
    eprintln!(
        "treescope sizes: gpt2 page {} bytes ({} arrays), without previews {} bytes",
        treescope::to_html(&gpt2).len(),
        count_arrays(&gpt2),
        treescope::HtmlOptions::new()
            .preview_cells(0)
            .to_html(&gpt2)
            .len(),
    );
    c.bench_function("treescope/to_html gpt2 12x256", |b| {
        b.iter(|| treescope::to_html(&gpt2))
    });
    c.bench_function("treescope/to_text transformer 12x256", |b| {
        b.iter(|| treescope::to_text_plain(&model))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
