// Attention projects its input to head axes: an input that already has one cannot work.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, heads: 4, embedding: 64];
        attention: Attention(embedding -> heads: 4, projection: 16),
    };
}
