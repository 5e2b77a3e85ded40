//! Edits that replace each selected node: `apply` and its variants, `set`, `set_all`.

use super::args::{FromNode, IntoNode};
use super::error::SelectError;
use super::selection::Selection;
use crate::tree::{KeyPath, Tree, replace};

impl<M: Tree> Selection<M> {
    /// Replaces each selected node with `f(node)` and returns the new tree.
    ///
    /// The closure takes the node as a concrete type (`|l: Linear|`), as any layer
    /// (`Box<dyn Layer>`) or as any node (`Box<dyn Tree>`); a node of another type is a
    /// [`SelectError::WrongType`]. It may return another type where the slot accepts it
    /// (any layer in an `AnyLayer` slot or a sequence of layers); a slot that refuses is a
    /// [`SelectError::SlotType`] naming the path. Array storage is shared, not copied.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::{Identity, Linear, Parameter};
    /// use penzai::select::select;
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// // Halve the unembedding's weights.
    /// let cooler = select(model.clone())
    ///     .at_path("unembed")?
    ///     .try_apply(|_, mut l: Linear| -> penzai::Result<Linear> {
    ///         l.weights.value = (&l.weights.value * 0.5)?;
    ///         Ok(l)
    ///     })?;
    /// assert!(!cooler.tree_eq(&model));
    ///
    /// // A typed slot refuses another type.
    /// let err = select(model).at_path("unembed.weights")?.apply(|_: Parameter| Identity);
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "cannot put a Identity at unembed.weights: the slot expects Parameter"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(T) -> V,
    ) -> Result<M, SelectError> {
        self.map_with_path(|_, node| f(node))
            .map(Selection::deselect)
    }

    /// Like [`apply`](Selection::apply); the closure also sees the node's path.
    pub fn apply_with_path<T: FromNode, V: IntoNode>(
        self,
        f: impl FnMut(&KeyPath, T) -> V,
    ) -> Result<M, SelectError> {
        self.map_with_path(f).map(Selection::deselect)
    }

    /// Like [`apply`](Selection::apply); the closure also sees the node's position in the
    /// selection (0 for the first selected node in tree order).
    pub fn apply_indexed<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(usize, T) -> V,
    ) -> Result<M, SelectError> {
        let mut index = 0;
        self.map_with_path(|_, node| {
            index += 1;
            f(index - 1, node)
        })
        .map(Selection::deselect)
    }

    /// Like [`apply_with_path`](Selection::apply_with_path) with a fallible closure; its
    /// first error stops the edit and comes back as a [`SelectError::Closure`] naming the
    /// path.
    pub fn try_apply<T: FromNode, V: IntoNode, E: Into<crate::Error>>(
        self,
        f: impl FnMut(&KeyPath, T) -> Result<V, E>,
    ) -> Result<M, SelectError> {
        self.try_map(f).map(Selection::deselect)
    }

    /// Like [`apply`](Selection::apply), but keeps the same paths selected in the new tree.
    pub fn map<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(T) -> V,
    ) -> Result<Selection<M>, SelectError> {
        self.map_with_path(|_, node| f(node))
    }

    /// Like [`apply_with_path`](Selection::apply_with_path), but keeps the same paths
    /// selected in the new tree.
    pub fn map_with_path<T: FromNode, V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath, T) -> V,
    ) -> Result<Selection<M>, SelectError> {
        self.replace_each(&mut |path, node| Ok(f(path, typed(path, node)?).into_node()))
    }

    /// Like [`try_apply`](Selection::try_apply), but keeps the same paths selected.
    pub fn try_map<T: FromNode, V: IntoNode, E: Into<crate::Error>>(
        self,
        mut f: impl FnMut(&KeyPath, T) -> Result<V, E>,
    ) -> Result<Selection<M>, SelectError> {
        self.replace_each(&mut |path, node| match f(path, typed(path, node)?) {
            Ok(value) => Ok(value.into_node()),
            Err(e) => Err(SelectError::Closure {
                path: path.clone(),
                source: Box::new(e.into()),
            }),
        })
    }

    /// Puts a copy of `value` in place of every selected node.
    pub fn set<V: IntoNode + Clone>(self, value: V) -> Result<M, SelectError> {
        self.replace_each(&mut |_, _| Ok(value.clone().into_node()))
            .map(Selection::deselect)
    }

    /// Puts the `i`-th value in place of the `i`-th selected node; the number of values
    /// must equal the number of selected nodes.
    pub fn set_all<V: IntoNode>(
        self,
        values: impl IntoIterator<Item = V>,
    ) -> Result<M, SelectError> {
        let values: Vec<V> = values.into_iter().collect();
        if values.len() != self.paths.len() {
            return Err(SelectError::ValueCount {
                op: "set_all",
                given: values.len(),
                selected: self.paths.len(),
            });
        }
        let mut values = values.into_iter();
        self.replace_each(&mut |_, node| Ok(values.next().map_or(node, IntoNode::into_node)))
            .map(Selection::deselect)
    }

    /// The core of every replacing edit: hands a copy of each selected node (array storage
    /// shared) to `f` and puts the result in its slot, type-checked by the slot.
    pub(crate) fn replace_each(
        mut self,
        f: &mut NodeEdit<'_>,
    ) -> Result<Selection<M>, SelectError> {
        for path in &self.paths {
            let node = self.node(path)?.clone_tree();
            let new = f(path, node)?;
            put(&mut self.root, path, new)?;
        }
        Ok(self)
    }
}

/// What `replace_each` does to one node: its path and a copy of it in, the new node out.
pub(crate) type NodeEdit<'a> =
    dyn FnMut(&KeyPath, Box<dyn Tree>) -> Result<Box<dyn Tree>, SelectError> + 'a;

/// The node as the closure's argument type, or an error naming its path.
fn typed<T: FromNode>(path: &KeyPath, node: Box<dyn Tree>) -> Result<T, SelectError> {
    T::from_node(node).map_err(|node| SelectError::WrongType {
        path: path.clone(),
        expected: T::expected(),
        found: node.type_name(),
    })
}

/// Puts `value` at `path` (the root included), checked by the slot's type.
pub(crate) fn put<M: Tree>(
    root: &mut M,
    path: &KeyPath,
    value: Box<dyn Tree>,
) -> Result<(), SelectError> {
    if path.is_empty() {
        *root = M::from_tree(value).map_err(|value| SelectError::SlotType {
            path: KeyPath::root(),
            expected: M::slot_description(),
            given: value.type_name(),
        })?;
        return Ok(());
    }
    replace(root, path, value)
        .map(drop)
        .map_err(SelectError::from_edit)
}
