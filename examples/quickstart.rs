//! Quickstart, the main job end to end: build (or open) a transformer, run it, capture its
//! residual stream, ablate one attention head, see what changed, and write one page,
//! `quickstart.html` in the current folder, to open in a browser.
//!
//! ```sh
//! cargo run --example quickstart                              # a model built by model!
//! cargo run --example quickstart -- tests/fixtures/gpt2-text  # a checkpoint folder
//! ```
//!
//! The checkpoint folder holds a HuggingFace `config.json` and `model.safetensors` (GPT-2 or
//! Llama family); with a `tokenizer.json` beside them the prompt is text and the page shows
//! the tokens as text chips.

use std::collections::BTreeMap;
use std::path::Path;

use penzai::interpret::{Replacement, ablate, capture};
use penzai::io::hf;
use penzai::nn::Softmax;
use penzai::prelude::*;
use penzai::text::{Tokenizer, encode_prompt};
use penzai::treescope::{DocNode, HtmlOptions};

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1) {
        None => {
            // The axes are checked while this compiles: a step that needs an axis the
            // steps before it do not provide, or a residual body that changes the axes,
            // is a compile error at that step.
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
            // This model starts from vectors: a batch of one sequence of 6 random ones.
            let x =
                NamedArray::normal(0, &[("batch", 1), ("seq", 6), ("embedding", 32)], 0.0, 1.0)?;
            tour(model, x, None)
        }
        Some(dir) => {
            // A checkpoint becomes the same kind of tree: paths, selectors and
            // interventions below apply unchanged.
            let model = hf::load(&dir)?.model;
            let tokenizer = if Path::new(&dir).join("tokenizer.json").exists() {
                Some(Tokenizer::from_dir(&dir)?)
            } else {
                None
            };
            let tokens = match &tokenizer {
                Some(t) => encode_prompt(t, "Once upon a time, there was a")?,
                None => {
                    NamedArray::from_i64(&[("batch", 1), ("seq", 6)], vec![5, 17, 42, 8, 3, 11])?
                }
            };
            tour(model, tokens, tokenizer)
        }
    }
}

/// What the page shows beside the model: plain data, so it renders like any tree.
#[derive(Clone, Debug, Tree)]
struct Findings {
    /// The model's input (token ids read as text chips when there is a tokenizer).
    input: NamedArray,
    /// The residual stream after each block.
    residual_stream: BTreeMap<String, NamedArray>,
    /// Block 0's attention pattern (`heads x seq x kv_seq`).
    attention_pattern: NamedArray,
    /// How much the ablation moved the residual stream after each block.
    residual_change: BTreeMap<String, NamedArray>,
    /// How much it moved each logit.
    logit_change: NamedArray,
}

fn tour<M: Layer + Clone>(
    model: M,
    x: NamedArray,
    tokenizer: Option<Tokenizer>,
) -> anyhow::Result<()> {
    // 1. Run it. Every array has named axes, so shapes say what they mean.
    let logits = model.call(x.clone(), &mut Context::new())?;
    println!(
        "input  {}\noutput {}\n",
        x.named_shape(),
        logits.named_shape()
    );

    // 2. Look inside: the model is a tree of plain data and every node has a path.
    let mlp: KeyPath = "blocks[0].mlp".parse()?;
    println!("{mlp}:\n{}", treescope::to_text(model.get_at(&mlp)?));

    // 3. Capture the residual stream (each block's output) and block 0's attention
    //    pattern (the output of its softmax), each in one forward pass.
    let blocks = || {
        select(model.clone())
            .at_path("blocks")
            .map(|s| s.at_children())
    };
    let residual = capture(blocks()?, x.clone(), &mut Context::new())?.activations;
    let softmax_in_block0 = || {
        select(model.clone())
            .at_path("blocks[0]")
            .map(|s| s.at_instances_of::<Softmax>())
    };
    let patterns = capture(softmax_in_block0()?, x.clone(), &mut Context::new())?.activations;
    let (softmax_path, pattern) = patterns
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("block 0 has no attention softmax"))?;
    println!("captured the residual stream:");
    for (path, value) in &residual {
        let rms = value.square()?.mean_all()?.scalar_f32()?.sqrt();
        println!("  {path:<10} {}  rms {rms:.3}", value.named_shape());
    }
    println!(
        "and the attention pattern at {softmax_path}: {}",
        pattern.named_shape()
    );

    // 4. Ablate head 1 of block 0: zero its attention weights. The mask is named, so it
    //    broadcasts over every position. (Llama checkpoints group query heads by
    //    `kv_heads`; GPT-2 and model! attention name them `heads`.)
    let head_axis = ["heads", "kv_heads"]
        .into_iter()
        .find(|a| pattern.has_axis(a))
        .ok_or_else(|| anyhow::anyhow!("no head axis in {}", pattern.named_shape()))?;
    let n_heads = pattern.axis_size(head_axis).unwrap_or(1);
    let mut one_hot = vec![0.0; n_heads];
    one_hot[1.min(n_heads - 1)] = 1.0;
    let head = NamedArray::from_f32(&[(head_axis, n_heads)], one_hot)?;
    let ablated = ablate(softmax_in_block0()?, Replacement::Zero, Some(head))?;

    // 5. What changed: the logits, the next-token prediction and the residual stream.
    //    The original model is untouched; `ablated` is an edited copy.
    let ablated_logits = ablated.call(x.clone(), &mut Context::new())?;
    let logit_change = (&ablated_logits - &logits)?.abs()?;
    println!(
        "\nablating head 1 of block 0 (on axis `{head_axis}`) moves the logits by {:.4} on average, {:.4} at most",
        logit_change.mean_all()?.scalar_f32()?,
        logit_change.to_f32_vec().into_iter().fold(0.0, f32::max)
    );
    let last = x.axis_size("seq").unwrap_or(1) - 1;
    let top = |l: &NamedArray| -> anyhow::Result<i64> {
        let at_last = l.index_axis("seq", last)?.index_axis("batch", 0)?;
        Ok(at_last.argmax("vocabulary")?.to_i64_vec()[0])
    };
    let (before, after) = (top(&logits)?, top(&ablated_logits)?);
    let name = |id: i64| match &tokenizer {
        Some(t) => match t.decode(&[id]) {
            Ok(text) => format!("{text:?} (#{id})"),
            Err(_) => format!("#{id}"),
        },
        None => format!("#{id}"),
    };
    println!(
        "next-token prediction: {} before, {} after",
        name(before),
        name(after)
    );
    let ablated_residual = capture(
        select(ablated.clone()).at_path("blocks")?.at_children(),
        x.clone(),
        &mut Context::new(),
    )?
    .activations;
    let mut residual_change = BTreeMap::new();
    for (path, value) in &residual {
        let change = (&ablated_residual[path] - value)?;
        let rms = change.square()?.mean_all()?.scalar_f32()?.sqrt();
        println!("  residual stream after {path}: changed by rms {rms:.4}");
        residual_change.insert(path.to_string(), change);
    }

    // 6. One page: the model with the edit marked (a Treescope diff), then the captured
    //    activations as heatmaps over their named axes.
    let findings = Findings {
        input: x,
        residual_stream: residual
            .iter()
            .map(|(p, v)| (p.to_string(), v.clone()))
            .collect(),
        attention_pattern: pattern,
        residual_change,
        logit_change,
    };
    let mut options = HtmlOptions::new()
        .title("penzai quickstart")
        .preview_cells(16_384);
    if let Some(t) = tokenizer {
        options = options.tokens(t);
    }
    let edit = treescope::diff(&model, &ablated);
    let mut findings_doc = options.doc(&findings).root;
    open_heatmaps(&mut findings_doc);
    let page = options.render_doc(&treescope::Doc {
        root: DocNode {
            type_name: "quickstart".to_owned(),
            children: vec![
                keyed("edited_model", edit.doc().root.clone()),
                keyed("findings", findings_doc),
            ],
            open: Some(true),
            ..DocNode::default()
        },
    });
    let path = std::env::current_dir()?.join("quickstart.html");
    std::fs::write(&path, page)?;
    println!(
        "\nthe edit: {} inserted, {} changed; open {}",
        edit.counts().inserted,
        edit.counts().changed,
        path.display()
    );
    Ok(())
}

/// A doc node placed under a field of the page's root.
fn keyed(field: &'static str, mut node: DocNode) -> DocNode {
    node.key = Some(Key::Field(field.into()));
    node.open = Some(true);
    node
}

/// Shows every array's heatmap without waiting for a click.
fn open_heatmaps(node: &mut DocNode) {
    if let Some(array) = &mut node.array {
        array.heatmap_open = true;
    }
    for child in &mut node.children {
        open_heatmaps(child);
    }
}
