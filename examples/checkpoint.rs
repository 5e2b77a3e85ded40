//! Checkpoints (Penzai's "loading pretrained models" tutorial): load a HuggingFace folder,
//! generate from text, edit, save (our format and transformers' layout), load back, view.
//!
//! Run with `cargo run --release --example checkpoint -- [CHECKPOINT_DIR]` (default: the
//! tiny GPT-2 fixture `tests/fixtures/gpt2-text`, random weights with a small trained
//! tokenizer, so the text it writes is gibberish). Writes, in the current folder,
//! `checkpoint.html`, and the folders `checkpoint_saved/` and `checkpoint_export/`.

use penzai::io::hf;
use penzai::models::{GenerateOptions, TransformerLm};
use penzai::nn::{Parameter, parameters};
use penzai::prelude::*;
use penzai::text::{Tokenizer, encode_prompt, generate_text};
use penzai::treescope::HtmlOptions;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpt2-text").to_owned()
    });

    // Load: config.json + model.safetensors (or shards) become a TransformerLm, the same
    // tree the builders make; the tokenizer is the folder's tokenizer.json.
    let loaded = hf::load(&dir)?;
    println!(
        "{dir}: a {} checkpoint ({:?}), {} parameters",
        loaded.architecture,
        loaded.files,
        parameters(&loaded.model).len()
    );
    let model = loaded.model;
    let tokenizer = Tokenizer::from_dir(&dir)?;

    // Generate from text (greedy: the same text every run).
    let prompt = "Once upon a time";
    let options = GenerateOptions {
        max_new_tokens: 8,
        ..GenerateOptions::default()
    };
    let before = generate_text(&model, &tokenizer, prompt, &options)?;
    println!("{prompt:?} -> {:?}", before.new_text);

    // Edit: silence block 0's MLP by zeroing its output projection, found by label.
    let edited = select(model.clone())
        .at_instances_of::<Parameter>()
        .where_(|_, node| {
            node.downcast_ref::<Parameter>()
                .is_some_and(|p| &*p.label == "blocks.0.mlp.down.weights")
        })
        .assert_count(1)?
        .try_apply(|_, p: Parameter| -> penzai::Result<Parameter> {
            Ok(p.with_value(NamedArray::zeros(p.value.named_shape())?))
        })?;
    let after = generate_text(&edited, &tokenizer, prompt, &options)?;
    println!("without block 0's MLP -> {:?}", after.new_text);

    // Save in penzai's own format (structure.json + parameters.safetensors) and load it
    // back as the same type: the trees are equal.
    let cwd = std::env::current_dir()?;
    let saved = cwd.join("checkpoint_saved");
    penzai::io::save(&edited, &saved)?;
    let reloaded: TransformerLm = penzai::io::load(&saved)?;
    println!(
        "saved to {}; reloads equal: {}",
        saved.display(),
        reloaded.tree_eq(&edited)
    );

    // Export in transformers' layout, which `hf::load` (and transformers) read back.
    let exported = cwd.join("checkpoint_export");
    hf::export(&edited, &loaded.config, &exported)?;
    let round_trip = hf::load(&exported)?.model;
    let tokens = encode_prompt(&tokenizer, prompt)?;
    let a = edited.call(tokens.clone(), &mut Context::new())?;
    let b = round_trip.call(tokens.clone(), &mut Context::new())?;
    let gap = (&a - &b)?
        .abs()?
        .to_f32_vec()
        .into_iter()
        .fold(0.0, f32::max);
    println!(
        "exported to {}; its logits differ by {gap:.2e}",
        exported.display()
    );

    // View: the edited model with the token ids of the prompt as text chips.
    #[derive(Clone, Debug, Tree)]
    struct View {
        prompt: NamedArray,
        model: TransformerLm,
    }
    let page = cwd.join("checkpoint.html");
    HtmlOptions::new()
        .title("checkpoint")
        .tokens(tokenizer)
        .save_html(
            &View {
                prompt: tokens,
                model: edited,
            },
            &page,
        )?;
    println!("wrote {}", page.display());
    Ok(())
}
