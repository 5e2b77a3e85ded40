//! Runtime of penzai: trees, named arrays, layers, selectors, rendering and io.
//!
//! Users depend on the `penzai` facade crate, which re-exports all of this.
//!
//! # Layers of the runtime
//!
//! The modules are layered bottom-up, and nothing names a module above it:
//!
//! ```text
//! nx  ->  tree  ->  nn  ->  treescope, models  ->  select  ->  io, interpret
//! ```
//!
//! (`select` uses `treescope` to show a selection; `io` maps checkpoints onto `models`;
//! `interpret` edits `models` with `select`; `quote`, which escapes user strings for
//! messages, sits below them all.) `tree` knows nothing of layers: `nn` finds
//! out that a node is a layer through the node's capability hook
//! ([`tree::Tree::capability`], answered by `#[derive(Tree)]`; see
//! [`nn::LayerCapability`]), and `Tree::validate` reports its own [`tree::Invalid`]. At the
//! crate root sit the glue modules that may name everything: [`error`] (the crate-wide
//! [`Error`] that wraps each area's error, which `Layer::call` returns so that `?` works
//! across areas; `nx` and `tree` do not use it), [`prelude`], and `__private` (what the
//! macros' expansions call).
//!
//! The rule is enforced by `tests/architecture.rs`, which reads every source file and fails
//! on a path (`crate::..`, `super::..`, `$crate::..`, a serde attribute string) that points
//! upward, from a table of allowed dependencies. Modules plus that test, rather than one
//! crate per layer, because: the derive and the macros emit `::penzai::__private::..` paths
//! that must resolve in every layer's own code (one crate aliased as `penzai` does that;
//! seven crates would each need a path parameter), inherent impls such as the HTML forms of
//! `ArrayFigure` or `Display` for layers written in a higher module would become orphan
//! conflicts, and a split would rename every file that other work is changing at the same
//! time. The test gives the same guarantee for imports, and its table is the one place to
//! read the layering.
//!
//! Documentation examples are written as user code, against the `penzai` facade (a
//! dev-dependency of this crate), not as `penzai_runtime::`; the architecture test checks
//! that too.
#![deny(missing_docs)]

// Lets the macros' `::penzai::...` paths resolve inside this crate too.
extern crate self as penzai;

pub mod error;
pub mod grad;
pub mod heap;
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
/// serde, as penzai uses it: a layer type saves and loads when it derives
/// `penzai::serde::{Serialize, Deserialize}` (with `#[serde(crate = "penzai::serde")]`) beside
/// `Tree`, with no dependency of its own on serde (see [`io::save`](io::save())).
pub use serde;
