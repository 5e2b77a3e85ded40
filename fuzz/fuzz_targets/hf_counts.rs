//! Structure-aware HF checkpoints: a fixture's config.json (Llama or GPT-2) with its counts and
//! floats set to edge values (layers, heads, sizes, positions, epsilons, RoPE base), loaded
//! against the fixture's real tensors. Every count must be checked against the files before
//! anything is allocated for it: loading fails with an error or gives a model that runs on a
//! short prompt (or refuses to) without a panic or an abort.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use penzai_fuzz::extreme::Number;
use penzai_runtime::io::{Checkpoint, HfConfig, SafetensorsFile, hf};
use penzai_runtime::nn::Context;
use penzai_runtime::nx::NamedArray;
use serde_json::Value;

struct Fixture {
    config: Value,
    checkpoint: Checkpoint,
    keys: &'static [&'static str],
}

fn fixture(config: &str, weights: &[u8], keys: &'static [&'static str]) -> Fixture {
    let file = SafetensorsFile::from_bytes("model.safetensors", weights.to_vec())
        .expect("the fixture's weights parse");
    Fixture {
        config: serde_json::from_str(config).expect("the fixture's config is JSON"),
        checkpoint: Checkpoint::from_file(file),
        keys,
    }
}

static LLAMA: LazyLock<Fixture> = LazyLock::new(|| {
    fixture(
        include_str!("../../tests/fixtures/llama-mha/config.json"),
        include_bytes!("../../tests/fixtures/llama-mha/model.safetensors"),
        &[
            "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
            "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
            "rms_norm_eps", "rope_theta", "sliding_window",
        ],
    )
});
static GPT2: LazyLock<Fixture> = LazyLock::new(|| {
    fixture(
        include_str!("../../tests/fixtures/gpt2/config.json"),
        include_bytes!("../../tests/fixtures/gpt2/model.safetensors"),
        &[
            "n_layer", "n_embd", "n_head", "n_positions", "n_ctx", "n_inner", "vocab_size",
            "layer_norm_epsilon",
        ],
    )
});

#[derive(Arbitrary, Debug)]
struct Input {
    gpt2: bool,
    edits: Vec<(u8, Number)>,
    prompt_len: u8,
}

fuzz_target!(|input: Input| {
    let fixture = if input.gpt2 { &*GPT2 } else { &*LLAMA };
    let mut config = fixture.config.clone();
    for (key, number) in input.edits.iter().take(4) {
        let key = fixture.keys[usize::from(*key) % fixture.keys.len()];
        if let Ok(v) = serde_json::from_str::<Value>(&number.json()) {
            config[key] = v;
        }
    }
    let Ok(config) = HfConfig::from_json_bytes("config.json", config.to_string().as_bytes()) else {
        return;
    };
    let Ok(model) = hf::from_checkpoint(&config, "config.json", &fixture.checkpoint, &mut |_, _| {})
    else {
        return;
    };
    let n = usize::from(input.prompt_len % 8) + 1;
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", n)], (0..n as i64).collect())
        .expect("a small prompt");
    let _ = Context::new().run(&model, tokens);
});
