//! `penzai grad` against torch autograd: the loss and one tensor's gradient, flattened in the
//! checkpoint's layout (a tied embedding: the sum of both uses).

mod hf_common;

use std::process::Command;

use hf_common::fixture;
use penzai::io::SafetensorsFile;
use serde_json::Value;

fn grad_json(name: &str, param: &str) -> (Value, Value) {
    let dir = fixture(name);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grad.json")).unwrap()).unwrap();
    let tokens: Vec<String> = meta["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(["grad", "--model"])
        .arg(&dir)
        .args(["--tokens", &tokens.join(","), "--param", param])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), meta)
}

fn assert_matches_torch(name: &str, param: &str) {
    let (printed, meta) = grad_json(name, param);
    let loss = printed["loss"].as_f64().unwrap();
    let torch_loss = meta["loss"].as_f64().unwrap();
    assert!(
        (loss - torch_loss).abs() <= 1e-5 * torch_loss,
        "{loss} vs {torch_loss}"
    );
    let ours: Vec<f64> = printed["grad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let file = SafetensorsFile::read(fixture(name).join("grad.safetensors")).unwrap();
    let theirs = file.tensor(param).unwrap().to_f32_vec().unwrap();
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    for (a, b) in ours.iter().zip(&theirs) {
        assert!(
            (a - *b as f64).abs() <= 1e-4 * scale,
            "{param}: {a} vs torch {b}"
        );
    }
}

#[test]
fn tied_gpt2_embedding_gradient_sums_both_uses() {
    assert_matches_torch("gpt2", "transformer.wte.weight");
}

#[test]
fn llama_projection_gradient_in_file_layout() {
    assert_matches_torch("llama-mha", "model.layers.0.mlp.up_proj.weight");
}

#[test]
fn unknown_tensor_names_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(["grad", "--model"])
        .arg(fixture("gpt2"))
        .args(["--tokens", "1,2,3", "--param", "transformer.nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("transformer.nope") && err.contains("transformer.wte.weight"),
        "{err}"
    );
}
