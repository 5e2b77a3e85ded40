// Parallel branches must end with the same axes.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        gate_up: BranchAndMultiply [
            Linear(embedding: 64 -> neurons: 256),
            Linear(embedding: 64 -> neurons: 128),
        ],
    };
}
