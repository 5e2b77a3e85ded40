//! The `Selection` type, what it can select from, and the terminals that read it.

use std::fmt;

use super::error::{LISTED_PATHS, SelectError};
use crate::tree::{KeyPath, Tree, get};

/// A tree together with an ordered set of selected nodes, addressed by [`KeyPath`].
///
/// Built by [`select`](crate::select::select) and narrowed by queries
/// ([`at_instances_of`](Selection::at_instances_of), [`at_path`](Selection::at_path), ...);
/// terminals read the selected nodes ([`get`](Selection::get), [`count`](Selection::count))
/// or rebuild the tree ([`apply`](Selection::apply), [`insert_after`](Selection::insert_after),
/// ...) and return it.
///
/// Invariants: the paths are in pre-order (the order a walk of the tree meets them, which
/// is the order of every list a terminal returns), and no selected node is an ancestor of
/// another ("selected nodes never nest"), so every edit touches disjoint subtrees.
///
/// The root is either owned (`Selection<M>` for any tree type `M`; edits return the new
/// `M`) or borrowed (`Selection<&dyn Tree>`, for reading without a copy).
///
/// Unlike Penzai, a `Selection` is not itself a tree node: it prints (`Debug`,
/// [`to_text`](Selection::to_text), [`to_html`](Selection::to_html) with the selected
/// nodes marked), compares (`==`: same tree, same paths), but is not selected into. What
/// Penzai does by selecting into a selection is a query on the selection itself: the
/// `at_*` queries search inside the selected subtrees, [`pick_nth`](Selection::pick_nth)
/// keeps some of the selected nodes, and [`paths`](Selection::paths) /
/// [`into_parts`](Selection::into_parts) give the holes' key paths as plain data.
#[derive(Clone)]
pub struct Selection<R> {
    pub(crate) root: R,
    pub(crate) paths: Vec<KeyPath>,
    /// Set by [`invert`](Selection::invert): the selection this one is the complement of.
    /// Inverting again returns it, so the two always split the same candidates.
    pub(crate) complement_of: Option<Vec<KeyPath>>,
}

/// What a [`Selection`] can be built over: any owned tree, or a borrowed `&dyn Tree`.
pub trait SelectRoot {
    /// The root as a tree node.
    fn root_tree(&self) -> &dyn Tree;
}

impl<M: Tree> SelectRoot for M {
    fn root_tree(&self) -> &dyn Tree {
        self
    }
}

impl SelectRoot for &dyn Tree {
    fn root_tree(&self) -> &dyn Tree {
        *self
    }
}

impl<R: SelectRoot> fmt::Debug for Selection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<String> = self.paths.iter().map(ToString::to_string).collect();
        f.debug_struct("Selection")
            .field("root", &self.root.root_tree().type_name())
            .field("paths", &paths)
            .finish()
    }
}

/// Equal when the trees are equal ([`Tree::tree_eq`]) and the same paths are selected, as
/// two Penzai selections compare.
///
/// ```
/// use penzai::prelude::*;
///
/// let a = select(vec![1i64, 2]).at_children().nth(0);
/// let b = select(vec![1i64, 2]).at_paths(["[0]"])?;
/// assert_eq!(a, b);
/// assert_ne!(a, select(vec![1i64, 2]).at_children());
/// # Ok::<(), penzai::select::SelectError>(())
/// ```
impl<R: SelectRoot> PartialEq for Selection<R> {
    fn eq(&self, other: &Selection<R>) -> bool {
        self.paths == other.paths && self.root.root_tree().tree_eq(other.root.root_tree())
    }
}

impl<R: SelectRoot> Selection<R> {
    /// A selection of the root alone.
    pub(crate) fn of_root(root: R) -> Selection<R> {
        Selection {
            root,
            paths: vec![KeyPath::root()],
            complement_of: None,
        }
    }

    /// A selection with the given paths, which the caller guarantees are canonical
    /// (existing, pre-ordered, non-nesting).
    pub(crate) fn with_paths(self, paths: Vec<KeyPath>) -> Selection<R> {
        Selection {
            root: self.root,
            paths,
            complement_of: None,
        }
    }

    /// The root as a node: what a transparent root (`AnyLayer`, `Option`) holds, so that
    /// queries and edits see the same node a parent would show.
    pub(crate) fn root_node(&self) -> &dyn Tree {
        let tree = self.root.root_tree();
        tree.as_child().unwrap_or(tree)
    }

    /// The selected node at `path` (which the invariants guarantee exists).
    pub(crate) fn node(&self, path: &KeyPath) -> Result<&dyn Tree, SelectError> {
        Ok(get(self.root_node(), path)?)
    }

    /// Number of selected nodes.
    pub fn count(&self) -> usize {
        self.paths.len()
    }

    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// This selection if it holds exactly `n` nodes, else a [`SelectError::Count`] listing
    /// what it holds (a guard for edits that assume a model's shape).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::select::select;
    ///
    /// let err = select(vec![1i64, 2, 3]).at_children().assert_count(2).unwrap_err();
    /// assert_eq!(err.to_string(), "expected exactly 2 selected nodes, found 3: [0], [1], [2]");
    /// ```
    pub fn assert_count(self, n: usize) -> Result<Selection<R>, SelectError> {
        if self.paths.len() == n {
            Ok(self)
        } else {
            Err(self.count_error(n))
        }
    }

    fn count_error(&self, expected: usize) -> SelectError {
        SelectError::Count {
            expected,
            found: self.paths.len(),
            paths: self.paths.iter().take(LISTED_PATHS).cloned().collect(),
        }
    }

    /// The selected paths, in pre-order.
    pub fn paths(&self) -> &[KeyPath] {
        &self.paths
    }

    /// The tree the selection is over (unchanged by queries).
    pub fn tree(&self) -> &R {
        &self.root
    }

    /// The single selected node; an error unless exactly one is selected.
    pub fn get(&self) -> Result<&dyn Tree, SelectError> {
        match self.paths.as_slice() {
            [path] => self.node(path),
            _ => Err(self.count_error(1)),
        }
    }

    /// The single selected node as a `T`; an error unless exactly one is selected and it is
    /// a `T`.
    pub fn get_as<T: Tree>(&self) -> Result<&T, SelectError> {
        let node = self.get()?;
        downcast_at(&self.paths[0], node)
    }

    /// Every selected node, in order.
    pub fn get_all(&self) -> Vec<&dyn Tree> {
        self.get_by_path().into_iter().map(|(_, n)| n).collect()
    }

    /// Every selected node as a `T`; an error naming the first node that is not one.
    pub fn get_all_as<T: Tree>(&self) -> Result<Vec<&T>, SelectError> {
        self.get_by_path()
            .into_iter()
            .map(|(path, node)| downcast_at(path, node))
            .collect()
    }

    /// Every selected node with its path, in order.
    pub fn get_by_path(&self) -> Vec<(&KeyPath, &dyn Tree)> {
        // The invariants guarantee every path exists; a failed lookup would be a bug, and
        // is skipped rather than turned into a panic.
        self.paths
            .iter()
            .filter_map(|p| self.node(p).ok().map(|n| (p, n)))
            .collect()
    }

    /// Ends the selection, giving the tree back unchanged.
    pub fn deselect(self) -> R {
        self.root
    }

    /// The tree and the selected paths.
    pub fn into_parts(self) -> (R, Vec<KeyPath>) {
        (self.root, self.paths)
    }
}

fn downcast_at<'a, T: Tree>(path: &KeyPath, node: &'a dyn Tree) -> Result<&'a T, SelectError> {
    node.downcast_ref::<T>()
        .ok_or_else(|| SelectError::WrongType {
            path: path.clone(),
            expected: crate::tree::short_type_name(std::any::type_name::<T>()),
            found: node.type_name(),
        })
}
