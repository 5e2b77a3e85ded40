//! The rough edges a newcomer hit (issue 10, item 7), each checked as a user meets it. The
//! ones `model!` catches at compile time are trybuild cases in `tests/ui/model/`:
//! `function_call_step` (the "unknown layer" message suggests `{ f() } as [axes]`),
//! `mistake_inside_repeat` (steps count from 0, the enclosing group path is named),
//! `repeat_once_checks_body` (`repeat 0` and `repeat 1` check their body), `dropout_rate`,
//! `linear_same_axis`; and `tests/ui/model_pass/unit_custom_layer.rs` (a unit-struct custom
//! layer is a bare step).

use penzai::nn::{ConstantRescale, Dropout, Gelu, Initializer, Linear, Sequential};
use penzai::prelude::*;

/// f32 options print as written (`0.1`), not as their f64 widening
/// (`0.10000000149011612`): in `Debug`, in Treescope (text and HTML) and in a saved model.
#[test]
fn f32_options_print_shortest_round_trip() {
    let model = Sequential::new()
        .then(Dropout::new(0.1).unwrap())
        .then(ConstantRescale { by: 0.3 });
    let widened = "0.10000000149011612";
    let debug = format!("{model:?}");
    assert!(
        debug.contains("rate=0.1") && debug.contains("by=0.3") && !debug.contains(widened),
        "{debug}"
    );
    let text = treescope::to_text_plain(&model);
    assert!(
        text.contains("rate: f32 = 0.1") && text.contains("by: f32 = 0.3"),
        "{text}"
    );
    assert!(
        !text.contains(widened) && !text.contains("0.30000001"),
        "{text}"
    );
    let html = treescope::to_html(&model);
    assert!(!html.contains(widened) && !html.contains("0.30000001"));
    let saved = penzai::io::save_to_memory(&model).unwrap();
    let structure = String::from_utf8(saved.structure).unwrap();
    assert!(structure.contains(r#""rate": 0.1"#), "{structure}");
    assert!(!structure.contains(widened), "{structure}");
}

/// The name a layer prints is the name the docs and `model!` use.
#[test]
fn layers_print_under_the_names_the_docs_use() {
    assert_eq!(Gelu.type_name(), "Gelu");
    let model = model! {
        input: [batch, embedding: 4];
        act: Gelu,
    }
    .unwrap();
    let text = treescope::to_text_plain(&model);
    assert!(text.contains("act: Gelu"), "{text}");
    let from_enum = penzai::nn::Activation::GeluExact.layer();
    assert_eq!(from_enum.type_name(), "Gelu");
}

/// A rate outside [0, 1) is an error where the layer is built from a value (not only in
/// `model!` at compile time): at construction, when a field set later runs, and when a saved
/// one is loaded.
#[test]
fn dropout_rate_outside_zero_one_is_an_error() {
    let x = NamedArray::ones(&[("features", 4)]).unwrap();
    for rate in [1.0, 1.5, -0.1, f32::NAN] {
        let err = Dropout::new(rate).unwrap_err();
        assert!(err.to_string().contains("rate"), "{rate}: {err}");
        let mut drop = Dropout::new(0.5).unwrap();
        drop.rate = rate;
        let err = drop.call(x.clone(), &mut Context::new()).unwrap_err();
        assert!(err.to_string().contains("rate"), "{rate}: {err}");
    }
    fn build(rate: f32) -> penzai::Result<Sequential> {
        model! {
            input: [batch, features: 4];
            drop: Dropout({rate}),
        }
    }
    let err = build(2.0).unwrap_err().to_string();
    assert!(err.contains("rate"), "{err}");
}

/// `Linear` from an axis to itself explains, with an example, that the output axis needs
/// another name (then `RenameAxes`).
#[test]
fn linear_from_an_axis_to_itself_explains_the_rename() {
    let err = Linear::new(
        0,
        "mix",
        &[("embedding", 4)],
        &[("embedding", 4)],
        &[],
        Initializer::XAVIER_UNIFORM,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("'embedding'"), "{err}");
    assert!(err.contains("RenameAxes"), "{err}");
}

/// Errors returned from `main` print the message and its chain, and io errors convert.
#[test]
fn io_errors_convert_and_debug_prints_the_message() {
    fn save_page() -> penzai::Result<()> {
        let model = Sequential::new();
        treescope::save_html(&model, "/nonexistent-dir/page.html")?;
        Ok(())
    }
    let err = save_page().unwrap_err();
    let debug = format!("{err:?}");
    assert!(!debug.contains("Os {"), "{debug}");
    assert!(debug.contains("No such file or directory"), "{debug}");
}
