//! The cost of gradients, printed as JSON lines like `bench_json`: forward, forward with a
//! recording tape, and `value_and_grad` (forward + backward) of the baseline's medium model
//! (L=12, D=256, H=8, hd=32, M=1024, V=1024; batch 4 x 128), with the peak memory each
//! allocates above the model's own parameters (a counting global allocator).
//!
//! The same step with every block checkpointed (`interpret::checkpoint`), or every residual
//! branch, and these steps with only
//! the input embedding trainable (the backward crosses every block, but returns 1 MiB of
//! gradients, so the peak is activation memory).
//!
//! Run with `cargo run --release --example bench_grad` (add `-- --quick` for fewer repeats).
//! `-- --itemize` prints instead what one block's recording keeps for its backward, node by
//! node (`Tape::release_nodes`), and the peaks of that block's recorded forward and backward.
//! The targets (issue 12): backward within 3x the forward's time, and the peak activation
//! memory of a gradient step within 3x the forward's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use penzai::grad::{Trainable, next_token_loss, value_and_grad};
use penzai::interpret::checkpoint;
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::prelude::*;

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result, its time and the peak bytes it allocated above the
/// bytes live when it started.
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    (out, seconds, PEAK.load(Ordering::Relaxed) - base)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// What one block of the medium model keeps on the tape (only the block input watched, as
/// in a checkpointed block's re-run with only the embedding trainable, or every parameter
/// of the block too): one JSON line per node that keeps any bytes, then the totals and the
/// peaks of the recorded forward and of the backward, above the bytes live before each.
fn itemize(every_parameter: bool) -> anyhow::Result<()> {
    let cfg = LlamaConfig::penzai_medium();
    let mut block = penzai::models::llama::llama_block(0, 0, &cfg)?;
    let x = NamedArray::normal(
        1,
        &[("batch", 4), ("seq", 128), ("embedding", 256)],
        0.0,
        1.0,
    )?;
    let r = NamedArray::normal(
        2,
        &[("batch", 4), ("seq", 128), ("embedding", 256)],
        0.0,
        1.0,
    )?;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let record = |block: &mut penzai::models::TransformerBlock| {
        let tape = penzai::nx::Tape::start()?;
        let xw = tape.watch(&x)?;
        let mut watched = vec![xw.clone()];
        if every_parameter {
            let params: Vec<(std::sync::Arc<str>, NamedArray)> = penzai::nn::parameters(&*block)
                .iter()
                .map(|(_, p)| (p.label.clone(), p.value.clone()))
                .collect();
            for (label, value) in params {
                let w = tape.watch(&value)?;
                penzai::nn::set_parameter(block, &label, &w);
                watched.push(w);
            }
        }
        let y = block.call(xw, &mut Context::new())?;
        Ok::<_, penzai::Error>((tape, watched, y))
    };
    let what = if every_parameter {
        "block_every_parameter"
    } else {
        "block_input_only"
    };
    let (recorded, _, forward_peak) = measure(|| record(&mut block));
    let (tape, watched, y) = recorded?;
    drop(y);
    drop(watched);
    let released = tape.release_nodes(|| LIVE.load(Ordering::Relaxed))?;
    let mut total = 0;
    for (i, node) in released.iter().enumerate() {
        total += node.bytes;
        if node.bytes >= 64 * 1024 || std::env::var_os("ITEMIZE_ALL").is_some() {
            println!(
                "{{\"itemize\": \"{what}\", \"node\": {i}, \"op\": \"{}\", \"kept_mib\": {:.2}}}",
                node.op,
                mib(node.bytes)
            );
        }
    }
    let mut block = penzai::models::llama::llama_block(0, 0, &cfg)?;
    let (tape, watched, y) = record(&mut block)?;
    let loss = (&y * &r)?.sum_all()?;
    drop(y);
    let (grads, _, backward_peak) = measure(|| {
        let wrt: Vec<&NamedArray> = watched.iter().collect();
        tape.gradients(&loss, &wrt)
    });
    grads?;
    println!(
        "{{\"itemize\": \"{what}\", \"nodes\": {}, \"kept_mib\": {:.2}, \
         \"forward_peak_mib\": {:.2}, \"backward_peak_mib\": {:.2}}}",
        released.len(),
        mib(total),
        mib(forward_peak),
        mib(backward_peak)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--itemize") {
        itemize(false)?;
        return itemize(true);
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let repeats = if quick { 1 } else { 5 };
    let medium = LlamaConfig::penzai_medium();
    let model = TransformerLm::llama(&medium, 0)?;
    let ids: Vec<i64> = (0..4 * 128).map(|i| ((i * 7919) % 1024) as i64).collect();
    let tokens = NamedArray::from_i64(&[("batch", 4), ("seq", 128)], ids)?;

    let mut forward = (vec![], 0usize);
    let mut recorded = (vec![], 0usize);
    let mut step = (vec![], 0usize);
    let mut checkpointed_step = (vec![], 0usize);
    // Only the input embedding trainable: the backward still crosses every block, but the
    // gradients it returns are 1 MiB, so the peak is activation memory.
    let embedding_only = Trainable::prefixes(["embed."]);
    let mut embedding_step = (vec![], 0usize);
    let mut embedding_checkpointed_step = (vec![], 0usize);
    // Finer: each residual branch (norm + attention, norm + MLP) checkpointed on its own.
    let residuals_model =
        checkpoint(select(model.clone()).at_instances_of::<penzai::nn::Residual>())?;
    let mut residuals_step = (vec![], 0usize);
    // Both: blocks checkpointed, and inside them each residual branch (a block's backward
    // re-runs the block, then each branch once more).
    let nested_model = checkpoint(
        select(residuals_model.clone())
            .at_path("blocks")?
            .at_children(),
    )?;
    let mut nested_step = (vec![], 0usize);
    let mut embedding_nested_step = (vec![], 0usize);
    let mut embedding_residuals_step = (vec![], 0usize);
    let checkpointed_model = checkpoint(select(model.clone()).at_path("blocks")?.at_children())?;
    // The gradients themselves (one f32 per parameter) are part of every step's peak.
    let gradient_bytes: usize = penzai::nn::parameters(&model)
        .iter()
        .map(|(_, p)| p.value.len() * 4)
        .sum();
    let mut loss_value: f32;
    for _ in 0..repeats {
        let (loss, s, peak) = measure(|| next_token_loss(&model, &tokens));
        loss_value = loss?.scalar_f32()?;
        forward.0.push(s);
        forward.1 = forward.1.max(peak);
        // The forward alone with every parameter watched: the tape's recording cost.
        let (_, s, peak) = measure(|| {
            let tape = penzai::nx::Tape::start()?;
            let watched: Vec<NamedArray> = penzai::nn::parameters(&model)
                .iter()
                .map(|(_, p)| tape.watch(&p.value))
                .collect::<Result<_, _>>()?;
            let mut copy = model.clone();
            for ((_, p), w) in penzai::nn::parameters(&model).iter().zip(&watched) {
                penzai::nn::set_parameter(&mut copy, &p.label, w);
            }
            let loss = next_token_loss(&copy, &tokens)?;
            Ok::<_, penzai::Error>(loss)
        });
        recorded.0.push(s);
        recorded.1 = recorded.1.max(peak);
        let (out, s, peak) =
            measure(|| value_and_grad(&model, &Trainable::all(), |m| next_token_loss(m, &tokens)));
        let (loss, _) = out?;
        assert!((loss - loss_value).abs() <= 1e-4 * loss_value.abs().max(1.0));
        step.0.push(s);
        step.1 = step.1.max(peak);
        let (out, s, peak) = measure(|| {
            value_and_grad(&checkpointed_model, &Trainable::all(), |m| {
                next_token_loss(m, &tokens)
            })
        });
        let (loss, _) = out?;
        assert!((loss - loss_value).abs() <= 1e-4 * loss_value.abs().max(1.0));
        checkpointed_step.0.push(s);
        checkpointed_step.1 = checkpointed_step.1.max(peak);
        for (m, trainable, acc) in [
            (&model, &embedding_only, &mut embedding_step),
            (
                &checkpointed_model,
                &embedding_only,
                &mut embedding_checkpointed_step,
            ),
            (&residuals_model, &Trainable::all(), &mut residuals_step),
            (&nested_model, &Trainable::all(), &mut nested_step),
            (&nested_model, &embedding_only, &mut embedding_nested_step),
            (
                &residuals_model,
                &embedding_only,
                &mut embedding_residuals_step,
            ),
        ] {
            let (out, s, peak) =
                measure(|| value_and_grad(m, trainable, |m| next_token_loss(m, &tokens)));
            let (loss, _) = out?;
            assert!((loss - loss_value).abs() <= 1e-4 * loss_value.abs().max(1.0));
            acc.0.push(s);
            acc.1 = acc.1.max(peak);
        }
    }
    let c = median(checkpointed_step.0);
    let (f, r, g) = (median(forward.0), median(recorded.0), median(step.0));
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "{{\"case\": \"g_forward_medium\", \"seconds\": {f:.6}, \"peak_mib\": {:.1}}}",
        mib(forward.1)
    );
    println!(
        "{{\"case\": \"g_forward_recorded_medium\", \"seconds\": {r:.6}, \"peak_mib\": {:.1}}}",
        mib(recorded.1)
    );
    println!(
        "{{\"case\": \"g_value_and_grad_medium\", \"seconds\": {g:.6}, \"peak_mib\": {:.1}, \
         \"backward_over_forward_time\": {:.2}, \"peak_over_forward_peak\": {:.2}}}",
        mib(step.1),
        (g - r) / f,
        step.1 as f64 / forward.1 as f64
    );
    // Every block checkpointed: the step re-runs each block's forward in the backward. Its
    // forward records nothing inside the blocks, so its backward is the step less the
    // no-tape forward (the re-runs count as backward).
    println!(
        "{{\"case\": \"g_value_and_grad_checkpointed_medium\", \"seconds\": {c:.6}, \"peak_mib\": {:.1}, \
         \"backward_over_forward_time\": {:.2}, \"peak_over_forward_peak\": {:.2}, \
         \"gradients_mib\": {:.1}, \"peak_without_gradients_over_forward_peak\": {:.2}}}",
        mib(checkpointed_step.1),
        (c - f) / f,
        checkpointed_step.1 as f64 / forward.1 as f64,
        mib(gradient_bytes),
        checkpointed_step.1.saturating_sub(gradient_bytes) as f64 / forward.1 as f64
    );
    for (case, acc) in [
        ("g_value_and_grad_embedding_only_medium", embedding_step),
        (
            "g_value_and_grad_checkpointed_embedding_only_medium",
            embedding_checkpointed_step,
        ),
        (
            "g_value_and_grad_residuals_checkpointed_medium",
            residuals_step,
        ),
        ("g_value_and_grad_nested_checkpointed_medium", nested_step),
        (
            "g_value_and_grad_nested_checkpointed_embedding_only_medium",
            embedding_nested_step,
        ),
        (
            "g_value_and_grad_residuals_checkpointed_embedding_only_medium",
            embedding_residuals_step,
        ),
    ] {
        println!(
            "{{\"case\": \"{case}\", \"seconds\": {:.6}, \"peak_mib\": {:.1}, \
             \"backward_over_forward_time\": {:.2}, \"peak_over_forward_peak\": {:.2}}}",
            median(acc.0.clone()),
            mib(acc.1),
            (median(acc.0) - f) / f,
            acc.1 as f64 / forward.1 as f64
        );
    }
    Ok(())
}
