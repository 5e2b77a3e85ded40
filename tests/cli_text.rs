//! The CLI with text: `--prompt`, the `"text"` of `generate`, `tokenize`, and `--model
//! org/name` through fake HuggingFace caches, against what transformers and the Python
//! `tokenizers` package computed (tests/fixtures/{gpt2,llama}-text/expected.json).

mod hf_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hf_common::fixture;
use serde_json::{Value, json};

/// The checkpoints that ship a tokenizer.json: byte-level BPE (GPT-2 layout) and
/// SentencePiece-style BPE with byte fallback (Llama 2 layout).
const TEXT_FIXTURES: [&str; 2] = ["gpt2-text", "llama-text"];

fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_penzai"));
    command.args(args);
    // Only the caches a test builds are searched.
    for var in [
        "HF_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "HOME",
        "USERPROFILE",
    ] {
        command.env_remove(var);
    }
    for (var, value) in env {
        command.env(var, value);
    }
    command.output().expect("the penzai binary runs")
}

fn json_with(args: &[&str], env: &[(&str, &Path)]) -> Value {
    let out = run(args, env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "penzai {args:?} failed: {stderr}");
    assert_eq!(stderr, "", "penzai {args:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    json_with(args, &[])
}

/// A failing run's stderr: one error line, nothing on stdout.
fn failure_with(args: &[&str], env: &[(&str, &Path)]) -> String {
    let out = run(args, env);
    assert!(!out.status.success(), "penzai {args:?} succeeded");
    assert!(out.stdout.is_empty(), "penzai {args:?} printed to stdout");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn failure(args: &[&str]) -> String {
    failure_with(args, &[])
}

/// The text prompt of a fixture and what transformers did with it.
fn text_case(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    expected["text_prompts"][0].clone()
}

fn dir(name: &str) -> String {
    fixture(name).to_str().unwrap().to_owned()
}

fn ids_arg(ids: &Value) -> String {
    ids.as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn generate_from_a_prompt_prints_the_ids_and_text_transformers_produce() {
    for name in TEXT_FIXTURES {
        let case = text_case(name);
        let prompt = case["text"].as_str().unwrap();
        let out = json(&[
            "generate",
            "--model",
            &dir(name),
            "--prompt",
            prompt,
            "--max-new",
            "8",
        ]);
        assert_eq!(out["output"], case["output_ids"], "{name}");
        assert_eq!(out["text"], case["output_text"], "{name}");
        assert!(out["text"].as_str().unwrap().starts_with(prompt), "{name}");
    }
}

#[test]
fn generate_from_tokens_adds_the_text_when_the_folder_has_a_tokenizer() {
    for name in TEXT_FIXTURES {
        let case = text_case(name);
        let out = json(&[
            "generate",
            "--model",
            &dir(name),
            "--tokens",
            &ids_arg(&case["ids"]),
            "--max-new",
            "8",
        ]);
        assert_eq!(
            out,
            json!({"output": case["output_ids"], "text": case["output_text"]}),
            "{name}"
        );
    }
    // Without a tokenizer the output is exactly what it always was.
    let out = json(&[
        "generate",
        "--model",
        &dir("gpt2"),
        "--tokens",
        "5,17",
        "--max-new",
        "2",
    ]);
    assert_eq!(out.as_object().unwrap().len(), 1, "{out}");
    assert_eq!(out["output"].as_array().unwrap().len(), 4);
}

#[test]
fn logits_of_a_prompt_are_the_logits_of_its_ids() {
    for name in TEXT_FIXTURES {
        let case = text_case(name);
        let prompt = case["text"].as_str().unwrap();
        let by_text = json(&["logits", "--model", &dir(name), "--prompt", prompt]);
        assert_eq!(by_text["ids"], case["ids"], "{name}");
        let by_ids = json(&[
            "logits",
            "--model",
            &dir(name),
            "--tokens",
            &ids_arg(&case["ids"]),
        ]);
        assert_eq!(by_text["logits"], by_ids["logits"], "{name}");
        assert_eq!(
            by_ids.as_object().unwrap().len(),
            1,
            "{name}: --tokens output is unchanged"
        );
    }
}

#[test]
fn tokenize_prints_the_ids_and_pieces_of_the_python_package() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("tokenizers/llama2-sentencepiece").join("expected.json"))
            .unwrap(),
    )
    .unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let out = json(&[
            "tokenize",
            "--model",
            &dir("llama-text"),
            "--prompt",
            case["text"].as_str().unwrap(),
        ]);
        assert_eq!(out, json!({"ids": case["ids"], "tokens": case["tokens"]}));
    }
}

#[test]
fn a_prompt_without_a_tokenizer_is_an_error_naming_the_file() {
    let err = failure(&["generate", "--model", &dir("gpt2"), "--prompt", "hello"]);
    let file = fixture("gpt2").join("tokenizer.json");
    assert_eq!(
        err,
        format!(
            "penzai: error: {}: not found: the folder has no tokenizer.json (text in and out needs the checkpoint's tokenizer; token ids work without one)\n",
            file.display()
        )
    );
    let err = failure(&[
        "tokenize",
        "--model",
        &dir("llama-mha"),
        "--prompt",
        "hello",
    ]);
    assert!(err.contains("llama-mha/tokenizer.json: not found"), "{err}");
}

/// A copy of fixture `name` in a fresh temp folder.
fn copy_fixture(name: &str, tag: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!("pz-cli-text-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

#[test]
fn a_malformed_tokenizer_is_an_error_naming_the_file_and_offset() {
    let folder = copy_fixture("gpt2-text", "malformed");
    std::fs::write(
        folder.join("tokenizer.json"),
        "{\"version\": \"1.0\",\n  \"model\": [}",
    )
    .unwrap();
    let folder_arg = folder.to_str().unwrap();
    for args in [
        vec!["generate", "--model", folder_arg, "--prompt", "hi"],
        // A broken tokenizer is reported even when only ids are given.
        vec!["generate", "--model", folder_arg, "--tokens", "1,2"],
        vec!["tokenize", "--model", folder_arg, "--prompt", "hi"],
    ] {
        let err = failure(&args);
        assert!(
            err.starts_with(&format!(
                "penzai: error: {}: not a valid tokenizer.json (byte offset 31): ",
                folder.join("tokenizer.json").display()
            )),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // `logits` has no text to write, so ids alone do not read the tokenizer.
    let out = json(&["logits", "--model", folder_arg, "--tokens", "1,2"]);
    assert_eq!(out["logits"].as_array().unwrap().len(), 2);
}

#[test]
fn an_empty_prompt_without_a_bos_token_is_refused() {
    let err = failure(&["generate", "--model", &dir("gpt2-text"), "--prompt", ""]);
    assert!(err.contains("encodes to no tokens"), "{err}");
    // Llama's template adds <s>, so an empty prompt is one token.
    let out = json(&[
        "generate",
        "--model",
        &dir("llama-text"),
        "--prompt",
        "",
        "--max-new",
        "1",
    ]);
    assert_eq!(out["output"].as_array().unwrap()[0], 1);
}

#[test]
fn tokens_and_prompt_exclude_each_other_and_one_is_required() {
    let err = failure(&[
        "logits",
        "--model",
        &dir("gpt2-text"),
        "--tokens",
        "1",
        "--prompt",
        "x",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = failure(&["logits", "--model", &dir("gpt2-text")]);
    assert!(err.contains("<--tokens <IDS>...|--prompt <TEXT>>"), "{err}");
}

/// A HuggingFace cache root holding fixture `name` as `models--acme--{name}`, with its
/// snapshot at `refs/main`'s commit.
fn fake_cache(tag: &str, name: &str, nested: &str) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("pz-cli-hub-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join(nested);
    let repo = root.join(format!("models--acme--{name}"));
    let commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4";
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), snapshot.join(entry.file_name())).unwrap();
    }
    (base, snapshot)
}

#[test]
fn a_repo_id_resolves_through_each_cache_root() {
    let case = text_case("gpt2-text");
    let prompt = case["text"].as_str().unwrap();
    let args = [
        "generate",
        "--model",
        "acme/gpt2-text",
        "--prompt",
        prompt,
        "--max-new",
        "8",
    ];
    // HF_HUB_CACHE points at the root itself; HF_HOME and XDG_CACHE_HOME at parents of it;
    // HOME at the parent of .cache.
    for (var, nested) in [
        ("HF_HUB_CACHE", "hub"),
        ("HF_HOME", "hf/hub"),
        ("XDG_CACHE_HOME", "xdg/huggingface/hub"),
        ("HOME", "home/.cache/huggingface/hub"),
    ] {
        let (base, _) = fake_cache(var, "gpt2-text", nested);
        let value = match var {
            "HF_HUB_CACHE" => base.join("hub"),
            "HF_HOME" => base.join("hf"),
            "XDG_CACHE_HOME" => base.join("xdg"),
            _ => base.join("home"),
        };
        let out = json_with(&args, &[(var, &value)]);
        assert_eq!(out["output"], case["output_ids"], "{var}");
        assert_eq!(out["text"], case["output_text"], "{var}");
    }
}

#[test]
fn the_first_root_that_has_the_repo_wins_and_revisions_select_snapshots() {
    let (first, snapshot) = fake_cache("order-first", "gpt2-text", "hub");
    // A second root with a different model under the same id.
    let (second, _) = fake_cache("order-second", "llama-text", "hf/hub");
    std::fs::rename(
        second.join("hf/hub/models--acme--llama-text"),
        second.join("hf/hub/models--acme--gpt2-text"),
    )
    .unwrap();
    let tokenize = [
        "tokenize",
        "--model",
        "acme/gpt2-text",
        "--prompt",
        "The model",
    ];
    let out = json_with(
        &tokenize,
        &[
            ("HF_HUB_CACHE", &first.join("hub")),
            ("HF_HOME", &second.join("hf")),
        ],
    );
    assert_eq!(
        out["tokens"],
        json!(["The", "Ġmodel"]),
        "HF_HUB_CACHE first"
    );
    let out = json_with(&tokenize, &[("HF_HOME", &second.join("hf"))]);
    assert_eq!(out["tokens"][0], "<s>", "then HF_HOME/hub");

    // A branch in refs/, or a commit hash naming its snapshot directly.
    let repo = first.join("hub/models--acme--gpt2-text");
    std::fs::copy(repo.join("refs/main"), repo.join("refs/v1")).unwrap();
    let commit = snapshot.file_name().unwrap().to_str().unwrap().to_owned();
    for id in [
        "acme/gpt2-text@v1".to_owned(),
        format!("acme/gpt2-text@{commit}"),
    ] {
        let out = json_with(
            &["tokenize", "--model", &id, "--prompt", "The model"],
            &[("HF_HUB_CACHE", &first.join("hub"))],
        );
        assert_eq!(out["tokens"], json!(["The", "Ġmodel"]), "{id}");
    }
}

#[test]
fn a_cache_miss_lists_every_place_it_looked() {
    let (base, _) = fake_cache("miss", "gpt2-text", "hub");
    let hub = base.join("hub");
    let home = base.join("home");
    let err = failure_with(
        &["generate", "--model", "acme/missing", "--prompt", "hi"],
        &[("HF_HUB_CACHE", &hub), ("HF_HOME", &base), ("HOME", &home)],
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "penzai: error: no folder \"acme/missing\" here, and acme/missing (revision main) is not in the local HuggingFace cache, and nothing is downloaded; looked in:"
    );
    // HF_HOME/hub is the same folder as HF_HUB_CACHE here: searched once.
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[1].contains(&format!("HF_HUB_CACHE ({})", hub.display())),
        "{err}"
    );
    assert!(
        lines[1].ends_with("models--acme--missing: no such folder"),
        "{err}"
    );
    assert!(lines[2].contains("~/.cache/huggingface/hub"), "{err}");

    // A repository whose refs/main names a snapshot that was never downloaded.
    let repo = hub.join("models--acme--gpt2-text");
    std::fs::write(repo.join("refs/main"), "deadbeef").unwrap();
    let err = failure_with(
        &["tokenize", "--model", "acme/gpt2-text", "--prompt", "hi"],
        &[("HF_HUB_CACHE", &hub)],
    );
    assert!(err.contains("snapshots/deadbeef: no such folder"), "{err}");
    // refs/main cannot lead out of the snapshots folder.
    std::fs::write(repo.join("refs/main"), "../../../etc").unwrap();
    let err = failure_with(
        &["tokenize", "--model", "acme/gpt2-text", "--prompt", "hi"],
        &[("HF_HUB_CACHE", &hub)],
    );
    assert!(err.contains("not a commit hash"), "{err}");
}

#[test]
fn view_and_inspect_take_repo_ids_too() {
    let (base, _) = fake_cache("view", "gpt2-text", "hub");
    let hub = base.join("hub");
    let out = run(&["inspect", "acme/gpt2-text"], &[("HF_HUB_CACHE", &hub)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("TransformerLm"));
}
