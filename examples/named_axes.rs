//! Named axes (Penzai's "named axes" tutorial): arrays whose axes have names, so operations
//! broadcast, contract and reduce by name, and a mistake names the axis.
//!
//! Run with `cargo run --example named_axes`; writes `named_axes.html` in the current folder.

use penzai::prelude::*;
use penzai::treescope::render_array;

fn main() -> anyhow::Result<()> {
    // An array is built with its axis names and sizes; the order is only storage.
    let x = NamedArray::normal(0, &[("batch", 2), ("seq", 5), ("embedding", 8)], 0.0, 1.0)?;
    println!("x          {}", x.named_shape());

    // Elementwise operations line axes up by name, not by position: a `{seq}` array
    // broadcasts against `{batch, seq, embedding}` whatever the order of the axes.
    let position_scale = NamedArray::arange_f32("seq", 5)?;
    let scaled = (&x * &position_scale)?;
    println!("x * {{seq}} {}", scaled.named_shape());

    // A weight matrix says which axis it reads and which it writes; `contract` sums over
    // the named axis and keeps every other one (Penzai's `nmap(jnp.dot)` in one call).
    let w = NamedArray::normal(1, &[("embedding", 8), ("hidden", 16)], 0.0, 0.3)?;
    let h = x.contract(&w, &["embedding"])?;
    println!("x . w      {}", h.named_shape());

    // Reductions and softmax take axis names too.
    let mean_over_seq = h.mean(&["seq"])?;
    let attention_like = h.softmax(&["hidden"])?;
    println!("mean(seq)  {}", mean_over_seq.named_shape());
    println!(
        "softmax over hidden sums to {:.3} per position",
        attention_like.sum(&["hidden"])?.mean_all()?.scalar_f32()?
    );

    // Positional axes are there for code written for plain arrays: `untag` makes named
    // axes positional, `tag` names them again (Penzai's `untag`/`tag`).
    let positional = h.untag(&["seq", "hidden"])?;
    println!(
        "untagged   {} + positional {:?}",
        positional.named_shape(),
        positional.positional_shape()
    );
    let renamed = positional.tag(&["position", "feature"])?;
    println!("re-tagged  {}", renamed.named_shape());

    // Indexing and slicing by name.
    let first = x.index_axis("batch", 0)?;
    let window = x.slice_axis("seq", 1..4)?;
    println!(
        "x[batch=0] {}; x[seq=1..4] {}",
        first.named_shape(),
        window.named_shape()
    );

    // A mistake is an error that names the axis and both shapes, never a silent broadcast.
    let typo = NamedArray::ones(&[("embed", 8), ("hidden", 16)])?;
    match x.contract(&typo, &["embedding"]) {
        Ok(_) => anyhow::bail!("contracting over a missing axis should fail"),
        Err(e) => println!("\nthe error a typo gives:\n  {e}"),
    }

    // Named axes carry into the viewer: a heatmap over `seq` x `hidden`, with a slider
    // for `batch`.
    let page = std::env::current_dir()?.join("named_axes.html");
    render_array(&h)
        .sliders(&["batch"])
        .title("x . w: {batch, seq, hidden}")
        .save_html(&page)?;
    println!("\nwrote {}", page.display());
    Ok(())
}
