// model! checks the signature of the type the step names; the expression must build it.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate;

impl Gate {
    fn identity() -> penzai::nn::Identity {
        penzai::nn::Identity
    }
}

#[layer(requires = [embedding])]
impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        gate: Gate::identity(),
    };
}
