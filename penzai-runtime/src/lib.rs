//! Runtime of penzai: trees, named arrays, layers, selectors, rendering and io.
//!
//! Users depend on the `penzai` facade crate, which re-exports all of this.
#![warn(missing_docs)]

// Lets the macros' `::penzai::...` paths resolve inside this crate too.
extern crate self as penzai;

pub mod error;
pub mod interpret;
pub mod io;
pub mod models;
pub mod nn;
pub mod nx;
pub mod prelude;
pub mod quote;
pub mod select;
#[cfg(feature = "text")]
pub mod text;
pub mod tree;
pub mod treescope;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, Result};
pub use nn::{AnyLayer, Context, Layer};
pub use nx::{AxisError, NamedArray};
pub use select::{SelectError, Selection, select};
pub use tree::{Key, KeyPath, KeyRef, Tree, TreeError, TreeExt};

/// Derives [`Tree`](trait@Tree) for a struct or enum; see the crate documentation.
pub use penzai_macros::Tree;
pub use penzai_macros::{layer, model};
