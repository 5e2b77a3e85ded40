use penzai::nn::Parameter;
use penzai::prelude::*;

// Every `#[axes]` mistake is reported in one build.
#[derive(Clone, Tree)]
struct Block {
    #[axes(embedding = D, heads, embedding)]
    a: Parameter,
    #[tree(skip)]
    #[axes(heads)]
    b: NamedArray,
    #[axes(embedding: 64)]
    c: Parameter,
    #[axes]
    d: Parameter,
    #[axes(.., heads)]
    e: Parameter,
    #[axes(heads = "H")]
    f: Parameter,
}

fn main() {}
