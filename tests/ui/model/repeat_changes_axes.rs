// Each repeated block feeds the next, so the body must end with the axes it started with.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        repeat 3 as blocks {
            up: Linear(embedding: 64 -> hidden: 64),
        },
    };
}
