// A step needs an axis the previous steps do not provide.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        norm: RMSNorm(over embedding),
        up: Linear(embedding: 64 -> neurons: 256),
        down: Linear(hidden: 256 -> embedding: 64),
    };
}
