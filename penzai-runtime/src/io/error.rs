//! `IoError`: every way reading or writing a checkpoint can fail.
//!
//! Each message names the file, the tensor or config key, and where it matters the byte offset
//! in the file, so a user can open the file in a hex editor (or a JSON viewer) and see the
//! problem. `file` is the path as given by the caller (or a label such as `<memory>` for bytes
//! that never lived in a file).

use crate::nx::AxisError;

/// An error reading or writing safetensors files, checkpoint indexes or HF configs.
///
/// Offsets are absolute byte offsets into the named file (for a safetensors header, the JSON
/// starts at byte 8).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The operating system refused an operation (open, map, read, write, rename).
    #[error("{file}: cannot {action}: {message}")]
    Os {
        /// The file involved.
        file: String,
        /// What we tried to do (`open`, `map`, `write`, ...).
        action: &'static str,
        /// The OS error's kind.
        kind: std::io::ErrorKind,
        /// The OS error's message.
        message: String,
    },
    /// The file is shorter than the 8-byte header length prefix.
    #[error(
        "{file}: truncated: the file has {len} bytes, but a safetensors file starts with an 8-byte header length"
    )]
    Truncated {
        /// The file involved.
        file: String,
        /// The file's length in bytes.
        len: u64,
    },
    /// The header length (bytes 0..8) points past the end of the file.
    #[error(
        "{file}: header length {header_len} (bytes 0..8) runs past the end of the file: only {available} bytes follow offset 8"
    )]
    HeaderPastEnd {
        /// The file involved.
        file: String,
        /// The header length the file claims.
        header_len: u64,
        /// How many bytes the file has after the length prefix.
        available: u64,
    },
    /// The header length exceeds the cap we accept.
    #[error("{file}: header length {header_len} (bytes 0..8) exceeds the limit of {limit} bytes")]
    HeaderTooLarge {
        /// The file involved.
        file: String,
        /// The header length the file claims.
        header_len: u64,
        /// The largest header accepted.
        limit: u64,
    },
    /// A JSON text is not valid UTF-8.
    #[error("{file}: invalid UTF-8 at byte offset {offset}")]
    NotUtf8 {
        /// The file involved.
        file: String,
        /// Absolute offset of the first invalid byte.
        offset: u64,
    },
    /// A JSON text (safetensors header, checkpoint index, config) is malformed or has the wrong
    /// structure.
    #[error("{file}: invalid JSON at byte offset {offset}: {message}")]
    InvalidJson {
        /// The file involved.
        file: String,
        /// Absolute offset where the parser stopped.
        offset: u64,
        /// The parser's description.
        message: String,
    },
    /// One tensor's header entry is malformed (missing field, wrong type).
    #[error(
        "{file}: tensor {}: invalid header entry at byte offset {offset}: {message}",
        crate::quote::Quoted(.tensor)
    )]
    InvalidTensorEntry {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// Absolute offset of the problem.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A tensor's dtype string is not one we know.
    #[error(
        "{file}: tensor {}: unknown dtype {} (header entry at byte offset {offset})",
        crate::quote::Quoted(.tensor), crate::quote::Quoted(.dtype)
    )]
    UnknownDtype {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The dtype string found.
        dtype: String,
        /// Absolute offset of the tensor's header entry.
        offset: u64,
    },
    /// A tensor's shape has more elements (or bytes) than fit in memory addresses.
    #[error(
        "{file}: tensor {}: shape {shape:?} of {dtype} overflows the address space (header entry at byte offset {offset})",
        crate::quote::Quoted(.tensor)
    )]
    ShapeOverflow {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The shape claimed.
        shape: Vec<u64>,
        /// The dtype name.
        dtype: String,
        /// Absolute offset of the tensor's header entry.
        offset: u64,
    },
    /// A tensor's `data_offsets` are reversed or run past the end of the data section.
    #[error(
        "{file}: tensor {}: data_offsets [{begin}, {end}] do not fit the data section of {data_len} bytes starting at byte offset {data_start}",
        crate::quote::Quoted(.tensor)
    )]
    OffsetsOutOfBounds {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// Begin offset, relative to the data section.
        begin: u64,
        /// End offset, relative to the data section.
        end: u64,
        /// Length of the data section.
        data_len: u64,
        /// Absolute offset where the data section starts.
        data_start: u64,
    },
    /// A tensor's byte range does not match its shape and dtype.
    #[error(
        "{file}: tensor {}: shape {shape:?} of {dtype} needs {expected} bytes, but data_offsets span {actual} bytes (at byte offset {offset})",
        crate::quote::Quoted(.tensor)
    )]
    ByteLengthMismatch {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The shape claimed.
        shape: Vec<usize>,
        /// The dtype name.
        dtype: String,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes the offsets span.
        actual: u64,
        /// Absolute offset where the tensor's data starts.
        offset: u64,
    },
    /// Two tensors' byte ranges overlap.
    #[error(
        "{file}: tensors {} and {} overlap at byte offset {offset}",
        crate::quote::Quoted(.first), crate::quote::Quoted(.second)
    )]
    OverlappingTensors {
        /// The file involved.
        file: String,
        /// The tensor starting first.
        first: String,
        /// The tensor starting inside the first.
        second: String,
        /// Absolute offset where the second starts.
        offset: u64,
    },
    /// No tensor of that name exists.
    #[error(
        "{file}: no tensor named {}",
        crate::quote::Quoted(.tensor)
    )]
    TensorNotFound {
        /// The file involved.
        file: String,
        /// The name looked up.
        tensor: String,
    },
    /// A conversion was asked of a tensor whose dtype does not allow it.
    #[error(
        "{file}: tensor {} has dtype {dtype}, expected {expected}",
        crate::quote::Quoted(.tensor)
    )]
    DtypeMismatch {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The tensor's dtype name.
        dtype: String,
        /// What the conversion accepts.
        expected: &'static str,
    },
    /// A value cannot be represented in the requested type (a BOOL byte other than 0 or 1, a
    /// U64 above `i64::MAX`).
    #[error(
        "{file}: tensor {}: invalid {dtype} value {value} at byte offset {offset}",
        crate::quote::Quoted(.tensor)
    )]
    InvalidValue {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The tensor's dtype name.
        dtype: String,
        /// The value found, as text.
        value: String,
        /// Absolute offset of the element.
        offset: u64,
    },
    /// The axis names given do not match the tensor's rank.
    #[error(
        "{file}: tensor {} has shape {shape:?} (rank {}), but {} axis names were given: {axis_names:?}",
        crate::quote::Quoted(.tensor), shape.len(), axis_names.len()
    )]
    RankMismatch {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The tensor's shape.
        shape: Vec<usize>,
        /// The names given.
        axis_names: Vec<String>,
    },
    /// Building a `NamedArray` from a tensor failed (e.g. duplicate axis names).
    #[error(
        "{file}: tensor {}: {source}",
        crate::quote::Quoted(.tensor)
    )]
    Axis {
        /// The file involved.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The named-axis error (boxed: it carries whole shapes).
        source: Box<AxisError>,
    },
    /// A tensor given to the writer is inconsistent (duplicate or reserved name, data length
    /// not matching its shape, size overflow).
    #[error(
        "{file}: cannot write tensor {}: {message}",
        crate::quote::Quoted(.tensor)
    )]
    InvalidTensorToWrite {
        /// The file being written.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint index names a shard that cannot be opened.
    #[error(
        "{index}: shard {} (holding tensor {}) cannot be opened: {source}",
        crate::quote::Quoted(.shard), crate::quote::Quoted(.tensor)
    )]
    MissingShard {
        /// The index file.
        index: String,
        /// The shard file named in the index.
        shard: String,
        /// One tensor the index places in that shard.
        tensor: String,
        /// Why opening failed.
        source: Box<IoError>,
    },
    /// A checkpoint index places a tensor in a shard that does not contain it.
    #[error(
        "{index}: tensor {} is listed in shard {}, but that shard has no such tensor",
        crate::quote::Quoted(.tensor), crate::quote::Quoted(.shard)
    )]
    TensorMissingFromShard {
        /// The index file.
        index: String,
        /// The shard file named in the index.
        shard: String,
        /// The tensor's name.
        tensor: String,
    },
    /// A checkpoint index names a shard outside the index's folder.
    #[error(
        "{index}: shard file name {} (holding tensor {}) must be a plain file name in the index's folder",
        crate::quote::Quoted(.shard), crate::quote::Quoted(.tensor)
    )]
    UnsafeShardPath {
        /// The index file.
        index: String,
        /// The shard name found.
        shard: String,
        /// One tensor the index places in that shard.
        tensor: String,
    },
    /// A config key has the wrong JSON type or an out-of-range value.
    #[error(
        "{file}: key {}: expected {expected}, found {found}",
        crate::quote::Quoted(.key)
    )]
    ConfigValue {
        /// The config file.
        file: String,
        /// The key.
        key: String,
        /// What the key must hold.
        expected: String,
        /// What it holds.
        found: String,
    },
    /// A required config key is absent.
    #[error(
        "{file}: missing key {}",
        crate::quote::Quoted(.key)
    )]
    MissingConfigKey {
        /// The config file.
        file: String,
        /// The key.
        key: String,
    },
    /// A config key asks for numerics this crate does not implement.
    #[error(
        "{file}: unsupported {} = {value}: {reason}",
        crate::quote::Quoted(.key)
    )]
    UnsupportedConfig {
        /// The config file.
        file: String,
        /// The key.
        key: String,
        /// Its value, as JSON.
        value: String,
        /// Why it matters.
        reason: String,
    },
    /// The config's `model_type` is not one we can load.
    #[error(
        "{file}: unsupported model_type {} (supported: gpt2, llama, mistral, qwen2)",
        crate::quote::Quoted(.model_type)
    )]
    UnsupportedModelType {
        /// The config file.
        file: String,
        /// The `model_type` found.
        model_type: String,
    },
}

impl IoError {
    /// Wraps an OS error with the file and the action that failed.
    pub(crate) fn os(file: &str, action: &'static str, err: &std::io::Error) -> IoError {
        IoError::Os {
            file: file.to_owned(),
            action,
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}
