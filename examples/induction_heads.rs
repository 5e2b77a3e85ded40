//! Induction heads (Penzai's "induction heads" tutorial): feed a random sequence twice and
//! score every attention head by how much, in the repeat, it attends to the token after the
//! earlier copy of the current token (induction) and to the previous token.
//!
//! Run with `cargo run --release --example induction_heads -- [CHECKPOINT_DIR]` (default:
//! the tiny GPT-2 fixture in `tests/fixtures/gpt2-text`, whose random weights have no
//! induction heads: try a real GPT-2 folder). Writes `induction_heads.html` in the current
//! folder: the scores per block and head, and the attention patterns.

use std::collections::BTreeMap;

use penzai::interpret::capture;
use penzai::io::hf;
use penzai::nn::Softmax;
use penzai::prelude::*;
use penzai::treescope::HtmlOptions;

/// Length of the random half; the model sees it twice.
const HALF: usize = 12;

/// What the page shows.
#[derive(Clone, Debug, Tree)]
struct Analysis {
    /// The tokens: a random sequence, then the same again.
    tokens: NamedArray,
    /// Mean attention from each repeated token to the token after its first copy,
    /// by block (`layer`) and head.
    induction_score: NamedArray,
    /// Mean attention to the previous token, by block and head.
    previous_token_score: NamedArray,
    /// Every block's attention pattern, by the path of its softmax.
    patterns: BTreeMap<String, NamedArray>,
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpt2-text").to_owned()
    });
    let model = hf::load(&dir)?.model;

    // The vocabulary size is the size of the logits' `vocabulary` axis.
    let probe = NamedArray::from_i64(&[("batch", 1), ("seq", 1)], vec![0])?;
    let vocab = model
        .call(probe, &mut Context::new())?
        .axis_size("vocabulary")
        .unwrap_or(2);
    let half = random_ids(HALF, vocab as u64);
    let ids: Vec<i64> = half.iter().chain(half.iter()).copied().collect();
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", ids.len())], ids)?;

    // One forward pass records every attention pattern (the softmax outputs).
    let run = capture(
        select(model.clone()).at_instances_of::<Softmax>(),
        tokens.clone(),
        &mut Context::new(),
    )?;

    // Masks over (query `seq`, key `kv_seq`) that pick the cells to average: the token
    // after the first copy (offset HALF - 1 back), and the previous token (offset 1).
    let n = 2 * HALF;
    let induction_mask = diagonal_mask(n, HALF - 1, HALF..n)?;
    let previous_mask = diagonal_mask(n, 1, HALF..n)?;

    let mut induction = Vec::new();
    let mut previous = Vec::new();
    let mut patterns = BTreeMap::new();
    for (path, pattern) in &run.activations {
        // Named axes make this independent of the layout: whatever head axes the pattern
        // has (`heads`, or `kv_heads` and `q_rep` in grouped attention) survive the sum.
        let score = |mask: &NamedArray| -> penzai::Result<NamedArray> {
            Ok((&(pattern * mask)?
                .sum(&["seq", "kv_seq"])?
                .mean(&["batch"])?
                / &NamedArray::scalar(HALF as f32))?)
        };
        induction.push(score(&induction_mask)?);
        previous.push(score(&previous_mask)?);
        patterns.insert(path.to_string(), pattern.clone());
    }
    let induction_score = NamedArray::stack(&induction, "layer")?;
    let previous_token_score = NamedArray::stack(&previous, "layer")?;

    println!(
        "{} on {} tokens (a random half of {HALF}, twice)",
        dir,
        tokens.named_shape()
    );
    println!("induction score      {}", induction_score.named_shape());
    print_rows(&induction_score)?;
    println!(
        "previous-token score {}",
        previous_token_score.named_shape()
    );
    print_rows(&previous_token_score)?;

    let analysis = Analysis {
        tokens,
        induction_score,
        previous_token_score,
        patterns,
    };
    let page = std::env::current_dir()?.join("induction_heads.html");
    HtmlOptions::new()
        .title("induction heads")
        .preview_cells(16_384)
        .save_html(&analysis, &page)?;
    println!("wrote {}", page.display());
    Ok(())
}

/// `{seq, kv_seq}` with a 1 at `(q, q - offset)` for each query position `q` in `rows`.
fn diagonal_mask(
    n: usize,
    offset: usize,
    rows: std::ops::Range<usize>,
) -> penzai::Result<NamedArray> {
    let mut cells = vec![0.0f32; n * n];
    for q in rows {
        cells[q * n + (q - offset)] = 1.0;
    }
    Ok(NamedArray::from_f32(&[("seq", n), ("kv_seq", n)], cells)?)
}

/// Prints one line per block.
fn print_rows(scores: &NamedArray) -> penzai::Result<()> {
    for layer in 0..scores.axis_size("layer").unwrap_or(0) {
        let row = scores.index_axis("layer", layer)?.to_f32_vec();
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.3}")).collect();
        println!("  block {layer}: {}", cells.join(" "));
    }
    Ok(())
}

/// `n` pseudo-random ids in `1..vocab` (a fixed-seed xorshift; no dependency needed).
fn random_ids(n: usize, vocab: u64) -> Vec<i64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (1 + state % (vocab.max(2) - 1)) as i64
        })
        .collect()
}
