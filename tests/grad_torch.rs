//! Gradients of the GPT-2, Llama and GPT-NeoX test checkpoints against torch autograd
//! (`tools/gen_grad_fixtures.py`): the mean next-token cross-entropy of the first prompt, and
//! its gradient with respect to every stored tensor, in the checkpoint's names and layouts.

mod hf_common;

use hf_common::fixture;
use penzai::grad::{Trainable, next_token_loss, value_and_grad};
use penzai::io::{SafetensorsFile, TensorData, hf};
use penzai::prelude::*;
use serde_json::Value;

fn check(name: &str) {
    let dir = fixture(name);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grad.json")).unwrap()).unwrap();
    let ids: Vec<i64> = meta["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let loaded = hf::load(&dir).unwrap();
    let tokens = NamedArray::from_i64(&[("seq", ids.len())], ids).unwrap();
    let (loss, grads) = value_and_grad(&loaded.model, &Trainable::all(), |m| {
        next_token_loss(m, &tokens)
    })
    .unwrap();
    let torch_loss = meta["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss - torch_loss).abs() <= 1e-5 * torch_loss.abs().max(1.0),
        "{name}: loss {loss} vs torch {torch_loss}"
    );
    let ours = hf::export_tensors(&grads.in_model(&loaded.model), &loaded.config).unwrap();
    let theirs = SafetensorsFile::read(dir.join("grad.safetensors")).unwrap();
    let expected: Vec<&str> = meta["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        ours.len(),
        expected.len(),
        "{name}: one gradient per stored tensor"
    );
    let mut worst = (0.0f32, String::new());
    for (tensor, host) in &ours {
        let view = theirs.tensor(tensor).unwrap();
        assert_eq!(
            view.shape(),
            host.shape.as_slice(),
            "{name}: {tensor} layout"
        );
        let reference = view.to_f32_vec().unwrap();
        let TensorData::F32(got) = &host.data else {
            panic!("{tensor}: gradients are f32")
        };
        let scale = reference
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()))
            .max(1e-6);
        let err = got
            .iter()
            .zip(&reference)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
            / scale;
        if err > worst.0 {
            worst = (err, tensor.clone());
        }
        assert!(err <= 1e-4, "{name}: {tensor} relative error {err}");
    }
    eprintln!(
        "{name}: loss {loss} (torch {torch_loss}); worst relative gradient error {} in {}",
        worst.0, worst.1
    );
}

#[test]
fn gpt2_gradients_match_torch_autograd() {
    check("gpt2");
}

#[test]
fn llama_gradients_match_torch_autograd() {
    check("llama-mha");
}

/// Pythia's parallel residual and fused, per-head query/key/value: gradients flow through
/// both branches and come back in the checkpoint's fused layout.
#[test]
fn gpt_neox_gradients_match_torch_autograd() {
    check("neox-parallel");
}
