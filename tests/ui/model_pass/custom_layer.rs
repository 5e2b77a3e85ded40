//! A custom layer states its signature with #[layer]; model! checks the steps around it
//! at compile time, and the same signature is there at run time.
use penzai::nn::{Sequential, Steps};
use penzai::prelude::*;

/// Sums the `neurons` axis into a `pooled` axis of size 1.
#[derive(Clone, Debug, PartialEq, Tree)]
struct Pool {
    scale: f32,
}

impl Pool {
    fn new(scale: f32) -> Pool {
        Pool { scale }
    }
}

#[layer(requires = [neurons], removes = [neurons], adds = [pooled: 1])]
impl Layer for Pool {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok((x.sum(&["neurons"])?.insert_axis("pooled")? * self.scale)?)
    }
}

fn main() -> penzai::Result<()> {
    let model = model! {
        input: [batch, embedding: 4];
        init = Ones;
        up: Linear(embedding: 4 -> neurons: 3),
        pool: Pool::new(0.5),
        // After a custom layer the compiler knows the axes: this size comes from `Pool`'s
        // signature (`pooled: 1`).
        bias: AddBias(over pooled),
        out: Linear(pooled: 1 -> logits: 2),
    }?;
    let x = NamedArray::ones(&[("batch", 2), ("embedding", 4)])?;
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(y.named_shape().to_string(), "{batch: 2, logits: 2}");
    // Each neuron is 4 (four ones times weights of one); pooled: 0.5 * 3 * 4 = 6; the bias
    // is zero; each logit sums the one pooled value with a weight of one.
    assert_eq!(y.to_f32_vec(), vec![6.0; 4]);

    let pool = Pool::new(1.0);
    let sig = pool.signature().expect("#[layer] writes Layer::signature");
    assert_eq!(sig.to_string(), "requires [neurons], removes [neurons], adds [pooled: 1]");
    let declared = <Pool as penzai::nn::HasSignature>::SIGNATURE;
    assert_eq!(declared.adds.to_string(), "[pooled: 1]");

    // Built by hand, the same pipeline is checked at run time through the signature.
    let mut steps = Steps::new();
    steps.push_named("pool", AnyLayer::new(Pool::new(1.0)))?;
    let err = Sequential::checked("[batch, embedding: 4]", steps).unwrap_err();
    assert_eq!(
        err.root_cause().to_string(),
        "Pool needs input axis 'neurons', but the axes here are [batch, embedding: 4] (at the input)"
    );
    Ok(())
}
