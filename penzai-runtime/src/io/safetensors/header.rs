//! Parsing and validating a safetensors header from the file's bytes.
//!
//! Layout: bytes 0..8 hold the header length `n` (u64, little-endian); bytes 8..8+n hold a JSON
//! object mapping tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an
//! optional `"__metadata__"` object of strings; the data section follows, and `data_offsets`
//! are relative to its start.
//!
//! Everything the header claims is checked against the file before anything is allocated on
//! its behalf: sizes use checked arithmetic, byte ranges must lie inside the data section, match
//! their shape and dtype, and not overlap. Allocation is bounded by the header's own length
//! (itself capped at [`MAX_HEADER_LEN`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::io::json_error;
use crate::io::{Dtype, IoError};

/// The largest header accepted, in bytes (the reference implementation uses the same cap).
pub const MAX_HEADER_LEN: u64 = 100 * 1024 * 1024;

/// The header key holding free-form string metadata rather than a tensor.
pub(crate) const METADATA_KEY: &str = "__metadata__";

/// One validated tensor entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorInfo {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Absolute byte range in the file.
    pub start: usize,
    pub end: usize,
}

/// A validated header: tensors sorted by name, metadata, and where the data section starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub tensors: Vec<TensorInfo>,
    pub metadata: BTreeMap<String, String>,
}

impl Header {
    /// The tensor called `name`, by binary search (tensors are sorted by name).
    pub fn find(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tensors[i])
    }
}

/// The top-level JSON object as written, entries unparsed, in file order.
struct RawHeader<'a> {
    entries: Vec<(String, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawHeaderVisitor)
    }
}

struct RawHeaderVisitor;

impl<'de> Visitor<'de> for RawHeaderVisitor {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object mapping tensor names to entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            // JSON allows repeated keys, and a map would silently keep one; a checkpoint with
            // two different tensors under one name is ambiguous, so reject it here, where
            // serde_json still knows the position.
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate entry {key:?}")));
            }
            entries.push((key, map.next_value::<&RawValue>()?));
        }
        Ok(RawHeader { entries })
    }
}

/// One tensor entry as written.
/// Unknown fields are ignored, as other readers do, so files from newer writers still load.
#[derive(Deserialize)]
struct RawTensorInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

/// Parses and validates the header of the safetensors file whose bytes are `bytes`.
pub(crate) fn parse_header(file: &str, bytes: &[u8]) -> Result<Header, IoError> {
    let file_len = bytes.len() as u64;
    let Some((len_bytes, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(IoError::Truncated {
            file: file.to_owned(),
            len: file_len,
        });
    };
    let header_len = u64::from_le_bytes(*len_bytes);
    if header_len > MAX_HEADER_LEN {
        return Err(IoError::HeaderTooLarge {
            file: file.to_owned(),
            header_len,
            limit: MAX_HEADER_LEN,
        });
    }
    if header_len > rest.len() as u64 {
        return Err(IoError::HeaderPastEnd {
            file: file.to_owned(),
            header_len,
            available: rest.len() as u64,
        });
    }
    // Both checks above bound header_len by rest.len(), a usize.
    let (header_bytes, data) = rest.split_at(header_len as usize);
    let data_start = 8 + header_bytes.len();
    let text = json_error::utf8(file, header_bytes, 8)?;
    let raw: RawHeader<'_> = json_error::parse(file, text, 8)?;

    let mut tensors = Vec::with_capacity(raw.entries.len());
    let mut metadata = BTreeMap::new();
    for (name, value) in raw.entries {
        // RawValue borrows from `text`, so its position there is its offset in the header.
        let entry_offset = 8 + (value.get().as_ptr() as usize - text.as_ptr() as usize);
        if name == METADATA_KEY {
            metadata = json_error::parse(file, value.get(), entry_offset as u64)?;
            continue;
        }
        let info: RawTensorInfo =
            serde_json::from_str(value.get()).map_err(|e| IoError::InvalidTensorEntry {
                file: file.to_owned(),
                offset: (entry_offset + json_error::byte_offset(value.get(), &e)) as u64,
                message: json_error::message(&e),
                tensor: name.clone(),
            })?;
        tensors.push(validate_entry(
            file,
            name,
            info,
            entry_offset,
            data_start,
            data.len(),
        )?);
    }
    check_no_overlap(file, &tensors)?;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Header { tensors, metadata })
}

/// Checks one entry's dtype, shape and byte range against the data section.
fn validate_entry(
    file: &str,
    name: String,
    info: RawTensorInfo,
    entry_offset: usize,
    data_start: usize,
    data_len: usize,
) -> Result<TensorInfo, IoError> {
    let Some(dtype) = Dtype::from_name(&info.dtype) else {
        return Err(IoError::UnknownDtype {
            file: file.to_owned(),
            tensor: name,
            dtype: info.dtype,
            offset: entry_offset as u64,
        });
    };
    let overflow = |name: String| IoError::ShapeOverflow {
        file: file.to_owned(),
        tensor: name,
        shape: info.shape.clone(),
        dtype: dtype.name().to_owned(),
        offset: entry_offset as u64,
    };
    let mut shape = Vec::with_capacity(info.shape.len());
    let mut byte_len = dtype.size_bytes();
    for &dim in &info.shape {
        let Some(dim) = usize::try_from(dim).ok() else {
            return Err(overflow(name));
        };
        let Some(len) = byte_len.checked_mul(dim) else {
            return Err(overflow(name));
        };
        byte_len = len;
        shape.push(dim);
    }
    // The same bound every array constructor applies, so a shape accepted here converts.
    if crate::nx::checked_len(shape.iter().copied()).is_none() {
        return Err(overflow(name));
    }
    let (begin, end) = info.data_offsets;
    if begin > end || end > data_len as u64 {
        return Err(IoError::OffsetsOutOfBounds {
            file: file.to_owned(),
            tensor: name,
            begin,
            end,
            data_len: data_len as u64,
            data_start: data_start as u64,
        });
    }
    // Both offsets are now within data_len, a usize.
    let (begin, end) = (begin as usize, end as usize);
    if end - begin != byte_len {
        return Err(IoError::ByteLengthMismatch {
            file: file.to_owned(),
            tensor: name,
            shape,
            dtype: dtype.name().to_owned(),
            expected: byte_len as u64,
            actual: (end - begin) as u64,
            offset: (data_start + begin) as u64,
        });
    }
    Ok(TensorInfo {
        name,
        dtype,
        shape,
        start: data_start + begin,
        end: data_start + end,
    })
}

/// Rejects tensors whose (non-empty) byte ranges overlap: sorted by start, each must begin at
/// or after the end of every earlier one.
fn check_no_overlap(file: &str, tensors: &[TensorInfo]) -> Result<(), IoError> {
    let mut by_start: Vec<&TensorInfo> = tensors.iter().filter(|t| t.start < t.end).collect();
    by_start.sort_by_key(|t| (t.start, t.end));
    let mut furthest: Option<&TensorInfo> = None;
    for t in by_start {
        if let Some(prev) = furthest
            && t.start < prev.end
        {
            return Err(IoError::OverlappingTensors {
                file: file.to_owned(),
                first: prev.name.clone(),
                second: t.name.clone(),
                offset: t.start as u64,
            });
        }
        if furthest.is_none_or(|p| t.end > p.end) {
            furthest = Some(t);
        }
    }
    Ok(())
}
