// A function call or a variable is not a layer type: model! asks for a block with axes.
use penzai::prelude::*;

fn mlp_block(width: usize) -> penzai::nn::Identity {
    let _ = width;
    penzai::nn::Identity
}

fn main() {
    let block = penzai::nn::Identity;
    let _ = model! {
        input: [batch, embedding: 64];
        a: mlp_block(3),
        b: block,
    };
}
