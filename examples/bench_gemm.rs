//! Prints one JSON object per contraction shape: penzai's `contract` in GFLOP/s, beside
//! ndarray's `general_mat_mul` (the `matrixmultiply` kernel penzai used before) on the same
//! shape, and the decode (matrix x vector) path in GB/s of weights read.
//!
//! Threads: set `RAYON_NUM_THREADS` (penzai) and `MATMUL_NUM_THREADS` (matrixmultiply) to the
//! same count, e.g.
//! `RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1 cargo run --release --example bench_gemm`.

use std::time::Instant;

use ndarray::{Array2, linalg::general_mat_mul};
use penzai::nx::{DType, NamedArray};

/// Median seconds of one call, timing batches long enough to be measurable.
fn seconds(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.2 / once) as usize).clamp(1, 1000);
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    // (batch, m, k, n): square, transformer projections, attention heads, the medium model.
    let shapes: &[(usize, usize, usize, usize)] = &[
        (1, 1024, 1024, 1024),
        (1, 512, 1024, 1024),
        (1, 128, 2048, 8192),
        (1, 128, 2048, 2048),
        (1, 128, 768, 3072),
        (1, 512, 256, 1024),
        (1, 512, 1024, 256),
        (32, 128, 64, 128),
        (32, 128, 128, 64),
        (32, 128, 32, 128),
    ];
    for &(nb, m, k, n) in shapes {
        let flops = 2.0 * (nb * m * k * n) as f64;
        let (x, w) = if nb == 1 {
            (
                NamedArray::normal(0, &[("seq", m), ("embedding", k)], 0.0, 1.0)?,
                NamedArray::normal(1, &[("embedding", k), ("hidden", n)], 0.0, 1.0)?,
            )
        } else {
            (
                NamedArray::normal(0, &[("heads", nb), ("seq", m), ("embedding", k)], 0.0, 1.0)?,
                NamedArray::normal(1, &[("heads", nb), ("embedding", k), ("hidden", n)], 0.0, 1.0)?,
            )
        };
        let ours = seconds(|| {
            x.contract(&w, &["embedding"]).expect("contract");
        });
        let w16 = w.cast(DType::BF16)?;
        let ours_bf16 = seconds(|| {
            x.contract(&w16, &["embedding"]).expect("contract");
        });
        let a = Array2::<f32>::from_shape_fn((m, k), |(i, j)| ((i * 7 + j) % 13) as f32);
        let b = Array2::<f32>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 11) as f32);
        let mut c = Array2::<f32>::zeros((m, n));
        let mm = seconds(|| {
            for _ in 0..nb {
                general_mat_mul(1.0, &a, &b, 0.0, &mut c);
            }
        });
        println!(
            "{{\"case\": \"gemm\", \"threads\": \"{threads}\", \"shape\": \"{nb}x[{m}x{k}]x[{k}x{n}]\", \
             \"penzai_gflops\": {:.1}, \"penzai_bf16_weights_gflops\": {:.1}, \"matrixmultiply_gflops\": {:.1}}}",
            flops / ours / 1e9,
            flops / ours_bf16 / 1e9,
            flops / mm / 1e9
        );
    }
    // Decode: one token through a weight of HF layout [out, in] (contracted axis contiguous),
    // f32 and bf16; reported as GB/s of weights streamed.
    for &(k, n) in &[(768usize, 2304usize), (768, 50257), (2048, 8192), (8192, 2048)] {
        let x = NamedArray::normal(0, &[("embedding", k)], 0.0, 1.0)?;
        let w = NamedArray::normal(1, &[("hidden", n), ("embedding", k)], 0.0, 1.0)?;
        let w16 = w.cast(DType::BF16)?;
        let f32_s = seconds(|| {
            x.contract(&w, &["embedding"]).expect("contract");
        });
        let bf16_s = seconds(|| {
            x.contract(&w16, &["embedding"]).expect("contract");
        });
        println!(
            "{{\"case\": \"decode_matvec\", \"threads\": \"{threads}\", \"shape\": \"[{k}] x [{n}x{k}]\", \
             \"f32_gb_per_s\": {:.1}, \"bf16_gb_per_s\": {:.1}}}",
            (k * n * 4) as f64 / f32_s / 1e9,
            (k * n * 2) as f64 / bf16_s / 1e9
        );
    }
    Ok(())
}
