//! A loaded checkpoint is our own model: the same tree, paths and labels as the builders
//! make, so selectors and interpretability recipes written for a built model apply; and each
//! HF tensor lands where transformers reads it (head order included).

mod hf_common;

use hf_common::fixture;
use penzai::io::Checkpoint;
use penzai::io::hf;
use penzai::models::{Gpt2Config, LlamaConfig, TransformerLm};
use penzai::nn::{Affine, Attention, LayerNorm, Linear, RMSNorm, parameters};
use penzai::prelude::*;

/// Every parameter's path and label, in tree order.
fn slots(model: &TransformerLm) -> Vec<(String, String)> {
    parameters(model)
        .into_iter()
        .map(|(path, p)| (path.to_string(), p.label.to_string()))
        .collect()
}

fn count<T: Tree>(model: &TransformerLm) -> usize {
    let mut n = 0;
    model.walk(&mut |_, node| {
        if node.is::<T>() {
            n += 1;
        }
        Walk::Continue
    });
    n
}

fn node<'a>(model: &'a TransformerLm, path: &str) -> &'a dyn Tree {
    model.get_at(&path.parse().unwrap()).unwrap()
}

#[test]
fn a_loaded_llama_has_the_builders_tree() {
    let loaded = hf::load(fixture("llama-gqa-tied")).unwrap().model;
    let built = TransformerLm::llama(
        &LlamaConfig {
            vocab_size: 101,
            n_kv_heads: 2,
            rope_theta: 50_000.0,
            tie_embeddings: true,
            ..LlamaConfig::tiny()
        },
        0,
    )
    .unwrap();
    assert_eq!(slots(&loaded), slots(&built));
    assert_eq!(count::<Attention>(&loaded), 2);
    assert_eq!(count::<RMSNorm>(&loaded), 5);
    assert!(node(&loaded, "blocks[1].attn.delta.attention.query.proj").is::<Linear>());
    assert!(node(&loaded, "blocks[0].mlp.delta.norm").is::<RMSNorm>());
}

#[test]
fn a_loaded_gpt2_has_the_builders_tree() {
    let loaded = hf::load(fixture("gpt2-legacy")).unwrap().model;
    let built = TransformerLm::gpt2(
        &Gpt2Config {
            vocab_size: 97,
            n_positions: 64,
            ..Gpt2Config::tiny()
        },
        0,
    )
    .unwrap();
    assert_eq!(slots(&loaded), slots(&built));
    assert_eq!(count::<LayerNorm>(&loaded), 5);
    assert!(node(&loaded, "blocks[0].attn.delta.attention.value.proj").is::<Affine>());
}

#[test]
fn qwen2_projections_carry_their_biases() {
    let loaded = hf::load(fixture("qwen2-mqa")).unwrap().model;
    for slot in ["query", "key", "value"] {
        let path = format!("blocks[0].attn.delta.attention.{slot}.proj");
        assert!(node(&loaded, &path).is::<Affine>(), "{path}");
    }
    assert!(node(&loaded, "blocks[0].attn.delta.attention.output").is::<Linear>());
}

#[test]
fn tied_embeddings_load_as_one_parameter() {
    let loaded = hf::load(fixture("llama-gqa-tied")).unwrap().model;
    let tables: Vec<_> = parameters(&loaded)
        .into_iter()
        .filter(|(_, p)| &*p.label == "embed.embeddings")
        .collect();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].1, tables[1].1);
}

/// The parameter labelled `label` as an ndarray in axis order `order`.
fn param(model: &TransformerLm, label: &str, order: &[&str]) -> ndarray::ArrayD<f32> {
    let (_, p) = parameters(model)
        .into_iter()
        .find(|(_, p)| &*p.label == label)
        .unwrap();
    p.value.to_ndarray_f32(order).unwrap()
}

#[test]
fn grouped_query_heads_follow_transformers_order() {
    // HF query head h reads kv head h / (heads / kv_heads): row (k * group + g) * head_dim + p
    // of q_proj is our query weight at kv_heads k, q_per_kv g, projection p.
    let dir = fixture("llama-f16");
    let model = hf::load(&dir).unwrap().model;
    let q = param(
        &model,
        "blocks.1.attn.query.weights",
        &["embedding", "kv_heads", "q_per_kv", "projection"],
    );
    let checkpoint = Checkpoint::open_dir(&dir).unwrap();
    let hf_q = checkpoint
        .tensor("model.layers.1.self_attn.q_proj.weight")
        .unwrap()
        .to_f32_vec()
        .unwrap();
    let (kv, group, hd, d) = (2, 2, 8, 32);
    for e in 0..d {
        for k in 0..kv {
            for g in 0..group {
                for p in 0..hd {
                    let row = (k * group + g) * hd + p;
                    assert_eq!(q[[e, k, g, p]], hf_q[row * d + e]);
                }
            }
        }
    }
}

#[test]
fn gpt2_c_attn_splits_into_queries_keys_and_values() {
    let dir = fixture("gpt2");
    let model = hf::load(&dir).unwrap().model;
    let checkpoint = Checkpoint::open_dir(&dir).unwrap();
    let c_attn = checkpoint
        .tensor("transformer.h.0.attn.c_attn.weight")
        .unwrap()
        .to_f32_vec()
        .unwrap();
    for (i, slot) in ["query", "key", "value"].iter().enumerate() {
        let w = param(
            &model,
            &format!("blocks.0.attn.{slot}.weights"),
            &["embedding", "heads", "projection"],
        );
        for e in 0..32 {
            for h in 0..4 {
                for p in 0..8 {
                    assert_eq!(w[[e, h, p]], c_attn[e * 96 + i * 32 + h * 8 + p]);
                }
            }
        }
    }
}

#[test]
fn loading_reports_progress_per_tensor() {
    let mut calls = Vec::new();
    hf::load_with_progress(fixture("llama-sharded"), &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(calls.len(), 21);
    assert_eq!(calls.last(), Some(&(21, 21)));
}
