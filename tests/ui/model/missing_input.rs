// model! needs its input axes to check anything.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        up: Linear(embedding: 64 -> hidden: 256),
    };
}
