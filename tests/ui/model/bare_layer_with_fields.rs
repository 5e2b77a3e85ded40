// A layer with fields cannot be built from its name alone.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate {
    width: f32,
}

#[layer]
impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok((x * self.width)?)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        gate: Gate,
    };
}
