//! Quickstart: build a small model tree, look inside it, edit it by path.
//!
//! Run with `cargo run --example quickstart`.

use penzai::prelude::*;

#[derive(Clone, Debug, Tree)]
struct Linear {
    scale: f32,
    #[tree(skip)]
    name: String,
}

#[derive(Clone, Debug, Tree)]
struct Block {
    up: Linear,
    down: Linear,
}

#[derive(Clone, Debug, Tree)]
struct Model {
    blocks: Vec<Block>,
}

fn main() -> anyhow::Result<()> {
    let linear = |name: &str, scale: f32| Linear {
        scale,
        name: name.to_owned(),
    };
    let model = Model {
        blocks: (0..2)
            .map(|i| Block {
                up: linear("up", i as f32),
                down: linear("down", 1.0),
            })
            .collect(),
    };

    println!("The model as a tree:\n{:?}\n", model.as_dyn());
    println!("Every node's path:");
    for path in model.all_paths() {
        println!(
            "  {:<24} {}",
            path.to_string(),
            model.get_at(&path)?.type_name()
        );
    }

    // A typed path is checked by the compiler; its text form parses back.
    let path: KeyPath = Model::path().blocks().at(1).up().scale().into();
    let mut edited = model.clone();
    edited.replace_at(&path, Box::new(10.0f32))?;
    println!("\nAfter setting {path} to 10: {:?}", edited.as_dyn());
    Ok(())
}
