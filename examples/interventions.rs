//! Interventions on a small transformer: select, capture, ablate, patch, LoRA, logit lens
//! and a linear probe, each in a few lines.
//!
//! Run with `cargo run --release --example interventions`; writes `interventions.html`
//! (the patching effects as a heatmap, the selected Linears marked) and
//! `interventions_selection.html` in the current folder.

use penzai::interpret::{
    LinearProbe, LowRankAdapter, Replacement, ablate, capture, logit_difference, logit_lens,
    loraify, merge_lora, patch_sweep,
};
use penzai::models::{LlamaConfig, TransformerBlock, TransformerLm};
use penzai::nn::{Attention, Linear, Parameter, Softmax};
use penzai::prelude::*;

fn tokens(ids: &[i64]) -> penzai::Result<NamedArray> {
    Ok(NamedArray::from_i64(
        &[("batch", 1), ("seq", ids.len())],
        ids.to_vec(),
    )?)
}

fn max_abs_diff(a: &NamedArray, b: &NamedArray) -> penzai::Result<f32> {
    Ok((a - b)?.abs()?.to_f32_vec().into_iter().fold(0.0, f32::max))
}

fn main() -> anyhow::Result<()> {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    let clean = tokens(&[5, 6, 7, 8, 9])?;
    let corrupted = tokens(&[40, 6, 7, 8, 9])?;
    let logits = model.call(clean.clone(), &mut Context::new())?;

    // 1. Selection: find things by type, path or predicate; edits return a new model.
    let linears = select(model.as_dyn()).at_instances_of::<Linear>();
    println!("1. {} Linear layers; the first three:", linears.count());
    for path in &linears.paths()[..3] {
        println!("     {path}");
    }
    let cwd = std::env::current_dir()?;
    let selection_page = cwd.join("interventions_selection.html");
    linears.save_html(&selection_page)?;
    println!("   a page with them marked: {}", selection_page.display());

    // 2. Capture the residual stream after every block, in one forward pass.
    let run = capture(
        select(model.clone()).at_instances_of::<TransformerBlock>(),
        clean.clone(),
        &mut Context::new(),
    )?;
    println!("2. captured:");
    for (path, value) in &run.activations {
        let rms = (value.square()?.mean_all()?.scalar_f32()?).sqrt();
        println!("     {path:<10} {}  rms {rms:.3}", value.named_shape());
    }

    // 3. Ablation: knock out head group 0 in every attention pattern.
    let group0 = NamedArray::from_f32(&[("kv_heads", 2)], vec![1.0, 0.0])?;
    let ablated = ablate(
        select(model.clone()).at_instances_of::<Softmax>(),
        Replacement::Zero,
        Some(group0),
    )?;
    let ablated_logits = ablated.call(clean.clone(), &mut Context::new())?;
    println!(
        "3. ablating head group 0 moves the logits by up to {:.4}",
        max_abs_diff(&ablated_logits, &logits)?
    );

    // 4. Activation patching: every block x position, batched over `worlds` in one pass.
    let sweep = patch_sweep(
        select(model.clone()).at_instances_of::<TransformerBlock>(),
        &clean,
        &corrupted,
        "seq",
        |logits| logit_difference(logits, 9, 40),
        &mut Context::new(),
    )?;
    println!(
        "4. logit difference: clean {:.4}, corrupted {:.4}; effect of patching (block x position):",
        sweep.clean.mean_all()?.scalar_f32()?,
        sweep.corrupted.mean_all()?.scalar_f32()?
    );
    for site in 0..2 {
        let row = sweep.effects.index_axis("site", site)?.to_f32_vec();
        let cells: Vec<String> = row.iter().map(|v| format!("{v:+.4}")).collect();
        println!("     block {site}: {}", cells.join(" "));
    }

    // 5. LoRA on the attention projections, trained elsewhere (here: a random update),
    //    then merged back into plain Linears.
    let adapted = loraify(select(model.clone()).at_instances_of::<Attention>(), 4, 0)?;
    let adapted = select(adapted)
        .at_instances_of::<LowRankAdapter>()
        .at_path("up.weights")?
        .apply_indexed(|i, p: Parameter| {
            let update = NamedArray::normal(i as u64, p.value.named_shape(), 0.0, 0.05);
            p.with_value(update.unwrap_or_else(|_| p.value.clone()))
        })?;
    let unmerged = adapted.call(clean.clone(), &mut Context::new())?;
    let merged = merge_lora(adapted)?.call(clean.clone(), &mut Context::new())?;
    println!(
        "5. LoRA: merged vs unmerged logits differ by {:.2e}",
        max_abs_diff(&merged, &unmerged)?
    );

    // 6. Logit lens: each block's residual decoded by the final norm and unembedding.
    let lens = logit_lens(&model, clean.clone(), &mut Context::new())?;
    let last = lens.index_axis("seq", 4)?.index_axis("batch", 0)?;
    let top = last.argmax("vocabulary")?.to_i64_vec();
    println!("6. logit lens, top token at the last position per block: {top:?}");

    // 7. A linear probe on block 0's residual stream: is the token id even?
    let ids: Vec<i64> = (0..32).collect();
    let batch = NamedArray::from_i64(&[("batch", 4), ("seq", 8)], ids.clone())?;
    let acts = capture(
        select(model.clone()).at_path("blocks[0]")?,
        batch,
        &mut Context::new(),
    )?;
    let resid = &acts.activations[&"blocks[0]".parse()?];
    let even = NamedArray::from_i64(
        &[("batch", 4), ("seq", 8)],
        ids.iter().map(|i| i % 2).collect(),
    )?;
    let probe = LinearProbe::fit(resid, &even, "embedding", 1e-4)?;
    println!(
        "7. probe for 'token id is even' on blocks[0]: train accuracy {:.0}%",
        100.0 * probe.accuracy(resid, &even)?
    );

    // 8. The patching effects as a heatmap over their named axes (`site` x `seq`).
    let page = cwd.join("interventions.html");
    penzai::treescope::render_array(&sweep.effects)
        .title("effect of patching each block's output at each position on the logit difference")
        .save_html(&page)?;
    println!("8. wrote {}", page.display());
    Ok(())
}
