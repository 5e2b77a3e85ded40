//! Branches, options, blocks with declared axes, renames and checks, with exact values.
use penzai::nn::{Activation, Elementwise};
use penzai::prelude::*;

fn doubled() -> Elementwise {
    Elementwise::new(Activation::custom("double", |v| 2.0 * v))
}

fn main() -> penzai::Result<()> {
    let width = 3;
    let model = model! {
        input: [batch, embedding: 2];
        seed = 11;
        init = Constant(0.5);

        gated: BranchAndMultiply [
            Linear(embedding -> neurons: width),
            Sequential [
                proj: Linear(embedding: 2 -> neurons: width, init = Ones),
                act: Relu,
            ],
        ],
        sum: BranchAndAdd [
            Identity,
            { doubled() } as [batch, neurons: width],
        ],
        rename: RenameAxes(neurons -> features),
        CheckAxes(batch, features: 3),
        bias: AddBias(over features, init = Constant(1.0)),
    }?;
    let x = NamedArray::ones(&[("batch", 1), ("embedding", 2)])?;
    // (0.5 * 2) * relu(1 * 2) = 2; 2 + 2 * 2 = 6; plus the bias 1 = 7.
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(y.named_shape().to_string(), "{batch: 1, features: 3}");
    assert_eq!(y.to_f32_vec(), vec![7.0; 3]);
    let with_softmax = model! {
        input: [batch, features: 3];
        Softmax(over features),
    }?;
    for v in with_softmax.call(y, &mut Context::new())?.to_f32_vec() {
        assert!((v - 1.0 / 3.0).abs() < 1e-6);
    }
    let paths: Vec<String> = model.all_paths().iter().map(ToString::to_string).collect();
    assert!(paths.contains(&"gated.branches[1].proj.weights".to_owned()));
    assert!(paths.contains(&"sum.branches[1]".to_owned()));
    Ok(())
}
