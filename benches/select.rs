//! Selector benchmarks on a 12-block transformer (d_model 256), the model of Penzai's
//! baseline figures in `BENCHMARKS.md`.
//!
//! Run with `cargo bench --bench select`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::{Identity, Linear, Parameter};
use penzai::prelude::*;

fn big() -> TransformerLm {
    let cfg = LlamaConfig::penzai_medium();
    TransformerLm::llama(&cfg, 0).expect("the benchmark model builds")
}

fn bench(c: &mut Criterion) {
    let model = big();
    assert_eq!(
        select(model.as_dyn()).at_instances_of::<Linear>().count(),
        110
    );
    let mut g = c.benchmark_group("select");

    g.bench_function("count_linear", |b| {
        b.iter(|| select(model.as_dyn()).at_instances_of::<Linear>().count())
    });
    g.bench_function("count_parameters", |b| {
        b.iter(|| {
            select(model.as_dyn())
                .at_instances_of::<Parameter>()
                .count()
        })
    });
    g.bench_function("clone_model", |b| b.iter(|| model.clone()));
    // The edits below include the clone of the model, as Penzai's edits build a new tree.
    g.bench_function("insert_after_linear_identity", |b| {
        b.iter(|| {
            select(model.clone())
                .at_instances_of::<Linear>()
                .insert_after(Identity)
                .expect("every Linear sits in a sequence or an AnyLayer slot")
        })
    });
    g.bench_function("apply_linear_identity_fn", |b| {
        b.iter(|| {
            select(model.clone())
                .at_instances_of::<Linear>()
                .apply(|l: Linear| l)
                .expect("a Linear fits its own slot")
        })
    });
    // The same edits on an owned model, without the clone.
    g.bench_function("insert_after_linear_identity_owned", |b| {
        b.iter_batched(
            || model.clone(),
            |m| {
                select(m)
                    .at_instances_of::<Linear>()
                    .insert_after(Identity)
                    .expect("insertable")
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("apply_linear_identity_fn_owned", |b| {
        b.iter_batched(
            || model.clone(),
            |m| {
                select(m)
                    .at_instances_of::<Linear>()
                    .apply(|l: Linear| l)
                    .expect("a Linear fits its own slot")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
