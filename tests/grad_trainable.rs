//! Trainable parameters chosen by a selection (`Trainable::subtrees`): exactly the
//! parameters inside the selected subtrees get gradients, equal to the ones they get when
//! everything trains; everything else is frozen.

use penzai::grad::{GradError, GradSite, Trainable, next_token_loss, value_and_grad};
use penzai::models::{Gpt2Config, LlamaConfig, TransformerLm};
use penzai::nn::{Attention, EmbeddingDecode, parameters};
use penzai::prelude::*;

fn tokens() -> NamedArray {
    NamedArray::from_i64(&[("seq", 6)], vec![3, 1, 4, 1, 5, 9]).unwrap()
}

#[test]
fn a_selection_trains_its_subtrees_and_freezes_the_rest() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let selection = select(model.as_dyn()).at_instances_of::<Attention>();
    let paths = selection.paths().to_vec();
    assert!(!paths.is_empty());
    let trainable = Trainable::subtrees(paths.clone());
    let t = tokens();
    let (loss, grads) = value_and_grad(&model, &trainable, |m| next_token_loss(m, &t)).unwrap();
    let (all_loss, all) =
        value_and_grad(&model, &Trainable::all(), |m| next_token_loss(m, &t)).unwrap();
    assert_eq!(loss, all_loss);
    // The expected labels: those of parameters whose slot is under a selected path.
    let mut expected: Vec<String> = parameters(&model)
        .into_iter()
        .filter(|(path, _)| paths.iter().any(|p| path.starts_with(p)))
        .map(|(_, p)| p.label.to_string())
        .collect();
    expected.sort();
    expected.dedup();
    let got: Vec<String> = grads.iter().map(|(l, _)| l.to_owned()).collect();
    assert_eq!(got, expected);
    assert!(
        got.len() < all.len(),
        "the MLPs, norms and embeddings are frozen"
    );
    for (label, g) in grads.iter() {
        assert_eq!(
            Some(g),
            all.get(label),
            "{label}: same gradient as when all train"
        );
    }
}

#[test]
fn a_tied_parameter_selected_through_one_slot_gets_both_uses() {
    let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0).unwrap();
    let decode = select(model.as_dyn()).at_instances_of::<EmbeddingDecode>();
    assert_eq!(decode.count(), 1);
    let trainable = Trainable::subtrees(decode.paths().to_vec());
    let labels = trainable.labels_in(&model);
    assert_eq!(labels.len(), 1, "{labels:?}");
    let t = tokens();
    let (_, grads) = value_and_grad(&model, &trainable, |m| next_token_loss(m, &t)).unwrap();
    let (_, all) = value_and_grad(&model, &Trainable::all(), |m| next_token_loss(m, &t)).unwrap();
    let label = &*labels[0];
    assert_eq!(grads.get(label), all.get(label));
    // Both slots (lookup and decode) hold it.
    assert_eq!(grads.paths(label).len(), 2);
}

#[test]
fn a_selection_without_parameters_is_an_error() {
    let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0).unwrap();
    let t = tokens();
    // No `GradSite` in the model: an empty selection.
    let nothing = select(model.as_dyn()).at_instances_of::<GradSite>();
    assert!(nothing.is_empty());
    for trainable in [
        Trainable::subtrees(nothing.paths().to_vec()),
        Trainable::subtrees(["no_such_field".parse::<KeyPath>().unwrap()]),
    ] {
        let err = value_and_grad(&model, &trainable, |m| next_token_loss(m, &t)).unwrap_err();
        assert!(
            matches!(&err, penzai::Error::Grad(e) if matches!(**e, GradError::NothingTrainable { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("no parameter is trainable"),
            "{err}"
        );
    }
}
