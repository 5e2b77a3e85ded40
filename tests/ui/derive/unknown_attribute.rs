use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block {
    #[tree(skp)]
    scale: f32,
}

fn main() {}
