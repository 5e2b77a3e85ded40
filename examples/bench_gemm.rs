//! Prints one JSON object per contraction shape: penzai's `contract` in GFLOP/s, beside
//! ndarray's `general_mat_mul` (the `matrixmultiply` kernel penzai used before) on the same
//! shape, and the decode (matrix x vector) path in GB/s of weights read.
//!
//! Threads: set `RAYON_NUM_THREADS` (penzai) and `MATMUL_NUM_THREADS` (matrixmultiply) to the
//! same count, e.g.
//! `RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1 cargo run --release --example bench_gemm`.
//!
//! Each figure is work per second of wall time (`*_gflops`) and, because the machines this
//! runs on are shared, also per second of this process's CPU time (`*_cpu`: the work divided by
//! user + system time of all threads, from `/proc/self/stat`), which other processes taking
//! the cores do not dilute. `tools/sgemm_numpy.py` prints numpy's figures the same way.

use std::time::Instant;

use ndarray::{Array2, linalg::general_mat_mul};
use penzai::nx::{DType, NamedArray};

/// This process's CPU time (all threads, user + system), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Median wall seconds of one call (batches long enough to be measurable), and CPU seconds
/// per call over all batches.
fn seconds(mut f: impl FnMut()) -> (f64, f64) {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.3 / once) as usize).clamp(1, 1000);
    let cpu_start = cpu_seconds();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    let cpu = (cpu_seconds() - cpu_start) / (7 * reps) as f64;
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], cpu)
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
                NamedArray::normal(
                    1,
                    &[("heads", nb), ("embedding", k), ("hidden", n)],
                    0.0,
                    1.0,
                )?,
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
        let g = |t: f64| flops / t / 1e9;
        println!(
            "{{\"case\": \"gemm\", \"threads\": \"{threads}\", \"shape\": \"{nb}x[{m}x{k}]x[{k}x{n}]\", \
             \"penzai_gflops\": {:.1}, \"penzai_cpu\": {:.1}, \"penzai_bf16_weights_gflops\": {:.1}, \
             \"penzai_bf16_weights_cpu\": {:.1}, \"matrixmultiply_gflops\": {:.1}, \"matrixmultiply_cpu\": {:.1}}}",
            g(ours.0),
            g(ours.1),
            g(ours_bf16.0),
            g(ours_bf16.1),
            g(mm.0),
            g(mm.1)
        );
    }
    // Decode: one token through a weight of HF layout [out, in] (contracted axis contiguous,
    // `decode_matvec`) and of GPT-2's `Conv1D` layout [in, out] (output axis contiguous,
    // `decode_matvec_rows`), f32 and bf16; reported as GB/s of weights streamed.
    let out_in = [
        (768usize, 2304usize),
        (768, 50257),
        (2048, 8192),
        (8192, 2048),
    ];
    let in_out = [(768usize, 2304usize), (768, 3072), (3072, 768)];
    let cases = out_in
        .iter()
        .map(|&s| ("decode_matvec", s, false))
        .chain(in_out.iter().map(|&s| ("decode_matvec_rows", s, true)));
    for (case, (k, n), rows_contiguous) in cases {
        let x = NamedArray::normal(0, &[("embedding", k)], 0.0, 1.0)?;
        let (axes, shape) = if rows_contiguous {
            (
                [("embedding", k), ("hidden", n)],
                format!("[{k}] x [{k}x{n}]"),
            )
        } else {
            (
                [("hidden", n), ("embedding", k)],
                format!("[{k}] x [{n}x{k}]"),
            )
        };
        let w = NamedArray::normal(1, &axes, 0.0, 1.0)?;
        let w16 = w.cast(DType::BF16)?;
        let f32_s = seconds(|| {
            x.contract(&w, &["embedding"]).expect("contract");
        });
        let bf16_s = seconds(|| {
            x.contract(&w16, &["embedding"]).expect("contract");
        });
        println!(
            "{{\"case\": \"{case}\", \"threads\": \"{threads}\", \"shape\": \"{shape}\", \
             \"f32_gb_per_s\": {:.1}, \"bf16_gb_per_s\": {:.1}, \"f32_cpu\": {:.1}, \"bf16_cpu\": {:.1}}}",
            (k * n * 4) as f64 / f32_s.0 / 1e9,
            (k * n * 2) as f64 / bf16_s.0 / 1e9,
            (k * n * 4) as f64 / f32_s.1 / 1e9,
            (k * n * 2) as f64 / bf16_s.1 / 1e9
        );
    }
    Ok(())
}
