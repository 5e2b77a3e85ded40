//! `#[axes(...)]` on derived layers: a generated `validate()` checks named axes and that
//! size variables agree across fields; `validate_all` locates failures in a model.

use penzai::nn::Parameter;
use penzai::prelude::*;
use penzai::tree::validate_all;

#[derive(Clone, Tree)]
struct HeadProjection {
    #[axes(embedding = D, heads = H, head_dim)]
    query: Parameter,
    #[axes(heads = H, head_dim, embedding = D)]
    output: Parameter,
    #[axes(heads = H, ..)]
    bias: Option<NamedArray>,
    #[axes(embedding = 4)]
    scale: NamedArray,
}

#[derive(Clone, Tree)]
struct Model {
    blocks: Vec<HeadProjection>,
}

fn param(label: &str, shape: &[(&str, usize)]) -> Parameter {
    Parameter::new(label, NamedArray::zeros(shape).unwrap())
}

fn good() -> HeadProjection {
    HeadProjection {
        query: param("q", &[("embedding", 4), ("heads", 2), ("head_dim", 3)]),
        output: param("o", &[("head_dim", 3), ("heads", 2), ("embedding", 4)]),
        bias: Some(NamedArray::zeros(&[("heads", 2), ("extra", 5)]).unwrap()),
        scale: NamedArray::ones(&[("embedding", 4)]).unwrap(),
    }
}

#[test]
fn consistent_fields_validate() {
    good().validate().unwrap();
    let mut no_bias = good();
    no_bias.bias = None;
    no_bias.validate().unwrap();
}

#[test]
fn size_variables_must_agree_across_fields() {
    let mut bad = good();
    bad.output = param("o", &[("head_dim", 3), ("heads", 5), ("embedding", 4)]);
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "output: axis \"heads\" has size 5, but H = 2 from query axis \"heads\""
    );
}

#[test]
fn missing_extra_and_fixed_size_axes_are_reported() {
    let mut bad = good();
    bad.query = param("q", &[("embedding", 4), ("head_dim", 3)]);
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "query: lacks axis \"heads\" (its axes are {embedding: 4, head_dim: 3})"
    );
    let mut bad = good();
    bad.query = param(
        "q",
        &[
            ("embedding", 4),
            ("heads", 2),
            ("head_dim", 3),
            ("extra", 1),
        ],
    );
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "query: has axis \"extra\", which its #[axes(...)] does not declare (its axes are {embedding: 4, heads: 2, head_dim: 3, extra: 1})"
    );
    let mut bad = good();
    bad.scale = NamedArray::ones(&[("embedding", 8)]).unwrap();
    bad.query = param("q", &[("embedding", 8), ("heads", 2), ("head_dim", 3)]);
    bad.output = param("o", &[("head_dim", 3), ("heads", 2), ("embedding", 8)]);
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "scale: axis \"embedding\" has size 8, expected 4 (its axes are {embedding: 8})"
    );
}

#[test]
fn validate_all_names_the_path_in_the_model() {
    let mut model = Model {
        blocks: vec![good(), good()],
    };
    validate_all(&model).unwrap();
    model.blocks[1].output = param("o", &[("head_dim", 3), ("heads", 2), ("embedding", 7)]);
    assert_eq!(
        validate_all(&model).unwrap_err().to_string(),
        "blocks[1].output: axis \"embedding\" has size 7, but D = 4 from query axis \"embedding\""
    );
}

#[test]
fn validate_all_checks_built_in_layers_too() {
    use penzai::nn::{Initializer, Linear};
    let mut lin = Linear::new(
        0,
        "up",
        &[("embedding", 4)],
        &[("hidden", 2)],
        &[],
        Initializer::Zeros,
    )
    .unwrap();
    validate_all(&lin).unwrap();
    // A Linear edited (or loaded) so that its weights lack a declared axis.
    lin.in_axes = vec!["features".into()];
    assert_eq!(
        validate_all(&lin).unwrap_err().to_string(),
        "weights: the weights {embedding: 4, hidden: 2} lack axis \"features\", listed as an input or output"
    );
}
