//! Benchmarks of `penzai::nx` hot paths: contraction (GEMM), softmax, broadcasting add.
//!
//! Run with `cargo bench --bench nx`. Throughput is in elements per second; for the
//! contraction one "element" is one floating-point operation (`2 * M * K * N` in total), so
//! criterion's `Gelem/s` reads directly as GFLOP/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use penzai::nx::NamedArray;

fn contraction(c: &mut Criterion) {
    let (m, k, n) = (512u64, 1024u64, 1024u64);
    let x = NamedArray::uniform(0, &[("seq", 512), ("embedding", 1024)], -1.0, 1.0).unwrap();
    let w = NamedArray::uniform(1, &[("embedding", 1024), ("hidden", 1024)], -1.0, 1.0).unwrap();
    let mut group = c.benchmark_group("nx_contract");
    group.throughput(Throughput::Elements(2 * m * k * n));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function(
        "{seq: 512, embedding: 1024} x {embedding: 1024, hidden: 1024}",
        |b| {
            b.iter(|| {
                black_box(&x)
                    .contract(black_box(&w), &["embedding"])
                    .unwrap()
            })
        },
    );
    // The same product with the weight stored transposed ({hidden, embedding}): only the
    // strides differ, so it should cost the same.
    let wt = w.move_to_front(&["hidden"]).unwrap();
    group.bench_function("same, weight stored as {hidden, embedding}", |b| {
        b.iter(|| {
            black_box(&x)
                .contract(black_box(&wt), &["embedding"])
                .unwrap()
        })
    });
    group.finish();
}

fn softmax(c: &mut Criterion) {
    let shape = [("batch", 4), ("seq", 128), ("kv_seq", 128), ("heads", 8)];
    let scores = NamedArray::normal(2, &shape, 0.0, 3.0).unwrap();
    let mut group = c.benchmark_group("nx_softmax");
    group.throughput(Throughput::Elements(4 * 128 * 128 * 8));
    group.sample_size(30);
    // kv_seq is not the innermost axis here (heads is), so lanes are strided.
    group.bench_function(
        "{batch: 4, seq: 128, kv_seq: 128, heads: 8} over kv_seq",
        |b| b.iter(|| black_box(&scores).softmax(&["kv_seq"]).unwrap()),
    );
    let inner = scores
        .order_as(&["batch", "heads", "seq", "kv_seq"])
        .unwrap();
    let inner = NamedArray::from_ndarray(
        inner
            .to_ndarray_f32(&["batch", "heads", "seq", "kv_seq"])
            .unwrap(),
        &["batch", "heads", "seq", "kv_seq"],
    )
    .unwrap();
    group.bench_function("same, kv_seq stored innermost", |b| {
        b.iter(|| black_box(&inner).softmax(&["kv_seq"]).unwrap())
    });
    group.finish();
}

fn broadcast_add(c: &mut Criterion) {
    let x = NamedArray::normal(
        3,
        &[("batch", 4), ("seq", 128), ("embedding", 1024)],
        0.0,
        1.0,
    )
    .unwrap();
    let bias = NamedArray::normal(4, &[("embedding", 1024)], 0.0, 1.0).unwrap();
    let mut group = c.benchmark_group("nx_add");
    group.throughput(Throughput::Elements(4 * 128 * 1024));
    group.sample_size(30);
    group.bench_function(
        "{batch: 4, seq: 128, embedding: 1024} + {embedding: 1024}",
        |b| b.iter(|| (black_box(&x) + black_box(&bias)).unwrap()),
    );
    let y = (&x * 0.5).unwrap();
    group.bench_function("{batch: 4, seq: 128, embedding: 1024} + same shape", |b| {
        b.iter(|| (black_box(&x) + black_box(&y)).unwrap())
    });
    group.finish();
}

/// The activations and products of a transformer MLP, on `{batch: 4, seq: 128, neurons: 1024}`
/// (the shape whose `silu` showed in a 12-block forward's profile).
fn unary(c: &mut Criterion) {
    let shape = [("batch", 4), ("seq", 128), ("neurons", 1024)];
    let x = NamedArray::normal(5, &shape, 0.0, 2.0).unwrap();
    let y = NamedArray::normal(6, &shape, 0.0, 1.0).unwrap();
    let mask = x.gt(&NamedArray::scalar(0.0)).unwrap();
    let mut group = c.benchmark_group("nx_unary");
    group.throughput(Throughput::Elements(4 * 128 * 1024));
    group.sample_size(30);
    group.bench_function("silu {batch: 4, seq: 128, neurons: 1024}", |b| {
        b.iter(|| black_box(&x).silu().unwrap())
    });
    group.bench_function("gelu_tanh, same shape", |b| {
        b.iter(|| black_box(&x).gelu_tanh().unwrap())
    });
    group.bench_function("exp, same shape", |b| {
        b.iter(|| black_box(&x).exp().unwrap())
    });
    group.bench_function("product of two, same shape", |b| {
        b.iter(|| (black_box(&x) * black_box(&y)).unwrap())
    });
    group.bench_function("where_, same shape", |b| {
        b.iter(|| NamedArray::where_(black_box(&mask), black_box(&x), black_box(&y)).unwrap())
    });
    // Forward and backward of `sum(silu(x) * y)`: the backward's `g * silu'(x)` rule.
    group.bench_function("silu with its gradient, same shape", |b| {
        b.iter(|| {
            let tape = penzai::nx::Tape::start().unwrap();
            let xw = tape.watch(black_box(&x)).unwrap();
            let loss = (&xw.silu().unwrap() * black_box(&y))
                .unwrap()
                .sum_all()
                .unwrap();
            tape.gradients(&loss, &[&xw]).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, contraction, softmax, broadcast_add, unary);
criterion_main!(benches);
