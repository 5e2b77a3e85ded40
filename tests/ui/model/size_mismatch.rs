// A literal size disagrees with the size an earlier step produced.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Linear(embedding: 64 -> hidden: 256),
        act: Gelu,
        down: Linear(hidden: 128 -> embedding: 64),
    };
}
