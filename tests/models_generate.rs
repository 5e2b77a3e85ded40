//! Generation: KV-cached decoding equals full recomputation; batching, sampling, stop tokens.

use penzai::models::{GenerateOptions, Gpt2Config, LlamaConfig, Sampling, TransformerLm, generate};
use penzai::prelude::*;

fn prompt(rows: &[&[i64]]) -> NamedArray {
    let n = rows[0].len();
    NamedArray::from_i64(&[("batch", rows.len()), ("seq", n)], rows.concat()).unwrap()
}

fn both_ways(model: &TransformerLm, p: &NamedArray, sampling: Sampling) -> (Vec<i64>, Vec<i64>) {
    let opts = GenerateOptions {
        max_new_tokens: 6,
        sampling,
        seed: 11,
        ..Default::default()
    };
    let cached = generate(model, p, &opts).unwrap();
    let full = generate(
        model,
        p,
        &GenerateOptions {
            use_kv_cache: false,
            ..opts
        },
    )
    .unwrap();
    (cached.to_i64_vec(), full.to_i64_vec())
}

#[test]
fn cached_generation_equals_recomputation_for_llama_and_gpt2() {
    let llama = TransformerLm::llama(
        &LlamaConfig {
            n_kv_heads: 2,
            ..LlamaConfig::tiny()
        },
        3,
    )
    .unwrap();
    let gpt2 = TransformerLm::gpt2(&Gpt2Config::tiny(), 3).unwrap();
    let p = prompt(&[&[1, 2, 3, 4], &[9, 8, 7, 6]]);
    for model in [&llama, &gpt2] {
        let (cached, full) = both_ways(model, &p, Sampling::Greedy);
        assert_eq!(cached, full);
        assert_eq!(cached.len(), 2 * 10);
        let sampled = Sampling::Sample {
            temperature: 0.8,
            top_k: Some(20),
            top_p: Some(0.95),
        };
        let (cached, full) = both_ways(model, &p, sampled);
        assert_eq!(cached, full);
    }
}

#[test]
fn batched_rows_match_single_row_generation() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 4).unwrap();
    let opts = GenerateOptions {
        max_new_tokens: 5,
        ..Default::default()
    };
    let both = generate(&model, &prompt(&[&[5, 6, 7], &[1, 1, 2]]), &opts)
        .unwrap()
        .to_i64_vec();
    let first = generate(&model, &prompt(&[&[5, 6, 7]]), &opts)
        .unwrap()
        .to_i64_vec();
    let second = generate(&model, &prompt(&[&[1, 1, 2]]), &opts)
        .unwrap()
        .to_i64_vec();
    assert_eq!(both, [first, second].concat());
}

#[test]
fn generation_stops_at_stop_tokens_and_pads_finished_rows() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 5).unwrap();
    let p = prompt(&[&[3, 1, 4]]);
    let free = generate(
        &model,
        &p,
        &GenerateOptions {
            max_new_tokens: 8,
            ..Default::default()
        },
    )
    .unwrap()
    .to_i64_vec();
    let stop = free[5];
    let stopped = generate(
        &model,
        &p,
        &GenerateOptions {
            max_new_tokens: 8,
            stop_tokens: vec![stop],
            ..Default::default()
        },
    )
    .unwrap()
    .to_i64_vec();
    let first_stop = free[3..].iter().position(|t| *t == stop).unwrap() + 3;
    assert_eq!(stopped, free[..=first_stop].to_vec());
}

#[test]
fn prompts_must_be_token_ids_with_batch_and_seq() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let floats = NamedArray::zeros(&[("batch", 1), ("seq", 2)]).unwrap();
    let err = generate(&model, &floats, &GenerateOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("a prompt must be i64 token ids"),
        "{err}"
    );
    let no_batch = NamedArray::from_i64(&[("seq", 2)], vec![1, 2]).unwrap();
    assert!(generate(&model, &no_batch, &GenerateOptions::default()).is_err());
}
