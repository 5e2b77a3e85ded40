#![deny(warnings, missing_docs)]
//! model! in a function, in a module and in a generic function compiles without any warning,
//! with nothing in scope but the prelude; sizes may be Rust expressions.

mod blocks {
    use penzai::prelude::*;

    /// A two-layer MLP over `embedding`, as wide as asked.
    pub fn mlp(width: usize) -> Result<penzai::nn::Sequential> {
        model! {
            input: [batch, embedding: 8];
            up: Linear(embedding: 8 -> hidden: width),
            act: Gelu,
            down: Linear(hidden: width -> embedding: 8),
        }
    }
}

fn scaled<T: Into<f32>>(factor: T) -> penzai::Result<penzai::nn::Sequential> {
    let factor: f32 = factor.into();
    penzai::model! {
        input: [batch, embedding: 8];
        ConstantRescale({factor}),
        // Repeats without parameters, and with none at all, leave nothing unused.
        repeat 2 { Identity },
        repeat 0 as nothing { Relu },
    }
}

fn main() {
    use penzai::prelude::*;
    let mlp = blocks::mlp(16).unwrap();
    let x = NamedArray::ones(&[("batch", 3), ("embedding", 8)]).unwrap();
    let y = mlp.call(x.clone(), &mut Context::new()).unwrap();
    assert_eq!(y.named_shape().to_string(), "{batch: 3, embedding: 8}");
    let hidden: KeyPath = "up.weights".parse().unwrap();
    assert_eq!(
        mlp.get_at(&hidden).unwrap().downcast_ref::<penzai::nn::Parameter>().unwrap().value.named_shape().to_string(),
        "{embedding: 8, hidden: 16}"
    );
    let twice = scaled(2.0f32).unwrap().call(x, &mut Context::new()).unwrap();
    assert!(twice.to_f32_vec().iter().all(|&v| v == 2.0));
}
