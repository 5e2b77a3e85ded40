// #[layer] goes on the impl Layer block, where it can also write Layer::signature.
use penzai::prelude::*;

#[layer(requires = [embedding])]
#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate;

impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

fn main() {}
