use penzai::prelude::*;

// Every mistake is reported in one build.
#[derive(Clone, Tree)]
#[tree(skip)]
struct Block {
    #[tree]
    a: f32,
    #[tree(bound = "T: Clone")]
    b: f32,
    #[tree(skip, rename = "c2")]
    c: f32,
    #[tree(rename = 3)]
    d: f32,
}

fn main() {}
