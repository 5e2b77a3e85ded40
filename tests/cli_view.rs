//! `penzai view` and `penzai inspect` on checkpoint folders and safetensors files.

mod hf_common;

use std::process::{Command, Output};

use hf_common::fixture;

fn penzai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(args)
        .output()
        .expect("the penzai binary runs")
}

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("penzai-cli-view-{}-{name}", std::process::id()))
}

#[test]
fn view_writes_a_treescope_page_of_a_checkpoint() {
    let out = temp_file("llama.html");
    let dir = fixture("llama-sharded");
    let run = penzai(&["view", dir.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).ok();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("TransformerLm"));
    assert!(page.contains("blocks.1.mlp.down.weights"));
}

#[test]
fn view_writes_a_page_of_a_safetensors_file() {
    let out = temp_file("tensors.html");
    let file = fixture("gpt2-legacy").join("model.safetensors");
    let run = penzai(&[
        "view",
        file.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).ok();
    assert!(page.contains("h.0.attn.c_attn.weight"));
}

#[test]
fn inspect_prints_the_tree_without_colour_when_piped() {
    let dir = fixture("qwen2-mqa");
    let run = penzai(&["inspect", dir.to_str().unwrap()]);
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with("TransformerLm"), "{text}");
    assert!(
        text.contains("label \"blocks.0.attn.query.bias\""),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no ANSI escapes in a pipe");
    let file = fixture("llama-f16").join("model.safetensors");
    let run = penzai(&["inspect", file.to_str().unwrap()]);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.contains("[\"model.embed_tokens.weight\"]: NamedArray f32[101, 32]"),
        "{text}"
    );
}

#[test]
fn paths_that_hold_no_model_are_errors() {
    for (path, message) in [
        ("/no/such/file.safetensors", "/no/such/file.safetensors"),
        ("/no/such/thing", "/no/such/thing does not exist"),
        (
            env!("CARGO_MANIFEST_DIR"),
            "is neither a HuggingFace checkpoint folder",
        ),
    ] {
        let run = penzai(&["inspect", path]);
        assert!(!run.status.success(), "{path}");
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert!(stderr.starts_with("penzai: error: "), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
    let dir = fixture("gpt2");
    let run = penzai(&[
        "view",
        dir.to_str().unwrap(),
        "-o",
        "/no/such/dir/page.html",
    ]);
    assert!(!run.status.success());
    assert!(
        String::from_utf8(run.stderr)
            .unwrap()
            .contains("cannot write /no/such/dir/page.html")
    );
}
