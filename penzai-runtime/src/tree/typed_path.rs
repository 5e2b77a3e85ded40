//! Typed key paths: `Model::path().blocks().at(3).mlp()` checked by the compiler.

use std::marker::PhantomData;

use super::key::Key;
use super::path::KeyPath;

/// A key path whose type says what kind of node it reaches, so only real fields can be
/// appended. `#[derive(Tree)]` generates one per type (`ModelPath` for `Model`).
pub trait TypedPath: Sized {
    /// Wraps an untyped path (the caller vouches that it reaches a node of this type).
    fn from_key_path(path: KeyPath) -> Self;
    /// The untyped path.
    fn key_path(&self) -> &KeyPath;
    /// The untyped path, by value.
    fn into_key_path(self) -> KeyPath;
}

/// Types that have a typed path builder.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no typed path builder",
    label = "`{Self}` does not implement `HasTypedPath`",
    note = "`#[derive(Tree)]` implements it; for a hand-written `Tree`, implement `HasTypedPath` with `type Path = AnyPath`"
)]
pub trait HasTypedPath {
    /// The builder for paths that reach a node of this type.
    type Path: TypedPath;

    /// The typed path of the root of a tree of this type.
    fn root_path() -> Self::Path {
        Self::Path::from_key_path(KeyPath::root())
    }
}

macro_rules! path_newtype {
    ($(#[$doc:meta])* $name:ident $(<$t:ident>)?) => {
        $(#[$doc])*
        pub struct $name$(<$t: ?Sized>)? {
            path: KeyPath,
            $(_t: PhantomData<fn() -> Box<$t>>,)?
        }

        impl$(<$t: ?Sized>)? TypedPath for $name$(<$t>)? {
            fn from_key_path(path: KeyPath) -> Self {
                Self { path, $(_t: PhantomData::<fn() -> Box<$t>>,)? }
            }
            fn key_path(&self) -> &KeyPath {
                &self.path
            }
            fn into_key_path(self) -> KeyPath {
                self.path
            }
        }

        impl$(<$t: ?Sized>)? Clone for $name$(<$t>)? {
            fn clone(&self) -> Self {
                Self::from_key_path(self.path.clone())
            }
        }

        impl$(<$t: ?Sized>)? std::fmt::Debug for $name$(<$t>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.path)
            }
        }

        impl$(<$t: ?Sized>)? std::fmt::Display for $name$(<$t>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.path, f)
            }
        }

        impl$(<$t: ?Sized>)? From<$name$(<$t>)?> for KeyPath {
            fn from(p: $name$(<$t>)?) -> KeyPath {
                p.path
            }
        }
    };
}

path_newtype!(
    /// Path to a leaf (a number, string or array): nothing can be appended.
    LeafPath
);
path_newtype!(
    /// Path to a node whose type is only known at run time (an `AnyLayer` slot):
    /// any key can be appended.
    AnyPath
);
path_newtype!(
    /// Path to a sequence of `T`: append a position with [`at`](SeqPath::at).
    SeqPath<T>
);
path_newtype!(
    /// Path to a string-keyed map of `T`: append a key with [`key`](MapPath::key).
    MapPath<T>
);

impl<T: HasTypedPath + ?Sized> SeqPath<T> {
    /// The path of element `i`.
    pub fn at(self, i: usize) -> T::Path {
        T::Path::from_key_path(self.path.child(Key::Index(i)))
    }
}

impl<T: HasTypedPath + ?Sized> MapPath<T> {
    /// The path of the entry named `name`.
    pub fn key(self, name: impl Into<String>) -> T::Path {
        T::Path::from_key_path(self.path.child(Key::Name(name.into())))
    }
}

impl AnyPath {
    /// The path of a field (or named step) below this node.
    pub fn field(self, name: &'static str) -> AnyPath {
        AnyPath::from_key_path(self.path.child(Key::field(name)))
    }
    /// The path of a sequence element below this node.
    pub fn at(self, i: usize) -> AnyPath {
        AnyPath::from_key_path(self.path.child(Key::Index(i)))
    }
    /// The path of a map entry below this node.
    pub fn key(self, name: impl Into<String>) -> AnyPath {
        AnyPath::from_key_path(self.path.child(Key::Name(name.into())))
    }
    /// Reinterprets this path as reaching a node of type `T`, to continue with its typed
    /// methods (checked when the path is used, not here).
    pub fn typed<T: HasTypedPath>(self) -> T::Path {
        T::Path::from_key_path(self.path)
    }
}

impl TypedPath for KeyPath {
    fn from_key_path(path: KeyPath) -> Self {
        path
    }
    fn key_path(&self) -> &KeyPath {
        self
    }
    fn into_key_path(self) -> KeyPath {
        self
    }
}

impl<T: HasTypedPath> HasTypedPath for Vec<T> {
    type Path = SeqPath<T>;
}

impl<T: HasTypedPath> HasTypedPath for std::collections::BTreeMap<String, T> {
    type Path = MapPath<T>;
}

impl<T: HasTypedPath> HasTypedPath for Option<T> {
    type Path = T::Path;
}

/// Appends a field key to a typed path, producing the field type's path (used by derived
/// path builders).
#[doc(hidden)]
pub fn field_path<P: TypedPath>(parent: KeyPath, key: &'static str) -> P {
    P::from_key_path(parent.child(Key::field(key)))
}

impl<T: HasTypedPath> HasTypedPath for Box<T> {
    type Path = T::Path;
}
