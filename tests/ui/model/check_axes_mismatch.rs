// CheckAxes states the axes expected at a point of the pipeline.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        up: Linear(embedding: 64 -> hidden: 256),
        CheckAxes(batch, seq, hidden: 128),
    };
}
