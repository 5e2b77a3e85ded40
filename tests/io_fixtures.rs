//! The committed HF fixtures (tests/fixtures, made by tools/gen_fixtures.py): every checkpoint
//! opens, holds exactly the tensors its expected.json lists, holds every tensor the
//! architecture needs with the shape its config implies, and its config parses with no
//! unrecognized key.

mod hf_common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hf_common::{FIXTURES, fixture};
use penzai::io::{
    Architecture, Checkpoint, HfConfig, HfGpt2Config, HfGptNeoxConfig, HfLlamaConfig, LlamaFamily,
};
use serde_json::Value;

/// The fixture folder `name`.
fn dir(name: &str) -> PathBuf {
    fixture(name)
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(dir(name).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn config(name: &str) -> HfConfig {
    HfConfig::from_path(dir(name).join("config.json")).unwrap()
}

/// name -> (dtype, shape) as recorded by the generator.
fn recorded_tensors(name: &str) -> BTreeMap<String, (String, Vec<usize>)> {
    let e = expected(name);
    e["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let shape = v["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize);
            (
                k.clone(),
                (v["dtype"].as_str().unwrap().to_owned(), shape.collect()),
            )
        })
        .collect()
}

#[test]
fn every_fixture_holds_exactly_the_recorded_tensors() {
    for name in FIXTURES {
        let ckpt = Checkpoint::open_dir(dir(name)).unwrap();
        let recorded = recorded_tensors(name);
        let names: Vec<_> = ckpt.names().collect();
        assert_eq!(
            names,
            recorded.keys().map(String::as_str).collect::<Vec<_>>(),
            "{name}"
        );
        for view in ckpt.tensors() {
            let (dtype, shape) = &recorded[view.name()];
            assert_eq!(
                (view.dtype().safetensors_name(), view.shape()),
                (dtype.as_str(), shape.as_slice()),
                "{name}: {}",
                view.name()
            );
            assert_eq!(view.to_host().unwrap().data.len(), view.element_count());
        }
    }
}

#[test]
fn every_fixture_config_parses_without_unrecognized_keys() {
    for name in FIXTURES {
        let c = config(name);
        assert!(
            c.unrecognized_keys.is_empty(),
            "{name}: {:?}",
            c.unrecognized_keys
        );
    }
}

#[test]
fn fixture_configs_have_the_generated_values() {
    let Architecture::Gpt2(g) = config("gpt2-legacy").architecture else {
        panic!()
    };
    assert_eq!(
        (
            g.n_embd,
            g.n_layer,
            g.n_head,
            g.vocab_size,
            g.n_positions,
            g.n_inner
        ),
        (32, 2, 4, 97, 64, 128)
    );
    assert!(g.tie_word_embeddings && g.scale_attn_weights);
    assert_eq!(g.activation, penzai::nn::Activation::GeluTanh);
    assert_eq!(g.layer_norm_epsilon, 1e-5);

    let Architecture::Llama(l) = config("llama-mha").architecture else {
        panic!()
    };
    assert_eq!(
        (
            l.num_attention_heads,
            l.num_key_value_heads,
            l.head_dim,
            l.rope_theta
        ),
        (4, 4, 8, 10_000.0)
    );
    assert!(!l.tie_word_embeddings);
    assert_eq!(l.sliding_window, None);

    let Architecture::Llama(l) = config("llama-gqa-tied").architecture else {
        panic!()
    };
    assert_eq!(
        (
            l.num_key_value_heads,
            l.query_heads_per_kv_head(),
            l.rope_theta
        ),
        (2, 2, 50_000.0)
    );
    assert!(l.tie_word_embeddings);

    let Architecture::Llama(m) = config("mistral-sliding").architecture else {
        panic!()
    };
    assert_eq!(
        (m.family, m.sliding_window),
        (LlamaFamily::Mistral, Some(4))
    );
}

/// The tensors a GPT-2 checkpoint must hold, with the shapes its config implies.
fn gpt2_tensors(c: &HfGpt2Config, prefix: &str) -> Vec<(String, Vec<usize>)> {
    let (d, v) = (c.n_embd, c.vocab_size);
    let mut out = vec![
        (format!("{prefix}wte.weight"), vec![v, d]),
        (format!("{prefix}wpe.weight"), vec![c.n_positions, d]),
        (format!("{prefix}ln_f.weight"), vec![d]),
        (format!("{prefix}ln_f.bias"), vec![d]),
    ];
    for i in 0..c.n_layer {
        let p = format!("{prefix}h.{i}.");
        for (n, s) in [
            ("ln_1.weight", vec![d]),
            ("ln_1.bias", vec![d]),
            ("attn.c_attn.weight", vec![d, 3 * d]),
            ("attn.c_attn.bias", vec![3 * d]),
            ("attn.c_proj.weight", vec![d, d]),
            ("attn.c_proj.bias", vec![d]),
            ("ln_2.weight", vec![d]),
            ("ln_2.bias", vec![d]),
            ("mlp.c_fc.weight", vec![d, c.n_inner]),
            ("mlp.c_fc.bias", vec![c.n_inner]),
            ("mlp.c_proj.weight", vec![c.n_inner, d]),
            ("mlp.c_proj.bias", vec![d]),
        ] {
            out.push((format!("{p}{n}"), s));
        }
    }
    out
}

/// The tensors a GPT-NeoX checkpoint must hold, with the shapes its config implies.
fn neox_tensors(c: &HfGptNeoxConfig) -> Vec<(String, Vec<usize>)> {
    let (d, f, v) = (c.hidden_size, c.intermediate_size, c.vocab_size);
    let mut out = vec![
        ("gpt_neox.embed_in.weight".to_owned(), vec![v, d]),
        ("gpt_neox.final_layer_norm.weight".to_owned(), vec![d]),
        ("gpt_neox.final_layer_norm.bias".to_owned(), vec![d]),
    ];
    if !c.tie_word_embeddings {
        out.push(("embed_out.weight".to_owned(), vec![v, d]));
    }
    for i in 0..c.num_hidden_layers {
        let p = format!("gpt_neox.layers.{i}.");
        let mut layer = vec![
            ("input_layernorm.weight", vec![d]),
            ("input_layernorm.bias", vec![d]),
            ("post_attention_layernorm.weight", vec![d]),
            ("post_attention_layernorm.bias", vec![d]),
            ("attention.query_key_value.weight", vec![3 * d, d]),
            ("attention.dense.weight", vec![d, d]),
            ("mlp.dense_h_to_4h.weight", vec![f, d]),
            ("mlp.dense_h_to_4h.bias", vec![f]),
            ("mlp.dense_4h_to_h.weight", vec![d, f]),
            ("mlp.dense_4h_to_h.bias", vec![d]),
        ];
        if c.attention_bias {
            layer.push(("attention.query_key_value.bias", vec![3 * d]));
            layer.push(("attention.dense.bias", vec![d]));
        }
        out.extend(layer.into_iter().map(|(n, s)| (format!("{p}{n}"), s)));
    }
    out
}

/// The tensors a Llama-family checkpoint must hold, with the shapes its config implies.
fn llama_tensors(c: &HfLlamaConfig) -> Vec<(String, Vec<usize>)> {
    let (d, hd, f) = (c.hidden_size, c.head_dim, c.intermediate_size);
    let (q, kv) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
    let mut out = vec![
        (
            "model.embed_tokens.weight".to_owned(),
            vec![c.vocab_size, d],
        ),
        ("model.norm.weight".to_owned(), vec![d]),
    ];
    if !c.tie_word_embeddings {
        out.push(("lm_head.weight".to_owned(), vec![c.vocab_size, d]));
    }
    for i in 0..c.num_hidden_layers {
        let p = format!("model.layers.{i}.");
        for (n, s) in [
            ("input_layernorm.weight", vec![d]),
            ("post_attention_layernorm.weight", vec![d]),
            ("self_attn.q_proj.weight", vec![q, d]),
            ("self_attn.k_proj.weight", vec![kv, d]),
            ("self_attn.v_proj.weight", vec![kv, d]),
            ("self_attn.o_proj.weight", vec![d, q]),
            ("mlp.gate_proj.weight", vec![f, d]),
            ("mlp.up_proj.weight", vec![f, d]),
            ("mlp.down_proj.weight", vec![d, f]),
        ] {
            out.push((format!("{p}{n}"), s));
        }
    }
    out
}

/// Phi-3's layout: the same tensors with `q/k/v_proj` stored as one `qkv_proj` and
/// `gate/up_proj` as one `gate_up_proj`, stacked along the output rows.
fn fused_llama_tensors(c: &HfLlamaConfig) -> Vec<(String, Vec<usize>)> {
    let (d, hd, f) = (c.hidden_size, c.head_dim, c.intermediate_size);
    let (q, kv) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
    let separate = ["q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"];
    let mut out: Vec<(String, Vec<usize>)> = llama_tensors(c)
        .into_iter()
        .filter(|(n, _)| !separate.iter().any(|s| n.ends_with(&format!("{s}.weight"))))
        .collect();
    for i in 0..c.num_hidden_layers {
        let p = format!("model.layers.{i}.");
        out.push((format!("{p}self_attn.qkv_proj.weight"), vec![q + 2 * kv, d]));
        out.push((format!("{p}mlp.gate_up_proj.weight"), vec![2 * f, d]));
    }
    out
}

#[test]
fn every_fixture_holds_the_tensors_its_architecture_needs() {
    for name in FIXTURES {
        let ckpt = Checkpoint::open_dir(dir(name)).unwrap();
        let needed = match config(name).architecture {
            Architecture::Gpt2(c) => {
                let prefix = if ckpt.get("wte.weight").is_some() {
                    ""
                } else {
                    "transformer."
                };
                gpt2_tensors(&c, prefix)
            }
            Architecture::Llama(c)
                if ckpt
                    .get("model.layers.0.self_attn.qkv_proj.weight")
                    .is_some() =>
            {
                fused_llama_tensors(&c)
            }
            Architecture::Llama(c) => llama_tensors(&c),
            Architecture::GptNeox(c) => neox_tensors(&c),
            other => panic!("{other:?}"),
        };
        for (tensor, shape) in needed {
            let view = ckpt
                .tensor(&tensor)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(view.shape(), shape.as_slice(), "{name}: {tensor}");
        }
    }
}

#[test]
fn legacy_gpt2_has_the_same_weights_without_prefix_plus_mask_buffers() {
    let new = Checkpoint::open_dir(dir("gpt2")).unwrap();
    let old = Checkpoint::open_dir(dir("gpt2-legacy")).unwrap();
    for view in new.tensors() {
        let legacy = old
            .tensor(view.name().strip_prefix("transformer.").unwrap())
            .unwrap();
        assert_eq!(legacy.to_f32_vec().unwrap(), view.to_f32_vec().unwrap());
    }
    let bias = old.tensor("h.0.attn.bias").unwrap();
    assert_eq!(bias.shape(), &[1, 1, 64, 64]);
    let mask = bias.to_f32_vec().unwrap();
    assert_eq!((mask[0], mask[1], mask[64]), (1.0, 0.0, 1.0));
    assert_eq!(
        old.tensor("h.1.attn.masked_bias")
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        [-1e4]
    );
}

#[test]
fn sharded_llama_matches_the_single_file_weights() {
    let single = Checkpoint::open_dir(dir("llama-mha")).unwrap();
    let sharded = Checkpoint::open_dir(dir("llama-sharded")).unwrap();
    assert_eq!(sharded.shards().len(), 2);
    assert_eq!(
        sharded.names().collect::<Vec<_>>(),
        single.names().collect::<Vec<_>>()
    );
    for view in single.tensors() {
        let other = sharded.tensor(view.name()).unwrap();
        assert_eq!(
            other.to_f32_vec().unwrap(),
            view.to_f32_vec().unwrap(),
            "{}",
            view.name()
        );
    }
}

#[test]
fn half_precision_fixtures_store_half_precision() {
    for (name, dtype) in [("llama-f16", "F16"), ("gpt2-bf16", "BF16")] {
        let ckpt = Checkpoint::open_dir(dir(name)).unwrap();
        assert!(
            ckpt.tensors()
                .all(|t| t.dtype().safetensors_name() == dtype),
            "{name}"
        );
        assert_eq!(expected(name)["weights_dtype"], dtype);
    }
}

#[test]
fn expected_outputs_have_the_documented_shape() {
    for name in FIXTURES {
        let e = expected(name);
        let vocab = config(name).architecture.vocab_size();
        let prompts = e["prompts"].as_array().unwrap();
        let logits = e["logits"].as_array().unwrap();
        assert_eq!(prompts.len(), logits.len());
        for (p, l) in prompts.iter().zip(logits) {
            let rows = l.as_array().unwrap();
            assert_eq!(rows.len(), p.as_array().unwrap().len());
            assert!(rows.iter().all(|r| r.as_array().unwrap().len() == vocab));
        }
        assert!(
            e["greedy_new_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g.as_array().unwrap().len() == 8)
        );
    }
}
