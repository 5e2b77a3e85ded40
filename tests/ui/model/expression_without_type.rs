// model! must know a step's axis signature: free functions and blocks need help.
use penzai::prelude::*;

mod layers {
    pub fn make(n: usize) -> penzai::nn::Identity {
        let _ = n;
        penzai::nn::Identity
    }
}

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        a: layers::make(3),
        b: { layers::make(3) },
    };
}
