//! The CLI on models saved with `penzai::io::save`: an edited model runs, generates, views
//! and inspects like a checkpoint, and gives the same results as in the library.

use std::process::{Command, Output};

use penzai::models::{GenerateOptions, LlamaConfig, TransformerLm, generate};
use penzai::prelude::*;
use penzai::select::select;
use serde_json::Value;

fn penzai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(args)
        .output()
        .expect("the penzai binary runs")
}

fn stdout_json(run: &Output) -> Value {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("JSON on stdout")
}

/// A small model with an edit (an `Identity` inserted after every block), saved to a
/// fresh folder.
fn saved_model(name: &str) -> (TransformerLm, std::path::PathBuf) {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 7).unwrap();
    let edited = select(model)
        .at_path("blocks")
        .unwrap()
        .at_children()
        .insert_after(penzai::nn::Identity)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("penzai-cli-saved-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    penzai::io::save(&edited, &dir).unwrap();
    (edited, dir)
}

#[test]
fn logits_and_generate_run_a_saved_model() {
    let (model, dir) = saved_model("run");
    let d = dir.to_str().unwrap();
    let tokens = vec![3i64, 1, 4, 1, 5];
    let ids = NamedArray::from_i64(&[("batch", 1), ("seq", 5)], tokens.clone()).unwrap();
    let expected = model.call(ids.clone(), &mut Context::new()).unwrap();
    let expected = expected
        .order_as(&["batch", "seq", "vocabulary"])
        .unwrap()
        .to_f32_vec();

    let out = stdout_json(&penzai(&["logits", "--model", d, "--tokens", "3,1,4,1,5"]));
    let rows = out["logits"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let got: Vec<f32> = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
        })
        .collect();
    assert_eq!(got, expected, "the CLI prints the library's logits exactly");

    let out = stdout_json(&penzai(&[
        "generate",
        "--model",
        d,
        "--tokens",
        "3,1,4,1,5",
        "--max-new",
        "4",
    ]));
    let options = GenerateOptions {
        max_new_tokens: 4,
        ..Default::default()
    };
    let expected = generate(&model, &ids, &options).unwrap().to_i64_vec();
    let got: Vec<i64> = out["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(got, expected);

    let bad = penzai(&["logits", "--model", d, "--tokens", "9999"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("9999"),
        "the error names the bad id"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn view_and_inspect_a_saved_model() {
    let (_, dir) = saved_model("view");
    let d = dir.to_str().unwrap();
    let page = dir.join("page.html");
    let run = penzai(&["view", d, "-o", page.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("TransformerLm") && html.contains("Identity"));
    let run = penzai(&["inspect", d]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.starts_with("TransformerLm"), "{text}");
    assert!(text.contains("Identity"));
    std::fs::remove_dir_all(&dir).ok();
}
