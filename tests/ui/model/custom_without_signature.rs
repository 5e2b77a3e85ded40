// A custom layer without #[layer] states no signature, so model! cannot check it.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Probe;

impl Layer for Probe {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        probe: Probe {},
    };
}
