//! Custom layers (Penzai's "how to think in penzai" and "writing layers" tutorials): a layer
//! is a plain struct that derives `Tree`, implements `Layer`, and states its axis signature
//! with `#[layer(..)]`, so `model!` checks the steps around it while the code compiles.
//!
//! Run with `cargo run --example custom_layer`; writes `custom_layer.html` in the current
//! folder.

use penzai::nn::{Parameter, parameters};
use penzai::prelude::*;

/// Sums the `hidden` axis into a `pooled` axis of size 1, scaled by `scale`.
///
/// `#[derive(Tree)]` makes it a tree node: it prints, renders, has paths, and selectors
/// find it by type. `scale` is a plain leaf here; `#[tree(skip)]` would make it static
/// configuration instead (shown in the header, not a child).
#[derive(Clone, Debug, PartialEq, Tree)]
struct Pool {
    scale: f32,
}

impl Pool {
    fn new(scale: f32) -> Pool {
        Pool { scale }
    }
}

// The signature: the axes the layer needs, takes away and adds. `model!` reads it at
// compile time; every run checks the layer kept it.
#[layer(requires = [hidden], removes = [hidden], adds = [pooled: 1])]
impl Layer for Pool {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok((x.sum(&["hidden"])?.insert_axis("pooled")? * self.scale)?)
    }
}

/// A learned gain per `embedding` feature: a layer with a parameter, which
/// `nn::parameters` lists and `treescope` shows with its label.
#[derive(Clone, Debug, PartialEq, Tree)]
struct Gain {
    gains: Parameter,
}

#[layer(requires = [embedding])]
impl Layer for Gain {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok((&x * &self.gains.value)?)
    }
}

fn main() -> anyhow::Result<()> {
    // Custom layers are steps like the built-in ones. After `pool` the compiler knows
    // the axes from `Pool`'s signature: `out` must read `pooled: 1`.
    //
    // A mistake is a compile error at the step. In tests/ui/model/after_custom_layer.rs a
    // custom `Gate` layer declares `adds = [gate: 2]` and the next step reads `gate: 3`;
    // rustc says (copied from that test's reviewed .stderr snapshot):
    //
    //   error[E0080]: evaluation panicked: Linear needs input axis 'gate' of size 3, but
    //                 the axes here are [batch, gate: 2] (after step 1 'gate')
    //     --> tests/ui/model/after_custom_layer.rs:20:21
    //      |
    //   20 |         out: Linear(gate: 3 -> logits: 10),
    //      |                     ^^^^^^^ evaluation of `main::_` failed here
    let model = model! {
        input: [batch, embedding: 4];
        up: Linear(embedding: 4 -> hidden: 8),
        act: Relu,
        pool: Pool::new(0.5),
        out: Linear(pooled: 1 -> logits: 2),
    }?;
    let x = NamedArray::normal(0, &[("batch", 3), ("embedding", 4)], 0.0, 1.0)?;
    let y = model.call(x.clone(), &mut Context::new())?;
    println!("{} -> {}", x.named_shape(), y.named_shape());

    // The signature is data too.
    let pool = Pool::new(1.0);
    if let Some(signature) = pool.signature() {
        println!("Pool: {signature}");
    }

    // Models are data, so a custom layer can also be spliced into a built model: a Gain
    // (all ones, so nothing changes yet) in front of `up`.
    let gain = Gain {
        gains: Parameter::new("gain.gains", NamedArray::ones(&[("embedding", 4)])?),
    };
    let with_gain = select(model.clone()).at_path("up")?.insert_before(gain)?;
    let same = with_gain.call(x.clone(), &mut Context::new())?;
    println!(
        "with a unit Gain in front the output is unchanged: {}",
        (&same - &y)?.abs()?.to_f32_vec().iter().all(|d| *d == 0.0)
    );
    for (path, p) in parameters(&with_gain) {
        println!(
            "  {:<14} {:<14} {}",
            path.to_string(),
            &*p.label,
            p.value.named_shape()
        );
    }

    // Outside model!, a custom layer given the wrong axes is an error naming the axis.
    let wrong = NamedArray::ones(&[("batch", 3), ("neurons", 8)])?;
    match Pool::new(1.0).call(wrong, &mut Context::new()) {
        Ok(_) => anyhow::bail!("a Pool without `hidden` should fail"),
        Err(e) => println!("without `hidden`: {e}"),
    }

    print!("\n{}", treescope::to_text(&with_gain));
    let page = std::env::current_dir()?.join("custom_layer.html");
    treescope::save_html(&with_gain, &page)?;
    println!("wrote {}", page.display());
    Ok(())
}
