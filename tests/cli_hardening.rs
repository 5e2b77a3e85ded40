//! The CLI facing models and inputs that cannot give sensible results: NaN logits, inputs too
//! long for memory, files that are missing. Each is one error line naming the cause once,
//! and a failure status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::ConstantRescale;
use penzai::select::select;

fn penzai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(args)
        .output()
        .expect("the penzai binary runs")
}

fn failure(args: &[&str]) -> String {
    let out = penzai(args);
    assert!(!out.status.success(), "penzai {args:?} succeeded");
    assert!(out.stdout.is_empty(), "penzai {args:?} printed to stdout");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("penzai-cli-hard-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The tiny Llama with two `ConstantRescale { by: 3e38 }` after block 0: finite settings whose
/// product overflows to infinity, and then NaN.
fn overflowing_model(name: &str) -> TempDir {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 7).unwrap();
    let edited = select(model)
        .at_path("blocks[0]")
        .unwrap()
        .insert_after(ConstantRescale { by: 3e38 })
        .unwrap();
    let edited = select(edited)
        .at_path("blocks[1]")
        .unwrap()
        .insert_after(ConstantRescale { by: 3e38 })
        .unwrap();
    let dir = TempDir::new(name);
    penzai::io::save(&edited, &dir.0).unwrap();
    dir
}

#[test]
fn non_finite_logits_fail_naming_the_first_layer_whose_output_went_non_finite() {
    let dir = overflowing_model("nan");
    let message = failure(&["logits", "--model", dir.path(), "--tokens", "1,2,3"]);
    assert!(
        message.starts_with(
            "penzai: error: running the model: at blocks[1] (ConstantRescale): output has "
        ),
        "{message}"
    );
    assert!(
        message.contains("non-finite values (NaN or infinite)"),
        "{message}"
    );
    let message = failure(&["generate", "--model", dir.path(), "--tokens", "1,2,3"]);
    assert!(
        message.contains("at blocks[1] (ConstantRescale): output has "),
        "{message}"
    );
    // Asked for, the values come through (as JSON null).
    let out = penzai(&[
        "logits",
        "--model",
        dir.path(),
        "--tokens",
        "1,2,3",
        "--allow-non-finite",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("null"));
    // Greedy decoding refuses NaN logits rather than emitting token 0.
    let message = failure(&[
        "generate",
        "--model",
        dir.path(),
        "--tokens",
        "1,2,3",
        "--allow-non-finite",
    ]);
    assert!(
        message.contains("cannot choose a token: logit 0 of 64 is NaN"),
        "{message}"
    );
}

#[test]
fn an_input_too_long_for_the_memory_limit_names_the_sizes() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 7).unwrap();
    let dir = TempDir::new("long");
    penzai::io::save(&model, &dir.0).unwrap();
    let tokens = vec!["1"; 2000].join(",");
    let message = failure(&[
        "logits",
        "--model",
        dir.path(),
        "--tokens",
        &tokens,
        "--max-memory",
        "8M",
    ]);
    assert!(
        message.contains(
            "attention scores {batch: 1, seq: 2000, kv_heads: 2, q_per_kv: 2, kv_seq: 2000} would need 64000000 bytes (64.0 MB), over the memory limit of 8388608 bytes (8.4 MB)"
        ),
        "{message}"
    );
    let out = penzai(&[
        "logits",
        "--model",
        dir.path(),
        "--tokens",
        "1",
        "--max-memory",
        "lots",
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("expected a size such as 4096, 512M or 8G"),
        "{message}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_missing_shard_is_named_once() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-sharded");
    let dir = TempDir::new("shard");
    copy_dir(&fixture, &dir.0);
    let shard = dir.0.join("model-00002-of-00002.safetensors");
    std::fs::remove_file(&shard).unwrap();
    let message = failure(&["logits", "--model", dir.path(), "--tokens", "1,2"]);
    let name = shard.file_name().unwrap().to_str().unwrap();
    assert!(message.contains(name), "{message}");
    let os_error = "No such file or directory";
    assert_eq!(message.matches(os_error).count(), 1, "{message}");
}

#[test]
fn twenty_thousand_tokens_under_a_4_gb_address_space_is_an_error_not_an_abort() {
    // Issue 14: this aborted asking for 6.4 GB. Without --max-memory the estimate is checked
    // against what the allocator grants, here capped by `ulimit -v`.
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 7).unwrap();
    let dir = TempDir::new("20k");
    penzai::io::save(&model, &dir.0).unwrap();
    let tokens = vec!["1"; 20_000].join(",");
    let out = Command::new("sh")
        .args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_penzai"))
        .args(["logits", "--model", dir.path(), "--tokens", &tokens])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "attention scores {batch: 1, seq: 20000, kv_heads: 2, q_per_kv: 2, kv_seq: 20000} would need 6400000000 bytes (6.4 GB), more than this machine can allocate"
        ),
        "{stderr}"
    );
}

#[test]
fn the_82_byte_file_of_issue_14_is_an_error_in_inspect_and_view() {
    let dir = TempDir::new("82");
    let file = dir.0.join("crafted.safetensors");
    std::fs::write(
        &file,
        b"J\0\0\0\0\0\0\0{\"t\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775808],\"data_offsets\":[0,0]}}",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let message = failure(&["inspect", path]);
    assert!(
        message.contains("crafted.safetensors: tensor \"t\": shape [0, 9223372036854775808] of F32 overflows the address space"),
        "{message}"
    );
    let page = dir.0.join("page.html");
    let message = failure(&["view", path, "-o", page.to_str().unwrap()]);
    assert!(message.contains("tensor \"t\""), "{message}");
}
