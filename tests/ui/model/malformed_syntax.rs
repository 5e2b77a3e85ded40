// Malformed steps: each is reported, with how it should be written.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Linear(embedding: 64, hidden: 256),
        norm: RMSNorm(embedding),
        act: Relu(),
        mlp: Residual ( Relu ),
    };
}
