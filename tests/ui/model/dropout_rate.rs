// A dropout rate is a probability below 1.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        drop: Dropout(1.5),
        again: Dropout(-0.1),
    };
}
