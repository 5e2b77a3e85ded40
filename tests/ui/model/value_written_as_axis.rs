// A bare name in a step is an axis; a Rust variable as a value is written in braces.
use penzai::prelude::*;

fn main() {
    let factor = 0.5f32;
    let eps = 1e-5;
    let _ = model! {
        input: [batch, embedding: 64];
        scale: ConstantRescale(factor),
        norm: RMSNorm(over embedding, eps = eps),
    };
    let _ = (factor, eps);
}
