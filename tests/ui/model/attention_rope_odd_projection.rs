// RoPE rotates pairs of entries: the per-head axis it rotates needs an even size.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, embedding: 64];
        attention: Attention(embedding -> heads: 4, projection: 7, rope = 10_000.0),
    };
}
