//! Structural edits: inserting next to selected nodes and removing them.
//!
//! Next to an element of a sequence (a `Vec`, the steps of a `Sequential`), an insertion
//! adds a sibling. Next to a layer in a slot that accepts any layer, the layer is wrapped,
//! together with the new one, in a `Sequential`. Anything else is a
//! [`SelectError::Insert`] that says why.

use super::args::IntoNode;
use super::error::{InsertProblem, SelectError};
use super::selection::Selection;
use super::sites::{Shift, Site, fill, for_each_site, key_at, take};
use crate::nn::{AnyLayer, AsLayer, Sequential};
use crate::tree::{ChildError, Key, KeyPath, Tree};

/// Which side of the selected node a value goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

/// Which parents get a sibling rather than a wrapper.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Siblings {
    /// Every sequence (a `Vec` of branches too), as Penzai does for lists.
    InAnySequence,
    /// Only sequences that are layers, which run their elements in order (`Sequential`,
    /// `NamedGroup`, `sequential_layer!` types): elsewhere the node is wrapped, so the
    /// value always receives the node's output (or feeds its input).
    InPipelines,
}

impl<M: Tree> Selection<M> {
    /// Inserts a copy of `value` before each selected node; returns the new tree.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::select::select;
    ///
    /// let every_third = select(vec![0i64, 1, 2, 3, 4, 5]).at_children().where_(|_, n| {
    ///     n.downcast_ref::<i64>().is_some_and(|v| v % 3 == 0)
    /// });
    /// assert_eq!(every_third.insert_before(-1i64)?, [-1, 0, 1, 2, -1, 3, 4, 5]);
    /// # Ok::<(), penzai::select::SelectError>(())
    /// ```
    pub fn insert_before<V: IntoNode + Clone>(self, value: V) -> Result<M, SelectError> {
        self.insert(Side::Before, Siblings::InAnySequence, false, &mut |_, _| {
            value.clone().into_node()
        })
        .map(Selection::deselect)
    }

    /// Inserts a copy of `value` after each selected node; returns the new tree.
    ///
    /// A node that is not in a sequence but in an `AnyLayer` slot is wrapped in a
    /// `Sequential` with the value; a node in a typed slot cannot get a sibling.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::{Identity, Linear};
    /// use penzai::select::select;
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// // `attention.output` is an `AnyLayer` slot: the Linear there becomes
    /// // `Sequential[Linear, Identity]`.
    /// let edited = select(model.clone())
    ///     .at_path("blocks[0].attn.delta.attention.output")?
    ///     .insert_after(Identity)?;
    /// let out = select(edited.as_dyn()).at_path("blocks[0].attn.delta.attention.output[1]")?;
    /// assert!(out.get()?.is::<Identity>());
    ///
    /// // `EmbeddingLookup.table` is a typed slot.
    /// let err = select(model).at_path("embed.table")?.insert_after(Identity).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "cannot insert next to embed.table: it is a EmbeddingTable, not a layer, and its \
    ///      parent EmbeddingLookup is not a sequence"
    /// );
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn insert_after<V: IntoNode + Clone>(self, value: V) -> Result<M, SelectError> {
        self.insert(Side::After, Siblings::InAnySequence, false, &mut |_, _| {
            value.clone().into_node()
        })
        .map(Selection::deselect)
    }

    /// Inserts `f(path, node)` before each selected node (a fresh value per site).
    pub fn insert_before_with<V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath, &dyn Tree) -> V,
    ) -> Result<M, SelectError> {
        self.insert(Side::Before, Siblings::InAnySequence, false, &mut |p, n| {
            f(p, n).into_node()
        })
        .map(Selection::deselect)
    }

    /// Inserts `f(path, node)` after each selected node (a fresh value per site); `path`
    /// is the node's path in the tree before the edit.
    pub fn insert_after_with<V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath, &dyn Tree) -> V,
    ) -> Result<M, SelectError> {
        self.insert(Side::After, Siblings::InAnySequence, false, &mut |p, n| {
            f(p, n).into_node()
        })
        .map(Selection::deselect)
    }

    /// Like [`insert_before`](Selection::insert_before), but returns a selection of the
    /// inserted copies in the new tree.
    pub fn insert_before_and_select<V: IntoNode + Clone>(
        self,
        value: V,
    ) -> Result<Selection<M>, SelectError> {
        self.insert(Side::Before, Siblings::InAnySequence, true, &mut |_, _| {
            value.clone().into_node()
        })
    }

    /// Like [`insert_after`](Selection::insert_after), but returns a selection of the
    /// inserted copies in the new tree.
    pub fn insert_after_and_select<V: IntoNode + Clone>(
        self,
        value: V,
    ) -> Result<Selection<M>, SelectError> {
        self.insert(Side::After, Siblings::InAnySequence, true, &mut |_, _| {
            value.clone().into_node()
        })
    }

    /// Removes every selected node from its sequence; returns the new tree. A node whose
    /// parent is not a sequence cannot be removed (replace it instead).
    pub fn remove(self) -> Result<M, SelectError> {
        let Selection {
            mut root, paths, ..
        } = self;
        if paths.iter().any(KeyPath::is_empty) {
            return Err(SelectError::Remove {
                path: KeyPath::root(),
                parent: None,
            });
        }
        if let Some(top) = (&mut root as &mut dyn Tree).as_child_mut() {
            for_each_site(top, &paths, &mut |site| {
                let Some(position) = site.parent.sequence_position(site.key.as_ref()) else {
                    return Err(SelectError::Remove {
                        path: site.path.clone(),
                        parent: Some(site.parent.type_name()),
                    });
                };
                site.parent
                    .remove_child(position)
                    .map_err(|e| SelectError::from_edit(e.at(site.parent_path)))?;
                Ok(-1)
            })?;
        }
        Ok(root)
    }

    /// Inserts `f(path, node)` so that it receives the node's output: a sibling after the
    /// node when its parent is a layer that runs its elements in order (a `Sequential`),
    /// and otherwise a `Sequential[node, value]` in the node's place. Unlike
    /// [`insert_after`](Selection::insert_after), it never adds a branch to a combinator
    /// whose branches are a `Vec` (`BranchAndMultiply`), so a pass-through value (a probe,
    /// a capture) leaves the model's function unchanged.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::{Identity, Linear};
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let tapped = select(model.clone())
    ///     .at_instances_of::<Linear>()
    ///     .chain_after_with(|_, _| Identity)?;
    /// // The MLP's `up` projection is branch 1 of a BranchAndMultiply: it was wrapped.
    /// let up = select(tapped.as_dyn()).at_path("blocks[0].mlp.delta.ffn.gate_up.branches[1]")?;
    /// assert_eq!(up.get()?.type_name(), "Sequential");
    /// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
    /// assert_eq!(
    ///     tapped.call(tokens.clone(), &mut Context::new())?,
    ///     model.call(tokens, &mut Context::new())?
    /// );
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn chain_after_with<V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath, &dyn Tree) -> V,
    ) -> Result<M, SelectError> {
        self.insert(Side::After, Siblings::InPipelines, false, &mut |p, n| {
            f(p, n).into_node()
        })
        .map(Selection::deselect)
    }

    /// Chains a copy of `value` after each selected node; see
    /// [`chain_after_with`](Selection::chain_after_with).
    pub fn chain_after<V: IntoNode + Clone>(self, value: V) -> Result<M, SelectError> {
        self.chain_after_with(|_, _| value.clone())
    }

    /// Chains a copy of `value` before each selected node; see
    /// [`chain_before_with`](Selection::chain_before_with).
    pub fn chain_before<V: IntoNode + Clone>(self, value: V) -> Result<M, SelectError> {
        self.chain_before_with(|_, _| value.clone())
    }

    /// Like [`chain_after_with`](Selection::chain_after_with), but the value feeds the
    /// node's input: a sibling before it in a pipeline, else `Sequential[value, node]`.
    pub fn chain_before_with<V: IntoNode>(
        self,
        mut f: impl FnMut(&KeyPath, &dyn Tree) -> V,
    ) -> Result<M, SelectError> {
        self.insert(Side::Before, Siblings::InPipelines, false, &mut |p, n| {
            f(p, n).into_node()
        })
        .map(Selection::deselect)
    }

    /// Inserts next to each selected node; the selection returned holds the inserted
    /// values' paths when `want_paths` (callers that only keep the tree skip building them).
    fn insert(
        self,
        side: Side,
        siblings: Siblings,
        want_paths: bool,
        make: &mut dyn FnMut(&KeyPath, &dyn Tree) -> Box<dyn Tree>,
    ) -> Result<Selection<M>, SelectError> {
        let Selection {
            mut root, paths, ..
        } = self;
        let mut inserted: Vec<KeyPath> =
            Vec::with_capacity(if want_paths { paths.len() } else { 0 });
        if let [only] = paths.as_slice()
            && only.is_empty()
        {
            let as_node: &dyn Tree = &root;
            let value = make(only, as_node.as_child().unwrap_or(as_node));
            inserted.push(wrap_root(&mut root, value, side)?);
        } else if let Some(top) = (&mut root as &mut dyn Tree).as_child_mut() {
            // Sites come in tree order, so values are made in that order, and each inserted
            // path is final when recorded: later insertions only move later siblings.
            for_each_site(top, &paths, &mut |site| {
                let parent: &dyn Tree = site.parent;
                let Some(node) = parent.child(site.key.as_ref()) else {
                    return Err(SelectError::Tree(crate::tree::TreeError::NoSuchChild {
                        path: site.parent_path.clone(),
                        key: site.key.clone(),
                        type_name: parent.type_name(),
                    }));
                };
                let value = make(site.path, node);
                let (path, shift) = insert_one(site, value, side, siblings, want_paths)?;
                inserted.extend(path);
                Ok(shift)
            })?;
        }
        Ok(Selection {
            root,
            paths: inserted,
            complement_of: None,
        })
    }
}

/// Inserts `value` next to the selected node of `site`; returns the value's path (when
/// `want_path`) and how many elements the parent's sequence gained.
fn insert_one(
    site: Site<'_>,
    value: Box<dyn Tree>,
    side: Side,
    siblings: Siblings,
    want_path: bool,
) -> Result<(Option<KeyPath>, Shift), SelectError> {
    let Site {
        parent,
        parent_path,
        key,
        path,
    } = site;
    let position = match siblings {
        Siblings::InPipelines if parent.as_layer().is_none() => None,
        _ => parent.sequence_position(key.as_ref()),
    };
    let Some(position) = position else {
        wrap_in_slot(parent, parent_path, path, &key, value, side)?;
        let new_path = want_path.then(|| {
            // The wrapper's path in the tree as edited so far (`path` is the one before).
            parent_path
                .clone()
                .child(key.clone())
                .index(inserted_index(side))
        });
        return Ok((new_path, 0));
    };
    let at = match side {
        Side::Before => position,
        Side::After => position + 1,
    };
    parent.insert_child(at, value).map_err(|e| {
        let e = match e {
            e @ ChildError::TypeMismatch { .. } => e.at(&parent_path.clone().index(at)),
            e => e.at(parent_path),
        };
        SelectError::from_edit(e)
    })?;
    let new_path = want_path.then(|| {
        let new_key = key_at(parent, at, &Key::Index(at));
        parent_path.clone().child(new_key)
    });
    Ok((new_path, 1))
}

/// Wraps the node at `path` (a child of `parent`, not in a sequence) in a `Sequential`
/// with `value`, if the slot accepts a `Sequential`.
fn wrap_in_slot(
    parent: &mut dyn Tree,
    parent_path: &KeyPath,
    path: &KeyPath,
    key: &Key,
    value: Box<dyn Tree>,
    side: Side,
) -> Result<(), SelectError> {
    let parent_type = parent.type_name();
    let (node, hole) = take(parent, parent_path, key.as_ref())?;
    let wrapped =
        wrap(node, value, side, Some(parent_type)).map_err(|problem| SelectError::Insert {
            path: path.clone(),
            problem,
        })?;
    match fill(
        parent,
        parent_path,
        key.as_ref(),
        hole,
        Box::new(wrapped),
        path,
    ) {
        Ok(()) => Ok(()),
        Err(SelectError::SlotType { expected, .. }) => Err(SelectError::Insert {
            path: path.clone(),
            problem: InsertProblem::TypedSlot {
                parent: parent_type,
                expected,
            },
        }),
        Err(e) => Err(e),
    }
}

/// Wraps the root in a `Sequential` with `value`, if the root's type can be one.
fn wrap_root<M: Tree>(
    root: &mut M,
    value: Box<dyn Tree>,
    side: Side,
) -> Result<KeyPath, SelectError> {
    let as_node: &dyn Tree = root;
    let node = as_node.as_child().unwrap_or(as_node).clone_tree();
    let problem = |problem| SelectError::Insert {
        path: KeyPath::root(),
        problem,
    };
    let wrapped = wrap(node, value, side, None).map_err(problem)?;
    *root = M::from_tree(Box::new(wrapped)).map_err(|_| {
        problem(InsertProblem::Root {
            expected: M::slot_description(),
        })
    })?;
    Ok(KeyPath::root().index(inserted_index(side)))
}

fn inserted_index(side: Side) -> usize {
    match side {
        Side::Before => 0,
        Side::After => 1,
    }
}

/// `Sequential[value, node]` or `Sequential[node, value]`; both must be layers.
fn wrap(
    node: Box<dyn Tree>,
    value: Box<dyn Tree>,
    side: Side,
    parent: Option<&'static str>,
) -> Result<Sequential, InsertProblem> {
    let node_type = node.type_name();
    let node = node.into_layer().map_err(|_| InsertProblem::NotALayer {
        node: node_type,
        parent,
    })?;
    let value_type = value.type_name();
    let value = value
        .into_layer()
        .map_err(|_| InsertProblem::ValueNotALayer { value: value_type })?;
    let (first, second) = match side {
        Side::Before => (value, node),
        Side::After => (node, value),
    };
    Ok(Sequential::from_layers([
        AnyLayer::from_box(first),
        AnyLayer::from_box(second),
    ]))
}
