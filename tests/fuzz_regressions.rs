//! Inputs that once crashed a loader (found by hand or by the fuzz targets in `fuzz/`), kept
//! as they were: each must now end in a typed error naming what is wrong, never a panic.

use penzai::io::{self, IoError, SafetensorsFile, SavedModel};
use penzai::nn::Sequential;
use penzai::nx::{AxisError, NamedArray};

/// A safetensors file: the 8-byte little-endian header length, the header, then `data`.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The 82-byte file of issue 14: an empty tensor whose second dimension is 2^63. Its element
/// count is 0, but ndarray refuses the non-zero lengths' product, and used to panic.
const ZERO_BY_HUGE: &[u8] = b"J\0\0\0\0\0\0\0{\"t\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775808],\"data_offsets\":[0,0]}}";

#[test]
fn an_empty_tensor_with_a_huge_dimension_is_a_shape_overflow_naming_file_and_tensor() {
    assert_eq!(ZERO_BY_HUGE.len(), 82);
    let err = SafetensorsFile::from_bytes("crafted.safetensors", ZERO_BY_HUGE.to_vec())
        .expect_err("the shape cannot be made");
    assert!(matches!(err, IoError::ShapeOverflow { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "crafted.safetensors: tensor \"t\": shape [0, 9223372036854775808] of F32 overflows \
         the address space (header entry at byte offset 13)"
    );
}

#[test]
fn the_huge_dimension_first_or_last_is_refused_alike() {
    for shape in [
        "[9223372036854775808,0]",
        "[0,9223372036854775808]",
        "[0,1,0,4611686018427387904,2]",
    ] {
        let header = format!(r#"{{"t":{{"dtype":"U8","shape":{shape},"data_offsets":[0,0]}}}}"#);
        let err = SafetensorsFile::from_bytes("f", safetensors(&header, &[])).unwrap_err();
        assert!(
            matches!(err, IoError::ShapeOverflow { .. }),
            "{shape}: {err:?}"
        );
    }
}

#[test]
fn a_saved_model_whose_parameter_has_that_shape_is_an_error() {
    // The structure declares the same shape, so only the parameters file can refuse it.
    let structure = r#"{"format":"penzai-rs model","version":1,"root":{"type":"Sequential","steps":[{"name":"up","layer":{"type":"Linear","weights":{"label":"up.weights","tensor":"up.weights","dtype":"f32","axes":["x","y"],"shape":[0,9223372036854775808]},"in_axes":["x"],"out_axes":["y"]}}]}}"#;
    let parameters = safetensors(
        r#"{"up.weights":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}}"#,
        &[],
    );
    let saved = || SavedModel {
        structure: structure.as_bytes().to_vec(),
        parameters: parameters.clone(),
    };
    let message = io::load_from_memory::<Sequential>(saved())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(
            "parameters.safetensors: tensor \"up.weights\": shape [0, 9223372036854775808] of F32 overflows"
        ),
        "{message}"
    );
    let dir = std::env::temp_dir().join(format!("penzai-fuzz-regression-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(io::STRUCTURE_FILE), structure).unwrap();
    std::fs::write(dir.join(io::PARAMETERS_FILE), &parameters).unwrap();
    let message = io::load_any(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        message.contains("\"up.weights\": shape [0, 9223372036854775808]"),
        "{message}"
    );
}

#[test]
fn constructors_refuse_a_zero_beside_a_huge_length() {
    let shape = [("a", 0usize), ("b", 1usize << 63)];
    for err in [
        NamedArray::zeros(&shape).unwrap_err(),
        NamedArray::full_bool(&shape, true).unwrap_err(),
        NamedArray::from_i64(&shape, vec![]).unwrap_err(),
        NamedArray::normal(0, &shape, 0.0, 1.0).unwrap_err(),
    ] {
        assert!(matches!(err, AxisError::TooLarge { .. }), "{err:?}");
        assert!(
            err.to_string().contains("{a: 0, b: 9223372036854775808}"),
            "{err}"
        );
    }
}

#[test]
fn broadcasting_two_empty_arrays_to_a_huge_union_is_an_error() {
    let a = NamedArray::zeros(&[("a", 0), ("b", 1 << 40)]).unwrap();
    let b = NamedArray::zeros(&[("c", 1 << 40), ("d", 0)]).unwrap();
    let err = (&a + &b).unwrap_err();
    assert!(matches!(err, AxisError::TooLarge { .. }), "{err:?}");
}

#[test]
fn a_shape_larger_than_memory_is_an_allocation_error_not_an_abort() {
    // 2^50 f32 elements (4 PiB) is a valid shape that no machine can hold.
    let err = NamedArray::zeros(&[("a", 1 << 25), ("b", 1 << 25)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "zeros: cannot allocate 4503599627370496 bytes for the shape {a: 33554432, b: 33554432}"
    );
    let err = NamedArray::normal(0, &[("a", 1 << 50)], 0.0, 1.0).unwrap_err();
    assert!(
        matches!(err, AxisError::OutOfMemory { op: "normal", .. }),
        "{err:?}"
    );
}
