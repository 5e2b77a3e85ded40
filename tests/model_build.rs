//! What `model!` builds: the same tree as the constructor calls written by hand, paths that
//! read like the syntax, labels that follow the paths, independent repeated blocks.

use penzai::nn::{
    AnyLayer, Initializer, Linear, NamedGroup, Parameter, RMSNorm, Relu, Residual, Sequential,
    Steps, parameters,
};
use penzai::prelude::*;

fn paths(model: &Sequential) -> Vec<String> {
    model.all_paths().iter().map(ToString::to_string).collect()
}

fn parameter<'a>(model: &'a Sequential, path: &str) -> &'a Parameter {
    model
        .get_at(&path.parse().unwrap())
        .unwrap()
        .downcast_ref::<Parameter>()
        .unwrap()
}

#[test]
fn expands_to_the_constructor_calls_written_by_hand() -> penzai::Result<()> {
    let from_macro = model! {
        input: [batch, seq, embedding: 8];
        seed = 3;
        norm: RMSNorm(over embedding),
        mlp: Residual [
            up: Linear(embedding: 8 -> hidden: 16),
            act: Relu,
            down: Linear(hidden: 16 -> embedding: 8, init = Zeros),
        ],
    }?;

    let init = Initializer::XAVIER_UNIFORM;
    let mut body = Steps::new();
    body.push_named(
        "up",
        AnyLayer::new(Linear::new(
            3,
            "mlp.delta.up",
            &[("embedding", 8)],
            &[("hidden", 16)],
            &[],
            init,
        )?),
    )?;
    body.push_named("act", AnyLayer::new(Relu))?;
    body.push_named(
        "down",
        AnyLayer::new(Linear::new(
            3,
            "mlp.delta.down",
            &[("hidden", 16)],
            &[("embedding", 8)],
            &[],
            Initializer::Zeros,
        )?),
    )?;
    let by_hand = Sequential::new()
        .then_named("norm", RMSNorm::new(3, "norm", &[("embedding", 8)], 1e-6)?)?
        .then_named("mlp", Residual::new(Sequential { steps: body }))?;

    assert!(from_macro.tree_eq(&by_hand));
    Ok(())
}

#[test]
fn named_steps_and_named_groups_read_as_paths() -> penzai::Result<()> {
    let model = model! {
        input: [batch, embedding: 4];
        NamedGroup "mlp" [
            up: Linear(embedding: 4 -> hidden: 8),
            Gelu,
            down: Linear(hidden: 8 -> embedding: 4),
        ],
        Sequential [ Identity ],
    }?;
    assert_eq!(
        paths(&model),
        [
            "",
            "mlp",
            "mlp.up",
            "mlp.up.weights",
            "mlp[1]",
            "mlp.down",
            "mlp.down.weights",
            "[1]",
            "[1][0]"
        ]
    );
    let group = model
        .get_at(&"mlp".parse()?)?
        .downcast_ref::<NamedGroup>()
        .unwrap();
    assert_eq!(group.name, "mlp");
    assert_eq!(
        &*parameter(&model, "mlp.up.weights").label,
        "mlp.up.weights"
    );
    Ok(())
}

#[test]
fn repeat_builds_independent_blocks_labelled_by_their_paths() -> penzai::Result<()> {
    let model = model! {
        input: [batch, embedding: 4];
        repeat 4 as blocks {
            mlp: Residual [ up: Linear(embedding: 4 -> embedding_out: 4), RenameAxes(embedding_out -> embedding) ],
        },
    }?;
    let blocks = model.get_at(&"blocks".parse()?)?;
    assert_eq!(blocks.sequence_len(), Some(4));
    let w = |i: usize| parameter(&model, &format!("blocks[{i}].mlp.delta.up.weights"));
    assert_eq!(&*w(3).label, "blocks.3.mlp.delta.up.weights");
    for i in 1..4 {
        assert_ne!(w(0).value, w(i).value, "block {i} has its own weights");
        assert!(!w(0).is_tied_to(w(i)));
    }
    for (path, p) in parameters(&model) {
        assert_eq!(
            *p.label,
            path.to_string().replace('[', ".").replace(']', "")
        );
    }
    Ok(())
}

#[test]
fn seeds_and_initializers_are_options() -> penzai::Result<()> {
    let build = |seed: u64| {
        model! {
            input: [embedding: 4];
            seed = seed;
            a: Linear(embedding: 4 -> hidden: 4),
            b: Linear(hidden: 4 -> out: 4, seed = 99),
            c: Linear(out: 4 -> last: 2, init = Constant(0.25)),
        }
    };
    let (one, two) = (build(1)?, build(2)?);
    assert_ne!(
        parameter(&one, "a.weights").value,
        parameter(&two, "a.weights").value
    );
    assert_eq!(
        parameter(&one, "b.weights").value,
        parameter(&two, "b.weights").value
    );
    assert!(
        parameter(&one, "c.weights")
            .value
            .to_f32_vec()
            .iter()
            .all(|&v| v == 0.25)
    );

    let he = model! {
        input: [embedding: 4];
        init = HE_NORMAL;
        a: Linear(embedding: 4 -> hidden: 4),
    }?;
    let expected = Linear::new(
        0,
        "a",
        &[("embedding", 4)],
        &[("hidden", 4)],
        &[],
        Initializer::HE_NORMAL,
    )?;
    assert_eq!(parameter(&he, "a.weights"), &expected.weights);
    Ok(())
}

#[test]
fn custom_layers_and_blocks_are_steps() -> penzai::Result<()> {
    #[derive(Clone, Debug, PartialEq, Tree)]
    struct Double;

    #[layer]
    impl Layer for Double {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            Ok((x * 2.0)?)
        }
    }

    let twice = Sequential::new().then(Double).then(Double);
    let model = model! {
        input: [batch, embedding: 2];
        double: Double {},
        quadruple: { twice.clone() } as [batch, embedding: 2],
    }?;
    let x = NamedArray::ones(&[("batch", 1), ("embedding", 2)])?;
    assert_eq!(
        model.call(x, &mut Context::new())?.to_f32_vec(),
        vec![8.0, 8.0]
    );
    assert_eq!(
        paths(&model),
        ["", "double", "quadruple", "quadruple[0]", "quadruple[1]"]
    );
    assert_eq!(
        Double.signature().map(|s| s.to_string()).as_deref(),
        Some("requires [], removes [], adds []")
    );
    Ok(())
}

#[test]
fn a_model_runs_on_its_declared_input() -> penzai::Result<()> {
    let model = model! {
        input: [batch, seq, embedding: 8];
        output: [batch, seq, embedding: 8];
        norm: RMSNorm(over embedding),
        attn: Residual [
            Attention(embedding -> heads: 2, projection: 4, mask = causal),
        ],
    }?;
    let x = NamedArray::normal(1, &[("batch", 2), ("seq", 3), ("embedding", 8)], 0.0, 1.0)?;
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(
        y.named_shape().to_string(),
        "{batch: 2, seq: 3, embedding: 8}"
    );
    Ok(())
}
