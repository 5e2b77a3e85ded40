//! Treescope: print a model in the terminal and save interactive pages.
//!
//! Run with `cargo run --example treescope [OUT_DIR]` (default: the current folder); open
//! the saved `.html` files in a browser (they are self-contained and work offline).

use std::path::PathBuf;

use penzai::prelude::*;
use penzai::treescope::{self, HtmlOptions};

#[derive(Clone, Debug, Tree)]
struct Linear {
    weights: NamedArray,
    #[tree(skip)]
    activation: &'static str,
}

#[derive(Clone, Debug, Tree)]
struct Block {
    attn: Linear,
    mlp: Linear,
}

#[derive(Clone, Debug, Tree)]
struct Model {
    embed: NamedArray,
    blocks: Vec<Block>,
    #[tree(skip)]
    d_model: usize,
}

fn linear(
    seed: u64,
    input: (&str, usize),
    output: (&str, usize),
    activation: &'static str,
) -> anyhow::Result<Linear> {
    Ok(Linear {
        weights: NamedArray::normal(seed, &[input, output], 0.0, 0.02)?,
        activation,
    })
}

fn main() -> anyhow::Result<()> {
    let out = match std::env::args().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()?,
    };
    let d = 64;
    let model = Model {
        embed: NamedArray::normal(1, &[("vocab", 256), ("embedding", d)], 0.0, 1.0)?,
        blocks: (0..4)
            .map(|b| {
                Ok(Block {
                    attn: linear(10 + b, ("embedding", d), ("heads", d), "none")?,
                    mlp: linear(20 + b, ("embedding", d), ("hidden", 4 * d), "gelu")?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        d_model: d,
    };

    // The terminal view: coloured when stdout is a terminal and NO_COLOR is unset.
    print!("{}", treescope::to_text(&model));

    let page = out.join("treescope_model.html");
    HtmlOptions::new()
        .title("a small model")
        .save_html(&model, &page)?;

    let selected = treescope::to_html_with_selection(&model, &["blocks[2].mlp".parse()?]);
    std::fs::write(out.join("treescope_selection.html"), selected)?;

    let mut edited = model.clone();
    edited.blocks[1].mlp.weights =
        NamedArray::normal(99, &[("embedding", d), ("hidden", 4 * d)], 0.0, 0.02)?;
    edited.blocks.pop();
    treescope::diff(&model, &edited).save_html(out.join("treescope_diff.html"))?;

    let activations =
        NamedArray::normal(7, &[("batch", 4), ("seq", 32), ("embedding", d)], 0.0, 1.0)?;
    treescope::render_array(&activations)
        .sliders(&["batch"])
        .title("activations")
        .save_html(out.join("treescope_array.html"))?;

    println!();
    for page in ["model", "selection", "diff", "array"] {
        println!(
            "wrote {}",
            out.join(format!("treescope_{page}.html")).display()
        );
    }
    Ok(())
}
