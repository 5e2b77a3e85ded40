//! `penzai logits` and `penzai generate` on every fixture, against transformers' numbers in
//! expected.json (the same bar as tests/hf_parity.rs), and their failures.

mod hf_common;

use std::process::{Command, Output};

use hf_common::{Expected, FIXTURES, fixture};
use serde_json::Value;

fn penzai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(args)
        .output()
        .expect("the penzai binary runs")
}

/// Runs a command that must succeed and returns its stdout as JSON.
fn json(args: &[&str]) -> Value {
    let out = penzai(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "penzai {args:?} failed: {stderr}");
    // Not a terminal: no progress bar, and nothing else to say.
    assert_eq!(stderr, "", "penzai {args:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(tokens: &[i64]) -> String {
    tokens
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn logits_match_transformers_for_every_fixture_and_prompt() {
    for name in FIXTURES {
        let expected = Expected::read(name);
        let dir = fixture(name);
        for (prompt, theirs) in expected.prompts.iter().zip(&expected.logits) {
            let out = json(&[
                "logits",
                "--model",
                dir.to_str().unwrap(),
                "--tokens",
                &ids(prompt),
            ]);
            let rows = out["logits"].as_array().unwrap();
            assert_eq!(rows.len(), prompt.len(), "{name}: one row per token");
            let ours: Vec<f32> = rows
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter())
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name}: one column per vocabulary entry"
            );
            let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            for (a, b) in ours.iter().zip(theirs) {
                assert!((a - b).abs() <= 1e-5 * scale, "{name}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn greedy_generation_matches_transformers_for_every_fixture_and_prompt() {
    for name in FIXTURES {
        let expected = Expected::read(name);
        let dir = fixture(name);
        for (prompt, new) in expected.prompts.iter().zip(&expected.greedy) {
            let out = json(&[
                "generate",
                "--model",
                dir.to_str().unwrap(),
                "--tokens",
                &ids(prompt),
                "--max-new",
                "8",
            ]);
            let output: Vec<i64> = out["output"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(
                output,
                [prompt.as_slice(), new.as_slice()].concat(),
                "{name}"
            );
        }
    }
}

#[test]
fn sampling_is_seeded_and_stop_tokens_end_generation() {
    let dir = fixture("llama-mha");
    let dir = dir.to_str().unwrap();
    let sample = |seed: &str| {
        json(&[
            "generate",
            "--model",
            dir,
            "--tokens",
            "5,17,42",
            "--max-new",
            "8",
            "--temperature",
            "1.5",
            "--top-k",
            "20",
            "--top-p",
            "0.95",
            "--seed",
            seed,
        ])
    };
    assert_eq!(sample("3"), sample("3"));
    assert_eq!(sample("3")["output"].as_array().unwrap().len(), 11);
    // Greedy continues 5,17,42 with 91,3,20,...: stopping at 3 keeps the stop token.
    let stopped = json(&[
        "generate",
        "--model",
        dir,
        "--tokens",
        "5,17,42",
        "--max-new",
        "8",
        "--stop",
        "3,99",
    ]);
    assert_eq!(stopped["output"], serde_json::json!([5, 17, 42, 91, 3]));
}

/// Runs a command that must fail and returns its stderr.
fn failure(args: &[&str]) -> String {
    let out = penzai(args);
    assert!(!out.status.success(), "penzai {args:?} succeeded");
    assert!(out.stdout.is_empty(), "penzai {args:?} printed to stdout");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

#[test]
fn bad_input_is_one_error_line_and_a_failure_status() {
    let gpt2 = fixture("gpt2");
    let gpt2 = gpt2.to_str().unwrap();
    assert_eq!(
        failure(&["logits", "--model", gpt2, "--tokens", "5,97"]),
        "penzai: error: token id 97 is outside the vocabulary (0..97)\n"
    );
    let err = failure(&["logits", "--model", "/no/such/model", "--tokens", "1"]);
    assert!(err.contains("/no/such/model"), "{err}");
    let err = failure(&[
        "generate",
        "--model",
        gpt2,
        "--tokens",
        "1",
        "--temperature",
        "0",
    ]);
    assert!(err.contains("temperature must be positive"), "{err}");
    // A folder without weights names the missing file.
    let err = failure(&[
        "logits",
        "--model",
        fixture("").to_str().unwrap(),
        "--tokens",
        "1",
    ]);
    assert!(err.contains("config.json"), "{err}");
    // Argument errors come from clap, with its usage line.
    let err = failure(&["logits", "--tokens", "1"]);
    assert!(err.contains("--model <DIR>"), "{err}");
    let err = failure(&["logits", "--model", gpt2, "--tokens", "one"]);
    assert!(err.contains("invalid value 'one'"), "{err}");
}
