//! Sharded checkpoints: one lookup across shards, and errors that name the index, the shard
//! and the tensor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use penzai::io::{Checkpoint, HostTensor, IoError, TensorData, write_tensors};

/// A fresh folder under cargo's per-target temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("io_checkpoint")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_shard(dir: &Path, file: &str, names: &[&str]) {
    let tensors = names.iter().enumerate().map(|(i, n)| {
        let t = HostTensor::new(vec![2], TensorData::F32(vec![i as f32, 1.0])).unwrap();
        ((*n).to_owned(), t)
    });
    write_tensors(dir.join(file), tensors, &BTreeMap::new()).unwrap();
}

fn write_index(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join("model.safetensors.index.json");
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn one_lookup_spans_all_shards() {
    let dir = scratch("ok");
    write_shard(&dir, "a.safetensors", &["x", "y"]);
    write_shard(&dir, "b.safetensors", &["z"]);
    write_index(
        &dir,
        r#"{"metadata":{"total_size":24},"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"}}"#,
    );
    let ckpt = Checkpoint::open_dir(&dir).unwrap();
    assert_eq!(ckpt.shards().len(), 2);
    assert_eq!(ckpt.names().collect::<Vec<_>>(), ["x", "y", "z"]);
    assert_eq!(
        ckpt.tensor("z").unwrap().file(),
        dir.join("b.safetensors").display().to_string()
    );
    assert_eq!(ckpt.tensor("y").unwrap().to_f32_vec().unwrap(), [1.0, 1.0]);
    let err = ckpt.tensor("w").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("model.safetensors.index.json: no tensor named \"w\""),
        "{err}"
    );
}

#[test]
fn a_single_file_directory_opens_too() {
    let dir = scratch("single");
    write_shard(&dir, "model.safetensors", &["x"]);
    let ckpt = Checkpoint::open_dir(&dir).unwrap();
    assert_eq!(ckpt.len(), 1);
}

#[test]
fn missing_shard_names_index_shard_and_tensor() {
    let dir = scratch("missing");
    write_shard(&dir, "a.safetensors", &["x"]);
    let index = write_index(
        &dir,
        r#"{"weight_map":{"x":"a.safetensors","y":"gone.safetensors"}}"#,
    );
    let err = Checkpoint::open_index(&index).unwrap_err();
    assert!(matches!(err, IoError::MissingShard { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with(&index.display().to_string()), "{msg}");
    assert!(
        msg.contains("shard \"gone.safetensors\" (holding tensor \"y\") cannot be opened"),
        "{msg}"
    );
}

#[test]
fn tensor_absent_from_its_shard_names_both() {
    let dir = scratch("absent");
    write_shard(&dir, "a.safetensors", &["x"]);
    let index = write_index(
        &dir,
        r#"{"weight_map":{"x":"a.safetensors","q":"a.safetensors"}}"#,
    );
    let err = Checkpoint::open_index(&index).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: tensor \"q\" is listed in shard \"a.safetensors\", but that shard has no such tensor",
            index.display()
        )
    );
}

#[test]
fn shard_paths_cannot_leave_the_folder() {
    let dir = scratch("escape");
    for shard in [
        "../a.safetensors",
        "/etc/passwd",
        "sub/a.safetensors",
        "..",
        "",
    ] {
        let json = format!(
            r#"{{"weight_map":{{"x":{}}}}}"#,
            serde_json::to_string(shard).unwrap()
        );
        let index = write_index(&dir, &json);
        let err = Checkpoint::open_index(&index).unwrap_err();
        assert!(
            matches!(err, IoError::UnsafeShardPath { .. }),
            "{shard}: {err}"
        );
    }
}

#[test]
fn malformed_index_names_the_byte_offset() {
    let dir = scratch("badjson");
    let index = write_index(&dir, "{\"weight_map\": {\"x\": 3}}");
    let err = Checkpoint::open_index(&index).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: invalid JSON at byte offset 21: invalid type: integer `3`, expected a string",
            index.display()
        )
    );
    let index = write_index(&dir, "{\"metadata\": {}}");
    let err = Checkpoint::open_index(&index).unwrap_err();
    assert!(
        err.to_string().contains("missing field `weight_map`"),
        "{err}"
    );
}

#[test]
fn a_corrupt_shard_reports_the_shard_error() {
    let dir = scratch("corrupt");
    std::fs::write(dir.join("a.safetensors"), b"\x01\x02").unwrap();
    let index = write_index(&dir, r#"{"weight_map":{"x":"a.safetensors"}}"#);
    let msg = Checkpoint::open_index(&index).unwrap_err().to_string();
    assert!(msg.contains("truncated: the file has 2 bytes"), "{msg}");
}
