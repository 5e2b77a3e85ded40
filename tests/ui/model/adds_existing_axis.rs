// A layer adds an axis the input already has.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        proj: Linear(embedding: 64 -> seq: 16),
    };
}
