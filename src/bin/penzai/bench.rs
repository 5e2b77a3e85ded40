//! `penzai bench`: timings printed as JSON, one object per line.
//!
//! With no `--model`: the cases of the Penzai 0.2.5 baseline
//! (`/work/shared/reference/penzai-baseline.md`), under the same case names, so the two can be
//! read side by side (`examples/bench_json.rs` prints the same lines), then the cost of a
//! gradient step on the big model (`i_*`: forward loss, `value_and_grad`, their ratio).
//!
//! With `--model DIR`: one object for that checkpoint,
//! `{"load_s", "forward_s", "decode_tokens_per_s", "view_s", "peak_rss_bytes", "file_bytes", ..}`
//! plus the machine's measured memory bandwidth and the decode rate against the ceiling it
//! sets (decode reads every weight once per token, so it cannot beat bandwidth / weight bytes).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use penzai::grad::{Trainable, next_token_loss, value_and_grad};
use penzai::io::hf::{self, LoadOptions};
use penzai::models::{GenerateOptions, LlamaConfig, Sampling, TransformerLm};
use penzai::nn::{Identity, Initializer, Linear, Parameter};
use penzai::nx::{DType, Storage};
use penzai::prelude::*;
use penzai::select::select;
use serde_json::json;

/// The arguments of `penzai bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// A HuggingFace checkpoint folder to time at its real size (else: the Penzai-baseline
    /// cases on built models).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Tokens of the timed forward pass (batch 1).
    #[arg(long, default_value_t = 128)]
    pub seq: usize,
    /// Tokens to generate greedily (with the KV cache) from an 8-token prompt; 0 skips decode.
    #[arg(long, default_value_t = 32)]
    pub new: usize,
    /// Convert the checkpoint's parameters to this dtype at load (f32, f16, bf16); by default
    /// they keep their stored width.
    #[arg(long, value_name = "DTYPE")]
    pub dtype: Option<String>,
    /// Fewer repeats of the baseline cases (a quick look, not a measurement).
    #[arg(long)]
    pub quick: bool,
    /// MiB read to measure memory bandwidth (far beyond the caches: the default is 1 GiB,
    /// read by every core at once, best of 3).
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub bandwidth_mib: usize,
}

/// Runs `penzai bench`, printing through `print` one JSON line at a time.
pub fn run(args: &BenchArgs, print: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    match &args.model {
        None => baseline_cases(args.quick, print),
        Some(dir) => {
            let dtype = match args.dtype.as_deref() {
                None => None,
                Some(name) => match DType::from_name(name) {
                    Some(d @ (DType::F32 | DType::F16 | DType::BF16)) => Some(d),
                    _ => bail!("--dtype {name:?} is not one of f32, f16, bf16"),
                },
            };
            if args.seq == 0 {
                bail!("--seq must be at least 1");
            }
            if args.bandwidth_mib == 0 {
                bail!("--bandwidth-mib must be at least 1");
            }
            let bandwidth_bytes = args.bandwidth_mib << 20;
            print(checkpoint(dir, args.seq, args.new, dtype, bandwidth_bytes)?.to_string())
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The median of `repeats` (at least 1) timed calls, and the last call's result.
fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(repeats);
    let mut last = f_timed(&mut f, &mut times);
    for _ in 1..repeats {
        last = f_timed(&mut f, &mut times);
    }
    (median(times), last)
}

fn f_timed<T>(f: &mut impl FnMut() -> T, times: &mut Vec<f64>) -> T {
    let start = Instant::now();
    let out = f();
    times.push(start.elapsed().as_secs_f64());
    out
}

fn case_line(case: &str, seconds: f64, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!("{{\"case\": \"{case}\", \"seconds\": {seconds:.6}{extra}}}")
}

/// Token ids `{batch, seq}` spread over the vocabulary, the same on every run.
fn tokens(batch: usize, seq: usize, vocab: usize, seed: usize) -> Result<NamedArray> {
    let ids: Vec<i64> = (0..batch * seq)
        .map(|i| ((i * 7919 + seed * 104_729) % vocab) as i64)
        .collect();
    Ok(NamedArray::from_i64(
        &[("batch", batch), ("seq", seq)],
        ids,
    )?)
}

/// The Penzai-baseline cases: build, forward (first and warm), selectors, Treescope,
/// captures, one small Linear, the cost of the run-time signature check, and a gradient step.
pub fn baseline_cases(quick: bool, print: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    let reps = |n: usize| if quick { n.div_ceil(4).max(1) } else { n };
    let mut report = |case: &str, s: f64, extra: &str| print(case_line(case, s, extra));

    // The baseline's "small" model: L=2, D=64, H=4, hd=16, M=256, V=256; batch 1, seq 32.
    let small = LlamaConfig {
        vocab_size: 256,
        d_model: 64,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 4,
        head_dim: 16,
        mlp_hidden: 256,
        ..LlamaConfig::tiny()
    };
    // The "big" one: L=12, D=256, H=8, hd=32, M=1024, V=1024; batch 4, seq 128.
    let big = LlamaConfig::penzai_medium();

    let (s, small_model) = time(1, || TransformerLm::llama(&small, 0));
    report("a_build_small_first", s, "")?;
    let small_model = small_model?;
    let (s, _) = time(reps(5), || TransformerLm::llama(&small, 0));
    report("a_build_small", s, "")?;

    let x = tokens(1, 32, 256, 0)?;
    let (s, out) = time(1, || small_model.call(x.clone(), &mut Context::new()));
    out?;
    report("b_forward_small_first", s, "")?;
    let (s, _) = time(reps(20), || {
        small_model.call(x.clone(), &mut Context::new())
    });
    report("b_forward_small", s, "")?;

    let (s, big_model) = time(1, || TransformerLm::llama(&big, 0));
    report("c_build_big", s, "")?;
    let big_model = big_model?;
    let x = tokens(4, 128, 1024, 0)?;
    let (s, out) = time(1, || big_model.call(x.clone(), &mut Context::new()));
    out?;
    report("c_forward_big_first", s, "")?;
    let (s, out) = time(reps(10), || big_model.call(x.clone(), &mut Context::new()));
    out?;
    report(
        "c_forward_big",
        s,
        &format!("\"tokens_per_s\": {:.0}", 512.0 / s),
    )?;

    let params = penzai::nn::parameters(&big_model);
    let n_params: usize = params.iter().map(|(_, p)| p.value.len()).sum();
    let mut nodes = 0usize;
    big_model.walk(&mut |_, _| {
        nodes += 1;
        Walk::Continue
    });
    report(
        "d_tree_nodes",
        0.0,
        &format!(
            "\"nodes\": {nodes}, \"parameters\": {}, \"parameter_values\": {n_params}",
            params.len()
        ),
    )?;
    let (s, count) = time(reps(50), || {
        select(big_model.as_dyn())
            .at_instances_of::<Linear>()
            .count()
    });
    report("d_select_count_linear", s, &format!("\"count\": {count}"))?;
    let (s, _) = time(reps(50), || {
        select(big_model.as_dyn())
            .at_instances_of::<Parameter>()
            .count()
    });
    report("d_select_count_parameters", s, "")?;
    let (s, out) = time(reps(20), || {
        select(big_model.clone())
            .at_instances_of::<Linear>()
            .insert_after(Identity)
    });
    out?;
    report("d_insert_after_linear_identity", s, "")?;
    let (s, out) = time(reps(20), || {
        select(big_model.clone())
            .at_instances_of::<Linear>()
            .apply(|l: Linear| l)
    });
    out?;
    report("d_apply_linear_identity_fn", s, "")?;
    let (s, _) = time(reps(20), || big_model.clone());
    report("d_clone_model", s, "")?;

    let (s, html) = time(reps(5), || penzai::treescope::to_html(&big_model));
    report(
        "e_treescope_model_html",
        s,
        &format!("\"bytes\": {}", html.len()),
    )?;
    let (s, text) = time(reps(5), || penzai::treescope::to_text_plain(&big_model));
    report(
        "e_treescope_model_text",
        s,
        &format!("\"bytes\": {}", text.len()),
    )?;
    let array = NamedArray::normal(0, &[("rows", 512), ("columns", 512)], 0.0, 1.0)?;
    let (s, page) = time(reps(5), || {
        penzai::treescope::render_array(&array).to_html()
    });
    report(
        "e_render_array_512",
        s,
        &format!("\"bytes\": {}", page.len()),
    )?;

    let sites = || {
        select(big_model.clone())
            .at_path("blocks")
            .map(|s| s.at_children())
    };
    let (s, out) = time(reps(20), || -> Result<_> {
        Ok(penzai::interpret::with_captures(sites()?)?)
    });
    out?;
    report("f_capture_insert", s, "")?;
    let (s, captured) = time(reps(5), || -> Result<_> {
        Ok(penzai::interpret::capture(
            sites()?,
            x.clone(),
            &mut Context::new(),
        )?)
    });
    report(
        "f_capture_forward",
        s,
        &format!("\"captures\": {}", captured?.activations.len()),
    )?;

    let linear = Linear::new(
        0,
        "g",
        &[("embedding", 64)],
        &[("out", 64)],
        &[],
        Initializer::XAVIER_UNIFORM,
    )?;
    let v = NamedArray::normal(1, &[("embedding", 64)], 0.0, 1.0)?;
    let (s, _) = time(reps(2000), || linear.call(v.clone(), &mut Context::new()));
    report("g_linear64", s, "")?;

    // The check every run makes of a layer that states a signature: its cost per call (a
    // checked call of `Identity` minus a plain one, on the big forward's activation), and
    // that cost times the checked calls of one big forward, against the forward itself.
    let activation = NamedArray::normal(
        2,
        &[("batch", 4), ("seq", 128), ("embedding", 256)],
        0.0,
        1.0,
    )?;
    let calls = 20_000;
    let (checked, _) = time(reps(5), || {
        let mut cx = Context::new();
        for _ in 0..calls {
            let _ = penzai::nn::flow::call_checked(&Identity, activation.clone(), &mut cx);
        }
    });
    let (plain, _) = time(reps(5), || {
        let mut cx = Context::new();
        for _ in 0..calls {
            let _ = Identity.call(activation.clone(), &mut cx);
        }
    });
    let per_call = ((checked - plain) / calls as f64).max(0.0);
    let mut checked_layers = 0usize;
    big_model.walk(&mut |_, node| {
        if node.as_layer().is_some_and(|l| l.signature().is_some()) {
            checked_layers += 1;
        }
        Walk::Continue
    });
    let forward = time(reps(5), || big_model.call(x.clone(), &mut Context::new())).0;
    report(
        "h_signature_check",
        per_call,
        &format!(
            "\"checked_calls_per_big_forward\": {checked_layers}, \"big_forward_seconds\": {forward:.6}, \"percent_of_big_forward\": {:.4}",
            100.0 * per_call * checked_layers as f64 / forward
        ),
    )?;

    // The non-finite check the CLI turns on: one scan of every layer's output, measured as
    // the big forward with the check against the same forward without it.
    let (with_check, _) = time(reps(5), || {
        big_model.call(x.clone(), &mut Context::new().with_finite_check(true))
    });
    report(
        "h_finite_check",
        with_check,
        &format!(
            "\"big_forward_seconds\": {forward:.6}, \"percent_of_big_forward\": {:.4}",
            100.0 * (with_check - forward) / forward
        ),
    )?;

    // Gradients (issue 12's cost target: the backward within 3x the forward's time). The
    // loss is the mean next-token cross-entropy; every parameter is trainable. Peak memory
    // is measured by `examples/bench_grad.rs`, which counts allocations.
    let (s_loss, loss) = time(reps(5), || next_token_loss(&big_model, &x));
    loss?;
    report("i_loss_forward_big", s_loss, "")?;
    let (s_grad, grads) = time(reps(5), || {
        value_and_grad(&big_model, &Trainable::all(), |m| next_token_loss(m, &x))
    });
    let (_, grads) = grads?;
    report(
        "i_value_and_grad_big",
        s_grad,
        &format!(
            "\"parameters\": {}, \"backward_over_forward_time\": {:.2}",
            grads.len(),
            (s_grad - s_loss) / s_loss
        ),
    )?;
    // The same step with every block checkpointed (its activations recomputed in the
    // backward instead of kept, which is what holds the peak near the forward's): every
    // parameter trainable, then only the input embedding (the backward still crosses every
    // block, as attribution's does, but makes no weight gradients).
    let checkpointed =
        penzai::interpret::checkpoint(select(big_model.clone()).at_path("blocks")?.at_children())?;
    let embedding_only = Trainable::prefixes(["embed."]);
    for (case, trainable) in [
        ("i_value_and_grad_checkpointed_big", Trainable::all()),
        (
            "i_value_and_grad_checkpointed_embedding_only_big",
            embedding_only,
        ),
    ] {
        let (s, out) = time(reps(5), || {
            value_and_grad(&checkpointed, &trainable, |m| next_token_loss(m, &x))
        });
        out?;
        report(
            case,
            s,
            &format!(
                "\"backward_over_forward_time\": {:.2}",
                (s - s_loss) / s_loss
            ),
        )?;
    }
    Ok(())
}

/// The process's peak resident memory so far (`VmHWM`), 0 where /proc is not available.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Memory read bandwidth in bytes per second: the best of 3 reads of a `bytes`-long buffer
/// split over every available core (summing 32-bit words, which vectorizes, so the read is
/// the bound, not the arithmetic).
pub fn memory_bandwidth(bytes: usize) -> f64 {
    let words = (bytes / 4).max(1);
    // Written, not zeroed by calloc, so every page is really there before the timed reads.
    let buffer: Vec<u32> = (0..words).map(|i| i as u32).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = words.div_ceil(threads);
    let mut best = f64::INFINITY;
    let mut checksum = 0u32;
    for _ in 0..3 {
        let start = Instant::now();
        let sums: Vec<u32> = std::thread::scope(|scope| {
            let handles: Vec<_> = buffer
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().fold(0u32, |a, &w| a.wrapping_add(w))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        best = best.min(start.elapsed().as_secs_f64());
        checksum = sums.iter().fold(checksum, |a, &s| a.wrapping_add(s));
    }
    // Keeps the sums alive, so the reads cannot be optimized away.
    std::hint::black_box(checksum);
    (words * 4) as f64 / best
}

/// Times one checkpoint at real size (see the module comment for what each figure is).
fn checkpoint(
    dir: &Path,
    seq: usize,
    new: usize,
    dtype: Option<DType>,
    bandwidth_bytes: usize,
) -> Result<serde_json::Value> {
    if !hf::is_checkpoint_dir(dir) {
        bail!(
            "{} is not a HuggingFace checkpoint folder (config.json with model.safetensors or \
             model.safetensors.index.json)",
            dir.display()
        );
    }
    let mut options = LoadOptions::default();
    options.dtype = dtype;
    let start = Instant::now();
    let loaded = hf::load_with(dir, &options, &mut |_, _| {})?;
    let load_s = start.elapsed().as_secs_f64();
    let model = &loaded.model;
    let vocab = loaded.config.architecture.vocab_size();
    let params = penzai::nn::parameters(model);
    // Bytes of distinct parameter storage: a tied embedding and output head share one
    // buffer, which decoding reads once per token.
    let mut seen = std::collections::BTreeSet::new();
    let weight_bytes: usize = params
        .iter()
        .filter(|(_, p)| seen.insert((storage_address(&p.value), p.value.len())))
        .map(|(_, p)| p.value.len() * p.value.dtype().size_bytes())
        .sum();

    let x = tokens(1, seq, vocab, 1)?;
    model.call(x.clone(), &mut Context::new())?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        model.call(x.clone(), &mut Context::new())?;
        times.push(start.elapsed().as_secs_f64());
    }
    let forward_s = median(times);

    // Decode: the whole greedy generation (prompt included, as transformers' `generate` is
    // timed), and the steady rate of the steps after the prompt's, which the bandwidth
    // ceiling applies to.
    let (decode, step_rate) = if new > 0 {
        let prompt = tokens(1, 8, vocab, 2)?;
        let options = GenerateOptions {
            max_new_tokens: new,
            sampling: Sampling::Greedy,
            use_kv_cache: true,
            ..GenerateOptions::default()
        };
        let start = Instant::now();
        let mut first_token_at = None;
        penzai::models::generate_with_progress(model, &prompt, &options, &mut |done, _| {
            if done == 1 {
                first_token_at = Some(Instant::now());
            }
        })?;
        let end = Instant::now();
        let total = (end - start).as_secs_f64();
        let steps = match first_token_at {
            Some(t) if new > 1 => (new - 1) as f64 / (end - t).as_secs_f64(),
            _ => new as f64 / total,
        };
        (new as f64 / total, steps)
    } else {
        (0.0, 0.0)
    };

    let peak_before_view = peak_rss_bytes();
    let start = Instant::now();
    let page = penzai::treescope::to_html(model);
    let view_s = start.elapsed().as_secs_f64();
    drop(page);

    // Read before the bandwidth buffer raises it.
    let peak_rss = peak_rss_bytes();
    let file_bytes: u64 = loaded
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bandwidth = memory_bandwidth(bandwidth_bytes);
    let ceiling = bandwidth / weight_bytes.max(1) as f64;
    let dtypes: std::collections::BTreeSet<String> = params
        .iter()
        .map(|(_, p)| p.value.dtype().to_string())
        .collect();
    Ok(json!({
        "model": dir.display().to_string(),
        "load_s": round(load_s, 4),
        "forward_s": round(forward_s, 4),
        "seq": seq,
        "decode_tokens_per_s": round(decode, 3),
        "decode_step_tokens_per_s": round(step_rate, 3),
        "new_tokens": new,
        "view_s": round(view_s, 4),
        "peak_rss_bytes": peak_rss,
        "peak_rss_before_view_bytes": peak_before_view,
        "file_bytes": file_bytes,
        "weight_bytes": weight_bytes,
        "parameter_dtypes": dtypes,
        "memory_bandwidth_bytes_per_s": bandwidth.round(),
        "decode_ceiling_tokens_per_s": round(ceiling, 3),
        "decode_ratio_to_ceiling": round(step_rate / ceiling, 3),
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    }))
}

/// Where an array's first element lives (arrays sharing a buffer share it).
fn storage_address(x: &NamedArray) -> usize {
    match x.storage() {
        Storage::F32(a) => a.as_ptr() as usize,
        Storage::F16(a) => a.as_ptr() as usize,
        Storage::BF16(a) => a.as_ptr() as usize,
        Storage::I64(a) => a.as_ptr() as usize,
        Storage::Bool(a) => a.as_ptr() as usize,
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}
