// A misspelled built-in layer.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Lienar(embedding: 64 -> hidden: 256),
    };
}
