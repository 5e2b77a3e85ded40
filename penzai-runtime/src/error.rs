//! The crate-wide error type wrapping each area's own error.

use std::fmt;

use crate::grad::GradError;
use crate::io::IoError;
use crate::io::SaveError;
use crate::io::hf::HfError;
use crate::nn::LayerError;
use crate::nx::AxisError;
use crate::select::SelectError;
#[cfg(feature = "text")]
use crate::text::TextError;
use crate::tree::{Invalid, KeyPath, KeyPathParseError, TreeError};

/// Any error penzai returns; each variant wraps one area's typed error.
///
/// Its `Debug` form is its message followed by the errors that caused it, so that a `main`
/// returning `penzai::Result<()>` prints a readable error rather than a struct dump; every
/// `std::io::Error` converts into it, so `?` works on file writes in such a `main` too.
///
/// ```
/// fn main() -> penzai::Result<()> {
///     let tree = vec![1.0f32, 2.0];
///     let dir = std::env::temp_dir().join(format!("penzai-doc-main-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     penzai::treescope::save_html(&tree, dir.join("tree.html"))?;
///     let err = penzai::treescope::save_html(&tree, dir.join("missing/tree.html")).unwrap_err();
///     let err = penzai::Error::from(err);
///     assert!(format!("{err:?}").contains("missing/tree.html: cannot write"), "{err:?}");
///     std::fs::remove_dir_all(&dir)?;
///     Ok(())
/// }
/// ```
#[derive(Clone, PartialEq, thiserror::Error)]
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
    /// Computing gradients or training failed (boxed like `Axis`).
    #[error(transparent)]
    Grad(Box<GradError>),
    /// Reading a tokenizer, encoding or decoding failed (boxed like `Io`).
    #[cfg(feature = "text")]
    #[error(transparent)]
    Text(Box<TextError>),
    /// An operating-system error that reached penzai's error through `?` (a
    /// `std::io::Error`: writing a Treescope page, or a file of the caller's own).
    #[error("{message}")]
    Os {
        /// The error's kind.
        kind: std::io::ErrorKind,
        /// Its message.
        message: String,
    },
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

impl From<GradError> for Error {
    fn from(e: GradError) -> Error {
        Error::Grad(Box::new(e))
    }
}

impl From<crate::nx::GradError> for Error {
    fn from(e: crate::nx::GradError) -> Error {
        Error::Grad(Box::new(GradError::Tape(e)))
    }
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

#[cfg(feature = "text")]
impl From<TextError> for Error {
    fn from(e: TextError) -> Error {
        Error::Text(Box::new(e))
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

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Os {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// The message, then each cause whose message it does not already include (most of
/// penzai's errors quote their cause): what `main` prints when it returns the error.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.to_string();
        f.write_str(&message)?;
        let mut shown = message;
        let mut heading = false;
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            let text = e.to_string();
            if !shown.contains(&text) {
                if !heading {
                    f.write_str("\n\nCaused by:")?;
                    heading = true;
                }
                write!(f, "\n    {text}")?;
                shown = text;
            }
            cause = e.source();
        }
        Ok(())
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
