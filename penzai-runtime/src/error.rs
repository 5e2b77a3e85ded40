//! The crate-wide error type wrapping each area's own error.

use crate::io::IoError;
use crate::nx::AxisError;
use crate::tree::{KeyPathParseError, TreeError};

/// Any error penzai returns; each variant wraps one area's typed error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A lookup or edit in a tree failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A named-axis mismatch.
    #[error(transparent)]
    Axis(#[from] AxisError),
    /// Reading or writing a file (safetensors, checkpoint index, HF config) failed.
    #[error(transparent)]
    Io(#[from] IoError),
}

impl From<KeyPathParseError> for Error {
    fn from(e: KeyPathParseError) -> Error {
        Error::Tree(TreeError::Parse(e))
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
