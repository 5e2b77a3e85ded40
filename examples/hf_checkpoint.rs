//! Load a HuggingFace checkpoint, run it, edit a weight by its label, and export the edited
//! model back to transformers' layout.
//!
//! Run with `cargo run --example hf_checkpoint -- [CHECKPOINT_DIR] [EXPORT_DIR]`; the
//! checkpoint defaults to the tiny GPT-2 fixture, and nothing is exported without a second
//! argument.

use penzai::io::hf;
use penzai::models::{GenerateOptions, generate};
use penzai::prelude::*;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpt2").to_owned());
    let loaded = hf::load(&dir)?;
    println!(
        "{}: {} model from {:?}, stored as {:?}",
        dir, loaded.architecture, loaded.files, loaded.stored_dtypes
    );

    // The model is our own TransformerLm: paths and labels are the same as a built one.
    let query = loaded
        .model
        .get_at(&"blocks[0].attn.delta.attention.query".parse()?)?;
    println!("block 0's query slot holds a {}", query.type_name());

    let prompt = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![5, 17, 42])?;
    let options = GenerateOptions {
        max_new_tokens: 8,
        ..GenerateOptions::default()
    };
    let before = generate(&loaded.model, &prompt, &options)?;
    println!("greedy continuation: {:?}", before.to_i64_vec());

    // Silence block 0's MLP by zeroing its output projection, found by label.
    let mut edited = loaded.model.clone();
    let (_, down) = penzai::nn::parameters(&edited)
        .into_iter()
        .find(|(_, p)| &*p.label == "blocks.0.mlp.down.weights")
        .ok_or_else(|| anyhow::anyhow!("no blocks.0.mlp.down.weights"))?;
    let zeros = NamedArray::zeros(down.value.named_shape())?;
    penzai::nn::set_parameter(&mut edited, "blocks.0.mlp.down.weights", &zeros);
    let after = generate(&edited, &prompt, &options)?;
    println!("without block 0's MLP:  {:?}", after.to_i64_vec());

    if let Some(out) = args.next() {
        hf::export(&edited, &loaded.config, &out)?;
        println!("exported the edited model to {out}");
    }
    Ok(())
}
