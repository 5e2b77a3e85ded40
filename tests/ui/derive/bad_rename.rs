use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block {
    #[tree(rename = "up-proj")]
    up: f32,
}

fn main() {}
