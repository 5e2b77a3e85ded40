//! `SelectError`: why a query or an edit through a selection failed, naming the path.

use std::fmt;

use crate::tree::{KeyPath, KeyPathParseError, TreeError};

/// A failed selection query or edit. Every variant that concerns a node names its path.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::select::{SelectError, select};
///
/// #[derive(Clone, Debug, Tree)]
/// struct Pair { a: f32, b: f32 }
///
/// let err = select(Pair { a: 1.0, b: 2.0 }).at_path("a[").unwrap_err();
/// assert!(matches!(err, SelectError::Parse(ref e) if e.offset == 2));
/// let err = select(Pair { a: 1.0, b: 2.0 }).at_children().get().unwrap_err();
/// assert_eq!(err.to_string(), "expected exactly 1 selected node, found 2: a, b");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// A path given as text is malformed (the error names the byte offset).
    #[error(transparent)]
    Parse(#[from] KeyPathParseError),
    /// A path given to [`at_path`](crate::select::Selection::at_path) reaches no node.
    #[error("no node at {}: {reason}", show(.path))]
    NoSuchNode {
        /// The absolute path that was asked for.
        path: KeyPath,
        /// Where and why the lookup stopped.
        reason: TreeError,
    },
    /// The selection holds another number of nodes than required.
    #[error("expected exactly {} selected node{}, found {found}{}", .expected, plural(*.expected), listing(.paths, *.found))]
    Count {
        /// The required number.
        expected: usize,
        /// The number selected.
        found: usize,
        /// The first few selected paths, to show what was found.
        paths: Vec<KeyPath>,
    },
    /// A selected node is not of the type a closure or typed getter takes.
    #[error("the node at {} is a {found}, but {expected} was expected", show(.path))]
    WrongType {
        /// The node's path.
        path: KeyPath,
        /// What the closure or getter takes.
        expected: String,
        /// The node's type.
        found: &'static str,
    },
    /// A slot refused the value an edit put there.
    #[error("cannot put a {given} at {}: the slot expects {expected}", show(.path))]
    SlotType {
        /// The slot's path.
        path: KeyPath,
        /// What the slot accepts.
        expected: String,
        /// The refused value's type.
        given: &'static str,
    },
    /// Nothing can be inserted next to the node at `path`.
    #[error("cannot insert next to {}: {problem}", show(.path))]
    Insert {
        /// The selected node's path.
        path: KeyPath,
        /// Why not.
        problem: InsertProblem,
    },
    /// The node at `path` cannot be removed: its parent is not a sequence.
    #[error("cannot remove {}: {}", show(.path), remove_reason(.parent))]
    Remove {
        /// The selected node's path.
        path: KeyPath,
        /// The parent's type, or `None` for the root.
        parent: Option<&'static str>,
    },
    /// `apply_and_inline` selected a node that is not an element of a sequence.
    #[error("cannot inline at {}: {}", show(.path), inline_reason(.parent))]
    Inline {
        /// The selected node's path.
        path: KeyPath,
        /// The parent's type, or `None` for the root.
        parent: Option<&'static str>,
    },
    /// An edit that takes one value per selected node got another number of values.
    #[error("{op} got {given} value{} for {selected} selected node{}", plural(*.given), plural(*.selected))]
    ValueCount {
        /// The method.
        op: &'static str,
        /// Number of values given.
        given: usize,
        /// Number of nodes selected.
        selected: usize,
    },
    /// A fallible closure passed to an edit failed on the node at `path`.
    #[error("the closure failed at {}: {source}", show(.path))]
    Closure {
        /// The node's path.
        path: KeyPath,
        /// The closure's error.
        source: Box<crate::Error>,
    },
    /// Any other failed tree access.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// Why nothing could be inserted next to a node (see [`SelectError::Insert`]).
///
/// Insertion adds a sibling when the node is an element of a sequence; otherwise the node
/// is wrapped, together with the new value, in a `Sequential`, which needs both to be
/// layers and the slot to accept any layer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertProblem {
    /// The parent is not a sequence and its slot accepts only one type.
    TypedSlot {
        /// The parent's type.
        parent: &'static str,
        /// What the slot accepts.
        expected: String,
    },
    /// The parent is not a sequence and the node is not a layer, so it cannot be wrapped.
    NotALayer {
        /// The node's type.
        node: &'static str,
        /// The parent's type (`None` at the root).
        parent: Option<&'static str>,
    },
    /// The parent is not a sequence and the inserted value is not a layer.
    ValueNotALayer {
        /// The value's type.
        value: &'static str,
    },
    /// The node is the root and the root's type cannot become a `Sequential`.
    Root {
        /// What the root accepts.
        expected: String,
    },
}

impl fmt::Display for InsertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertProblem::TypedSlot { parent, expected } => write!(
                f,
                "its parent {parent} is not a sequence, and the slot only accepts {expected}, \
                 so it cannot be wrapped in a Sequential"
            ),
            InsertProblem::NotALayer {
                node,
                parent: Some(parent),
            } => write!(
                f,
                "it is a {node}, not a layer, and its parent {parent} is not a sequence"
            ),
            InsertProblem::NotALayer { node, parent: None } => {
                write!(f, "it is the root and a {node}, not a layer")
            }
            InsertProblem::ValueNotALayer { value } => write!(
                f,
                "its parent is not a sequence, and the inserted {value} is not a layer, \
                 so the two cannot be wrapped in a Sequential"
            ),
            InsertProblem::Root { expected } => write!(
                f,
                "it is the root, and the root's type ({expected}) cannot hold a Sequential"
            ),
        }
    }
}

fn show(path: &KeyPath) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_string()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How many paths a count error lists before eliding the rest.
pub(crate) const LISTED_PATHS: usize = 5;

fn listing(paths: &[KeyPath], found: usize) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = paths.iter().take(LISTED_PATHS).map(show).collect();
    let more = if found > shown.len() { ", ..." } else { "" };
    format!(": {}{more}", shown.join(", "))
}

fn inline_reason(parent: &Option<&'static str>) -> String {
    match parent {
        Some(p) => format!(
            "its parent {p} is not a sequence, so the node cannot be replaced by several; \
             use `apply` to replace it by one"
        ),
        None => "the root has no parent".to_owned(),
    }
}

fn remove_reason(parent: &Option<&'static str>) -> String {
    match parent {
        Some(p) => format!(
            "its parent {p} is not a sequence; replace the node instead (e.g. `.set(Identity)`)"
        ),
        None => "the root has no parent".to_owned(),
    }
}

impl SelectError {
    /// Maps a tree edit's refusal to the selection error that names the slot.
    pub(crate) fn from_edit(e: TreeError) -> SelectError {
        match e {
            TreeError::TypeMismatch {
                path,
                expected,
                given,
            } => SelectError::SlotType {
                path,
                expected,
                given,
            },
            other => SelectError::Tree(other),
        }
    }
}
