use penzai::prelude::*;

#[derive(Clone, Copy, Tree)]
union Bits {
    float: f32,
    int: u32,
}

fn main() {}
