//! Traversal with paths, and access to nodes by path.

use std::ops::ControlFlow;

use super::error::{ChildError, TreeError};
use super::key::{Key, KeyRef};
use super::node::Tree;
use super::path::KeyPath;

/// The path to the node being visited, kept as a chain of stack frames so that walking a
/// tree allocates nothing; [`to_key_path`](PathFrame::to_key_path) materializes it.
#[derive(Clone, Copy)]
pub struct PathFrame<'p> {
    key: Option<KeyRef<'p>>,
    parent: Option<&'p PathFrame<'p>>,
    depth: usize,
}

impl<'p> PathFrame<'p> {
    /// The frame of the root node.
    pub const ROOT: PathFrame<'static> = PathFrame {
        key: None,
        parent: None,
        depth: 0,
    };

    /// The frame of a child of `self` reached by `key`.
    pub fn child(&'p self, key: KeyRef<'p>) -> PathFrame<'p> {
        PathFrame {
            key: Some(key),
            parent: Some(self),
            depth: self.depth + 1,
        }
    }

    /// Number of keys from the root (0 at the root).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The last key, `None` at the root.
    pub fn last(&self) -> Option<KeyRef<'p>> {
        self.key
    }

    /// The full path as an owned [`KeyPath`].
    pub fn to_key_path(&self) -> KeyPath {
        let mut keys = Vec::with_capacity(self.depth);
        let mut frame = Some(self);
        while let Some(f) = frame {
            if let Some(k) = f.key {
                keys.push(k.to_owned_key());
            }
            frame = f.parent;
        }
        keys.reverse();
        KeyPath::from_keys(keys)
    }
}

/// What a walk does after visiting a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// Visit this node's children next.
    Continue,
    /// Do not visit this node's children.
    SkipChildren,
    /// End the walk.
    Stop,
}

/// Visits `root` and its descendants in pre-order, each with its path.
pub fn walk<'a>(root: &'a dyn Tree, f: &mut dyn FnMut(&PathFrame<'_>, &'a dyn Tree) -> Walk) {
    let _ = walk_node(root, &PathFrame::ROOT, f);
}

fn walk_node<'a>(
    node: &'a dyn Tree,
    frame: &PathFrame<'_>,
    f: &mut dyn FnMut(&PathFrame<'_>, &'a dyn Tree) -> Walk,
) -> ControlFlow<()> {
    match f(frame, node) {
        Walk::Stop => return ControlFlow::Break(()),
        Walk::SkipChildren => return ControlFlow::Continue(()),
        Walk::Continue => {}
    }
    let mut flow = ControlFlow::Continue(());
    node.visit_children(&mut |key, child| {
        if flow.is_continue() {
            flow = walk_node(child, &frame.child(key), f);
        }
    });
    flow
}

/// Visits `root` and its descendants mutably, in pre-order, each with its path.
pub fn walk_mut(root: &mut dyn Tree, f: &mut dyn FnMut(&PathFrame<'_>, &mut dyn Tree) -> Walk) {
    let _ = walk_node_mut(root, &PathFrame::ROOT, f);
}

fn walk_node_mut(
    node: &mut dyn Tree,
    frame: &PathFrame<'_>,
    f: &mut dyn FnMut(&PathFrame<'_>, &mut dyn Tree) -> Walk,
) -> ControlFlow<()> {
    match f(frame, node) {
        Walk::Stop => return ControlFlow::Break(()),
        Walk::SkipChildren => return ControlFlow::Continue(()),
        Walk::Continue => {}
    }
    let mut flow = ControlFlow::Continue(());
    node.visit_children_mut(&mut |key, child| {
        if flow.is_continue() {
            flow = walk_node_mut(child, &frame.child(key), f);
        }
    });
    flow
}

/// The node at `path` below `root`.
pub fn get<'a>(root: &'a dyn Tree, path: &KeyPath) -> Result<&'a dyn Tree, TreeError> {
    let mut node = root;
    for (depth, key) in path.keys().iter().enumerate() {
        node = node
            .child(key.as_ref())
            .ok_or_else(|| TreeError::NoSuchChild {
                path: KeyPath::from_keys(path.keys()[..depth].iter().cloned()),
                key: key.clone(),
                type_name: node.type_name(),
            })?;
    }
    Ok(node)
}

/// The node at `path` below `root`, mutably.
pub fn get_mut<'a>(root: &'a mut dyn Tree, path: &KeyPath) -> Result<&'a mut dyn Tree, TreeError> {
    let mut node = root;
    for (depth, key) in path.keys().iter().enumerate() {
        let type_name = node.type_name();
        node = node
            .child_mut(key.as_ref())
            .ok_or_else(|| TreeError::NoSuchChild {
                path: KeyPath::from_keys(path.keys()[..depth].iter().cloned()),
                key: key.clone(),
                type_name,
            })?;
    }
    Ok(node)
}

fn split_last(path: &KeyPath) -> Result<(KeyPath, &Key), TreeError> {
    match path.keys().split_last() {
        Some((last, rest)) => Ok((KeyPath::from_keys(rest.iter().cloned()), last)),
        None => Err(TreeError::NoSuchChild {
            path: KeyPath::root(),
            key: Key::field("<root>"),
            type_name: "the root (it has no parent slot)",
        }),
    }
}

/// Replaces the node at `path` (not the root) with `value`, returning the old node.
///
/// The slot checks the type: a mismatch is a [`TreeError::TypeMismatch`] naming `path`.
pub fn replace(
    root: &mut dyn Tree,
    path: &KeyPath,
    value: Box<dyn Tree>,
) -> Result<Box<dyn Tree>, TreeError> {
    let (parent_path, key) = split_last(path)?;
    let parent = get_mut(root, &parent_path)?;
    parent
        .replace_child(key.as_ref(), value)
        .map_err(|e| child_error_at(e, &parent_path, path))
}

/// Inserts `value` into the sequence at `seq_path`, at position `index`.
pub fn insert(
    root: &mut dyn Tree,
    seq_path: &KeyPath,
    index: usize,
    value: Box<dyn Tree>,
) -> Result<(), TreeError> {
    let seq = get_mut(root, seq_path)?;
    seq.insert_child(index, value)
        .map_err(|e| child_error_at(e, seq_path, &seq_path.clone().index(index)))
}

/// Removes and returns the element at `path`, which must sit in a sequence.
pub fn remove(root: &mut dyn Tree, path: &KeyPath) -> Result<Box<dyn Tree>, TreeError> {
    let (parent_path, key) = split_last(path)?;
    let parent = get_mut(root, &parent_path)?;
    let Some(position) = parent.sequence_position(key.as_ref()) else {
        if parent.sequence_len().is_none() {
            return Err(TreeError::NotASequence {
                path: parent_path,
                type_name: parent.type_name(),
            });
        }
        return Err(TreeError::NoSuchChild {
            path: parent_path,
            key: key.clone(),
            type_name: parent.type_name(),
        });
    };
    parent
        .remove_child(position)
        .map_err(|e| child_error_at(e, &parent_path, path))
}

/// Maps a node's refusal to a user-facing error: type mismatches name the slot's path,
/// everything else the parent's.
fn child_error_at(e: ChildError, parent: &KeyPath, slot: &KeyPath) -> TreeError {
    match e {
        e @ ChildError::TypeMismatch { .. } => e.at(slot),
        e => e.at(parent),
    }
}

/// Runs [`Tree::validate`] on every node, naming the node's path in the first error.
pub fn validate_all(root: &dyn Tree) -> Result<(), TreeError> {
    let mut result = Ok(());
    walk(root, &mut |frame, node| match node.validate() {
        Ok(()) => Walk::Continue,
        Err(e) => {
            result = Err(e.at(frame.to_key_path(), node.type_name()));
            Walk::Stop
        }
    });
    result
}

/// Path-based access for every tree, concrete or `dyn`.
///
/// ```
/// use penzai::prelude::*;
/// #[derive(Clone, Tree)]
/// struct Block { scale: f32, bias: f32 }
/// #[derive(Clone, Tree)]
/// struct Model { blocks: Vec<Block> }
///
/// let mut m = Model { blocks: vec![Block { scale: 1.0, bias: 0.0 }; 2] };
/// let path: KeyPath = "blocks[1].scale".parse().unwrap();
/// assert_eq!(m.get_at(&path).unwrap().downcast_ref::<f32>(), Some(&1.0));
/// m.replace_at(&path, Box::new(2.0f32)).unwrap();
/// assert_eq!(m.blocks[1].scale, 2.0);
/// // A slot only takes its own type.
/// let err = m.replace_at(&path, Box::new(String::from("x"))).unwrap_err();
/// assert_eq!(err.to_string(), "cannot put a String at blocks[1].scale: the slot expects f32");
/// ```
pub trait TreeExt {
    /// This tree as a trait object.
    fn as_dyn(&self) -> &dyn Tree;
    /// This tree as a mutable trait object.
    fn as_dyn_mut(&mut self) -> &mut dyn Tree;

    /// The node at `path`.
    fn get_at(&self, path: &KeyPath) -> Result<&dyn Tree, TreeError> {
        get(self.as_dyn(), path)
    }
    /// The node at `path`, mutably.
    fn get_at_mut(&mut self, path: &KeyPath) -> Result<&mut dyn Tree, TreeError> {
        get_mut(self.as_dyn_mut(), path)
    }
    /// Replaces the node at `path`, returning the old one.
    fn replace_at(
        &mut self,
        path: &KeyPath,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, TreeError> {
        replace(self.as_dyn_mut(), path, value)
    }
    /// Inserts into the sequence at `seq_path`.
    fn insert_at(
        &mut self,
        seq_path: &KeyPath,
        index: usize,
        value: Box<dyn Tree>,
    ) -> Result<(), TreeError> {
        insert(self.as_dyn_mut(), seq_path, index, value)
    }
    /// Removes the sequence element at `path`.
    fn remove_at(&mut self, path: &KeyPath) -> Result<Box<dyn Tree>, TreeError> {
        remove(self.as_dyn_mut(), path)
    }
    /// Visits every node in pre-order with its path.
    fn walk<'a>(&'a self, f: &mut dyn FnMut(&PathFrame<'_>, &'a dyn Tree) -> Walk) {
        walk(self.as_dyn(), f)
    }
    /// Visits every node mutably in pre-order with its path.
    fn walk_mut(&mut self, f: &mut dyn FnMut(&PathFrame<'_>, &mut dyn Tree) -> Walk) {
        walk_mut(self.as_dyn_mut(), f)
    }
    /// Every node's path in pre-order (the root's is empty).
    fn all_paths(&self) -> Vec<KeyPath> {
        let mut out = Vec::new();
        walk(self.as_dyn(), &mut |frame, _| {
            out.push(frame.to_key_path());
            Walk::Continue
        });
        out
    }
}

impl<T: Tree> TreeExt for T {
    fn as_dyn(&self) -> &dyn Tree {
        self
    }
    fn as_dyn_mut(&mut self) -> &mut dyn Tree {
        self
    }
}

impl TreeExt for dyn Tree {
    fn as_dyn(&self) -> &dyn Tree {
        self
    }
    fn as_dyn_mut(&mut self) -> &mut dyn Tree {
        self
    }
}
