//! Structure-aware safetensors files: headers generated from a description (tensor entries
//! with edge-case dimensions, dtypes, offsets that fit or not, metadata), so every input is a
//! well-formed header and the fuzzer spends its time on what the header claims. Parsing must
//! fail with an error or yield tensors that all convert; never panic or abort.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use penzai_fuzz::extreme::{Dim, Text};
use penzai_runtime::io::SafetensorsFile;

const DTYPES: [&str; 13] = [
    "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL",
];

#[derive(Arbitrary, Debug)]
struct File {
    entries: Vec<Entry>,
    metadata: Option<Vec<(Text, Text)>>,
    /// Extra bytes after the last tensor.
    slack: u8,
    fill: u8,
}

#[derive(Arbitrary, Debug)]
struct Entry {
    name: Name,
    dtype: u8,
    shape: Vec<Dim>,
    offsets: Offsets,
    unknown_field: bool,
}

#[derive(Arbitrary, Debug)]
enum Name {
    Index(u8),
    Text(Text),
}

#[derive(Arbitrary, Debug)]
enum Offsets {
    /// Right after the previous tensor, as long as shape and dtype say (if that is small).
    Fitting,
    /// Empty.
    Empty,
    /// Whatever.
    Given(Dim, Dim),
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn build(file: &File) -> Vec<u8> {
    let mut header = String::from("{");
    let mut end = 0u64;
    for (i, e) in file.entries.iter().take(16).enumerate() {
        let name = match &e.name {
            Name::Index(k) => format!("t{k}"),
            Name::Text(t) => t.value(),
        };
        let dtype = DTYPES[usize::from(e.dtype) % DTYPES.len()];
        let shape: Vec<u64> = e.shape.iter().take(8).map(|d| d.value()).collect();
        let size = [1u64, 2, 2, 8, 8, 4, 2, 1, 1, 2, 4, 8, 1][usize::from(e.dtype) % 13];
        let bytes = shape.iter().try_fold(size, |a, &b| a.checked_mul(b));
        let (begin, stop) = match e.offsets {
            Offsets::Fitting => match bytes {
                Some(n) if n <= 1 << 16 => (end, end + n),
                _ => (end, end),
            },
            Offsets::Empty => (end, end),
            Offsets::Given(a, b) => (a.value(), b.value()),
        };
        end = end.max(stop.min(1 << 16));
        if i > 0 {
            header.push(',');
        }
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        header.push_str(&format!(
            "{}:{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{begin},{stop}]{}}}",
            json_string(&name),
            dims.join(","),
            if e.unknown_field { ",\"extra\":[1,2]" } else { "" }
        ));
    }
    if let Some(meta) = &file.metadata {
        if !header.ends_with('{') {
            header.push(',');
        }
        let pairs: Vec<String> = meta
            .iter()
            .take(4)
            .map(|(k, v)| format!("{}:{}", json_string(&k.value()), json_string(&v.value())))
            .collect();
        header.push_str(&format!("\"__metadata__\":{{{}}}", pairs.join(",")));
    }
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + end as usize + usize::from(file.slack), file.fill);
    bytes
}

fuzz_target!(|file: File| {
    let bytes = build(&file);
    let Ok(parsed) = SafetensorsFile::from_bytes("fuzz.safetensors", bytes) else {
        return;
    };
    for view in parsed.tensors() {
        assert_eq!(view.bytes().len(), view.element_count() * view.dtype().size_bytes());
        if let Ok(host) = view.to_host() {
            assert_eq!(host.data.len(), view.element_count());
        }
        let names: Vec<String> = (0..view.shape().len()).map(|i| format!("a{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let _ = view.to_named_array(&names);
        let _ = view.to_named_array(&["a", "b"]);
    }
});
