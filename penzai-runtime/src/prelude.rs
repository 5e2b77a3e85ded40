//! Everything a model author or analyst usually needs: `use penzai::prelude::*;`.

pub use crate::error::{Error, Result};
pub use crate::nn::{AnyLayer, AsLayer, Context, Layer};
pub use crate::nx::{AxisError, NamedArray};
pub use crate::select::{SelectError, Selection, select};
pub use crate::tree::{
    HasTypedPath, Key, KeyPath, KeyRef, Tree, TreeError, TreeExt, TreeObject, TypedPath, Walk,
};
pub use crate::treescope::NotebookDisplay;
pub use penzai_macros::{Tree, layer, model};
