// A linear map's weights cannot have the same axis as input and output.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        mix: Linear(embedding -> embedding: 64),
    };
}
