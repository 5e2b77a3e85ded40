//! Every class of bad safetensors input maps to a typed error whose message names the file, the
//! tensor and the byte offset; none panics or allocates what the file did not justify.

mod io_common;

use std::collections::BTreeMap;

use io_common::{FILE, one, open, open_err, raw, tensor};
use penzai::io::{Dtype, IoError, SafetensorsFile, TensorData, serialize_tensors};

// ---- bad inputs ----

#[test]
fn truncated_file() {
    let (err, msg) = open_err(vec![1, 2, 3]);
    assert!(matches!(err, IoError::Truncated { len: 3, .. }));
    assert!(msg.contains("3 bytes"), "{msg}");
}

#[test]
fn empty_and_missing_files_on_disk() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let empty = dir.join("io_empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    let err = SafetensorsFile::open(&empty).unwrap_err();
    assert!(matches!(err, IoError::Truncated { len: 0, .. }), "{err}");
    let missing = dir.join("io_missing.safetensors");
    let err = SafetensorsFile::open(&missing).unwrap_err();
    assert!(matches!(
        err,
        IoError::Os {
            action: "open",
            kind: std::io::ErrorKind::NotFound,
            ..
        }
    ));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot open: ", missing.display()))
    );
}

#[test]
fn header_length_past_end_of_file() {
    let mut bytes = raw("{}", &[]);
    bytes[..8].copy_from_slice(&100u64.to_le_bytes());
    let (_, msg) = open_err(bytes);
    assert_eq!(
        msg,
        format!(
            "{FILE}: header length 100 (bytes 0..8) runs past the end of the file: only 2 bytes follow offset 8"
        )
    );
}

#[test]
fn header_length_above_the_cap_is_rejected_before_anything_else() {
    let mut bytes = raw("{}", &[]);
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let (err, msg) = open_err(bytes);
    assert!(matches!(err, IoError::HeaderTooLarge { .. }), "{msg}");
    assert!(
        msg.contains("exceeds the limit of 104857600 bytes"),
        "{msg}"
    );
}

#[test]
fn header_claiming_2_pow_60_elements_is_an_error_not_an_allocation() {
    let h = r#"{"big":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4]}}"#;
    let (err, msg) = open_err(raw(h, &[0; 4]));
    // 2^60 elements is past what any array may hold (nx's one shape check), whatever the
    // byte range says.
    assert!(matches!(err, IoError::ShapeOverflow { .. }), "{msg}");
    assert!(
        msg.contains("tensor \"big\"") && msg.contains("overflows the address space"),
        "{msg}"
    );
    // Within that bound, the byte range is checked against the shape.
    let h = r#"{"big":{"dtype":"F32","shape":[576460752303423488],"data_offsets":[0,4]}}"#;
    let (err, msg) = open_err(raw(h, &[0; 4]));
    assert!(matches!(err, IoError::ByteLengthMismatch { .. }), "{msg}");
    assert!(msg.contains("needs 2305843009213693952 bytes"), "{msg}");
}

#[test]
fn shape_whose_product_overflows() {
    let h = r#"{"big":{"dtype":"BF16","shape":[4294967296,4294967296,2],"data_offsets":[0,2]}}"#;
    let (err, msg) = open_err(raw(h, &[0; 2]));
    assert!(matches!(err, IoError::ShapeOverflow { .. }), "{msg}");
    assert_eq!(
        msg,
        format!(
            "{FILE}: tensor \"big\": shape [4294967296, 4294967296, 2] of BF16 overflows the address space (header entry at byte offset 15)"
        )
    );
}

#[test]
fn overlapping_offsets() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#;
    let (_, msg) = open_err(raw(h, &[0; 5]));
    let data_start = 8 + h.len();
    assert_eq!(
        msg,
        format!(
            "{FILE}: tensors \"a\" and \"b\" overlap at byte offset {}",
            data_start + 3
        )
    );
}

#[test]
fn offsets_past_the_end_and_reversed_offsets() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
    let (_, msg) = open_err(raw(h, &[0; 3]));
    assert_eq!(
        msg,
        format!(
            "{FILE}: tensor \"a\": data_offsets [0, 4] do not fit the data section of 3 bytes starting at byte offset {}",
            8 + h.len()
        )
    );
    let h = r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[3,1]}}"#;
    let (err, _) = open_err(raw(h, &[0; 3]));
    assert!(matches!(
        err,
        IoError::OffsetsOutOfBounds {
            begin: 3,
            end: 1,
            ..
        }
    ));
}

#[test]
fn byte_length_not_matching_shape_and_dtype() {
    let h = r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#;
    let (_, msg) = open_err(raw(h, &[0; 12]));
    assert_eq!(
        msg,
        format!(
            "{FILE}: tensor \"w\": shape [2, 2] of F32 needs 16 bytes, but data_offsets span 12 bytes (at byte offset {})",
            8 + h.len()
        )
    );
}

#[test]
fn unknown_dtype_names_tensor_and_dtype() {
    let (err, msg) = open_err(one("F8_E4M3", "[1]", &[0]));
    assert!(matches!(err, IoError::UnknownDtype { ref dtype, .. } if dtype == "F8_E4M3"));
    assert_eq!(
        msg,
        format!("{FILE}: tensor \"t\": unknown dtype \"F8_E4M3\" (header entry at byte offset 13)")
    );
}

#[test]
fn invalid_json_names_the_byte_offset() {
    let (err, msg) = open_err(raw(r#"{"a": ?}"#, &[]));
    assert!(
        matches!(err, IoError::InvalidJson { offset: 14, .. }),
        "{msg}"
    );
    assert_eq!(
        msg,
        format!("{FILE}: invalid JSON at byte offset 14: expected value")
    );
}

#[test]
fn non_utf8_header_names_the_byte_offset() {
    let mut bytes = raw("{\"ab\": 1}", &[]);
    bytes[10] = 0xff;
    let (_, msg) = open_err(bytes);
    assert_eq!(msg, format!("{FILE}: invalid UTF-8 at byte offset 10"));
}

#[test]
fn non_object_header() {
    for header in ["[1, 2]", "\"x\"", "null", "7"] {
        let (err, msg) = open_err(raw(header, &[]));
        assert!(matches!(err, IoError::InvalidJson { .. }), "{msg}");
        assert!(
            msg.contains("expected a JSON object mapping tensor names to entries"),
            "{msg}"
        );
    }
}

#[test]
fn malformed_entry_names_the_tensor_and_offset() {
    let h = r#"{"w":{"dtype":"F32","shape":"big","data_offsets":[0,4]}}"#;
    let (_, msg) = open_err(raw(h, &[0; 4]));
    // serde_json reports the position of the offending token's last byte.
    let offset = 8 + h.find("\"big\"").unwrap() + 4;
    assert!(
        msg.starts_with(&format!(
            "{FILE}: tensor \"w\": invalid header entry at byte offset {offset}: invalid type"
        )),
        "{msg}"
    );
    let h = r#"{"w":{"dtype":"F32","shape":[1]}}"#;
    let (_, msg) = open_err(raw(h, &[]));
    assert!(msg.contains("missing field `data_offsets`"), "{msg}");
}

#[test]
fn duplicate_tensor_names_are_rejected() {
    let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
    let (_, msg) = open_err(raw(h, &[0; 2]));
    assert!(msg.contains("duplicate entry \"a\""), "{msg}");
}

#[test]
fn metadata_must_map_strings_to_strings() {
    let (_, msg) = open_err(raw(r#"{"__metadata__":{"format":1}}"#, &[]));
    assert!(
        msg.contains("invalid type: integer `1`, expected a string"),
        "{msg}"
    );
}

#[test]
fn every_prefix_of_a_valid_file_fails_cleanly_or_parses() {
    let t = tensor(vec![2], TensorData::F32(vec![1.0, 2.0]));
    let bytes = serialize_tensors([("x".to_owned(), t)], &BTreeMap::new()).unwrap();
    for n in 0..bytes.len() {
        assert!(open(bytes[..n].to_vec()).is_err(), "prefix of {n} bytes");
    }
    assert!(open(bytes).is_ok());
}

#[test]
fn every_dtype_name_is_accepted_by_the_reader() {
    for dtype in Dtype::ALL {
        let bytes = one(dtype.name(), "[1]", &vec![0; dtype.size_bytes()]);
        let file = open(bytes).unwrap();
        assert_eq!(file.tensor("t").unwrap().dtype(), dtype);
        assert!(file.tensor("t").unwrap().to_host().is_ok());
    }
}
