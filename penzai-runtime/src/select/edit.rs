//! Edits that replace each selected node: `apply` and its variants, `set`, `set_all`.

use super::args::{FromNode, IntoNode};
use super::error::SelectError;
use super::selection::Selection;
use super::sites::{fill, for_each_site, take};
use crate::nn::AnyLayer;
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
    /// # Ok::<(), penzai::Error>(())
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

    /// The core of every replacing edit: moves each selected node out of its slot (see
    /// [`take`]: copied only from a field of a concrete type), hands it to `f`, and puts the
    /// result in its place, type-checked by the slot. One walk reaches every selected node.
    pub(crate) fn replace_each(self, f: &mut NodeEdit<'_>) -> Result<Selection<M>, SelectError> {
        let Selection {
            mut root, paths, ..
        } = self;
        if let [only] = paths.as_slice()
            && only.is_empty()
        {
            let node = visible_node(Box::new(root));
            let new = f(only, node)?;
            root = M::from_tree(new).map_err(|value| SelectError::SlotType {
                path: KeyPath::root(),
                expected: M::slot_description(),
                given: value.type_name(),
            })?;
        } else if let Some(top) = (&mut root as &mut dyn Tree).as_child_mut() {
            for_each_site(top, &paths, &mut |site| {
                let (node, hole) = take(site.parent, site.parent_path, site.key.as_ref())?;
                let new = f(site.path, node)?;
                fill(
                    site.parent,
                    site.parent_path,
                    site.key.as_ref(),
                    hole,
                    new,
                    site.path,
                )?;
                Ok(0)
            })?;
        }
        Ok(Selection {
            root,
            paths,
            complement_of: None,
        })
    }
}

/// The node a parent would show for `tree`: itself, or what a transparent wrapper holds
/// (moved out of an `AnyLayer`, copied out of an `Option` or `Box`).
pub(crate) fn visible_node(tree: Box<dyn Tree>) -> Box<dyn Tree> {
    match tree.downcast::<AnyLayer>() {
        Ok(slot) => slot.into_tree(),
        Err(tree) => match tree.transparent_child() {
            Some(Some(inner)) => inner.clone_tree(),
            _ => tree,
        },
    }
}

/// What `replace_each` does to one node: its path and the node in, the new node out.
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
