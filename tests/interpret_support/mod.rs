//! Shared helpers of the `interpret_*` tests: a tiny model, token ids, runs, differences.
#![allow(dead_code)] // each test file uses a different subset

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::prelude::*;

/// The tiny Llama-style model every interpret test starts from.
pub fn tiny() -> TransformerLm {
    TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap()
}

/// One row of token ids, `{batch: 1, seq}`.
pub fn tokens(ids: &[i64]) -> NamedArray {
    NamedArray::from_i64(&[("batch", 1), ("seq", ids.len())], ids.to_vec()).unwrap()
}

/// Runs `model` on `x` in a fresh context.
pub fn run(model: &dyn Layer, x: NamedArray) -> NamedArray {
    Context::new().run(model, x).unwrap()
}

/// The largest absolute elementwise difference.
pub fn max_abs_diff(a: &NamedArray, b: &NamedArray) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .to_f32_vec()
        .into_iter()
        .fold(0.0, f32::max)
}
