//! Selectors (Penzai's "selectors" tutorial): find parts of a model by type, path or
//! predicate, then edit them. Every edit returns a new model; the original is untouched.
//!
//! Run with `cargo run --example selectors`; writes `selectors.html` (the model with the
//! selected nodes marked) in the current folder.

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::{Identity, Linear, Parameter, RMSNorm};
use penzai::prelude::*;

fn main() -> anyhow::Result<()> {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4])?;
    let logits = model.call(tokens.clone(), &mut Context::new())?;

    // By type: every Linear, wherever it sits. `as_dyn` selects over a borrowed model.
    let linears = select(model.as_dyn()).at_instances_of::<Linear>();
    println!(
        "{} Linear layers, e.g. {}",
        linears.count(),
        linears.paths()[0]
    );

    // By path, and narrowing further: the query projection of block 1.
    let query = select(model.as_dyn()).at_path("blocks[1].attn.delta.attention.query")?;
    println!("{} holds a {}", query.paths()[0], query.get()?.type_name());

    // By predicate on path and node: the parameters whose path mentions "mlp".
    let mlp_params = select(model.as_dyn())
        .at_instances_of::<Parameter>()
        .where_(|path, _| path.to_string().contains("mlp"));
    println!("{} MLP parameters", mlp_params.count());

    // Position in tree order (`nth(-1)` is the last), and the complement (`invert`).
    let last_norm = select(model.as_dyn()).at_instances_of::<RMSNorm>().nth(-1);
    println!("the last RMSNorm is at {}", last_norm.paths()[0]);
    let not_blocks = select(model.as_dyn()).at_path("blocks")?.invert();
    println!("outside the blocks: {:?}", paths(&not_blocks));

    // `refine` looks inside each selected node with paths relative to it.
    let first_mlp_linear = select(model.as_dyn())
        .at_path("blocks")?
        .at_children()
        .refine(|block| Ok(block.at_instances_of::<Linear>().nth(-1)))?;
    println!(
        "the last Linear of each block: {:?}",
        paths(&first_mlp_linear)
    );

    // The viewer marks a selection: open the page and the selected nodes are highlighted.
    let page = std::env::current_dir()?.join("selectors.html");
    mlp_params.save_html(&page)?;
    println!("\nmarked page: {}", page.display());
    // The same, as terminal text (the first lines).
    for line in query
        .to_text()
        .lines()
        .filter(|l| l.contains("selected"))
        .take(3)
    {
        println!("  {line}");
    }

    // Edits. `try_apply` rewrites each selected node with a fallible function (`apply`
    // takes an infallible one); here every MLP weight is halved.
    let halved = select(model.clone())
        .at_instances_of::<Parameter>()
        .where_(|path, _| path.to_string().contains("mlp"))
        .try_apply(|_path, p: Parameter| -> penzai::Result<Parameter> {
            let half = (&p.value * &NamedArray::scalar(0.5))?;
            Ok(p.with_value(half))
        })?;
    let moved = max_abs_diff(&halved.call(tokens.clone(), &mut Context::new())?, &logits)?;
    println!("halving the MLP weights moves the logits by up to {moved:.4}");

    // Structural edits: insert a layer after a selected one (the slot becomes a
    // sequence), or remove steps from a sequence. The function of an inserted Identity
    // is unchanged, so the logits are too.
    let spliced = select(model.clone())
        .at_path("blocks[0].attn.delta.attention.output")?
        .insert_after(Identity)?;
    let same = max_abs_diff(&spliced.call(tokens.clone(), &mut Context::new())?, &logits)?;
    println!("after inserting an Identity the logits differ by {same}");
    let back = select(spliced)
        .at_path("blocks[0].attn.delta.attention.output")?
        .at_instances_of::<Identity>()
        .remove()?;
    let output = select(back.as_dyn()).at_path("blocks[0].attn.delta.attention.output")?;
    println!(
        "removing it again leaves a {} there; the diff against the original:",
        output.get()?.type_name()
    );
    print!("{}", treescope::diff(&model, &back).to_text());
    Ok(())
}

fn paths<R: select::SelectRoot>(s: &Selection<R>) -> Vec<String> {
    s.paths().iter().map(ToString::to_string).collect()
}

fn max_abs_diff(a: &NamedArray, b: &NamedArray) -> penzai::Result<f32> {
    Ok((a - b)?.abs()?.to_f32_vec().into_iter().fold(0.0, f32::max))
}
