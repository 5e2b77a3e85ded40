//! `penzai bench --model`: one JSON object with the figures the issue names, measured on a
//! small checkpoint fixture; and its refusals.

mod hf_common;

use std::process::{Command, Output};

use hf_common::fixture;
use serde_json::Value;

fn penzai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penzai"))
        .args(args)
        .output()
        .expect("the penzai binary runs")
}

#[test]
fn bench_of_a_checkpoint_prints_every_figure() {
    let dir = fixture("llama-f16");
    let args = [
        "bench",
        "--model",
        dir.to_str().unwrap(),
        "--seq",
        "8",
        "--new",
        "4",
        "--bandwidth-mib",
        "16",
    ];
    let out = penzai(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "penzai bench failed: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "load_s",
        "forward_s",
        "decode_tokens_per_s",
        "decode_step_tokens_per_s",
        "view_s",
        "memory_bandwidth_bytes_per_s",
        "decode_ceiling_tokens_per_s",
        "decode_ratio_to_ceiling",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {v}"));
        assert!(x > 0.0 && x.is_finite(), "{key} = {x}");
    }
    let file = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .len();
    assert_eq!(v["file_bytes"].as_u64(), Some(file));
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);
    // The f16 parameters stay 16-bit: two bytes each, less than the file (which adds a header).
    let weights = v["weight_bytes"].as_u64().unwrap();
    assert!(weights > 0 && weights < file, "{weights} of {file}");
    assert_eq!(v["parameter_dtypes"], serde_json::json!(["f16"]));
    assert_eq!(
        (v["seq"].as_u64(), v["new_tokens"].as_u64()),
        (Some(8), Some(4))
    );
}

#[test]
fn bench_refuses_what_it_cannot_time() {
    let out = penzai(&["bench", "--model", "/nonexistent/checkpoint"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/checkpoint is not a HuggingFace checkpoint folder"),
        "{stderr}"
    );
    let dir = fixture("llama-f16");
    let out = penzai(&["bench", "--model", dir.to_str().unwrap(), "--dtype", "i64"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--dtype \"i64\" is not one of f32, f16, bf16")
    );
}
