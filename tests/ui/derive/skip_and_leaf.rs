use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block {
    #[tree(skip, leaf)]
    scale: f32,
}

fn main() {}
