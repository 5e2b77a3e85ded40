use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block {
    attn: f32,
    #[tree(rename = "attn")]
    attention: f32,
}

fn main() {}
