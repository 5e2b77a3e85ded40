//! The `Tree` trait: what every node of a model (and every leaf) can do.

use std::any::{Any, TypeId};
use std::fmt;

use super::error::{ChildError, Invalid};
use super::key::KeyRef;
use crate::nx::NamedArray;

/// What [`Tree::capability`] hands out: a `'static` description of something the node's
/// type can do, found by the description's own type.
pub type Capability = &'static (dyn Any + Send + Sync);

/// A node of a model tree: a layer, a container, a parameter or a plain value.
///
/// Usually derived with `#[derive(Tree)]`. Children are visited with their [`KeyRef`]
/// without allocating; replacement is type-checked against the slot (a field of type
/// `Linear` only accepts a `Linear`, a dynamic slot whatever its `from_tree` accepts).
///
/// Manual implementations write the required methods and inherit the rest; the object
/// helpers (cloning, downcasting) come from the blanket [`TreeObject`] impl.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tree node",
    label = "`{Self}` does not implement `Tree`",
    note = "derive `Tree` for `{Self}`, or mark the field `#[tree(skip)]` (static configuration) or `#[tree(leaf)]` (an opaque value)"
)]
pub trait Tree: TreeObject + Send + Sync {
    /// The node's short type name, e.g. `"Linear"`.
    fn type_name(&self) -> &'static str;

    /// Calls `visit` with each direct child and its key, in order.
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree));

    /// Calls `visit` with each direct child, mutably, in order.
    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree));

    /// The child at `key`, if there is one.
    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree>;

    /// The child at `key`, mutably.
    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree>;

    /// Replaces the child at `key` with `value`, returning the old child.
    ///
    /// Fails (handing `value` back inside the error) when the slot does not accept the
    /// value's type or there is no such child.
    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError>;

    /// Deep structural equality: same types, same static fields, equal children.
    fn tree_eq(&self, other: &dyn Tree) -> bool;

    /// Number of elements when this node is a sequence that supports insertion and removal.
    fn sequence_len(&self) -> Option<usize> {
        None
    }

    /// The position in the sequence of the child at `key` (sequences only).
    fn sequence_position(&self, key: KeyRef<'_>) -> Option<usize> {
        match (key, self.sequence_len()) {
            (KeyRef::Index(i), Some(n)) if i < n => Some(i),
            _ => None,
        }
    }

    /// Inserts `value` at position `index` of this sequence.
    fn insert_child(&mut self, index: usize, value: Box<dyn Tree>) -> Result<(), ChildError> {
        let _ = index;
        Err(ChildError::NotASequence {
            type_name: self.type_name(),
            value: Some(value),
        })
    }

    /// Removes and returns the element at position `index` of this sequence.
    fn remove_child(&mut self, index: usize) -> Result<Box<dyn Tree>, ChildError> {
        let _ = index;
        Err(ChildError::NotASequence {
            type_name: self.type_name(),
            value: None,
        })
    }

    /// Calls `visit` with each static field (configuration that is not a child).
    fn visit_static_fields(&self, visit: &mut dyn FnMut(&'static str, &dyn fmt::Debug)) {
        let _ = visit;
    }

    /// Checks this node's own invariants (e.g. the named axes declared with `#[axes]`);
    /// children are checked separately by [`validate_all`](crate::tree::validate_all), which
    /// adds the node's path to the [`Invalid`] returned here.
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    /// The value of a leaf, for renderers and serializers; `None` for inner nodes.
    fn leaf(&self) -> Option<Leaf<'_>> {
        None
    }

    /// The array of an array leaf (a `NamedArray`, a parameter), mutably, for whole-tree
    /// array operations such as [`order_like`](crate::tree::order_like); `None` for other
    /// nodes. Implement it together with a [`Leaf::Array`] answer from
    /// [`leaf`](Tree::leaf).
    fn array_mut(&mut self) -> Option<&mut NamedArray> {
        None
    }

    /// A capability of this node's type, asked for by the `TypeId` of its description:
    /// how the layers above `tree` learn what a node can do without `tree` knowing them.
    ///
    /// A `Box<dyn Tree>` cannot become a trait object of another trait by the language
    /// alone; a capability is the `'static` table of functions that does it. The `nn` layer,
    /// for one, asks for its `LayerCapability` to view a node as a `dyn Layer`
    /// (`node.as_layer()`); `#[derive(Tree)]` answers for layer types. Nodes with no
    /// capability (the default) answer `None`; a key nobody knows is answered `None` too.
    fn capability(&self, key: TypeId) -> Option<Capability> {
        let _ = key;
        None
    }

    /// For transparent wrappers (`Option<T>`): `Some(inner)` stands for the wrapped node,
    /// `Some(None)` for an absent one. Plain nodes return `None`.
    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        None
    }

    /// Mutable form of [`transparent_child`](Tree::transparent_child).
    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        None
    }

    /// Builds a value for a slot of this type from a boxed node, handing it back on mismatch.
    ///
    /// The default accepts exactly `Self`; dynamic slots (`AnyLayer`) and `Option<T>`
    /// accept more.
    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>>
    where
        Self: Sized,
    {
        if value.as_any().is::<Self>() {
            match value.into_any().downcast::<Self>() {
                Ok(b) => Ok(*b),
                // `is::<Self>()` was checked just above.
                Err(_) => unreachable!("type checked before downcast"),
            }
        } else {
            Err(value)
        }
    }

    /// What a slot of this type accepts, for error messages.
    fn slot_description() -> String
    where
        Self: Sized,
    {
        short_type_name(std::any::type_name::<Self>())
    }
}

/// Object-safe helpers every `Tree + Clone` gets for free: cloning as a trait object and
/// downcasting.
pub trait TreeObject: Any {
    /// A copy of this node as a trait object (array storage, and the layers in `AnyLayer`
    /// slots until one of the copies edits them, stay shared).
    fn clone_tree(&self) -> Box<dyn Tree>;
    /// This node as `Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
    /// This node as mutable `Any`, for downcasting.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// This boxed node as `Box<dyn Any>`, for downcasting by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// The node a parent should expose for this slot: itself, or what a transparent
    /// wrapper holds (`None` for an empty `Option`).
    fn as_child(&self) -> Option<&dyn Tree>;
    /// Mutable form of [`as_child`](TreeObject::as_child).
    fn as_child_mut(&mut self) -> Option<&mut dyn Tree>;
}

impl<T: Tree + Clone> TreeObject for T {
    fn clone_tree(&self) -> Box<dyn Tree> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn as_child(&self) -> Option<&dyn Tree> {
        match self.transparent_child() {
            Some(inner) => inner,
            None => Some(self),
        }
    }
    fn as_child_mut(&mut self) -> Option<&mut dyn Tree> {
        if self.transparent_child().is_some() {
            // Re-borrow mutably only for transparent wrappers.
            return self.transparent_child_mut().flatten();
        }
        Some(self)
    }
}

/// The value carried by a leaf node.
#[derive(Clone, Copy, Debug)]
pub enum Leaf<'a> {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A single-precision number, kept as one so that it prints as written (`0.1`, not
    /// the `0.10000000149011612` of its `f64` widening).
    Float32(f32),
    /// A string.
    Str(&'a str),
    /// An array, with the parameter label when the leaf is a parameter.
    Array {
        /// The array.
        array: &'a NamedArray,
        /// The parameter label, for parameters.
        label: Option<&'a str>,
    },
    /// Any other opaque value, shown through `Debug`.
    Opaque(&'a dyn fmt::Debug),
}

impl dyn Tree {
    /// True when this node is a `T`.
    pub fn is<T: Tree>(&self) -> bool {
        self.as_any().is::<T>()
    }

    /// This node as a `T`, if it is one.
    pub fn downcast_ref<T: Tree>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }

    /// This node as a `T` once transparent wrappers (`Option`, `Box`, `AnyLayer`) are looked
    /// through: what [`tree_eq`](Tree::tree_eq) implementations compare against, so that
    /// `1.tree_eq(&Some(1))` agrees with `Some(1).tree_eq(&1)`.
    pub fn peer<T: Tree>(&self) -> Option<&T> {
        self.downcast_ref::<T>()
            .or_else(|| self.as_child()?.as_any().downcast_ref::<T>())
    }

    /// This node as a mutable `T`, if it is one.
    pub fn downcast_mut<T: Tree>(&mut self) -> Option<&mut T> {
        self.as_any_mut().downcast_mut::<T>()
    }

    /// This boxed node as a `T`, or itself back.
    pub fn downcast<T: Tree>(self: Box<Self>) -> Result<Box<T>, Box<dyn Tree>> {
        if self.is::<T>() {
            match self.into_any().downcast::<T>() {
                Ok(b) => Ok(b),
                Err(_) => unreachable!("type checked before downcast"),
            }
        } else {
            Err(self)
        }
    }

    /// The capability described by a `C`, when this node's type has one.
    pub fn capability_of<C: Any + Send + Sync>(&self) -> Option<&'static C> {
        self.capability(TypeId::of::<C>())?.downcast_ref::<C>()
    }

    /// Number of direct children.
    pub fn child_count(&self) -> usize {
        let mut n = 0;
        self.visit_children(&mut |_, _| n += 1);
        n
    }

    /// True for nodes without children (leaves and empty containers).
    pub fn is_childless(&self) -> bool {
        self.child_count() == 0
    }
}

impl fmt::Debug for dyn Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::debug::fmt_tree(self, f)
    }
}

impl PartialEq for dyn Tree {
    fn eq(&self, other: &dyn Tree) -> bool {
        self.tree_eq(other)
    }
}

impl Clone for Box<dyn Tree> {
    fn clone(&self) -> Self {
        (**self).clone_tree()
    }
}

/// Strips module paths from a `std::any::type_name`: `alloc::vec::Vec<my::Linear>` becomes
/// `Vec<Linear>`.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            continue;
        }
        out.push_str(last_segment(&full[segment_start..i]));
        out.push(c);
        segment_start = i + c.len_utf8();
    }
    out.push_str(last_segment(&full[segment_start..]));
    out
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_type_names_drop_module_paths() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<my::Linear>"),
            "Vec<Linear>"
        );
        assert_eq!(
            short_type_name("core::option::Option<alloc::string::String>"),
            "Option<String>"
        );
        assert_eq!(short_type_name("f32"), "f32");
        assert_eq!(short_type_name("(a::B, c::D)"), "(B, D)");
    }
}
