// Branches are reached by position; a name would not show in paths.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        ffn: BranchAndAdd [
            gate: Linear(embedding: 64 -> embedding_out: 64),
            Linear(embedding: 64 -> embedding_out: 64),
        ],
    };
}
