//! `partition` and `combine`: take the selected and unselected parts out, put them back.

use super::edit::put;
use super::error::SelectError;
use super::selection::Selection;
use crate::tree::{KeyPath, Tree};

/// A tree split into the selected subtrees and the maximal unselected ones
/// ([`invert`](Selection::invert)), each with its path: every leaf is in exactly one part.
///
/// Edit the parts (say, transform every selected parameter), then
/// [`combine`](Partition::combine) puts them back. The skeleton is the original tree;
/// parts share its array storage, so a partition copies no arrays.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::select::select;
///
/// #[derive(Clone, Debug, Tree)]
/// struct Pair { a: f32, b: f32 }
///
/// let mut parts = select(Pair { a: 1.0, b: 2.0 }).at_path("a")?.partition();
/// assert_eq!(parts.rest.len(), 1);
/// parts.selected[0].1 = Box::new(10.0f32);
/// let pair = parts.combine()?;
/// assert_eq!((pair.a, pair.b), (10.0, 2.0));
/// # Ok::<(), penzai::select::SelectError>(())
/// ```
pub struct Partition<M> {
    /// The tree the parts came from.
    pub skeleton: M,
    /// The selected subtrees, in tree order.
    pub selected: Vec<(KeyPath, Box<dyn Tree>)>,
    /// The maximal subtrees holding no selected node, in tree order.
    pub rest: Vec<(KeyPath, Box<dyn Tree>)>,
}

impl<M: Tree + Clone> Selection<M> {
    /// Splits the tree into the selected subtrees and the rest (see [`Partition`]).
    pub fn partition(self) -> Partition<M> {
        let parts = |s: &Selection<M>| -> Vec<(KeyPath, Box<dyn Tree>)> {
            s.get_by_path()
                .into_iter()
                .map(|(p, n)| (p.clone(), n.clone_tree()))
                .collect()
        };
        let selected = parts(&self);
        let inverted = self.invert();
        let rest = parts(&inverted);
        Partition {
            skeleton: inverted.deselect(),
            selected,
            rest,
        }
    }
}

impl<M: Tree> Partition<M> {
    /// Puts every part back at its path (each checked by its slot) and returns the tree.
    pub fn combine(self) -> Result<M, SelectError> {
        let mut tree = self.skeleton;
        for (path, node) in self.selected.into_iter().chain(self.rest) {
            put(&mut tree, &path, node)?;
        }
        Ok(tree)
    }
}
