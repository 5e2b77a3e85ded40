//! Helpers shared by the safetensors integration tests: hand-built files.

#![allow(dead_code)] // each test crate uses a subset

use penzai::io::{HostTensor, IoError, SafetensorsFile, TensorData};

pub const FILE: &str = "model.safetensors";

/// A safetensors file from a header text and data bytes (no padding, so offsets are easy to
/// compute: the data section starts at 8 + header.len()).
pub fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

pub fn open(bytes: Vec<u8>) -> Result<SafetensorsFile, IoError> {
    SafetensorsFile::from_bytes(FILE, bytes)
}

pub fn open_err(bytes: Vec<u8>) -> (IoError, String) {
    let err = open(bytes).expect_err("the file must be rejected");
    let msg = err.to_string();
    assert!(msg.starts_with(FILE), "message must name the file: {msg}");
    (err, msg)
}

pub fn one(dtype: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let h = format!(
        r#"{{"t":{{"dtype":"{dtype}","shape":{shape},"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    raw(&h, data)
}

pub fn tensor(shape: Vec<usize>, data: TensorData) -> HostTensor {
    HostTensor::new(shape, data).unwrap()
}
