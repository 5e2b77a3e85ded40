use penzai::prelude::*;

#[derive(Clone, PartialEq)]
struct Config {
    width: usize,
}

#[derive(Clone, Tree)]
struct Block {
    scale: f32,
    #[tree(skip)]
    config: Config,
}

fn main() {}
