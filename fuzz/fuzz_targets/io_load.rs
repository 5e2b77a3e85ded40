//! A saved model's structure JSON and parameters file, mutated: loading must fail with an error
//! or give a model that saves again and reloads equal; never panic, abort or allocate more than
//! the input justifies.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use penzai_fuzz::{Input, reference_model};
use penzai_runtime::io::{self, SavedModel};
use penzai_runtime::nn::AnyLayer;
use penzai_runtime::tree::Tree;

static REFERENCE: LazyLock<SavedModel> = LazyLock::new(reference_model);

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let saved = match input {
        Input::Structure(s) => SavedModel {
            structure: s.to_vec(),
            parameters: REFERENCE.parameters.clone(),
        },
        Input::Parameters(p) => SavedModel {
            structure: REFERENCE.structure.clone(),
            parameters: p.to_vec(),
        },
        Input::Both(s, p) => SavedModel {
            structure: s.to_vec(),
            parameters: p.to_vec(),
        },
    };
    let Ok(model) = io::load_from_memory::<AnyLayer>(saved) else {
        return;
    };
    let again = io::save_to_memory(&model).expect("a loaded model saves again");
    let back = io::load_from_memory::<AnyLayer>(again).expect("a re-saved model loads");
    assert!(back.tree_eq(&model), "a re-saved model reloads equal");
});
