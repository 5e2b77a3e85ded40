//! Checkpoints load at their stored width, borrowing the mapped file, and still match
//! transformers; `LoadOptions::dtype` and `penzai --dtype` widen once and agree.

mod hf_common;

use std::process::Command;

use hf_common::{Expected, fixture};
use penzai::io::hf::{self, HfError, LoadOptions};
use penzai::nn::parameters;
use penzai::nx::DType;
use penzai::prelude::*;

fn dtypes(model: &dyn Tree) -> Vec<DType> {
    let mut d: Vec<DType> = parameters(model)
        .iter()
        .map(|(_, p)| p.value.dtype())
        .collect();
    d.sort();
    d.dedup();
    d
}

#[test]
fn sixteen_bit_checkpoints_stay_sixteen_bit_and_borrow_the_file() {
    for (name, dtype) in [("gpt2-bf16", DType::BF16), ("llama-f16", DType::F16)] {
        let loaded = hf::load(fixture(name)).unwrap();
        assert_eq!(dtypes(&loaded.model), [dtype], "{name}");
        let borrowed = parameters(&loaded.model)
            .iter()
            .filter(|(_, p)| p.value.storage().is_borrowed())
            .count();
        assert_eq!(borrowed, parameters(&loaded.model).len(), "{name}");
    }
}

#[test]
fn f32_checkpoints_are_mapped_not_copied() {
    let loaded = hf::load(fixture("gpt2")).unwrap();
    assert_eq!(dtypes(&loaded.model), [DType::F32]);
    assert!(
        parameters(&loaded.model)
            .iter()
            .all(|(_, p)| p.value.storage().is_borrowed())
    );
}

#[test]
fn widening_at_load_gives_the_same_logits_within_the_parity_bar() {
    for name in ["gpt2-bf16", "llama-f16"] {
        let expected = Expected::read(name);
        let kept = hf::load(fixture(name)).unwrap();
        let options = LoadOptions::default().dtype(DType::F32);
        let wide = hf::load_with(fixture(name), &options, &mut |_, _| {}).unwrap();
        assert_eq!(dtypes(&wide.model), [DType::F32], "{name}");
        assert!(
            parameters(&wide.model)
                .iter()
                .all(|(_, p)| !p.value.storage().is_borrowed())
        );
        let tokens = expected.prompts_array();
        let a = kept
            .model
            .call(tokens.clone(), &mut Context::new())
            .unwrap();
        let b = wide.model.call(tokens, &mut Context::new()).unwrap();
        let names = ["batch", "seq", "vocabulary"];
        let (a, b) = (
            a.order_as(&names).unwrap().to_f32_vec(),
            b.order_as(&names).unwrap().to_f32_vec(),
        );
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5 * scale, "{name}: {x} vs {y}");
        }
    }
}

#[test]
fn tied_parameters_stay_one_array_after_widening() {
    let options = LoadOptions::default().dtype(DType::F32);
    let wide = hf::load_with(fixture("gpt2-bf16"), &options, &mut |_, _| {}).unwrap();
    let tables: Vec<*const f32> = parameters(&wide.model)
        .iter()
        .filter(|(_, p)| &*p.label == "embed.embeddings")
        .map(|(_, p)| match p.value.storage() {
            penzai::nx::Storage::F32(a) => a.as_ptr(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tables.len(), 2, "lookup and decode share the table");
    assert_eq!(tables[0], tables[1]);
}

#[test]
fn a_non_float_load_dtype_is_an_error() {
    let options = LoadOptions::default().dtype(DType::I64);
    let err = hf::load_with(fixture("gpt2"), &options, &mut |_, _| {}).unwrap_err();
    assert!(matches!(
        err,
        HfError::UnsupportedDtype { dtype: DType::I64 }
    ));
    assert_eq!(
        err.to_string(),
        "cannot load parameters as i64: choose f32, f16 or bf16"
    );
}

#[test]
fn cli_dtype_flag_widens_and_rejects_other_names() {
    let dir = fixture("gpt2-bf16");
    let dir = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["logits", "--model", dir, "--tokens", "5,17,42"];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_penzai"))
            .args(&args)
            .output()
            .unwrap()
    };
    let parse = |out: std::process::Output| -> Vec<f64> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
            .collect()
    };
    let kept = parse(run(&[]));
    let wide = parse(run(&["--dtype", "f32"]));
    let scale = wide.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (x, y) in kept.iter().zip(&wide) {
        assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
    }
    let bad = run(&["--dtype", "u8"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("\"u8\" is not one of f32, f16, bf16"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
