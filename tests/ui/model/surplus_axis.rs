// The model ends with an axis its declared output does not have.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        output: [batch, seq, vocabulary: 100];
        heads: Linear(embedding: 64 -> heads: 4, vocabulary: 100),
    };
}
