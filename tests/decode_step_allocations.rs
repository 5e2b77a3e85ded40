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

mod alloc_count;

use penzai::models::{
    GenerateOptions, Gpt2Config, LlamaConfig, TransformerLm, generate_with_progress,
};
use penzai::nn::Parameter;
use penzai::nx::DType;
use penzai::prelude::*;

use alloc_count::Counts as Step;

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
    alloc_count::take();
    generate_with_progress(model, &prompt, &options, &mut |_, _| {
        steps.push(alloc_count::take());
    })
    .unwrap();
    alloc_count::stop();
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
