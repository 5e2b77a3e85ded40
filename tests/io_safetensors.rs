//! safetensors reading and writing: round trips, and every dtype against hand-written bytes
//! (bad inputs are in io_safetensors_errors.rs).

use std::collections::BTreeMap;

use penzai::io::{HostTensor, IoError, SafetensorsFile, TensorData, serialize_tensors};
use penzai::nx::DType;

mod io_common;

use io_common::{FILE, one, open, raw, tensor};

// ---- round trips ----

#[test]
fn f32_i64_and_bool_round_trip_with_metadata() {
    let tensors = vec![
        (
            "w".to_owned(),
            tensor(
                vec![2, 3],
                TensorData::F32(vec![0.5, -1.0, 2.25, 3.0, 1e-30, f32::MAX]),
            ),
        ),
        (
            "ids".to_owned(),
            tensor(vec![3], TensorData::I64(vec![i64::MIN, 0, i64::MAX])),
        ),
        (
            "mask".to_owned(),
            tensor(vec![2, 1], TensorData::Bool(vec![true, false])),
        ),
        (
            "scalar".to_owned(),
            tensor(vec![], TensorData::F32(vec![7.0])),
        ),
        (
            "empty".to_owned(),
            tensor(vec![0, 4], TensorData::F32(vec![])),
        ),
    ];
    let metadata = BTreeMap::from([("format".to_owned(), "pt".to_owned())]);
    let bytes = serialize_tensors(tensors.clone(), &metadata).unwrap();
    let file = open(bytes).unwrap();
    assert_eq!(file.metadata(), &metadata);
    assert_eq!(file.len(), tensors.len());
    for (name, expected) in tensors {
        let view = file.tensor(&name).unwrap();
        assert_eq!(view.to_host().unwrap(), expected, "{name}");
    }
}

#[test]
fn writing_is_deterministic_sorted_and_8_byte_aligned() {
    let a = (
        "a".to_owned(),
        tensor(vec![1], TensorData::Bool(vec![true])),
    );
    let b = ("b".to_owned(), tensor(vec![1], TensorData::F32(vec![1.0])));
    let ab = serialize_tensors([a.clone(), b.clone()], &BTreeMap::new()).unwrap();
    let ba = serialize_tensors([b, a], &BTreeMap::new()).unwrap();
    assert_eq!(ab, ba);
    let header_len = u64::from_le_bytes(ab[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + header_len) % 8, 0);
    let names: Vec<_> = open(ab).unwrap().names().map(str::to_owned).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn write_tensors_and_open_round_trip_through_a_mapped_file() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("io_roundtrip.safetensors");
    let t = tensor(vec![2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0]));
    penzai::io::write_tensors(&path, [("x".to_owned(), t.clone())], &BTreeMap::new()).unwrap();
    let mapped = SafetensorsFile::open(&path).unwrap();
    assert_eq!(mapped.tensor("x").unwrap().to_host().unwrap(), t);
    let read = SafetensorsFile::read(&path).unwrap();
    assert_eq!(read.tensor("x").unwrap().to_host().unwrap(), t);
}

#[test]
fn writer_rejects_duplicates_reserved_names_and_wrong_lengths() {
    let t = || tensor(vec![1], TensorData::F32(vec![1.0]));
    let dup = serialize_tensors(
        [("x".to_owned(), t()), ("x".to_owned(), t())],
        &BTreeMap::new(),
    );
    assert!(
        dup.unwrap_err()
            .to_string()
            .contains("\"x\": duplicate name")
    );
    let reserved = serialize_tensors([("__metadata__".to_owned(), t())], &BTreeMap::new());
    assert!(reserved.unwrap_err().to_string().contains("reserved"));
    let bad = HostTensor {
        shape: vec![2, 2],
        data: TensorData::F32(vec![1.0]),
    };
    let err = serialize_tensors([("x".to_owned(), bad)], &BTreeMap::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("shape [2, 2] does not match 1 values"),
        "{err}"
    );
}

#[test]
fn named_arrays_round_trip_in_their_axis_order() {
    use penzai::nx::NamedArray;
    let w = NamedArray::from_f32(&[("a", 2), ("b", 3)], vec![0., 1., 2., 3., 4., 5.]).unwrap();
    let ids = NamedArray::from_i64(&[("seq", 3)], vec![5, -6, 7]).unwrap();
    let mask = NamedArray::from_bool(&[("q", 1), ("k", 2)], vec![true, false]).unwrap();
    let wt = w.order_as(&["b", "a"]).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("io_named.safetensors");
    let arrays = [("w", &w), ("wt", &wt), ("ids", &ids), ("mask", &mask)];
    penzai::io::write_safetensors(&path, arrays, &BTreeMap::new()).unwrap();
    let file = SafetensorsFile::open(&path).unwrap();
    assert_eq!(
        file.tensor("w").unwrap().to_f32_vec().unwrap(),
        [0., 1., 2., 3., 4., 5.]
    );
    assert_eq!(file.tensor("wt").unwrap().shape(), &[3, 2]);
    assert_eq!(
        file.tensor("wt").unwrap().to_f32_vec().unwrap(),
        [0., 3., 1., 4., 2., 5.]
    );
    assert_eq!(
        file.tensor("wt")
            .unwrap()
            .to_named_array(&["b", "a"])
            .unwrap(),
        w
    );
    assert_eq!(file.tensor("ids").unwrap().dtype(), DType::I64);
    assert_eq!(
        file.tensor("ids")
            .unwrap()
            .to_named_array(&["seq"])
            .unwrap(),
        ids
    );
    assert_eq!(file.tensor("mask").unwrap().dtype(), DType::Bool);
    assert_eq!(
        file.tensor("mask")
            .unwrap()
            .to_named_array(&["q", "k"])
            .unwrap(),
        mask
    );
}

#[test]
fn repeated_axis_names_are_an_error_naming_the_tensor() {
    let file = open(one("F32", "[1,1]", &[0; 4])).unwrap();
    let err = file
        .tensor("t")
        .unwrap()
        .to_named_array(&["x", "x"])
        .unwrap_err();
    assert!(matches!(err, IoError::Axis { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{FILE}: tensor \"t\": ")),
        "{err}"
    );
}

// ---- every dtype from hand-written little-endian bytes ----

#[test]
fn float_dtypes_convert_to_f32() {
    let cases: [(&str, Vec<u8>, Vec<f32>); 4] = [
        (
            "F32",
            [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat(),
            vec![1.5, -2.0],
        ),
        ("F16", vec![0x00, 0x3c, 0x00, 0xc0], vec![1.0, -2.0]),
        ("BF16", vec![0x80, 0x3f, 0x40, 0xc0], vec![1.0, -3.0]),
        (
            "F64",
            [0.25f64.to_le_bytes(), 1e300f64.to_le_bytes()].concat(),
            vec![0.25, f32::INFINITY],
        ),
    ];
    for (dtype, bytes, expected) in cases {
        let file = open(one(dtype, "[2]", &bytes)).unwrap();
        let view = file.tensor("t").unwrap();
        assert_eq!(view.dtype().safetensors_name(), dtype);
        assert_eq!(view.to_f32_vec().unwrap(), expected, "{dtype}");
    }
}

#[test]
fn integer_dtypes_convert_to_i64() {
    let cases: [(&str, Vec<u8>, Vec<i64>); 8] = [
        ("U8", vec![0, 255], vec![0, 255]),
        ("I8", vec![0x80, 0x7f], vec![-128, 127]),
        ("U16", vec![0xff, 0xff, 1, 0], vec![65535, 1]),
        ("I16", vec![0x00, 0x80, 0xff, 0xff], vec![-32768, -1]),
        (
            "U32",
            [u32::MAX.to_le_bytes(), 7u32.to_le_bytes()].concat(),
            vec![4294967295, 7],
        ),
        (
            "I32",
            [(-5i32).to_le_bytes(), i32::MAX.to_le_bytes()].concat(),
            vec![-5, 2147483647],
        ),
        (
            "I64",
            [i64::MIN.to_le_bytes(), 3i64.to_le_bytes()].concat(),
            vec![i64::MIN, 3],
        ),
        (
            "U64",
            [(i64::MAX as u64).to_le_bytes(), 0u64.to_le_bytes()].concat(),
            vec![i64::MAX, 0],
        ),
    ];
    for (dtype, bytes, expected) in cases {
        let file = open(one(dtype, "[2]", &bytes)).unwrap();
        assert_eq!(
            file.tensor("t").unwrap().to_i64_vec().unwrap(),
            expected,
            "{dtype}"
        );
    }
}

#[test]
fn bool_bytes_must_be_zero_or_one() {
    let file = open(one("BOOL", "[3]", &[1, 0, 1])).unwrap();
    assert_eq!(
        file.tensor("t").unwrap().to_bool_vec().unwrap(),
        [true, false, true]
    );
    let file = open(one("BOOL", "[3]", &[1, 0, 2])).unwrap();
    let err = file.tensor("t").unwrap().to_bool_vec().unwrap_err();
    let data_start = 8 + file_header_len(&one("BOOL", "[3]", &[1, 0, 2]));
    assert_eq!(
        err.to_string(),
        format!(
            "{FILE}: tensor \"t\": invalid BOOL value 2 at byte offset {}",
            data_start + 2
        )
    );
}

fn file_header_len(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().unwrap())
}

#[test]
fn u64_above_i64_max_is_an_error_naming_the_offset() {
    let file = open(one("U64", "[1]", &u64::MAX.to_le_bytes())).unwrap();
    let err = file.tensor("t").unwrap().to_i64_vec().unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid U64 value 18446744073709551615 at byte offset"),
        "{err}"
    );
}

#[test]
fn misaligned_data_is_read_bytewise() {
    // One U8 first puts the F32 and I64 data at odd offsets.
    let mut data = vec![9u8];
    data.extend(3.5f32.to_le_bytes());
    data.extend((-7i64).to_le_bytes());
    let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]},"i":{"dtype":"I64","shape":[1],"data_offsets":[5,13]}}"#;
    let file = open(raw(h, &data)).unwrap();
    assert_eq!(file.tensor("f").unwrap().to_f32_vec().unwrap(), [3.5]);
    assert_eq!(file.tensor("i").unwrap().to_i64_vec().unwrap(), [-7]);
}

#[test]
fn conversions_to_the_wrong_kind_name_the_dtype() {
    let file = open(one("I64", "[1]", &[0; 8])).unwrap();
    let err = file.tensor("t").unwrap().to_f32_vec().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{FILE}: tensor \"t\" has dtype I64, expected a float dtype (F16, BF16, F32, F64)")
    );
    assert!(file.tensor("t").unwrap().to_bool_vec().is_err());
    let file = open(one("F32", "[1]", &[0; 4])).unwrap();
    assert!(file.tensor("t").unwrap().to_i64_vec().is_err());
}

#[test]
fn named_array_conversion_checks_the_rank() {
    let file = open(one("F32", "[1,2]", &[0; 8])).unwrap();
    let err = file
        .tensor("t")
        .unwrap()
        .to_named_array(&["embedding"])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{FILE}: tensor \"t\" has shape [1, 2] (rank 2), but 1 axis names were given: [\"embedding\"]"
        )
    );
    assert!(
        file.tensor("t")
            .unwrap()
            .to_named_array(&["a", "b"])
            .is_ok()
    );
}

#[test]
fn missing_tensor_names_file_and_tensor() {
    let file = open(one("U8", "[1]", &[0])).unwrap();
    assert_eq!(
        file.tensor("nope").unwrap_err().to_string(),
        format!("{FILE}: no tensor named \"nope\"")
    );
    assert!(file.get("nope").is_none());
}
