//! Prints one JSON object per benchmark case, named like the Penzai baseline's cases
//! (`/work/shared/reference/penzai-baseline.md`), so the two can be compared side by side.
//!
//! Run with `cargo run --release --example bench_json` (add `-- --quick` for fewer repeats).
//! Each `seconds` is the median of `repeats` timed calls; `first` cases time one cold call.

use std::time::Instant;

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::{Identity, Initializer, Linear, Parameter};
use penzai::prelude::*;
use penzai::select::select;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(repeats);
    let mut last = None;
    for _ in 0..repeats {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    // `repeats` is at least 1, so `last` is set.
    (median(times), last.expect("at least one repeat"))
}

fn report(case: &str, seconds: f64, extra: &str) {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    println!("{{\"case\": \"{case}\", \"seconds\": {seconds:.6}{extra}}}");
}

fn tokens(batch: usize, seq: usize, vocab: usize) -> anyhow::Result<NamedArray> {
    let ids: Vec<i64> = (0..batch * seq)
        .map(|i| ((i * 7919) % vocab) as i64)
        .collect();
    Ok(NamedArray::from_i64(
        &[("batch", batch), ("seq", seq)],
        ids,
    )?)
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = |n: usize| if quick { n.div_ceil(4).max(1) } else { n };

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
    let big = LlamaConfig {
        vocab_size: 1024,
        d_model: 256,
        n_layers: 12,
        n_heads: 8,
        n_kv_heads: 8,
        head_dim: 32,
        mlp_hidden: 1024,
        ..LlamaConfig::tiny()
    };

    let (s, small_model) = time(1, || TransformerLm::llama(&small, 0));
    report("a_build_small_first", s, "");
    let small_model = small_model?;
    let (s, _) = time(reps(5), || TransformerLm::llama(&small, 0));
    report("a_build_small", s, "");

    let x = tokens(1, 32, 256)?;
    let (s, _) = time(1, || small_model.call(x.clone(), &mut Context::new()));
    report("b_forward_small_first", s, "");
    let (s, _) = time(reps(20), || {
        small_model.call(x.clone(), &mut Context::new())
    });
    report("b_forward_small", s, "");

    let (s, big_model) = time(1, || TransformerLm::llama(&big, 0));
    report("c_build_big", s, "");
    let big_model = big_model?;
    let x = tokens(4, 128, 1024)?;
    let (s, _) = time(1, || big_model.call(x.clone(), &mut Context::new()));
    report("c_forward_big_first", s, "");
    let (s, out) = time(reps(10), || big_model.call(x.clone(), &mut Context::new()));
    out?;
    report(
        "c_forward_big",
        s,
        &format!("\"tokens_per_s\": {:.0}", 512.0 / s),
    );

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
    );
    let (s, count) = time(reps(50), || {
        select(big_model.as_dyn())
            .at_instances_of::<Linear>()
            .count()
    });
    report("d_select_count_linear", s, &format!("\"count\": {count}"));
    let (s, _) = time(reps(50), || {
        select(big_model.as_dyn())
            .at_instances_of::<Parameter>()
            .count()
    });
    report("d_select_count_parameters", s, "");
    let (s, _) = time(reps(20), || {
        select(big_model.clone())
            .at_instances_of::<Linear>()
            .insert_after(Identity)
    });
    report("d_insert_after_linear_identity", s, "");
    let (s, _) = time(reps(20), || {
        select(big_model.clone())
            .at_instances_of::<Linear>()
            .apply(|l: Linear| l)
    });
    report("d_apply_linear_identity_fn", s, "");

    let (s, html) = time(reps(5), || penzai::treescope::to_html(&big_model));
    report(
        "e_treescope_model_html",
        s,
        &format!("\"bytes\": {}", html.len()),
    );
    let (s, text) = time(reps(5), || penzai::treescope::to_text_plain(&big_model));
    report(
        "e_treescope_model_text",
        s,
        &format!("\"bytes\": {}", text.len()),
    );
    let array = NamedArray::normal(0, &[("rows", 512), ("columns", 512)], 0.0, 1.0)?;
    let (s, page) = time(reps(5), || {
        penzai::treescope::render_array(&array).to_html()
    });
    report(
        "e_render_array_512",
        s,
        &format!("\"bytes\": {}", page.len()),
    );

    let sites = || {
        select(big_model.clone())
            .at_path("blocks")
            .map(|s| s.at_children())
    };
    let (s, _) = time(reps(20), || -> anyhow::Result<_> {
        Ok(penzai::interpret::with_captures(sites()?)?)
    });
    report("f_capture_insert", s, "");
    let (s, captured) = time(reps(5), || {
        penzai::interpret::capture(
            sites().expect("blocks exist"),
            x.clone(),
            &mut Context::new(),
        )
    });
    report(
        "f_capture_forward",
        s,
        &format!("\"captures\": {}", captured?.activations.len()),
    );

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
    report("g_linear64", s, "");

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
    );
    Ok(())
}
