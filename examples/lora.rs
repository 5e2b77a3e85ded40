//! LoRA fine-tuning: wrap a model's attention projections with low-rank adapters, train only
//! the adapters on a small task, and watch the loss fall; then merge the adapters back into
//! plain `Linear`s that compute the same function.
//!
//! Run with `cargo run --release --example lora`. The loss curve is saved as
//! `lora_loss.svg` in the current folder.

use penzai::grad::{Adam, next_token_loss, train};
use penzai::interpret::{lora_trainable, loraify, merge_lora};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::Attention;
use penzai::prelude::*;

fn main() -> penzai::Result<()> {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    let mut adapted = loraify(select(model).at_instances_of::<Attention>(), 4, 1)?;
    // The task: continue a repeating pattern of token ids.
    let ids: Vec<i64> = (0..32).map(|i| [3, 1, 4, 1, 5, 9, 2, 6][i % 8]).collect();
    let tokens = NamedArray::from_i64(&[("batch", 2), ("seq", 16)], ids)?;
    let log = train(
        &mut adapted,
        &lora_trainable(),
        &mut Adam::new(2e-2),
        30,
        |m, _| next_token_loss(m, &tokens),
    )?;
    for (step, loss) in log.losses.iter().enumerate() {
        println!("step {step:>2}  loss {loss:.4}");
    }
    let plot = std::env::current_dir()?.join("lora_loss.svg");
    log.save_svg(&plot)?;
    println!("loss curve: {}", plot.display());

    let merged = merge_lora(adapted.clone())?;
    let a = adapted.call(tokens.clone(), &mut Context::new())?;
    let b = merged.call(tokens, &mut Context::new())?;
    let worst = (&a - &b)?
        .abs()?
        .to_f32_vec()
        .into_iter()
        .fold(0.0f32, f32::max);
    println!("merged vs adapter logits: max difference {worst:.2e}");
    Ok(())
}
