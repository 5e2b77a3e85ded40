// After a custom layer, a size a built-in layer needs comes from the layer's signature;
// this signature does not give one.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Expand;

#[layer(requires = [embedding], removes = [embedding], adds = [hidden])]
impl Layer for Expand {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        expand: Expand {},
        norm: RMSNorm(over hidden),
    };
}
