// `repeat 1` and `repeat 0` check their body like any other count: a block feeds the next.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        repeat 1 as once {
            up: Linear(embedding: 64 -> hidden: 64),
        },
    };
    let _ = model! {
        input: [batch, embedding: 64];
        repeat 0 as never {
            up: Linear(embedding: 64 -> hidden: 64),
        },
    };
}
