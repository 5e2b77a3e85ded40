//! The crate-wide error type wrapping each area's own error.

use crate::io::IoError;
use crate::io::SaveError;
use crate::io::hf::HfError;
use crate::nn::LayerError;
use crate::nx::AxisError;
use crate::select::SelectError;
use crate::tree::{Invalid, KeyPath, KeyPathParseError, TreeError};

/// Any error penzai returns; each variant wraps one area's typed error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A lookup or edit in a tree failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A named-axis mismatch in an array operation (boxed: it carries two shapes, and
    /// every `Result` on the forward path would otherwise pay for its size).
    #[error(transparent)]
    Axis(Box<AxisError>),
    /// Reading or writing a file (safetensors, checkpoint index, HF config) failed (boxed for
    /// the same reason as `Axis`).
    #[error(transparent)]
    Io(Box<IoError>),
    /// Saving a model, or loading a saved one, failed (boxed like `Io`).
    #[error(transparent)]
    Save(Box<SaveError>),
    /// Mapping a HuggingFace checkpoint onto a model (or a model onto one) failed (boxed for
    /// the same reason as `Axis`).
    #[error(transparent)]
    Hf(Box<HfError>),
    /// A layer refused its input, configuration or context.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A selector query or edit failed.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// An error raised while running the layer at `path`.
    #[error("at {} ({layer}): {source}", show_path(.path))]
    AtLayer {
        /// Where the failing layer sits in the model.
        path: KeyPath,
        /// Its type name.
        layer: &'static str,
        /// What went wrong.
        source: Box<Error>,
    },
}

fn show_path(path: &KeyPath) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_string()
    }
}

impl Error {
    /// The innermost error, without layer locations.
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::AtLayer { source, .. } => source.root_cause(),
            other => other,
        }
    }

    /// Where the error happened, if it was raised inside a model run.
    pub fn layer_path(&self) -> Option<&KeyPath> {
        match self {
            Error::AtLayer { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Attaches a layer location unless one is already there (the deepest one wins).
    pub fn at_layer(self, path: impl FnOnce() -> KeyPath, layer: &'static str) -> Error {
        match self {
            located @ Error::AtLayer { .. } => located,
            other => Error::AtLayer {
                path: path(),
                layer,
                source: Box::new(other),
            },
        }
    }
}

impl From<IoError> for Error {
    fn from(e: IoError) -> Error {
        Error::Io(Box::new(e))
    }
}

impl From<SaveError> for Error {
    fn from(e: SaveError) -> Error {
        Error::Save(Box::new(e))
    }
}

impl From<HfError> for Error {
    fn from(e: HfError) -> Error {
        Error::Hf(Box::new(e))
    }
}

impl From<AxisError> for Error {
    fn from(e: AxisError) -> Error {
        Error::Axis(Box::new(e))
    }
}

impl From<KeyPathParseError> for Error {
    fn from(e: KeyPathParseError) -> Error {
        Error::Tree(TreeError::Parse(e))
    }
}

/// A validation hook (`#[tree(validate = "...")]`) may return penzai's [`Error`] (a layer's
/// option check, say): its message becomes the node's problem, located by
/// [`validate_all`](crate::tree::validate_all).
impl From<Error> for Invalid {
    fn from(e: Error) -> Invalid {
        Invalid::new(e.to_string())
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
