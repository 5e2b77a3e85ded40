//! Errors of tree access and edits.

use super::key::Key;
use super::node::Tree;
use super::path::KeyPath;

/// Why a node refused an edit of one of its children (relative to that node).
///
/// Rejected values are handed back so the caller can report or retry.
pub enum ChildError {
    /// The slot does not accept the given type.
    TypeMismatch {
        /// What the slot accepts.
        expected: String,
        /// The type name of the rejected value.
        given: &'static str,
        /// The rejected value.
        value: Box<dyn Tree>,
    },
    /// No child has this key.
    NoSuchChild {
        /// The missing key.
        key: Key,
        /// The type of the node that was asked.
        type_name: &'static str,
        /// The value that was to be placed there, if any.
        value: Option<Box<dyn Tree>>,
    },
    /// Insertion or removal on a node that is not a sequence.
    NotASequence {
        /// The type of the node that was asked.
        type_name: &'static str,
        /// The value that was to be inserted, if any.
        value: Option<Box<dyn Tree>>,
    },
    /// Insertion or removal past the end of a sequence.
    OutOfRange {
        /// The position asked for.
        index: usize,
        /// The sequence length.
        len: usize,
        /// The value that was to be inserted, if any.
        value: Option<Box<dyn Tree>>,
    },
}

impl ChildError {
    /// Attaches a path, giving a user-facing [`TreeError`]: the slot's own path for a type
    /// mismatch, the refusing node's path otherwise.
    pub fn at(self, path: &KeyPath) -> TreeError {
        let parent = path;
        match self {
            ChildError::TypeMismatch {
                expected, given, ..
            } => TreeError::TypeMismatch {
                path: parent.clone(),
                expected,
                given,
            },
            ChildError::NoSuchChild { key, type_name, .. } => TreeError::NoSuchChild {
                path: parent.clone(),
                key,
                type_name,
            },
            ChildError::NotASequence { type_name, .. } => TreeError::NotASequence {
                path: parent.clone(),
                type_name,
            },
            ChildError::OutOfRange { index, len, .. } => TreeError::OutOfRange {
                path: parent.clone(),
                index,
                len,
            },
        }
    }

    /// The rejected value, if the failed edit carried one.
    pub fn into_value(self) -> Option<Box<dyn Tree>> {
        match self {
            ChildError::TypeMismatch { value, .. } => Some(value),
            ChildError::NoSuchChild { value, .. }
            | ChildError::NotASequence { value, .. }
            | ChildError::OutOfRange { value, .. } => value,
        }
    }
}

impl std::fmt::Debug for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.clone_message())
    }
}

impl ChildError {
    fn clone_message(&self) -> String {
        match self {
            ChildError::TypeMismatch {
                expected, given, ..
            } => format!("slot expects {expected}, got {given}"),
            ChildError::NoSuchChild { key, type_name, .. } => {
                format!("{type_name} has no child {key}")
            }
            ChildError::NotASequence { type_name, .. } => format!("{type_name} is not a sequence"),
            ChildError::OutOfRange { index, len, .. } => {
                format!("position {index} is out of range for a sequence of {len}")
            }
        }
    }
}

/// A failed lookup or edit in a tree, naming the path involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TreeError {
    /// A replacement value of the wrong type for its slot.
    #[error("cannot put a {given} at {}: the slot expects {expected}", show_node(.path))]
    TypeMismatch {
        /// Path of the slot that refused.
        path: KeyPath,
        /// What the slot accepts.
        expected: String,
        /// The rejected value's type.
        given: &'static str,
    },
    /// A path step that names no child.
    #[error("no child {key} under {} ({type_name})", show_node(.path))]
    NoSuchChild {
        /// Path of the node that has no such child.
        path: KeyPath,
        /// The missing key.
        key: Key,
        /// The type of that node.
        type_name: &'static str,
    },
    /// Insertion or removal under a node that is not a sequence.
    #[error("{} ({type_name}) is not a sequence: elements can only be inserted into or removed from sequences", show_node(.path))]
    NotASequence {
        /// Path of the node.
        path: KeyPath,
        /// Its type.
        type_name: &'static str,
    },
    /// Insertion or removal past the end of a sequence.
    #[error("position {index} is out of range for the sequence at {} (length {len})", show_node(.path))]
    OutOfRange {
        /// Path of the sequence.
        path: KeyPath,
        /// Position asked for.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// An array operation on the array leaf at `path` failed.
    #[error("at {}: {source}", show_node(.path))]
    Array {
        /// Path of the array leaf.
        path: KeyPath,
        /// What went wrong, naming the axes and shape (boxed: it is large, and this
        /// error travels in every tree operation's `Result`).
        source: Box<crate::nx::AxisError>,
    },
    /// Two trees that must share their structure differ at `path`.
    #[error("the trees differ at {}: {found} where the reference has {expected}", show_node(.path))]
    Mismatch {
        /// Path of the node where they differ.
        path: KeyPath,
        /// What the reference tree has there.
        expected: String,
        /// What the tree has there.
        found: String,
    },
    /// A malformed path text.
    #[error(transparent)]
    Parse(#[from] super::path::KeyPathParseError),
    /// A name that cannot be used as a field key.
    #[error("{name:?} cannot be a step name: use ASCII letters, digits and '_'")]
    InvalidName {
        /// The offending name.
        name: String,
    },
    /// A node whose own invariants do not hold ([`Tree::validate`](super::Tree::validate)),
    /// located by [`validate_all`](super::validate_all).
    #[error("{}", show_invalid(.path, .part, .type_name, .problem))]
    Invalid {
        /// Path of the node that refused.
        path: KeyPath,
        /// The offending part of it (a field path relative to the node; empty for the node
        /// as a whole).
        part: KeyPath,
        /// The node's type.
        type_name: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// A node's broken invariant, as [`Tree::validate`](super::Tree::validate) reports it:
/// which part of the node (a path relative to it, empty for the node as a whole) and what
/// is wrong. [`validate_all`](super::validate_all) turns it into a [`TreeError::Invalid`]
/// that names the node's path in the model.
///
/// ```
/// use penzai::tree::Invalid;
///
/// let e = Invalid::at_field("weights", "lacks axis \"embedding\"");
/// assert_eq!(e.to_string(), "weights: lacks axis \"embedding\"");
/// assert_eq!(Invalid::new("bad rate").to_string(), "bad rate");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", part_prefix(.part))]
pub struct Invalid {
    /// The offending part, relative to the node (`weights`); empty for the whole node.
    pub part: KeyPath,
    /// What is wrong, naming the axis, size or value involved.
    pub problem: String,
}

impl Invalid {
    /// A problem with the node as a whole.
    pub fn new(problem: impl Into<String>) -> Invalid {
        Invalid {
            part: KeyPath::root(),
            problem: problem.into(),
        }
    }

    /// A problem with the node's field `field`.
    pub fn at_field(field: &str, problem: impl Into<String>) -> Invalid {
        Invalid {
            part: KeyPath::root().field(field.to_owned()),
            problem: problem.into(),
        }
    }

    /// The user-facing error for this problem in the node at `path`, of type `type_name`.
    pub fn at(self, path: KeyPath, type_name: &'static str) -> TreeError {
        TreeError::Invalid {
            path,
            part: self.part,
            type_name,
            problem: self.problem,
        }
    }
}

fn part_prefix(part: &KeyPath) -> String {
    if part.is_empty() {
        String::new()
    } else {
        format!("{part}: ")
    }
}

/// A located problem reads `blocks[1].output: <problem>` when it concerns a field, and
/// `at blocks[1] (Linear): <problem>` when it concerns the node as a whole.
fn show_invalid(path: &KeyPath, part: &KeyPath, type_name: &'static str, problem: &str) -> String {
    if part.is_empty() {
        format!("at {} ({type_name}): {problem}", show_node(path))
    } else {
        format!("{}: {problem}", path.join(part))
    }
}

fn show_node(path: &KeyPath) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_string()
    }
}

impl TreeError {
    /// Prefixes the error's path with `prefix` (for errors raised inside a subtree).
    pub fn within(self, prefix: &KeyPath) -> TreeError {
        match self {
            TreeError::TypeMismatch {
                path,
                expected,
                given,
            } => TreeError::TypeMismatch {
                path: prefix.join(&path),
                expected,
                given,
            },
            TreeError::NoSuchChild {
                path,
                key,
                type_name,
            } => TreeError::NoSuchChild {
                path: prefix.join(&path),
                key,
                type_name,
            },
            TreeError::NotASequence { path, type_name } => TreeError::NotASequence {
                path: prefix.join(&path),
                type_name,
            },
            TreeError::OutOfRange { path, index, len } => TreeError::OutOfRange {
                path: prefix.join(&path),
                index,
                len,
            },
            TreeError::Invalid {
                path,
                part,
                type_name,
                problem,
            } => TreeError::Invalid {
                path: prefix.join(&path),
                part,
                type_name,
                problem,
            },
            TreeError::Array { path, source } => TreeError::Array {
                path: prefix.join(&path),
                source,
            },
            TreeError::Mismatch {
                path,
                expected,
                found,
            } => TreeError::Mismatch {
                path: prefix.join(&path),
                expected,
                found,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_located_problem_names_the_field_or_the_node() {
        let node: KeyPath = "blocks[1]".parse().unwrap();
        let field = Invalid::at_field("weights", "lacks axis \"x\"").at(node.clone(), "Linear");
        assert_eq!(field.to_string(), "blocks[1].weights: lacks axis \"x\"");
        let whole = Invalid::new("axis \"x\" is listed twice").at(node, "Linear");
        assert_eq!(
            whole.to_string(),
            "at blocks[1] (Linear): axis \"x\" is listed twice"
        );
        let prefix: KeyPath = "model".parse().unwrap();
        assert_eq!(
            whole.within(&prefix).to_string(),
            "at model.blocks[1] (Linear): axis \"x\" is listed twice"
        );
        let at_root = Invalid::new("empty").at(KeyPath::root(), "Steps");
        assert_eq!(at_root.to_string(), "at the root (Steps): empty");
    }
}
