//! `penzai::text::generate_text` against transformers: the same ids and the same text for
//! the text prompts of tests/fixtures/{gpt2,llama}-text.

mod hf_common;

use hf_common::fixture;
use penzai::io::hf;
use penzai::models::GenerateOptions;
use penzai::text::{TextError, Tokenizer, decode_generation, encode_prompt, generate_text};
use serde_json::Value;

fn text_case(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    expected["text_prompts"][0].clone()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn greedy_text_generation_matches_transformers() {
    for name in ["gpt2-text", "llama-text"] {
        let case = text_case(name);
        let model = hf::load(fixture(name)).unwrap().model;
        let tokenizer = Tokenizer::from_dir(fixture(name)).unwrap();
        let prompt = case["text"].as_str().unwrap();
        for use_kv_cache in [true, false] {
            let options = GenerateOptions {
                max_new_tokens: 8,
                use_kv_cache,
                ..Default::default()
            };
            let out = generate_text(&model, &tokenizer, prompt, &options).unwrap();
            assert_eq!(out.ids, ints(&case["output_ids"]), "{name}");
            assert_eq!(out.new_ids(), ints(&case["greedy_new_tokens"]), "{name}");
            assert_eq!(out.prompt_len, ints(&case["ids"]).len(), "{name}");
            assert_eq!(out.text, case["output_text"].as_str().unwrap(), "{name}");
            assert_eq!(out.text, format!("{prompt}{}", out.new_text), "{name}");
        }
    }
}

#[test]
fn new_text_keeps_what_joins_it_to_the_prompt() {
    // A prompt ending inside a character: the new token completes it.
    let tokenizer = Tokenizer::from_dir(fixture("llama-text")).unwrap();
    let crab = tokenizer.encode("a 🦀").unwrap();
    let cut = crab.len() - 2;
    let out = decode_generation(&tokenizer, crab.clone(), cut).unwrap();
    assert_eq!(out.text, "a 🦀");
    assert_eq!(out.new_text, "🦀", "the new bytes complete the character");
    // SentencePiece's decoder strips a text's first space; after a prompt it is kept.
    let ids = tokenizer.encode("Der Bäcker").unwrap();
    let out = decode_generation(&tokenizer, ids, 3).unwrap();
    assert_eq!(out.new_text, " Bäcker");
}

#[test]
fn an_empty_encoding_is_an_error_naming_the_tokenizer() {
    let tokenizer = Tokenizer::from_dir(fixture("gpt2-text")).unwrap();
    let err = encode_prompt(&tokenizer, "").unwrap_err();
    let penzai::Error::Text(text) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**text, TextError::EmptyPrompt { .. }), "{text:?}");
    assert!(
        err.to_string()
            .contains("gpt2-text/tokenizer.json: the prompt \"\" encodes to no tokens")
    );
    let model = hf::load(fixture("gpt2-text")).unwrap().model;
    assert!(generate_text(&model, &tokenizer, "", &GenerateOptions::default()).is_err());
}
