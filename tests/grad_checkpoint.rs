//! Gradient checkpointing: a Llama-like model with every block checkpointed computes the same
//! loss and the same gradients (every parameter, and activation sites between blocks) as the
//! model without, and still saves and loads.

use penzai::grad::{
    GradSite, Gradients, Trainable, next_token_loss, value_and_grad, value_and_grad_with_sites,
};
use penzai::interpret::checkpoint;
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::Checkpointed;
use penzai::prelude::*;

fn model() -> TransformerLm {
    TransformerLm::llama(&LlamaConfig::tiny(), 3).unwrap()
}

fn tokens() -> NamedArray {
    let ids: Vec<i64> = (0..2 * 7).map(|i| (i * 37 + 5) % 64).collect();
    NamedArray::from_i64(&[("batch", 2), ("seq", 7)], ids).unwrap()
}

fn checkpointed(model: TransformerLm) -> TransformerLm {
    checkpoint(select(model).at_path("blocks").unwrap().at_children()).unwrap()
}

/// Within 1e-5 of the largest magnitude of `expected`, element by element.
fn assert_close(expected: &NamedArray, got: &NamedArray, what: &str) {
    assert_eq!(expected.named_shape(), got.named_shape(), "{what}");
    let names: Vec<String> = expected
        .named_shape()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let e = expected.order_as(&names).unwrap().to_f32_vec();
    let g = got.order_as(&names).unwrap().to_f32_vec();
    let scale = e.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        scale > 0.0,
        "{what}: the gradient is zero, the test would prove nothing"
    );
    for (a, b) in e.iter().zip(&g) {
        assert!((a - b).abs() <= 1e-5 * scale, "{what}: {a} vs {b}");
    }
}

fn assert_same_gradients(plain: &Gradients, checkpointed: &Gradients) {
    assert_eq!(plain.len(), checkpointed.len());
    for (label, g) in plain.iter() {
        let c = checkpointed
            .get(label)
            .unwrap_or_else(|| panic!("{label} missing"));
        assert_close(g, c, label);
    }
}

#[test]
fn checkpointing_every_block_wraps_each_block_once() {
    let n = LlamaConfig::tiny().n_layers;
    let once = checkpointed(model());
    assert_eq!(
        select(once.as_dyn())
            .at_instances_of::<Checkpointed>()
            .count(),
        n
    );
    // Checkpointing again leaves the wrappers as they are.
    let twice = checkpointed(once.clone());
    assert!(twice.tree_eq(&once));
    assert_eq!(
        once.get_at(&"blocks[0].body".parse().unwrap())
            .unwrap()
            .type_name(),
        model()
            .get_at(&"blocks[0]".parse().unwrap())
            .unwrap()
            .type_name()
    );
}

#[test]
fn checkpointed_outputs_equal_the_model_outputs() {
    let plain = model();
    let wrapped = checkpointed(plain.clone());
    let a = Context::new().run(&plain, tokens()).unwrap();
    let b = Context::new().run(&wrapped, tokens()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn checkpointed_gradients_equal_plain_gradients_for_every_parameter() {
    let plain = model();
    let wrapped = checkpointed(plain.clone());
    let (loss, g) =
        value_and_grad(&plain, &Trainable::all(), |m| next_token_loss(m, &tokens())).unwrap();
    let (loss_c, gc) = value_and_grad(&wrapped, &Trainable::all(), |m| {
        next_token_loss(m, &tokens())
    })
    .unwrap();
    assert!(
        (loss - loss_c).abs() <= 1e-6 * loss.abs(),
        "{loss} vs {loss_c}"
    );
    assert_eq!(g.len(), penzai::nn::parameters(&plain).len());
    assert_same_gradients(&g, &gc);
}

#[test]
fn checkpointed_gradients_equal_plain_gradients_at_sites_between_blocks() {
    // A site before every block: the gradient with respect to each block's input.
    let with_sites = |m: TransformerLm| {
        select(m)
            .at_path("blocks")
            .unwrap()
            .at_children()
            .insert_before_with(|path, _| GradSite::new(path.to_string()))
            .unwrap()
    };
    let plain = with_sites(model());
    // Checkpoint the blocks, not the sites: select blocks by type.
    let wrapped =
        checkpoint(select(plain.clone()).at_instances_of::<penzai::models::TransformerBlock>())
            .unwrap();
    let trainable = Trainable::labels(["blocks.0.attn.query.weights"]);
    let (_, g) =
        value_and_grad_with_sites(&plain, &trainable, |m| next_token_loss(m, &tokens())).unwrap();
    let (_, gc) =
        value_and_grad_with_sites(&wrapped, &trainable, |m| next_token_loss(m, &tokens())).unwrap();
    assert_eq!(g.sites().count(), LlamaConfig::tiny().n_layers);
    for (name, site) in g.sites() {
        assert_close(site, gc.site(name).unwrap(), name);
    }
    assert_same_gradients(&g, &gc);
}

#[test]
fn a_checkpointed_model_saves_and_loads() {
    let wrapped = checkpointed(model());
    let dir = std::env::temp_dir().join(format!("penzai-grad-checkpoint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    penzai::io::save(&wrapped, &dir).unwrap();
    let loaded: TransformerLm = penzai::io::load(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(loaded.tree_eq(&wrapped));
    let (_, a) = value_and_grad(&wrapped, &Trainable::all(), |m| {
        next_token_loss(m, &tokens())
    })
    .unwrap();
    let (_, b) = value_and_grad(&loaded, &Trainable::all(), |m| {
        next_token_loss(m, &tokens())
    })
    .unwrap();
    assert_same_gradients(&a, &b);
}

#[test]
fn treescope_shows_the_wrapper_and_the_block_inside() {
    let wrapped = checkpointed(model());
    let text = penzai::treescope::to_text_plain(&wrapped);
    assert!(text.contains("Checkpointed"), "{text}");
    assert!(text.contains("body"), "{text}");
}
