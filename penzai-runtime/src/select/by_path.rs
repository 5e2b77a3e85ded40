//! Edits driven by paths and by sequence position: `set_by_path`,
//! [`select_and_set_by_path`], `apply_and_inline`, `map_indexed`.

use std::collections::BTreeMap;

use super::args::{FromNode, IntoNode, IntoSelectPath};
use super::error::SelectError;
use super::selection::Selection;
use super::sites::{Hole, for_each_site, take};
use crate::tree::{KeyPath, Tree};

impl<M: Tree> Selection<M> {
    /// Puts `f(path)` in place of each selected node (Penzai's `set_by_path` with a
    /// function): the new value depends on where the node is, not on the node.
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// let tree = vec![10i64, 20, 30];
    /// let edited = select(tree).at_children().set_by_path(|path| path.len() as i64 * 100)?;
    /// assert_eq!(edited, [100, 100, 100]);
    /// # Ok::<(), penzai::select::SelectError>(())
    /// ```
    pub fn set_by_path<V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath) -> V,
    ) -> Result<M, SelectError> {
        self.replace_each(&mut |path, _| Ok(f(path).into_node()))
            .map(Selection::deselect)
    }

    /// Like [`apply`](Selection::apply), but keeps the selection, and the closure also sees
    /// the node's position in it (0 for the first selected node in tree order): Penzai's
    /// `apply_with_selected_index`, chained.
    pub fn map_indexed<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(usize, T) -> V,
    ) -> Result<Selection<M>, SelectError> {
        let mut index = 0;
        self.map_with_path(|_, node| {
            index += 1;
            f(index - 1, node)
        })
    }

    /// Replaces each selected element of a sequence by the elements `f` returns, in order
    /// (none removes it, several splice them in): Penzai's `apply_and_inline`. A selected
    /// node whose parent is not a sequence is a [`SelectError::Inline`].
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// let doubled = select(vec![1i64, 2, 3])
    ///     .at_children()
    ///     .where_(|_, n| n.downcast_ref::<i64>() != Some(&2))
    ///     .apply_and_inline(|x: i64| vec![x, x * 10])?;
    /// assert_eq!(doubled, [1, 10, 2, 3, 30]);
    /// # Ok::<(), penzai::select::SelectError>(())
    /// ```
    pub fn apply_and_inline<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(T) -> Vec<V>,
    ) -> Result<M, SelectError> {
        let Selection {
            mut root, paths, ..
        } = self;
        if paths.iter().any(KeyPath::is_empty) {
            return Err(SelectError::Inline {
                path: KeyPath::root(),
                parent: None,
            });
        }
        if let Some(top) = (&mut root as &mut dyn Tree).as_child_mut() {
            for_each_site(top, &paths, &mut |site| {
                let Some(position) = site.parent.sequence_position(site.key.as_ref()) else {
                    return Err(SelectError::Inline {
                        path: site.path.clone(),
                        parent: Some(site.parent.type_name()),
                    });
                };
                let (node, hole) = take(site.parent, site.parent_path, site.key.as_ref())?;
                let node = T::from_node(node).map_err(|node| SelectError::WrongType {
                    path: site.path.clone(),
                    expected: T::expected(),
                    found: node.type_name(),
                })?;
                let values = f(node);
                let added = values.len();
                // A typed sequence gave its element up already; other slots hold a stand-in.
                if let Hole::Slot = hole {
                    site.parent
                        .remove_child(position)
                        .map_err(|e| SelectError::from_edit(e.at(site.parent_path)))?;
                }
                for (i, value) in values.into_iter().enumerate() {
                    site.parent
                        .insert_child(position + i, value.into_node())
                        .map_err(|e| SelectError::from_edit(e.at(site.parent_path)))?;
                }
                // Sequences hold far fewer than isize::MAX elements.
                Ok(added as isize - 1)
            })?;
        }
        Ok(root)
    }
}

/// Puts each value at its path in `tree` (Penzai's `select_and_set_by_path`): the paths
/// are selected together (so they must exist and must not nest), then each node is
/// replaced by its value, checked by its slot.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::select::select_and_set_by_path;
///
/// let tree = vec![vec![1i64, 2], vec![3]];
/// let edited = select_and_set_by_path(tree, [("[0][1]", 20i64), ("[1][0]", 30)])?;
/// assert_eq!(edited, [vec![1, 20], vec![30]]);
/// let err = select_and_set_by_path(vec![1i64], [("[4]", 0i64)]).unwrap_err();
/// assert_eq!(err.to_string(), "no node at [4]: no child [4] under the root (Vec)");
/// # Ok::<(), penzai::select::SelectError>(())
/// ```
pub fn select_and_set_by_path<M: Tree, P: IntoSelectPath, V: IntoNode>(
    tree: M,
    values: impl IntoIterator<Item = (P, V)>,
) -> Result<M, SelectError> {
    let mut by_path: BTreeMap<KeyPath, V> = BTreeMap::new();
    for (path, value) in values {
        by_path.insert(path.into_select_path()?, value);
    }
    let paths: Vec<KeyPath> = by_path.keys().cloned().collect();
    let selection = super::select(tree).at_paths(paths)?;
    if selection.count() != by_path.len() {
        // One path is a prefix of another: the outer node would win and a value be lost.
        return Err(SelectError::ValueCount {
            op: "select_and_set_by_path (paths must not nest)",
            given: by_path.len(),
            selected: selection.count(),
        });
    }
    selection
        .replace_each(&mut |path, node| Ok(by_path.remove(path).map_or(node, IntoNode::into_node)))
        .map(Selection::deselect)
}
