// After a custom layer only the compiler knows the axes; a built-in step that does not
// fit them is still caught, from the custom layer's signature.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate;

#[layer(requires = [hidden], removes = [hidden], adds = [gate: 2])]
impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Linear(embedding: 64 -> hidden: 256),
        gate: Gate {},
        out: Linear(gate: 3 -> logits: 10),
    };
}
