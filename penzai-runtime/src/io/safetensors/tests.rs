//! Unit tests of header validation details the public API does not expose directly.

use super::header::parse_header;
use crate::io::IoError;
use crate::nx::DType;

/// A safetensors file from a header text and data bytes (no padding).
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[test]
fn valid_header_gives_absolute_ranges_sorted_by_name() {
    let h = r#"{"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"I16","shape":[],"data_offsets":[2,4]}}"#;
    let bytes = raw(h, &[1, 2, 3, 4]);
    let header = parse_header("f", &bytes).unwrap();
    let names: Vec<_> = header.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let a = header.find("a").unwrap();
    assert_eq!(
        (a.dtype, a.start, a.end),
        (DType::I16, 8 + h.len() + 2, 8 + h.len() + 4)
    );
    assert!(a.shape.is_empty());
}

#[test]
fn empty_tensors_may_share_offsets_with_others() {
    let h = r#"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}"#;
    assert!(parse_header("f", &raw(h, &[9])).is_ok());
}

#[test]
fn a_range_inside_a_longer_earlier_range_is_an_overlap() {
    // c lies inside a; checking only neighbours by start would miss it after b.
    let h = r#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"c":{"dtype":"U8","shape":[1],"data_offsets":[5,6]}}"#;
    let err = parse_header("f", &raw(h, &[0; 8])).unwrap_err();
    assert!(
        matches!(err, IoError::OverlappingTensors { ref first, .. } if first == "a"),
        "{err}"
    );
}

#[test]
fn entry_offsets_point_at_the_entry_in_the_file() {
    let h = r#"{"ok":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}, "bad":{"dtype":"Q9","shape":[1],"data_offsets":[1,2]}}"#;
    let err = parse_header("f", &raw(h, &[0, 0])).unwrap_err();
    let IoError::UnknownDtype { offset, .. } = err else {
        panic!("{err}");
    };
    assert_eq!(offset as usize, 8 + h.find(r#"{"dtype":"Q9""#).unwrap());
}

#[test]
fn gaps_between_tensors_are_allowed() {
    let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}"#;
    assert!(parse_header("f", &raw(h, &[0; 4])).is_ok());
}

#[test]
fn unknown_entry_fields_are_ignored() {
    let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}"#;
    assert!(parse_header("f", &raw(h, &[0])).is_ok());
}
