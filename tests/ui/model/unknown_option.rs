// Options a layer does not have, and declarations model! does not know.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        seeds = 3;
        up: Linear(embedding: 64 -> hidden: 256, inti = Zeros),
        norm: RMSNorm(over hidden, init = Ones),
    };
}
