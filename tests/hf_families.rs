//! The Llama-like families beyond Llama (Qwen3, Gemma 1–3, RoPE schemes): tied embeddings stay
//! one parameter in memory and in exported files, each family's differences are visible layers
//! at the usual slot names, and config keys are refused or warned about by name.

mod hf_common;

use std::path::PathBuf;

use hf_common::fixture;
use penzai::io::hf;
use penzai::io::{Checkpoint, HfConfig, IoError};
use penzai::nn::{Parameter, parameter_count, parameters};
use penzai::nx::Storage;
use penzai::prelude::*;

/// Fixtures whose config ties the LM head to the token embedding.
const TIED: [&str; 5] = [
    "llama-gqa-tied",
    "llama3-rope",
    "gemma-mqa",
    "gemma2-softcap",
    "gemma3-text",
];

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("penzai-hf-families-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The number of values the checkpoint's tensors hold.
fn stored_values(dir: &std::path::Path) -> usize {
    let checkpoint = Checkpoint::open_dir(dir).unwrap();
    checkpoint
        .tensors()
        .map(|t| t.shape().iter().product::<usize>())
        .sum()
}

/// The address of a parameter's first element: equal for two slots sharing one buffer.
fn address(p: &Parameter) -> usize {
    match p.value.storage() {
        Storage::F32(a) => a.as_ptr() as usize,
        Storage::F16(a) => a.as_ptr() as usize,
        Storage::BF16(a) => a.as_ptr() as usize,
        other => panic!("unexpected storage {other:?}"),
    }
}

#[test]
fn tied_embeddings_stay_one_parameter_in_memory_and_in_files() {
    for name in TIED {
        let loaded = hf::load(fixture(name)).unwrap();
        let slots: Vec<&Parameter> = parameters(&loaded.model)
            .into_iter()
            .filter(|(_, p)| &*p.label == "embed.embeddings")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(slots.len(), 2, "{name}: lookup and decode");
        assert_eq!(address(slots[0]), address(slots[1]), "{name}: one buffer");
        // Counted once, the model has exactly the checkpoint's values.
        assert_eq!(
            parameter_count(&loaded.model),
            stored_values(&fixture(name)),
            "{name}"
        );
        // Treescope's "# N params" annotation counts the tied embedding once too.
        let doc = penzai::treescope::Doc::build(&loaded.model, &Default::default());
        assert_eq!(
            doc.root.params,
            parameter_count(&loaded.model) as u64,
            "{name}: Treescope's count"
        );
        let out = TempDir::new(name);
        hf::export(&loaded.model, &loaded.config, &out.0).unwrap();
        let written = Checkpoint::open_dir(&out.0).unwrap();
        assert!(
            written.get("lm_head.weight").is_none(),
            "{name}: written once"
        );
        assert_eq!(
            stored_values(&out.0),
            stored_values(&fixture(name)),
            "{name}"
        );
        let again = hf::load(&out.0).unwrap();
        assert_eq!(
            parameter_count(&again.model),
            parameter_count(&loaded.model)
        );
    }
}

/// Every family answers to the same slot names, so selectors written for Llama work.
#[test]
fn every_family_has_the_llama_slot_names() {
    for name in [
        "llama3-rope",
        "qwen2-sliding",
        "qwen3-qknorm",
        "gemma-mqa",
        "gemma2-softcap",
        "gemma3-text",
    ] {
        let model = hf::load(fixture(name)).unwrap().model;
        for path in [
            "embed",
            "blocks[1].attn.delta.norm",
            "blocks[1].attn.delta.attention.query.proj",
            "blocks[1].attn.delta.attention.key.rope",
            "blocks[1].attn.delta.attention.scores.softmax",
            "blocks[0].mlp.delta.ffn.down",
            "final_norm",
            "unembed",
        ] {
            let path = path.parse().unwrap();
            assert!(model.get_at(&path).is_ok(), "{name}: {path}");
        }
    }
}

/// Each difference is a layer at a path one can see and edit.
#[test]
fn family_differences_are_visible_layers() {
    let at = |name: &str, path: &str| {
        let model = hf::load(fixture(name)).unwrap().model;
        model
            .get_at(&path.parse().unwrap())
            .unwrap()
            .type_name()
            .to_owned()
    };
    // Gemma 2: soft caps, post-norms, sliding window on layer 0 only.
    assert_eq!(
        at(
            "gemma2-softcap",
            "blocks[0].attn.delta.attention.scores.soft_cap"
        ),
        "TanhSoftCap"
    );
    assert_eq!(at("gemma2-softcap", "final_soft_cap"), "TanhSoftCap");
    assert_eq!(
        at("gemma2-softcap", "blocks[0].mlp.delta.post_norm"),
        "RMSNorm"
    );
    assert_eq!(
        at(
            "gemma2-softcap",
            "blocks[0].attn.delta.attention.scores.mask"
        ),
        "ApplyCausalSlidingWindowMask"
    );
    assert_eq!(
        at(
            "gemma2-softcap",
            "blocks[1].attn.delta.attention.scores.mask"
        ),
        "ApplyCausalMask"
    );
    // Gemma: (1 + w) norms are a Residual around the scale; sqrt(d) is a rescale step.
    assert_eq!(at("gemma-mqa", "final_norm.scale"), "Residual");
    assert_eq!(at("gemma-mqa", "embed_scale"), "ConstantRescale");
    // Qwen3 and Gemma 3: query/key norms before RoPE.
    assert_eq!(
        at("qwen3-qknorm", "blocks[0].attn.delta.attention.key.norm"),
        "RMSNorm"
    );
    assert_eq!(
        at("gemma3-text", "blocks[0].attn.delta.attention.query.norm"),
        "RMSNorm"
    );
    // The RoPE scheme prints with the layer.
    let model = hf::load(fixture("llama3-rope")).unwrap().model;
    let rope = model
        .get_at(&"blocks[0].attn.delta.attention.query.rope".parse().unwrap())
        .unwrap();
    let text = penzai::treescope::to_text(rope);
    assert!(text.contains("Llama3"), "{text}");
    assert!(text.contains("low_freq_factor"), "{text}");
}

/// Gemma 3 rotates its sliding layers with the local base and its global layers with the
/// global base and scheme.
#[test]
fn gemma3_uses_local_and_global_rope_bases() {
    use penzai::nn::{ApplyRoPE, RopeScaling};
    let model = hf::load(fixture("gemma3-text")).unwrap().model;
    let rope = |i: usize| {
        let path = format!("blocks[{i}].attn.delta.attention.query.rope");
        model
            .get_at(&path.parse().unwrap())
            .unwrap()
            .downcast_ref::<ApplyRoPE>()
            .unwrap()
            .clone()
    };
    assert_eq!(rope(0).max_wavelength, 1e4);
    assert_eq!(rope(0).scaling, RopeScaling::Default);
    assert_eq!(rope(1).max_wavelength, 1e6);
    assert_eq!(rope(1).scaling, RopeScaling::Linear { factor: 2.0 });
}

fn parse(json: serde_json::Value) -> Result<HfConfig, IoError> {
    HfConfig::from_json_bytes("config.json", json.to_string().as_bytes())
}

fn base(model_type: &str) -> serde_json::Value {
    serde_json::json!({
        "model_type": model_type, "vocab_size": 11, "hidden_size": 16,
        "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "head_dim": 8,
    })
}

fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    v[key] = value;
    v
}

#[test]
fn numerics_keys_not_implemented_are_errors_naming_the_key() {
    let unsupported = |v: serde_json::Value, expected: &str| {
        let err = parse(v).unwrap_err();
        match &err {
            IoError::UnsupportedConfig { key, .. } | IoError::ConfigValue { key, .. } => {
                assert_eq!(key, expected, "{err}")
            }
            IoError::MissingConfigKey { key, .. } => assert_eq!(key, expected, "{err}"),
            other => panic!("{other}"),
        }
    };
    unsupported(
        with(
            base("llama"),
            "rope_scaling",
            serde_json::json!({"rope_type": "su"}),
        ),
        "rope_scaling.rope_type",
    );
    unsupported(
        with(
            base("llama"),
            "rope_scaling",
            serde_json::json!({"rope_type": "linear", "factor": 2.0, "mscale": 1.0}),
        ),
        "rope_scaling.mscale",
    );
    unsupported(
        with(
            base("llama"),
            "rope_scaling",
            serde_json::json!({"rope_type": "llama3", "factor": 8.0}),
        ),
        "rope_scaling.low_freq_factor",
    );
    unsupported(
        with(base("gemma2"), "hidden_activation", "relu".into()),
        "hidden_activation",
    );
    unsupported(
        with(
            base("gemma3_text"),
            "use_bidirectional_attention",
            true.into(),
        ),
        "use_bidirectional_attention",
    );
    unsupported(
        with(
            base("qwen2"),
            "layer_types",
            serde_json::json!(["sliding_attention", "full_attention"]),
        ),
        "layer_types",
    );
    unsupported(with(base("llama"), "mlp_bias", true.into()), "mlp_bias");
    unsupported(
        with(base("llama"), "partial_rotary_factor", 0.5.into()),
        "partial_rotary_factor",
    );
    // Harmless unknown keys are kept for a warning, not refused.
    let config = parse(with(base("gemma2"), "some_new_key", 1.into())).unwrap();
    assert_eq!(config.unrecognized_keys, ["some_new_key"]);
}

#[test]
fn family_defaults_follow_transformers() {
    use penzai::io::Architecture;
    let Architecture::Llama(g2) = parse(base("gemma2")).unwrap().architecture else {
        panic!()
    };
    assert_eq!(g2.attn_logit_softcapping, Some(50.0));
    assert_eq!(g2.final_logit_softcapping, Some(30.0));
    assert_eq!(g2.layer_windows, [Some(4096), None]);
    assert!(g2.tie_word_embeddings);
    let Architecture::Llama(g3) = parse(base("gemma3_text")).unwrap().architecture else {
        panic!()
    };
    assert_eq!(g3.rope_theta, 1e6);
    assert_eq!(g3.local_rope.as_ref().unwrap().theta, 1e4);
    assert_eq!(g3.attn_logit_softcapping, None);
    let Architecture::Llama(q3) = parse(base("qwen3")).unwrap().architecture else {
        panic!()
    };
    assert!(q3.qk_norm);
    assert_eq!(q3.layer_windows, [None, None]);
}

/// A family model saved with penzai's own format loads back equal: the RoPE scheme, windows
/// and soft caps are saved with their layers.
#[test]
fn family_models_save_and_load_with_their_variants() {
    use penzai::models::TransformerLm;
    for name in [
        "llama3-rope",
        "gemma2-softcap",
        "gemma3-text",
        "phi3-longrope",
    ] {
        let model = hf::load(fixture(name)).unwrap().model;
        let saved = penzai::io::save_to_memory(&model).unwrap();
        let again: TransformerLm = penzai::io::load_from_memory(saved).unwrap();
        assert_eq!(again, model, "{name}");
    }
}
