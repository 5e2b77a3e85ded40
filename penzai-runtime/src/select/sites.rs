//! One mutable walk to every selected node, for the edits.
//!
//! The selected paths are followed together: each node on the way is reached once for all
//! the paths through it (they are in pre-order, so the paths through one child form one
//! run), and each selected node is edited at its parent (which owns the slot), so no path
//! is resolved from the root a second time.
//! Sites are visited in tree order, so closures see the nodes in the order of
//! [`paths`](super::Selection::paths). An edit that adds or removes elements of the parent's
//! sequence says so ([`Shift`]), and later siblings are then found at their new positions.
//!
//! [`take`] moves a selected node out of its slot without copying it, which the replacing
//! edits hand to their closures.

use super::error::SelectError;
use crate::nn::{AnyLayer, Identity};
use crate::tree::{ChildError, Key, KeyPath, KeyRef, Tree, TreeError};

/// A selected node, as an edit sees it: through its parent.
pub(crate) struct Site<'a> {
    /// The node holding the selected node.
    pub parent: &'a mut dyn Tree,
    /// The parent's path in the tree as edited so far.
    pub parent_path: &'a KeyPath,
    /// The selected node's key in the parent now (earlier insertions may have moved it).
    pub key: Key,
    /// The selected path as the selection holds it (in the tree before the edit).
    pub path: &'a KeyPath,
}

/// How many elements an edit added to (positive) or removed from (negative) the parent's
/// sequence at or before the site.
pub(crate) type Shift = isize;

/// Calls `edit` at every path of `paths` (pre-ordered, non-nesting, none of them the root)
/// below `root`, in order.
pub(crate) fn for_each_site(
    root: &mut dyn Tree,
    paths: &[KeyPath],
    edit: &mut dyn FnMut(Site<'_>) -> Result<Shift, SelectError>,
) -> Result<(), SelectError> {
    let mut walk = Walk { edit };
    let mut current = KeyPath::root();
    walk.node(root, paths, &mut current)
}

struct Walk<'e> {
    edit: &'e mut dyn FnMut(Site<'_>) -> Result<Shift, SelectError>,
}

impl Walk<'_> {
    /// Edits the sites of `paths` below `node`, whose path is `current` (all of `paths`
    /// start with its original path, and are longer). Pre-order puts the paths through each
    /// child in one run, and the runs in the order of the node's children.
    fn node(
        &mut self,
        node: &mut dyn Tree,
        paths: &[KeyPath],
        current: &mut KeyPath,
    ) -> Result<(), SelectError> {
        let depth = current.len();
        let mut shift: Shift = 0;
        let mut rest = paths;
        while let Some(first) = rest.first() {
            let original = &first.keys()[depth];
            let run = rest
                .iter()
                .take_while(|p| p.keys().get(depth) == Some(original))
                .count();
            let (group, after) = rest.split_at(run);
            rest = after;
            // Where earlier edits in this sequence moved the child: positions are keys
            // (`[3]`); named elements keep their name wherever they are.
            let moved = match original {
                Key::Index(i) if shift != 0 => Some(Key::Index(i.saturating_add_signed(shift))),
                _ => None,
            };
            let key = moved.as_ref().unwrap_or(original);
            if first.len() == depth + 1 {
                // Selected nodes never nest: the rest of the run cannot be there.
                shift += (self.edit)(Site {
                    parent: &mut *node,
                    parent_path: current,
                    key: key.clone(),
                    path: first,
                })?;
                continue;
            }
            let Some(child) = node.child_mut(key.as_ref()) else {
                return Err(missing_node(node, current, key, first));
            };
            current.push(key.clone());
            self.node(child, group, current)?;
            current.pop();
        }
        Ok(())
    }
}

/// The key of the element at `position` of a sequence. Elements are keyed by position
/// (`[3]`) or by a name that does not change when they move (a named step); `hint`, the
/// element's old key, says which to try first.
pub(crate) fn key_at(sequence: &dyn Tree, position: usize, hint: &Key) -> Key {
    let guess = match hint {
        Key::Index(_) => Key::Index(position),
        named => named.clone(),
    };
    if sequence.sequence_position(guess.as_ref()) == Some(position) {
        return guess;
    }
    let mut found = None;
    sequence.visit_children(&mut |key, _| {
        if found.is_none() && sequence.sequence_position(key) == Some(position) {
            found = Some(key.to_owned_key());
        }
    });
    found.unwrap_or(guess)
}

/// A selected path that reaches no node (the selection's invariants exclude it).
fn missing_node(
    parent: &dyn Tree,
    parent_path: &KeyPath,
    key: &Key,
    path: &KeyPath,
) -> SelectError {
    SelectError::NoSuchNode {
        path: path.clone(),
        reason: TreeError::NoSuchChild {
            path: parent_path.clone(),
            key: key.clone(),
            type_name: parent.type_name(),
        },
    }
}

/// Where a node taken out of its slot goes back.
pub(crate) enum Hole {
    /// Into the same slot, which holds a stand-in meanwhile (or still the node, copied).
    Slot,
    /// Back into the parent's sequence at this position (the element was removed).
    Position(usize),
}

/// Takes the node at `key` out of `parent` for an edit that consumes it, without copying it
/// where the slot allows:
///
/// - a slot that accepts any layer (an `AnyLayer` field, a step of a `Sequential`, an element
///   of a `Vec<AnyLayer>`) holds an `Identity` meanwhile (a unit struct: no allocation);
/// - an element of a typed sequence (`Vec<Block>`) is removed, and inserted back;
/// - a field of a concrete type (`weights: Parameter`) must hold a value of that type at
///   every moment, so there the node is copied (its arrays are shared, not copied).
///
/// The node handed back is the one a parent shows: what an `AnyLayer` slot holds.
pub(crate) fn take(
    parent: &mut dyn Tree,
    parent_path: &KeyPath,
    key: KeyRef<'_>,
) -> Result<(Box<dyn Tree>, Hole), SelectError> {
    match parent.replace_child(key, Box::new(Identity)) {
        Ok(old) => match old.downcast::<AnyLayer>() {
            Ok(slot) => return Ok((slot.into_tree(), Hole::Slot)),
            // A plain node, or a wrapper (`Option<AnyLayer>`) whose content cannot be moved
            // out through `dyn Tree`: put that one back and copy what it shows.
            Err(old) if old.transparent_child().is_none() => return Ok((old, Hole::Slot)),
            Err(old) => {
                parent
                    .replace_child(key, old)
                    .map_err(|e| edit_error(e, parent_path, key))?;
            }
        },
        Err(ChildError::TypeMismatch { .. }) => {
            if let (KeyRef::Index(_), Some(position)) = (key, parent.sequence_position(key)) {
                let node = parent
                    .remove_child(position)
                    .map_err(|e| SelectError::from_edit(e.at(parent_path)))?;
                return Ok((node, Hole::Position(position)));
            }
        }
        Err(e) => return Err(edit_error(e, parent_path, key)),
    }
    match parent.child(key) {
        Some(node) => Ok((node.clone_tree(), Hole::Slot)),
        None => Err(SelectError::Tree(TreeError::NoSuchChild {
            path: parent_path.clone(),
            key: key.to_owned_key(),
            type_name: parent.type_name(),
        })),
    }
}

/// Puts `value` where [`take`] left a hole, checked by the slot's type; a refusal names
/// `path`, the selected node's path.
pub(crate) fn fill(
    parent: &mut dyn Tree,
    parent_path: &KeyPath,
    key: KeyRef<'_>,
    hole: Hole,
    value: Box<dyn Tree>,
    path: &KeyPath,
) -> Result<(), SelectError> {
    let result = match hole {
        Hole::Slot => parent.replace_child(key, value).map(drop),
        Hole::Position(position) => parent.insert_child(position, value),
    };
    result.map_err(|e| match e {
        e @ ChildError::TypeMismatch { .. } => SelectError::from_edit(e.at(path)),
        e => SelectError::from_edit(e.at(parent_path)),
    })
}

fn edit_error(e: ChildError, parent_path: &KeyPath, key: KeyRef<'_>) -> SelectError {
    match e {
        e @ ChildError::TypeMismatch { .. } => {
            SelectError::from_edit(e.at(&parent_path.clone().child(key.to_owned_key())))
        }
        e => SelectError::from_edit(e.at(parent_path)),
    }
}
