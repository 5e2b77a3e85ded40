use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block {
    #[axes(embedding = D)]
    scale: f32,
}

fn main() {}
