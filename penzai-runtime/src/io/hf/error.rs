//! `HfError`: every way mapping a HuggingFace checkpoint onto our models (or back) can fail.
//!
//! File-level problems (unreadable config, malformed safetensors, unsupported config keys)
//! are the [`IoError`] underneath; the variants here are about the *mapping*: a tensor the
//! architecture needs and the checkpoint lacks, one it has and the architecture does not
//! use, a shape or dtype that does not fit. Each names the file, the tensor and, where the
//! tensor exists, the byte offset of its data.

use crate::io::IoError;

/// An error loading a HuggingFace checkpoint into a model, or exporting a model to one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HfError {
    /// Reading the config or a safetensors file failed (malformed file, unsupported config
    /// key, OS error, ...).
    #[error(transparent)]
    Io(#[from] IoError),
    /// The architecture needs a tensor the checkpoint does not have.
    #[error(
        "{checkpoint}: missing tensor {}, which a {architecture} model needs",
        crate::quote::Quoted(.tensor)
    )]
    MissingTensor {
        /// The checkpoint's file (or shard index).
        checkpoint: String,
        /// The tensor's name.
        tensor: String,
        /// The architecture read from the config (`gpt2`, `llama`, ...).
        architecture: &'static str,
    },
    /// The checkpoint has a tensor the architecture does not use.
    #[error(
        "{file}: unexpected tensor {} (data at byte offset {offset}): a {architecture} model with this config has no such parameter",
        crate::quote::Quoted(.tensor)
    )]
    UnexpectedTensor {
        /// The file holding it.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// Absolute byte offset of its data.
        offset: u64,
        /// The architecture read from the config.
        architecture: &'static str,
    },
    /// A tensor's shape is not the one the config implies.
    #[error(
        "{file}: tensor {} (data at byte offset {offset}) has shape {actual:?}, but the config implies {expected:?}",
        crate::quote::Quoted(.tensor)
    )]
    ShapeMismatch {
        /// The file holding it.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape stored.
        actual: Vec<usize>,
        /// Absolute byte offset of its data.
        offset: u64,
    },
    /// A parameter is stored with a dtype that is not a float.
    #[error(
        "{file}: tensor {} (data at byte offset {offset}) has dtype {dtype}; parameters must be F16, BF16, F32 or F64",
        crate::quote::Quoted(.tensor)
    )]
    NotFloat {
        /// The file holding it.
        file: String,
        /// The tensor's name.
        tensor: String,
        /// The stored dtype.
        dtype: String,
        /// Absolute byte offset of its data.
        offset: u64,
    },
    /// A tied checkpoint also stores the tied copy, and it differs from the original.
    #[error(
        "{file}: tensor {} (data at byte offset {offset}) differs from {}, but the config ties them (tie_word_embeddings)",
        crate::quote::Quoted(.tensor), crate::quote::Quoted(.tied_to)
    )]
    TiedMismatch {
        /// The file holding the copy.
        file: String,
        /// The copy's name (`lm_head.weight`).
        tensor: String,
        /// The tensor it should equal.
        tied_to: String,
        /// Absolute byte offset of the copy's data.
        offset: u64,
    },
    /// The model to export lacks a parameter the HF layout needs.
    #[error(
        "cannot export: the model has no parameter labelled {} (needed for HF tensor {})",
        crate::quote::Quoted(.label), crate::quote::Quoted(.tensor)
    )]
    MissingParameter {
        /// The parameter label looked for.
        label: String,
        /// The HF tensor it maps to.
        tensor: String,
    },
    /// The model to export has a parameter the HF layout cannot hold.
    #[error(
        "cannot export: parameter {} at {path} has no place in the HF {architecture} layout",
        crate::quote::Quoted(.label)
    )]
    UnmappedParameter {
        /// The parameter's label.
        label: String,
        /// Where it sits in the model.
        path: String,
        /// The architecture of the config exported to.
        architecture: &'static str,
    },
    /// A parameter of the model to export does not have the axes the config implies.
    #[error(
        "cannot export: parameter {} has axes {actual}, but HF tensor {} needs {expected}",
        crate::quote::Quoted(.label), crate::quote::Quoted(.tensor)
    )]
    ParameterShape {
        /// The parameter's label.
        label: String,
        /// The HF tensor it maps to.
        tensor: String,
        /// The axes the config implies.
        expected: String,
        /// The parameter's axes.
        actual: String,
    },
    /// The config asks for more layers than the checkpoint has tensors for.
    #[error(
        "{file}: {key} = {layers} needs {per_layer} tensors per layer plus {fixed} others, but the checkpoint holds {tensors} tensors"
    )]
    LayerCount {
        /// The config file.
        file: String,
        /// The config key giving the layer count (`n_layer`, `num_hidden_layers`).
        key: &'static str,
        /// The layer count it gives.
        layers: usize,
        /// Tensors each layer needs.
        per_layer: usize,
        /// Tensors outside the layers (embeddings, final norm, ...).
        fixed: usize,
        /// Tensors the checkpoint holds.
        tensors: usize,
    },
    /// Building or validating the model failed (a config our builders reject).
    #[error("building the model from {file}: {source}")]
    Model {
        /// The config file.
        file: String,
        /// What the builder or validation said.
        source: Box<crate::Error>,
    },
}
