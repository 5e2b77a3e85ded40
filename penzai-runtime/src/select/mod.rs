//! Selectors: pick nodes of a model by type, path or predicate, then read or rebuild.
//!
//! [`select`] wraps a tree in a [`Selection`] of its root. Queries narrow or move the
//! selection ([`at_instances_of`](Selection::at_instances_of),
//! [`at_path`](Selection::at_path), [`at_children`](Selection::at_children),
//! [`where_`](Selection::where_), [`nth`](Selection::nth), [`invert`](Selection::invert),
//! [`refine`](Selection::refine), ...). Terminals read the selected nodes
//! ([`count`](Selection::count), [`get`](Selection::get), [`paths`](Selection::paths)) or
//! return an edited tree ([`apply`](Selection::apply), [`set`](Selection::set),
//! [`insert_after`](Selection::insert_after), [`remove`](Selection::remove), ...).
//!
//! Edits consume the selection and return the new tree: nothing is changed behind the
//! caller's back. Select over `model.clone()` to keep the original; the clone copies the
//! tree's nodes but shares every array (copy-on-write storage), so an edited model and its
//! original hold the same parameter buffers. Read-only queries can select over a borrowed
//! tree, `select(model.as_dyn())`, without any copy.
//!
//! Why nodes are not `Arc`-shared: cloning the 12-block benchmark model (about 750 nodes)
//! takes about 0.1 ms, below the cost of the edits themselves and far below a forward
//! pass (see `BENCHMARKS.md`), while `Arc` subtrees would put copy-on-write bookkeeping in
//! every node type and in the derive macro. Arrays, the only large data, are shared.
//!
//! Edits work in place on the tree the selection owns: one walk follows all selected paths
//! together (each node on the way is reached once), edits each selected node at its parent,
//! and moves the node out of its slot for a closure rather than copying it (a field of a
//! concrete type, which must hold a value of that type at every moment, is the one place a
//! node is copied; its arrays are still shared). Selected nodes are visited in tree order
//! and never nest; an insertion or removal in a sequence moves the later siblings, which the
//! walk follows.
//!
//! | Concept | Module |
//! |---|---|
//! | [`Selection`], reading terminals | `selection` |
//! | queries | `query` |
//! | `apply`, `set`, `map` | `edit` |
//! | `set_by_path`, [`select_and_set_by_path`], `apply_and_inline`, `map_indexed` | `by_path` |
//! | several types ([`TypeSet`]), several positions, relative-path predicates | `pick` |
//! | `insert_before`/`insert_after`, `remove` | `splice` |
//! | the walk the edits share; moving a node out of its slot | `sites` |
//! | [`Partition`] | `partition` |
//! | `to_html`, `show`, `to_text` (Treescope with the selection marked) | `show` |
//! | [`SelectError`] | `error` |
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::models::{LlamaConfig, TransformerLm};
//! use penzai::nn::{Identity, Linear};
//!
//! let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
//! let with_taps = select(model.clone())
//!     .at_instances_of::<Linear>()
//!     .insert_after(Identity)?;
//! assert_eq!(select(with_taps.as_dyn()).at_instances_of::<Identity>().count(), 20);
//! # Ok::<(), penzai::Error>(())
//! ```

mod args;
mod by_path;
mod edit;
mod error;
mod partition;
mod pick;
mod query;
mod selection;
mod show;
mod sites;
mod splice;
mod trie;

pub use args::{FromNode, IntoNode, IntoSelectPath};
pub use by_path::select_and_set_by_path;
pub use error::{InsertProblem, SelectError};
pub use partition::Partition;
pub use pick::TypeSet;
pub use selection::{SelectRoot, Selection};

/// A selection of the root of `tree`, to narrow with queries and finish with a terminal.
///
/// `tree` is an owned tree (edits return a new one) or a borrowed `&dyn Tree` (for
/// reading; see the [module documentation](self)).
///
/// ```
/// use penzai::prelude::*;
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::nn::{Linear, Parameter};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// // Read: every Linear, by type.
/// let linears = select(model.as_dyn()).at_instances_of::<Linear>();
/// assert!(linears.count() > 0);
/// // Edit: a copy with block 0's MLP output projection zeroed.
/// let edited = select(model.clone())
///     .at_path("blocks[0].mlp")?
///     .at_instances_of::<Parameter>()
///     .nth(-1)
///     .try_apply(|_, p: Parameter| -> penzai::Result<Parameter> {
///         Ok(p.with_value(NamedArray::zeros(p.value.named_shape())?))
///     })?;
/// assert!(!edited.tree_eq(&model));
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn select<R: SelectRoot>(tree: R) -> Selection<R> {
    Selection::of_root(tree)
}
