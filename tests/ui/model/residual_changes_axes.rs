// A residual body must end with the axes it started with.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        mlp: Residual [
            up: Linear(embedding: 64 -> hidden: 256),
            act: Relu,
        ],
    };
}
