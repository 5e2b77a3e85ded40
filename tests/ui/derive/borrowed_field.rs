use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Block<'a> {
    name: &'a str,
}

fn main() {}
