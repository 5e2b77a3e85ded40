//! Models as trees: the [`Tree`] trait, keys and paths, traversal, typed paths.
//!
//! Every node (layer, container, parameter, number) implements [`Tree`], usually through
//! `#[derive(Tree)]`. A [`KeyPath`] addresses a node from the root; its text form
//! (`blocks[3].mlp.up.weights`) is what the viewer copies and selectors accept.

mod any_tree;
mod arrays;
mod containers;
mod debug;
mod error;
mod field_names;
mod key;
mod leaves;
mod node;
mod path;
mod typed_path;
mod walk;

pub use any_tree::AnyTree;
// Shared with the layer library's `AnyLayer`.
pub(crate) use any_tree::forward_slot_tree_methods;
pub use arrays::{canonicalize, order_like};
pub use error::{ChildError, Invalid, TreeError};
pub use key::{Key, KeyRef, is_field_name};
pub use leaves::OpaqueLeaf;
#[allow(unused_imports)] // used by the layer library's childless layers
pub(crate) use leaves::childless_tree_methods;
pub use node::{Capability, Leaf, Tree, TreeObject, short_type_name};
pub use path::{KeyPath, KeyPathParseError};
pub use typed_path::{AnyPath, HasTypedPath, LeafPath, MapPath, SeqPath, TypedPath, field_path};
pub use walk::{
    PathFrame, TreeExt, Walk, get, get_mut, insert, remove, replace, validate_all, walk, walk_mut,
};
