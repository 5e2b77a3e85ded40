//! `Softplus`, the built-in layer added in one file (`nn/activation.rs`): `model!` takes it as
//! a bare step, it saves and loads with no registration, and it prints under its name.

use penzai::nn::{Sequential, Softplus};
use penzai::prelude::*;

fn model() -> penzai::Result<Sequential> {
    model! {
        input: [batch, features: 4];
        up: Linear(features: 4 -> hidden: 8),
        smooth: Softplus,
    }
}

#[test]
fn softplus_is_a_bare_model_step_with_positive_outputs() {
    let model = model().unwrap();
    let x = NamedArray::normal(3, &[("batch", 2), ("features", 4)], 0.0, 4.0).unwrap();
    let y = model.call(x, &mut Context::new()).unwrap();
    assert_eq!(y.named_shape().to_string(), "{batch: 2, hidden: 8}");
    assert!(y.to_f32_vec().iter().all(|v| *v > 0.0), "{y:?}");
}

#[test]
fn softplus_saves_loads_and_prints_under_its_name() {
    let model = model().unwrap();
    let saved = penzai::io::save_to_memory(&model).unwrap();
    let structure = String::from_utf8(saved.structure.clone()).unwrap();
    assert!(structure.contains(r#""type": "Softplus""#), "{structure}");
    let back: Sequential = penzai::io::load_from_memory(saved).unwrap();
    assert!(back.tree_eq(&model));
    assert_eq!(
        select(back.clone()).at_instances_of::<Softplus>().count(),
        1
    );
    let text = treescope::to_text_plain(&back);
    assert!(text.contains("smooth: Softplus"), "{text}");
}
