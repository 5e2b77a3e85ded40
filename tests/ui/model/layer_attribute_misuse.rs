// Every mistake in a #[layer(...)] signature is reported in one build.
use penzai::prelude::*;

#[derive(Clone, Debug, PartialEq, Tree)]
struct Gate;

#[layer(requires = [hidden, hidden], removes = [seq: 4], adds = [hidden], keeps = [seq])]
impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }
}

#[derive(Clone, Debug, PartialEq, Tree)]
struct Scale;

#[layer(requires = [embedding])]
impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }

    fn signature(&self) -> Option<penzai::nn::Signature> {
        None
    }
}

fn main() {}
