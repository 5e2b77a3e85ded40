// A mistake in a repeated body is reported once, at the step, not once per block.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        repeat 12 as blocks {
            norm: RMSNorm(over embedding),
            mlp: Residual [
                up: Linear(embedding: 64 -> neurons: 256),
                down: Linear(hidden: 256 -> embedding: 64),
            ],
        },
    };
}
