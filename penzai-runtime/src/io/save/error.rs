//! `SaveError`: every way saving or loading a model's structure and parameters can fail.
//!
//! Errors reading the parameters file itself (a truncated or corrupted safetensors file) are
//! the reader's own [`IoError`](crate::io::IoError)s, passed through unchanged; this enum covers
//! what only a saved *model* can get wrong: its structure, and how the structure and the
//! tensors fit together. Load errors name the structure file and the byte offset where the
//! parser stood when the problem was reported: the last byte of the offending value, or of the
//! JSON object holding it when the parser had already reached that object's closing brace.

use crate::tree::KeyPath;

/// A model that cannot be saved, or a saved model that cannot be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// Saving met a layer whose type has no saved form (no serde impls, or a generic type
    /// that was not registered).
    #[error(
        "cannot save the layer at {} ({type_name}): its type has no saved form; derive `Serialize` and `Deserialize` for it beside `Tree` (with `#[serde(crate = \"penzai::serde\")]`), or, for a generic type, call `penzai::io::register_layer::<{type_name}<..>>(\"name\")` before saving",
        show_path(.path)
    )]
    UnregisteredType {
        /// Where the layer sits in the model.
        path: KeyPath,
        /// Its type name.
        type_name: &'static str,
    },
    /// Saving met a value the format cannot hold (a closure, positional axes, ...).
    #[error(
        "cannot save {} ({type_name}): {reason}",
        show_path(.path)
    )]
    Unsavable {
        /// The innermost layer (or parameter) around the value.
        path: KeyPath,
        /// That node's type name.
        type_name: &'static str,
        /// What cannot be saved, and what to do instead.
        reason: String,
    },
    /// Two slots with the same label (one tied parameter) hold different values.
    #[error(
        "{file}: parameters at {first} and {second} share the label {} but hold different values; tied parameters must be equal",
        crate::quote::Quoted(.label)
    )]
    TieMismatch {
        /// The structure file being written or read.
        file: String,
        /// The shared label.
        label: String,
        /// The first slot holding it, in tree order.
        first: KeyPath,
        /// The slot that disagrees.
        second: KeyPath,
    },
    /// The structure is not valid JSON, or not the JSON a model is saved as.
    #[error("{file}: invalid model structure at byte offset {offset}: {message}")]
    InvalidStructure {
        /// The structure file.
        file: String,
        /// Where the parser stopped.
        offset: u64,
        /// What was wrong.
        message: String,
    },
    /// The structure file is not a penzai model, or from an unknown format version.
    #[error("{file}: {found} is not a model structure this build reads (expected {expected})")]
    UnsupportedFormat {
        /// The structure file.
        file: String,
        /// The format (or version) found.
        found: String,
        /// The format and version read here.
        expected: String,
    },
    /// The structure names a layer type that is not registered.
    #[error(
        "{file}: unknown layer type {} at byte offset {offset}; no layer type of this program has that name (see `penzai::io::register_layer`)",
        crate::quote::Quoted(.type_name)
    )]
    UnknownLayerType {
        /// The structure file.
        file: String,
        /// The type name found.
        type_name: String,
        /// Where the parser stopped (at the end of the name, or of the layer's object).
        offset: u64,
    },
    /// `load::<T>` found another layer type at the root.
    #[error("{file}: the saved root at byte offset {offset} is a {found}, not a {expected}")]
    RootTypeMismatch {
        /// The structure file.
        file: String,
        /// The registered name of the type asked for.
        expected: String,
        /// The type name found.
        found: String,
        /// Where the parser stopped.
        offset: u64,
    },
    /// Layers nest deeper than the format allows (a guard against hostile input exhausting
    /// the stack).
    #[error("{file}: layers nest deeper than {limit} levels at byte offset {offset}")]
    TooDeep {
        /// The structure file.
        file: String,
        /// The deepest nesting accepted.
        limit: usize,
        /// Where the parser stopped.
        offset: u64,
    },
    /// The structure names a tensor the parameters file does not have.
    #[error(
        "{file}: byte offset {offset}: tensor {} is missing from {tensors_file}",
        crate::quote::Quoted(.tensor)
    )]
    MissingTensor {
        /// The structure file.
        file: String,
        /// The parameters file.
        tensors_file: String,
        /// The tensor key.
        tensor: String,
        /// Where the parser stopped (at the end of the reference, or of its object).
        offset: u64,
    },
    /// The parameters file holds a tensor the structure never names.
    #[error(
        "{tensors_file}: tensor {} is not used by {file}",
        crate::quote::Quoted(.tensor)
    )]
    UnusedTensor {
        /// The structure file.
        file: String,
        /// The parameters file.
        tensors_file: String,
        /// The unused tensor's key.
        tensor: String,
    },
    /// A tensor differs from what the structure declares for it (shape, dtype, axes, label).
    #[error(
        "{file}: byte offset {offset}: tensor {} in {tensors_file}: {problem}",
        crate::quote::Quoted(.tensor)
    )]
    TensorMismatch {
        /// The structure file.
        file: String,
        /// The parameters file.
        tensors_file: String,
        /// The tensor key.
        tensor: String,
        /// Where the parser stopped (at the end of the reference, or of its object).
        offset: u64,
        /// The declared and the stored values.
        problem: String,
    },
    /// `register_layer` was given a name that another type already has.
    #[error(
        "layer name {} is already registered for {existing}; choose another name",
        crate::quote::Quoted(.name)
    )]
    NameTaken {
        /// The name asked for.
        name: String,
        /// The Rust type that holds it.
        existing: &'static str,
    },
    /// Several layer types of one crate have the same name, so none of them can be saved or
    /// loaded under it.
    #[error(
        "layer name {} belongs to {} types: {}; rename one, or give it a name of its own with `penzai::io::register_layer`",
        crate::quote::Quoted(.name),
        .types.len(),
        .types.join(", ")
    )]
    NameShared {
        /// The name.
        name: String,
        /// The Rust types that have it.
        types: Vec<&'static str>,
    },
    /// `register_layer` was given a type that is already registered under another name.
    #[error(
        "{type_name} is already registered as {}",
        crate::quote::Quoted(.existing)
    )]
    TypeTaken {
        /// The Rust type.
        type_name: &'static str,
        /// The name it has.
        existing: String,
    },
}

fn show_path(path: &KeyPath) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_string()
    }
}

impl SaveError {
    /// Fills in the byte offset of a load error found while parsing (the failing code knows
    /// the problem, only the parser knows where it stands).
    pub(super) fn at_offset(mut self, at: u64) -> SaveError {
        match &mut self {
            SaveError::InvalidStructure { offset, .. }
            | SaveError::UnknownLayerType { offset, .. }
            | SaveError::RootTypeMismatch { offset, .. }
            | SaveError::TooDeep { offset, .. }
            | SaveError::MissingTensor { offset, .. }
            | SaveError::TensorMismatch { offset, .. } => *offset = at,
            _ => {}
        }
        self
    }
}
