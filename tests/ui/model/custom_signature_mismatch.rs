// A custom layer's #[layer] signature needs an axis that is not there: the compiler
// evaluates the check from the signature and reports it at the step.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate {
    width: f32,
}

impl Gate {
    fn new(width: f32) -> Gate {
        Gate { width }
    }
}

#[layer(requires = [hidden: 256], removes = [hidden], adds = [gate: 2])]
impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Linear(embedding: 64 -> neurons: 256),
        gate: Gate::new(0.5),
    };
}
