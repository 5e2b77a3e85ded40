//! `Tree` for plain values: numbers, booleans, strings, arrays and opaque leaves.

use std::fmt;

use ref_cast::RefCast;

use super::error::ChildError;
use super::key::KeyRef;
use super::node::{Leaf, Tree};
use super::typed_path::{HasTypedPath, LeafPath};
use crate::nx::NamedArray;

/// Implements the childless part of `Tree` for a leaf type.
macro_rules! childless_tree_methods {
    () => {
        fn visit_children<'a>(&'a self, _visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {}
        fn visit_children_mut(&mut self, _visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {}
        fn child(&self, _key: KeyRef<'_>) -> Option<&dyn Tree> {
            None
        }
        fn child_mut(&mut self, _key: KeyRef<'_>) -> Option<&mut dyn Tree> {
            None
        }
        fn replace_child(
            &mut self,
            key: KeyRef<'_>,
            value: Box<dyn Tree>,
        ) -> Result<Box<dyn Tree>, ChildError> {
            Err(ChildError::NoSuchChild {
                key: key.to_owned_key(),
                type_name: self.type_name(),
                value: Some(value),
            })
        }
    };
}
pub(crate) use childless_tree_methods;

macro_rules! number_leaf {
    ($($t:ty => $variant:ident as $conv:ty),* $(,)?) => {$(
        impl Tree for $t {
            fn type_name(&self) -> &'static str {
                stringify!($t)
            }
            childless_tree_methods!();
            fn tree_eq(&self, other: &dyn Tree) -> bool {
                other.peer::<$t>().is_some_and(|o| same_number(*self as f64, *o as f64))
            }
            fn leaf(&self) -> Option<Leaf<'_>> {
                Some(Leaf::$variant(*self as $conv))
            }
        }
        impl HasTypedPath for $t {
            type Path = LeafPath;
        }
    )*};
}

/// Numbers compare by value, except that NaN equals NaN: a tree must equal its own copy.
fn same_number(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

number_leaf!(
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64, isize => Int as i64,
    u8 => UInt as u64, u16 => UInt as u64, u32 => UInt as u64, u64 => UInt as u64, usize => UInt as u64,
    f32 => Float32 as f32, f64 => Float as f64,
);

impl Tree for bool {
    fn type_name(&self) -> &'static str {
        "bool"
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<bool>() == Some(self)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        Some(Leaf::Bool(*self))
    }
}

impl HasTypedPath for bool {
    type Path = LeafPath;
}

impl Tree for String {
    fn type_name(&self) -> &'static str {
        "String"
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<String>() == Some(self)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        Some(Leaf::Str(self))
    }
}

impl HasTypedPath for String {
    type Path = LeafPath;
}

impl Tree for () {
    fn type_name(&self) -> &'static str {
        "()"
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<()>().is_some()
    }
}

impl HasTypedPath for () {
    type Path = LeafPath;
}

impl Tree for NamedArray {
    fn type_name(&self) -> &'static str {
        "NamedArray"
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<NamedArray>() == Some(self)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        Some(Leaf::Array {
            array: self,
            label: None,
        })
    }
    fn array_mut(&mut self) -> Option<&mut NamedArray> {
        Some(self)
    }
}

impl HasTypedPath for NamedArray {
    type Path = LeafPath;
}

/// A field marked `#[tree(leaf)]`: any `Clone + Debug + PartialEq` value, shown and
/// replaceable as a whole but not traversed, and without a `Tree` impl of its own.
#[derive(Clone, PartialEq, RefCast)]
#[repr(transparent)]
pub struct OpaqueLeaf<T>(pub T);

impl<T> OpaqueLeaf<T> {
    /// Views a field as an opaque leaf without copying it.
    pub fn wrap(value: &T) -> &OpaqueLeaf<T> {
        OpaqueLeaf::ref_cast(value)
    }

    /// Mutable form of [`wrap`](OpaqueLeaf::wrap).
    pub fn wrap_mut(value: &mut T) -> &mut OpaqueLeaf<T> {
        OpaqueLeaf::ref_cast_mut(value)
    }

    /// Accepts either an `OpaqueLeaf<T>` or a bare `T` wrapped in a tree box, as a `T`.
    pub fn accept(value: Box<dyn Tree>) -> Result<T, Box<dyn Tree>>
    where
        T: Clone + fmt::Debug + PartialEq + Send + Sync + 'static,
    {
        <OpaqueLeaf<T> as Tree>::from_tree(value).map(|leaf| leaf.0)
    }
}

impl<T: Clone + fmt::Debug + PartialEq + Send + Sync + 'static> Tree for OpaqueLeaf<T> {
    fn type_name(&self) -> &'static str {
        let full = std::any::type_name::<T>();
        // The last path segment of a type name is a substring of a 'static str.
        let base = full.split('<').next().unwrap_or(full);
        let start = base.rfind("::").map_or(0, |i| i + 2);
        &full[start..]
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<OpaqueLeaf<T>>() == Some(self)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        Some(Leaf::Opaque(&self.0))
    }
    fn slot_description() -> String {
        super::node::short_type_name(std::any::type_name::<T>())
    }
}

impl<T> HasTypedPath for OpaqueLeaf<T> {
    type Path = LeafPath;
}

impl<T: fmt::Debug> fmt::Debug for OpaqueLeaf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
