//! Text in and out: tokenize a prompt with the checkpoint's tokenizer.json, generate text,
//! and look at the tokens in Treescope (per-token loss, and the logit lens's top token per
//! block and position).
//!
//! Run with `cargo run --example text [MODEL [OUT_DIR]]` (OUT_DIR: default the current folder). MODEL is a checkpoint folder with a
//! tokenizer.json or a repository id in the local HuggingFace cache (default: the tiny
//! `tests/fixtures/llama-text`, random weights and a small trained tokenizer).

use std::path::PathBuf;

use penzai::interpret::{logit_lens, next_token_loss, top_tokens};
use penzai::io::{hf, hf_cache};
use penzai::models::GenerateOptions;
use penzai::prelude::*;
use penzai::text::{Tokenizer, encode_prompt, generate_text};
use penzai::treescope::render_tokens;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let model_arg = args.next().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/llama-text").to_owned()
    });
    let out = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()?,
    };
    let dir = hf_cache::resolve_model(&model_arg)?;
    let model = hf::load(&dir)?.model;
    let tokenizer = Tokenizer::from_dir(&dir)?;

    let prompt = "Der Bäcker sagt: “日本語 🙂” and\tmore.\n";
    let encoding = tokenizer.tokenize(prompt)?;
    println!("{} tokens: {:?}", encoding.ids.len(), encoding.tokens);

    let options = GenerateOptions {
        max_new_tokens: 12,
        ..Default::default()
    };
    let generated = generate_text(&model, &tokenizer, prompt, &options)?;
    println!("generated {:?}", generated.new_text);

    // How surprising each token was to the model.
    let tokens = encode_prompt(&tokenizer, prompt)?;
    let logits = model.call(tokens.clone(), &mut Context::new())?;
    let scored = next_token_loss(&logits, &tokens)?;
    let loss_page = out.join("token_loss.html");
    render_tokens(&scored.targets, &tokenizer)?
        .scores(&scored.loss)?
        .score_label("loss")
        .title("next-token loss")
        .save_html(&loss_page)?;

    // What each block would predict at each position.
    let lens = logit_lens(&model, tokens, &mut Context::new())?;
    let top = top_tokens(&lens)?;
    let lens_view = render_tokens(&top.ids, &tokenizer)?
        .axis_order(&["batch", "layer", "seq"])?
        .scores(&top.probs)?
        .score_label("p(top)")
        .title("logit lens: top token per block and position");
    print!("{}", lens_view.to_text());
    let lens_page = out.join("logit_lens_tokens.html");
    lens_view.save_html(&lens_page)?;
    println!("wrote {} and {}", loss_page.display(), lens_page.display());
    Ok(())
}
