//! `AnyTree`: a slot that holds any node, for trees of mixed types.

use std::fmt;

use super::node::Tree;
use super::typed_path::{AnyPath, HasTypedPath};

/// A slot (struct field, `Vec` element, map value) that accepts any node: Penzai's
/// "any pytree here", for trees of mixed types such as `Vec<AnyTree>` holding numbers,
/// strings and markers together.
///
/// Slots in penzai-rs are typed on purpose: a `Vec<i64>` accepts only `i64`s, and putting
/// a string there is an error naming the path, where Penzai accepts anything anywhere.
/// Declare the slot as `AnyTree` (or `Vec<AnyTree>`, `BTreeMap<String, AnyTree>`,
/// `Option<AnyTree>`) where values of any type must fit; for layers, `AnyLayer` keeps them
/// callable.
///
/// Like `AnyLayer`, it is transparent: parents show the node it holds, so paths, selectors
/// and equality see an `i64`, not an `AnyTree`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::tree::AnyTree;
///
/// let mixed = vec![AnyTree::new(1i64), AnyTree::new(2i64), AnyTree::new(3i64)];
/// // Put a marker string in place of the 2.
/// let marked = select(mixed).at_path("[1]")?.set("marker".to_owned())?;
/// assert!(marked[1].is::<String>());
/// assert_eq!(marked[0], AnyTree::new(1i64));
/// # Ok::<(), penzai::select::SelectError>(())
/// ```
#[derive(Clone)]
pub struct AnyTree(Box<dyn Tree>);

impl AnyTree {
    /// Boxes a node into the slot (an `AnyTree` given here is unwrapped, not nested).
    pub fn new(node: impl Tree) -> AnyTree {
        AnyTree::from_box(Box::new(node))
    }

    /// Wraps an already boxed node (an `AnyTree` given here is unwrapped, not nested).
    pub fn from_box(node: Box<dyn Tree>) -> AnyTree {
        match node.downcast::<AnyTree>() {
            Ok(slot) => *slot,
            Err(node) => AnyTree(node),
        }
    }

    /// The node held.
    pub fn get(&self) -> &dyn Tree {
        &*self.0
    }

    /// The node held, mutably.
    pub fn get_mut(&mut self) -> &mut dyn Tree {
        &mut *self.0
    }

    /// The boxed node.
    pub fn into_inner(self) -> Box<dyn Tree> {
        self.0
    }

    /// True when the node held is a `T`.
    pub fn is<T: Tree>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The node held as a `T`, if it is one.
    pub fn downcast_ref<T: Tree>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for AnyTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Equal when the nodes held are equal as trees ([`Tree::tree_eq`]).
impl PartialEq for AnyTree {
    fn eq(&self, other: &AnyTree) -> bool {
        self.0.tree_eq(&*other.0)
    }
}

/// Implements the part of `Tree` that a dynamic slot (`AnyTree`, the layer library's
/// `AnyLayer`) forwards to the node it holds (through the slot's `get` and `get_mut`): everything but transparency,
/// capabilities and what the slot accepts. `$slot` is the slot type itself, so that
/// comparing two slots compares the nodes they hold.
macro_rules! forward_slot_tree_methods {
    ($slot:ty) => {
        fn type_name(&self) -> &'static str {
            $crate::tree::Tree::type_name(self.get())
        }
        fn visit_children<'a>(
            &'a self,
            visit: &mut dyn FnMut($crate::tree::KeyRef<'a>, &'a dyn $crate::tree::Tree),
        ) {
            $crate::tree::Tree::visit_children(self.get(), visit)
        }
        fn visit_children_mut(
            &mut self,
            visit: &mut dyn FnMut($crate::tree::KeyRef<'_>, &mut dyn $crate::tree::Tree),
        ) {
            $crate::tree::Tree::visit_children_mut(self.get_mut(), visit)
        }
        fn child(&self, key: $crate::tree::KeyRef<'_>) -> Option<&dyn $crate::tree::Tree> {
            $crate::tree::Tree::child(self.get(), key)
        }
        fn child_mut(
            &mut self,
            key: $crate::tree::KeyRef<'_>,
        ) -> Option<&mut dyn $crate::tree::Tree> {
            $crate::tree::Tree::child_mut(self.get_mut(), key)
        }
        fn replace_child(
            &mut self,
            key: $crate::tree::KeyRef<'_>,
            value: Box<dyn $crate::tree::Tree>,
        ) -> Result<Box<dyn $crate::tree::Tree>, $crate::tree::ChildError> {
            $crate::tree::Tree::replace_child(self.get_mut(), key, value)
        }
        fn tree_eq(&self, other: &dyn $crate::tree::Tree) -> bool {
            match other.downcast_ref::<$slot>() {
                Some(o) => $crate::tree::Tree::tree_eq(self.get(), o.get()),
                None => $crate::tree::Tree::tree_eq(self.get(), other),
            }
        }
        fn sequence_len(&self) -> Option<usize> {
            $crate::tree::Tree::sequence_len(self.get())
        }
        fn sequence_position(&self, key: $crate::tree::KeyRef<'_>) -> Option<usize> {
            $crate::tree::Tree::sequence_position(self.get(), key)
        }
        fn insert_child(
            &mut self,
            index: usize,
            value: Box<dyn $crate::tree::Tree>,
        ) -> Result<(), $crate::tree::ChildError> {
            $crate::tree::Tree::insert_child(self.get_mut(), index, value)
        }
        fn remove_child(
            &mut self,
            index: usize,
        ) -> Result<Box<dyn $crate::tree::Tree>, $crate::tree::ChildError> {
            $crate::tree::Tree::remove_child(self.get_mut(), index)
        }
        fn visit_static_fields(&self, visit: &mut dyn FnMut(&'static str, &dyn ::std::fmt::Debug)) {
            $crate::tree::Tree::visit_static_fields(self.get(), visit)
        }
        fn validate(&self) -> Result<(), $crate::tree::Invalid> {
            $crate::tree::Tree::validate(self.get())
        }
        fn leaf(&self) -> Option<$crate::tree::Leaf<'_>> {
            $crate::tree::Tree::leaf(self.get())
        }
        fn array_mut(&mut self) -> Option<&mut $crate::nx::NamedArray> {
            $crate::tree::Tree::array_mut(self.get_mut())
        }
    };
}
pub(crate) use forward_slot_tree_methods;

impl Tree for AnyTree {
    forward_slot_tree_methods!(AnyTree);
    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        let inner: &dyn Tree = &*self.0;
        Some(inner.as_child())
    }
    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        let inner: &mut dyn Tree = &mut *self.0;
        Some(inner.as_child_mut())
    }
    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        Ok(AnyTree::from_box(value))
    }
    fn slot_description() -> String {
        "any node".to_owned()
    }
}

impl HasTypedPath for AnyTree {
    type Path = AnyPath;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::KeyRef;

    #[test]
    fn a_slot_accepts_any_node_and_is_transparent() {
        let slot = AnyTree::from_tree(Box::new("x".to_owned())).unwrap();
        assert_eq!(slot.type_name(), "String");
        assert!(slot.tree_eq(&"x".to_owned()));
        assert!("x".to_owned().tree_eq(&slot));
        assert!(AnyTree::new(slot.clone()).tree_eq(&slot));
        assert!(!slot.tree_eq(&AnyTree::new(1i64)));
    }

    #[test]
    fn a_vec_of_slots_takes_mixed_elements() {
        let mut v = vec![AnyTree::new(1i64)];
        v.insert_child(1, Box::new(vec![2.5f32])).unwrap();
        v.replace_child(KeyRef::Index(0), Box::new(true)).unwrap();
        assert_eq!(v[0].downcast_ref::<bool>(), Some(&true));
        assert_eq!(v[1].get().child_count(), 1);
    }
}
