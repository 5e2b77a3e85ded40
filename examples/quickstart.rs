//! Quickstart: build a small transformer with `model!`, run it, look inside, edit it.
//!
//! Run with `cargo run --example quickstart`.

use penzai::nn::{Parameter, parameters};
use penzai::prelude::*;
use penzai::treescope;

fn main() -> anyhow::Result<()> {
    // The axes are checked while this compiles: a step that needed an axis the steps
    // before it do not provide, or a residual that changed the axes, would not compile.
    let model = model! {
        input: [batch, seq, embedding: 32];
        output: [batch, seq, vocabulary: 50];

        repeat 2 as blocks {
            attn: Residual [
                norm: RMSNorm(over embedding),
                attention: Attention(embedding -> heads: 4, projection: 8, mask = causal),
            ],
            mlp: Residual [
                norm: RMSNorm(over embedding),
                up: Linear(embedding: 32 -> hidden: 64),
                act: Gelu,
                down: Linear(hidden: 64 -> embedding: 32),
            ],
        },
        final_norm: RMSNorm(over embedding),
        unembed: Linear(embedding: 32 -> vocabulary: 50),
    }?;

    // Run it on named axes.
    let x = NamedArray::normal(0, &[("batch", 2), ("seq", 6), ("embedding", 32)], 0.0, 1.0)?;
    let logits = model.call(x.clone(), &mut Context::new())?;
    println!("input  {}", x.named_shape());
    println!("output {}\n", logits.named_shape());

    // Look inside: the model is a tree of plain data, and every node has a path.
    let block: KeyPath = "blocks[0].mlp".parse()?;
    println!("{block}:\n{}", treescope::to_text(model.get_at(&block)?));
    println!("Parameters:");
    for (path, p) in parameters(&model) {
        println!("  {:<50} {}", path.to_string(), p.value.named_shape());
    }

    // Edit by path: zero the MLP output of block 1. A selection edits a copy; the
    // original model is untouched.
    let path: KeyPath = "blocks[1].mlp.delta.down.weights".parse()?;
    let zeros = NamedArray::zeros(&[("hidden", 64), ("embedding", 32)])?;
    let edited = select(model.clone())
        .at_path(path.clone())?
        .apply(|p: Parameter| p.with_value(zeros.clone()))?;

    let changed = edited.call(x, &mut Context::new())?;
    let shift = (&changed - &logits)?.abs()?.mean_all()?.to_f32_vec()[0];
    println!("\nZeroed {path}: the logits moved by {shift:.4} on average.");
    Ok(())
}
