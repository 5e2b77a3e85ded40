// A norm needs the size of its axis to build its scale; the input does not give it.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding];
        norm: RMSNorm(over embedding),
        out: Linear(embedding -> vocabulary),
    };
}
