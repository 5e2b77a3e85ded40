// Attention runs along `seq`: an input without it is Attention's mistake, reported as such.
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, tokens, embedding: 64];
        attention: Attention(embedding -> heads: 4, projection: 16),
    };
}
