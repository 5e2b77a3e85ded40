//! Everything a model author or analyst usually needs: `use penzai::prelude::*;`.
//!
//! Besides the core types, the `treescope` and `select` modules come along, so that
//! `treescope::save_html(&model, "model.html")?` and `select::SelectError` read the same
//! with the prelude as with full paths.
//!
//! ```
//! use penzai::prelude::*;
//!
//! fn main() -> penzai::Result<()> {
//!     let scores = vec![0.5f32, 0.25];
//!     let path = std::env::temp_dir().join(format!("penzai-prelude-{}.html", std::process::id()));
//!     treescope::save_html(&scores, &path)?;
//!     let first: Selection<Vec<f32>> = select(scores).at_path("[0]")?;
//!     assert_eq!(first.count(), 1);
//!     let _: Option<select::SelectError> = None;
//!     std::fs::remove_file(&path)?;
//!     Ok(())
//! }
//! ```

pub use crate::error::{Error, Result};
pub use crate::nn::{AnyLayer, AsLayer, Context, Layer};
pub use crate::nx::{AxisError, NamedArray};
pub use crate::select::{self, SelectError, Selection, select};
pub use crate::tree::{
    HasTypedPath, Key, KeyPath, KeyRef, Tree, TreeError, TreeExt, TreeObject, TypedPath, Walk,
};
pub use crate::treescope::{self, NotebookDisplay};
pub use penzai_macros::{Tree, layer, model};
