use penzai::prelude::*;

#[derive(Clone)]
struct NotANode;

#[derive(Clone, Tree)]
struct Block {
    scale: f32,
    config: NotANode,
}

fn main() {}
