//! Times one HuggingFace checkpoint at real size and prints one JSON object:
//! `{"model", "load_s", "forward_s", "decode_tokens_per_s", "peak_rss_bytes", "file_bytes",
//!   "parameter_dtypes"}`, measured as tools/bench_torch_realsize.py measures transformers.
//!
//! ```text
//! cargo run --release --example bench_realsize -- /work/realsize/gpt2-small [--seq 128] [--new 32] [--dtype f32]
//! ```
//!
//! `forward_s` is batch 1 x `--seq` tokens, one warm-up then the median of 3;
//! `decode_tokens_per_s` is greedy generation of `--new` tokens from an 8-token prompt with the
//! KV cache (`0` skips it); `peak_rss_bytes` is the process's high-water mark (`VmHWM`).

use std::collections::BTreeSet;
use std::time::Instant;

use penzai::io::hf::{self, LoadOptions};
use penzai::models::{GenerateOptions, Sampling, generate};
use penzai::nn::parameters;
use penzai::nx::DType;
use penzai::prelude::*;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn tokens(n: usize, vocab: usize, seed: usize) -> anyhow::Result<NamedArray> {
    let ids = (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % vocab) as i64)
        .collect();
    Ok(NamedArray::from_i64(&[("batch", 1), ("seq", n)], ids)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("usage: bench_realsize DIR"))?;
    let seq: usize = arg(&args, "--seq").map_or(Ok(128), |s| s.parse())?;
    let new: usize = arg(&args, "--new").map_or(Ok(32), |s| s.parse())?;
    let mut options = LoadOptions::default();
    if let Some(name) = arg(&args, "--dtype") {
        options.dtype = DType::from_name(&name);
    }

    let start = Instant::now();
    let loaded = hf::load_with(&dir, &options, &mut |_, _| {})?;
    let load_s = start.elapsed().as_secs_f64();
    let model = &loaded.model;
    let vocab = match &loaded.config.architecture {
        penzai::io::Architecture::Gpt2(c) => c.vocab_size,
        penzai::io::Architecture::Llama(c) => c.vocab_size,
        _ => anyhow::bail!("unknown architecture"),
    };
    let dtypes: BTreeSet<String> = parameters(model)
        .iter()
        .map(|(_, p)| p.value.dtype().to_string())
        .collect();

    let x = tokens(seq, vocab, 1)?;
    model.call(x.clone(), &mut Context::new())?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        model.call(x.clone(), &mut Context::new())?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let forward_s = times[1];

    let decode = if new > 0 {
        let prompt = tokens(8, vocab, 2)?;
        let options = GenerateOptions {
            max_new_tokens: new,
            sampling: Sampling::Greedy,
            seed: 0,
            stop_tokens: vec![],
            use_kv_cache: true,
            ..GenerateOptions::default()
        };
        let start = Instant::now();
        generate(model, &prompt, &options)?;
        new as f64 / start.elapsed().as_secs_f64()
    } else {
        0.0
    };
    let file_bytes: u64 = loaded
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{{\"model\": {dir:?}, \"load_s\": {load_s:.3}, \"forward_s\": {forward_s:.4}, \
         \"decode_tokens_per_s\": {decode:.2}, \"peak_rss_bytes\": {}, \"file_bytes\": {file_bytes}, \
         \"parameter_dtypes\": {:?}}}",
        peak_rss_bytes(),
        dtypes
    );
    Ok(())
}
