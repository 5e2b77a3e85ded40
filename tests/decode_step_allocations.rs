//! How much a greedy decode step allocates, per layer, counted with a counting global
//! allocator: a step of a deeper model may allocate more blocks (each layer returns its
//! output), but a bounded number per layer, none of them weight-sized (no weight is widened,
//! transposed or copied per step) and none cache-sized (the KV cache is written in place).
//!
//! The bounds are the counts measured when the test was written plus a quarter, so a change
//! that adds allocations to every layer's step fails here. Where the blocks come from (a
//! backtrace per allocation of one step of a 1-layer GPT-2, 858 blocks): the axis
//! bookkeeping of every nx op (`Alignment::prepare`, `NamedUnion::of`, `NamedShape::new`,
//! name checks), the gradient tape's rule records, contraction plans and `Context`'s key
//! paths; small blocks, 60 B on average.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use penzai::models::{
    GenerateOptions, Gpt2Config, LlamaConfig, TransformerLm, generate_with_progress,
};
use penzai::nn::Parameter;
use penzai::nx::DType;
use penzai::prelude::*;

/// Counts the allocations made on the thread that turned counting on (kernels' worker
/// threads are left out: the test is about what the decode loop itself allocates).
struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            let _ = BYTES.try_with(|b| b.set(b.get() + size));
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one decode step allocated.
#[derive(Clone, Copy, Debug)]
struct Step {
    count: usize,
    bytes: usize,
    largest: usize,
}

/// Counts since the last call, and starts counting afresh.
fn take_counts() -> Step {
    let step = Step {
        count: COUNT.with(|c| c.replace(0)),
        bytes: BYTES.with(|c| c.replace(0)),
        largest: LARGEST.with(|l| l.replace(0)),
    };
    ON.with(|on| on.set(true));
    step
}

const PROMPT: usize = 8;
const NEW: usize = 12;

/// The decode steps (after the prompt's and the first, which may warm up lazily made
/// state) of greedy generation with the KV cache.
fn decode_steps(model: &TransformerLm) -> Vec<Step> {
    let ids: Vec<i64> = (0..PROMPT as i64).map(|i| (i * 5) % 64).collect();
    let prompt = NamedArray::from_i64(&[("batch", 1), ("seq", PROMPT)], ids).unwrap();
    let options = GenerateOptions {
        max_new_tokens: NEW,
        ..GenerateOptions::default()
    };
    let mut steps = Vec::new();
    take_counts();
    generate_with_progress(model, &prompt, &options, &mut |_, _| {
        steps.push(take_counts());
    })
    .unwrap();
    ON.with(|on| on.set(false));
    assert_eq!(steps.len(), NEW);
    steps.split_off(2)
}

/// The largest allocation count of the steps.
fn most(steps: &[Step]) -> usize {
    steps.iter().map(|s| s.count).max().unwrap_or(0)
}

/// Checks the per-layer allocation bound from models of 1 and 3 layers, and that no step
/// allocates a block as large as `smallest_weight_bytes`.
fn check(
    family: &str,
    build: impl Fn(usize) -> TransformerLm,
    per_layer_bound: usize,
    fixed_bound: usize,
    smallest_weight_bytes: usize,
) {
    let (one, three) = (decode_steps(&build(1)), decode_steps(&build(3)));
    let per_layer = most(&three).saturating_sub(most(&one)).div_ceil(2);
    let fixed = most(&one).saturating_sub(per_layer);
    eprintln!(
        "{family}: {per_layer} allocations per layer per step, {fixed} more per step; \
         a step of 1 layer: {} blocks, {} B; of 3 layers: {} blocks, {} B",
        one[0].count, one[0].bytes, three[0].count, three[0].bytes
    );
    assert!(
        per_layer <= per_layer_bound,
        "{family}: a decode step makes {per_layer} allocations per layer (bound {per_layer_bound})"
    );
    assert!(
        fixed <= fixed_bound,
        "{family}: a decode step makes {fixed} allocations outside the layers (bound {fixed_bound})"
    );
    for (i, s) in one.iter().chain(&three).enumerate() {
        assert!(
            s.largest < smallest_weight_bytes,
            "{family}: step {i} allocated a block of {} B, as large as a weight ({smallest_weight_bytes} B)",
            s.largest
        );
    }
}

#[test]
fn llama_decode_steps_allocate_a_bounded_number_of_small_blocks_per_layer() {
    let cfg = |n_layers| LlamaConfig {
        n_layers,
        n_heads: 4,
        n_kv_heads: 2,
        head_dim: 16,
        d_model: 64,
        mlp_hidden: 128,
        ..LlamaConfig::tiny()
    };
    // The weights stay 16-bit: a step that widened a weight would allocate 2x its bytes.
    let build = |n| {
        select(TransformerLm::llama(&cfg(n), 0).unwrap())
            .at_instances_of::<Parameter>()
            .apply(|p: Parameter| Parameter::new(p.label, p.value.cast(DType::BF16).unwrap()))
            .unwrap()
    };
    // Measured 30 Nov 2026: 980 per layer, 144 outside the layers.
    check("llama (bf16)", build, 1_230, 190, 64 * 32 * 2);
}

#[test]
fn gpt2_decode_steps_allocate_a_bounded_number_of_small_blocks_per_layer() {
    let cfg = |n_layers| Gpt2Config {
        n_layers,
        d_model: 64,
        n_heads: 4,
        ..Gpt2Config::tiny()
    };
    let build = |n| TransformerLm::gpt2(&cfg(n), 0).unwrap();
    // Measured 30 Nov 2026: 648 per layer, 211 outside the layers.
    check("gpt2 (f32)", build, 810, 270, 64 * 64 * 4);
}
