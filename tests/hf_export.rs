//! Export to transformers' layout: load -> export -> load is the identity, the written names
//! are transformers' current ones, edits survive the trip, and models that do not fit the
//! config are typed errors.

mod hf_common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use hf_common::{FIXTURES, fixture};
use penzai::io::hf;
use penzai::io::{Checkpoint, HfConfig};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::prelude::*;

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("penzai-hf-export-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    Checkpoint::open_dir(dir)
        .unwrap()
        .names()
        .map(str::to_owned)
        .collect()
}

#[test]
fn load_export_load_is_the_identity_for_every_fixture() {
    for name in FIXTURES {
        let loaded = hf::load(fixture(name)).unwrap();
        assert!(loaded.config.unrecognized_keys.is_empty(), "{name}");
        let out = TempDir::new(name);
        hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
        let again = hf::load(&out.0).unwrap();
        assert_eq!(again.model, loaded.model, "{name}");
        assert_eq!(
            again.config.architecture, loaded.config.architecture,
            "{name}"
        );
        assert!(again.config.unrecognized_keys.is_empty(), "{name}");
        assert_eq!(again.files.len(), 1, "{name}: one model.safetensors");
    }
}

#[test]
fn export_writes_transformers_current_names() {
    // The legacy GPT-2 layout (no prefix, mask buffers) comes out in the current one.
    let loaded = hf::load(fixture("gpt2-legacy")).unwrap();
    let out = TempDir::new("legacy-names");
    hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
    assert_eq!(names(&out.0), names(&fixture("gpt2")));
    assert!(names(&out.0).contains("transformer.h.1.attn.c_attn.weight"));
    // Llama: the same names transformers wrote, sharded or not; tied models omit lm_head.
    for name in [
        "llama-mha",
        "llama-sharded",
        "llama-gqa-tied",
        "mistral-sliding",
    ] {
        let loaded = hf::load(fixture(name)).unwrap();
        let out = TempDir::new(&format!("{name}-names"));
        hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
        assert_eq!(names(&out.0), names(&fixture(name)), "{name}");
    }
    assert!(!names(&fixture("llama-gqa-tied")).contains("lm_head.weight"));
    // GPT-NeoX: transformers' names, with the fused per-head query_key_value; the published
    // layout's buffers are not written. Phi-3 with grouped-query attention: the query, key and
    // value rows of unequal sizes fused back into one qkv_proj.
    for name in ["neox-parallel", "neox-sequential", "phi3-gqa"] {
        let loaded = hf::load(fixture(name)).unwrap();
        let out = TempDir::new(&format!("{name}-names"));
        hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
        let buffer = |n: &String| {
            n.ends_with("attention.bias") || n.contains("masked_bias") || n.contains("inv_freq")
        };
        let stored: BTreeSet<String> = names(&fixture(name))
            .into_iter()
            .filter(|n| !buffer(n))
            .collect();
        assert_eq!(names(&out.0), stored, "{name}");
        let original = Checkpoint::open_dir(fixture(name)).unwrap();
        let exported = Checkpoint::open_dir(&out.0).unwrap();
        for tensor in exported.tensors() {
            let theirs = original.tensor(tensor.name()).unwrap();
            assert_eq!(tensor.shape(), theirs.shape(), "{name}: {}", tensor.name());
            assert_eq!(
                tensor.to_f32_vec().unwrap(),
                theirs.to_f32_vec().unwrap(),
                "{name}: {}",
                tensor.name()
            );
        }
    }
}

#[test]
fn exported_tensors_keep_transformers_layout_and_values() {
    let original = Checkpoint::open_dir(fixture("llama-gqa-tied")).unwrap();
    let loaded = hf::load(fixture("llama-gqa-tied")).unwrap();
    let out = TempDir::new("layout");
    hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
    let exported = Checkpoint::open_dir(&out.0).unwrap();
    for tensor in original.tensors() {
        let copy = exported.tensor(tensor.name()).unwrap();
        assert_eq!(copy.shape(), tensor.shape(), "{}", tensor.name());
        assert_eq!(
            copy.to_f32_vec().unwrap(),
            tensor.to_f32_vec().unwrap(),
            "{}",
            tensor.name()
        );
    }
    let config = HfConfig::from_path(out.0.join("config.json")).unwrap();
    assert_eq!(config, loaded.config);
}

#[test]
fn an_edited_model_exports_its_edit() {
    let loaded = hf::load(fixture("llama-mha")).unwrap();
    let mut edited = loaded.model.clone();
    let zeros = NamedArray::zeros(&[("neurons", 64), ("embedding", 32)]).unwrap();
    assert_eq!(
        penzai::nn::set_parameter(&mut edited, "blocks.1.mlp.down.weights", &zeros),
        1
    );
    let out = TempDir::new("edited");
    hf::export(&edited, &loaded.config, &out.0).unwrap();
    let exported = Checkpoint::open_dir(&out.0).unwrap();
    let down = exported
        .tensor("model.layers.1.mlp.down_proj.weight")
        .unwrap();
    assert!(down.to_f32_vec().unwrap().iter().all(|&v| v == 0.0));
    assert_eq!(hf::load(&out.0).unwrap().model, edited);
}

#[test]
fn a_parameter_without_an_hf_place_is_an_error() {
    // A tied config cannot hold a separate unembedding.
    let loaded = hf::load(fixture("llama-gqa-tied")).unwrap();
    let untied = TransformerLm::llama(
        &LlamaConfig {
            vocab_size: 101,
            n_kv_heads: 2,
            rope_theta: 50_000.0,
            tie_embeddings: false,
            ..LlamaConfig::tiny()
        },
        0,
    )
    .unwrap();
    let err = hf::export(
        &untied,
        &loaded.config,
        TempDir::new("unmapped").0.as_path(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot export: parameter \"unembed.weights\" at unembed.weights has no place in the HF llama layout"
    );
}

#[test]
fn a_missing_parameter_or_wrong_axes_are_errors() {
    // Qwen2 has query/key/value biases the Llama model lacks.
    let llama = hf::load(fixture("llama-mha")).unwrap();
    let qwen2 = HfConfig::from_json_bytes(
        "qwen2.json",
        br#"{"model_type": "qwen2", "vocab_size": 101, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "tie_word_embeddings": false}"#,
    )
    .unwrap();
    let err = hf::export(&llama.model, &qwen2, TempDir::new("missing").0.as_path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot export: the model has no parameter labelled \"blocks.0.attn.query.bias\" \
         (needed for HF tensor \"model.layers.0.self_attn.q_proj.bias\")"
    );

    let mut wrong = llama.model.clone();
    let bad = NamedArray::zeros(&[("neurons", 64), ("embedding", 31)]).unwrap();
    penzai::nn::set_parameter(&mut wrong, "blocks.0.mlp.down.weights", &bad);
    let err = hf::export(&wrong, &llama.config, TempDir::new("shape").0.as_path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot export: parameter \"blocks.0.mlp.down.weights\" has axes {neurons: 64, embedding: 31}, \
         but HF tensor \"model.layers.0.mlp.down_proj.weight\" needs {embedding: 32, neurons: 64}"
    );
}

#[test]
fn an_activation_transformers_cannot_name_is_an_export_error() {
    let mut loaded = hf::load(fixture("gpt2-legacy")).unwrap();
    let penzai::io::Architecture::Gpt2(gpt2) = &mut loaded.config.architecture else {
        panic!("gpt2-legacy is a GPT-2 checkpoint");
    };
    gpt2.activation = penzai::nn::Activation::Tanh;
    let out = TempDir::new("tanh");
    let err = hf::export(&loaded.model, &loaded.config, &out.0).unwrap_err();
    let message = err.to_string();
    assert!(
        message.ends_with(
            "config.json: unsupported \"activation_function\" = \"Tanh\": transformers has no name for this activation"
        ),
        "{message}"
    );
}
