//! A unit-struct custom layer with a `#[layer]` signature is a step by its name alone,
//! like `Gelu`; layers print under the name the docs use.
use penzai::prelude::*;

/// Sums the `neurons` axis into one value per row.
#[derive(Clone, Debug, PartialEq, Tree)]
struct Pool;

#[layer(requires = [neurons], removes = [neurons], adds = [pooled: 1])]
impl Layer for Pool {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x.sum(&["neurons"])?.insert_axis("pooled")?)
    }
}

fn main() -> penzai::Result<()> {
    let model = model! {
        input: [batch, embedding: 4];
        up: Linear(embedding: 4 -> neurons: 8),
        act: Gelu,
        pool: Pool,
        out: Linear(pooled -> logits: 2),
    }?;
    let y = model.call(NamedArray::ones(&[("batch", 3), ("embedding", 4)])?, &mut Context::new())?;
    assert_eq!(y.named_shape().to_string(), "{batch: 3, logits: 2}");
    assert_eq!(model.get_at(&"act".parse()?)?.type_name(), "Gelu");
    assert_eq!(model.get_at(&"pool".parse()?)?.type_name(), "Pool");
    Ok(())
}
