// Attention renames `seq` to `kv_seq` for its keys and values: the input cannot have it.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, seq, kv_seq, embedding: 64];
        attention: Attention(embedding -> heads: 4, projection: 16, mask = causal),
    };
}
