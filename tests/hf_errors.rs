//! Bad HF checkpoints: each problem is a typed error naming the file, the tensor or key and,
//! where the tensor exists, the byte offset of its data. Never a panic.

mod hf_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hf_common::fixture;
use penzai::io::hf::{self, HfError};
use penzai::io::{Checkpoint, HostTensor, IoError, TensorData, write_tensors};

/// A copy of a fixture with edited tensors and config, removed when dropped.
struct Variant(PathBuf);

impl Variant {
    /// Copies fixture `name`'s config and (as one F32 file) its tensors after `edit`.
    fn new(name: &str, tag: &str, edit: impl FnOnce(&mut BTreeMap<String, HostTensor>)) -> Variant {
        let dir =
            std::env::temp_dir().join(format!("penzai-hf-errors-{}-{tag}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture(name).join("config.json"), dir.join("config.json")).unwrap();
        let checkpoint = Checkpoint::open_dir(fixture(name)).unwrap();
        let mut tensors: BTreeMap<String, HostTensor> = checkpoint
            .tensors()
            .map(|t| (t.name().to_owned(), t.to_host().unwrap()))
            .collect();
        edit(&mut tensors);
        write_tensors(dir.join("model.safetensors"), tensors, &BTreeMap::new()).unwrap();
        Variant(dir)
    }

    fn with_config(self, edit: impl FnOnce(&mut serde_json::Value)) -> Variant {
        let path = self.0.join("config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut config);
        std::fs::write(&path, config.to_string()).unwrap();
        self
    }

    fn file(&self) -> String {
        self.0.join("model.safetensors").display().to_string()
    }

    /// The absolute byte offset of `tensor`'s data in the written file.
    fn offset(&self, tensor: &str) -> u64 {
        Checkpoint::open_dir(&self.0)
            .unwrap()
            .tensor(tensor)
            .unwrap()
            .data_offset()
    }
}

impl Drop for Variant {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn f32s(shape: Vec<usize>) -> HostTensor {
    let n = shape.iter().product();
    HostTensor::new(shape, TensorData::F32(vec![0.5; n])).unwrap()
}

fn load_err(dir: &Path) -> HfError {
    hf::load(dir).unwrap_err()
}

#[test]
fn a_missing_tensor_names_it_and_the_file() {
    let v = Variant::new("gpt2", "missing", |t| {
        t.remove("transformer.h.1.mlp.c_fc.bias");
    });
    assert_eq!(
        load_err(&v.0).to_string(),
        format!(
            "{}: missing tensor \"transformer.h.1.mlp.c_fc.bias\", which a gpt2 model needs",
            v.file()
        )
    );
}

#[test]
fn an_extra_tensor_names_it_the_file_and_its_offset() {
    let v = Variant::new("llama-mha", "extra", |t| {
        t.insert(
            "model.layers.0.self_attn.rotary_emb.inv_freq".into(),
            f32s(vec![4]),
        );
    });
    let offset = v.offset("model.layers.0.self_attn.rotary_emb.inv_freq");
    assert_eq!(
        load_err(&v.0),
        HfError::UnexpectedTensor {
            file: v.file(),
            tensor: "model.layers.0.self_attn.rotary_emb.inv_freq".into(),
            offset,
            architecture: "llama",
        }
    );
}

#[test]
fn a_wrong_shape_names_tensor_file_expected_and_actual() {
    let v = Variant::new("gpt2", "shape", |t| {
        t.insert(
            "transformer.h.0.mlp.c_fc.weight".into(),
            f32s(vec![128, 32]),
        );
    });
    let offset = v.offset("transformer.h.0.mlp.c_fc.weight");
    assert_eq!(
        load_err(&v.0).to_string(),
        format!(
            "{}: tensor \"transformer.h.0.mlp.c_fc.weight\" (data at byte offset {offset}) has shape [128, 32], but the config implies [32, 128]",
            v.file()
        )
    );
}

#[test]
fn an_integer_parameter_is_a_dtype_error() {
    let v = Variant::new("llama-mha", "dtype", |t| {
        t.insert(
            "model.norm.weight".into(),
            HostTensor::new(vec![32], TensorData::I64(vec![1; 32])).unwrap(),
        );
    });
    let err = load_err(&v.0);
    assert!(
        matches!(&err, HfError::NotFloat { tensor, dtype, .. } if tensor == "model.norm.weight" && dtype == "I64"),
        "{err}"
    );
}

#[test]
fn a_shape_that_disagrees_with_the_config_is_caught_on_the_config_side_too() {
    // The config says 3 layers; the file has 2. One layer short still names the first
    // missing tensor; more than that is the count's error.
    let v = Variant::new("mistral-sliding", "layers", |_| {})
        .with_config(|c| c["num_hidden_layers"] = 3.into());
    let err = load_err(&v.0);
    assert!(
        matches!(&err, HfError::MissingTensor { tensor, .. } if tensor.starts_with("model.layers.2.")),
        "{err}"
    );
    let v = Variant::new("mistral-sliding", "layers4", |_| {})
        .with_config(|c| c["num_hidden_layers"] = 4.into());
    let err = load_err(&v.0);
    assert!(
        matches!(
            &err,
            HfError::LayerCount {
                layers: 4,
                per_layer: 9,
                fixed: 3,
                tensors: 21,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_layer_count_the_files_cannot_back_is_refused_before_anything_is_built() {
    // Issue 14: these used to abort (Llama after ~10 s at 3.3 GB, GPT-2 at once asking for
    // 4.8 GB) while building per-layer tables.
    let v = Variant::new("llama-mha", "huge-layers", |_| {})
        .with_config(|c| c["num_hidden_layers"] = 100_000_000.into());
    let err = load_err(&v.0);
    assert_eq!(
        err.to_string(),
        format!(
            "{}: num_hidden_layers = 100000000 needs 9 tensors per layer plus 3 others, but the checkpoint holds 21 tensors",
            v.0.join("config.json").display()
        )
    );
    let v = Variant::new("gpt2", "huge-layers", |_| {})
        .with_config(|c| c["n_layer"] = 100_000_000.into());
    let err = load_err(&v.0);
    assert!(
        matches!(
            &err,
            HfError::LayerCount {
                key: "n_layer",
                layers: 100_000_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn gpt2_mask_buffers_are_ignored_but_other_extras_are_not() {
    assert!(hf::load(fixture("gpt2-legacy")).is_ok());
    let v = Variant::new("gpt2-legacy", "buffer", |t| {
        t.insert("h.2.attn.bias".into(), f32s(vec![1]));
    });
    assert!(matches!(
        load_err(&v.0),
        HfError::UnexpectedTensor { tensor, .. } if tensor == "h.2.attn.bias"
    ));
}

#[test]
fn a_stored_copy_of_a_tied_tensor_must_equal_its_original() {
    let same = Variant::new("llama-gqa-tied", "tied-same", |t| {
        let embed = t["model.embed_tokens.weight"].clone();
        t.insert("lm_head.weight".into(), embed);
    });
    assert_eq!(
        hf::load(&same.0).unwrap().model,
        hf::load(fixture("llama-gqa-tied")).unwrap().model
    );
    // An exact copy is accepted even when it holds a NaN (NaN != NaN in f32).
    let with_nan = Variant::new("llama-gqa-tied", "tied-nan", |t| {
        let mut embed = t["model.embed_tokens.weight"].clone();
        if let TensorData::F32(values) = &mut embed.data {
            values[5] = f32::NAN;
        }
        t.insert("model.embed_tokens.weight".into(), embed.clone());
        t.insert("lm_head.weight".into(), embed);
    });
    assert!(hf::load(&with_nan.0).is_ok());
    let nan_in_copy_only = Variant::new("llama-gqa-tied", "tied-nan-copy", |t| {
        let mut embed = t["model.embed_tokens.weight"].clone();
        if let TensorData::F32(values) = &mut embed.data {
            values[5] = f32::NAN;
        }
        t.insert("lm_head.weight".into(), embed);
    });
    assert!(matches!(
        load_err(&nan_in_copy_only.0),
        HfError::TiedMismatch { .. }
    ));
    let different = Variant::new("llama-gqa-tied", "tied-different", |t| {
        t.insert("lm_head.weight".into(), f32s(vec![101, 32]));
    });
    assert!(matches!(
        load_err(&different.0),
        HfError::TiedMismatch { tensor, tied_to, .. }
            if tensor == "lm_head.weight" && tied_to == "model.embed_tokens.weight"
    ));
}

#[test]
fn config_errors_surface_as_io_errors_naming_the_key() {
    let v = Variant::new("llama-mha", "rope-scaling", |_| {})
        .with_config(|c| c["rope_scaling"] = serde_json::json!({"rope_type": "su", "factor": 2.0}));
    let err = load_err(&v.0);
    assert!(
        matches!(&err, HfError::Io(IoError::UnsupportedConfig { key, .. }) if key == "rope_scaling.rope_type"),
        "{err}"
    );
    let v = Variant::new("gpt2", "unscaled", |_| {})
        .with_config(|c| c["scale_attn_weights"] = false.into());
    assert!(load_err(&v.0).to_string().ends_with(
        "unsupported \"scale_attn_weights\" = false: unscaled attention scores are not implemented"
    ));
    let v = Variant::new("gpt2", "malformed", |_| {});
    std::fs::write(v.0.join("config.json"), "{\"model_type\": \"gpt2\",, }").unwrap();
    let err = load_err(&v.0);
    assert!(
        matches!(&err, HfError::Io(IoError::InvalidJson { offset: 22, .. })),
        "{err}"
    );
    let v = Variant::new("gpt2", "bert", |_| {}).with_config(|c| c["model_type"] = "bert".into());
    assert!(matches!(
        load_err(&v.0),
        HfError::Io(IoError::UnsupportedModelType { .. })
    ));
}

#[test]
fn missing_files_are_os_errors_naming_them() {
    let v = Variant::new("gpt2", "no-weights", |_| {});
    std::fs::remove_file(v.0.join("model.safetensors")).unwrap();
    let err = load_err(&v.0);
    assert!(err.to_string().starts_with(&v.file()), "{err}");
    let err = load_err(&v.0.join("nowhere"));
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn a_truncated_weights_file_is_an_error() {
    let v = Variant::new("gpt2", "truncated", |_| {});
    let path = v.0.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(load_err(&v.0), HfError::Io(_)));
}

#[test]
fn hf_errors_convert_into_the_crate_error() {
    let err: penzai::Error = load_err(&fixture("nowhere")).into();
    assert!(matches!(err, penzai::Error::Hf(_)));
}

#[test]
fn a_config_claiming_a_huge_model_fails_before_allocating_it() {
    // 4e9 x 2^20 parameters would be 16 PiB; the file's shapes are checked first.
    let v = Variant::new("llama-mha", "huge", |_| {}).with_config(|c| {
        c["vocab_size"] = 4_000_000_000u64.into();
        c["hidden_size"] = (1u64 << 20).into();
    });
    let err = load_err(&v.0);
    assert!(
        matches!(&err, HfError::ShapeMismatch { tensor, .. } if tensor == "model.embed_tokens.weight"),
        "{err}"
    );
}
