use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Mlp {
    up: f32,
}

#[derive(Clone, Tree)]
struct Block {
    mlp: Mlp,
}

#[derive(Clone, Tree)]
struct Model {
    blocks: Vec<Block>,
}

fn main() {
    let _path: KeyPath = Model::path().blocks().at(3).mpl().up().into();
}
