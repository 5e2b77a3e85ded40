//! What selection methods accept: paths in any form, and nodes for closures.

use crate::nn::{AnyLayer, AsLayer, Layer};
use crate::tree::{KeyPath, KeyPathParseError, Tree, TypedPath};

/// Anything that names a path: a [`KeyPath`], its text form (`"blocks[3].mlp"`), or a
/// typed path (`Model::path().blocks().at(3)`). Text that does not parse is an error
/// naming the byte offset.
pub trait IntoSelectPath {
    /// The path, or why the text does not parse.
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError>;
}

impl<P: TypedPath> IntoSelectPath for P {
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError> {
        Ok(self.into_key_path())
    }
}

impl IntoSelectPath for &KeyPath {
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError> {
        Ok(self.clone())
    }
}

impl IntoSelectPath for &str {
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError> {
        KeyPath::parse_str(self)
    }
}

impl IntoSelectPath for String {
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError> {
        KeyPath::parse_str(&self)
    }
}

impl IntoSelectPath for &String {
    fn into_select_path(self) -> Result<KeyPath, KeyPathParseError> {
        KeyPath::parse_str(self)
    }
}

/// How a selected node is handed to a closure: as a concrete type (`|l: Linear| ..`), as
/// any layer (`Box<dyn Layer>` or `AnyLayer`), or as any node (`Box<dyn Tree>`).
///
/// A concrete type takes what a slot of that type would accept (so `Option<Linear>` takes
/// a `Linear`); a node of another type is a [`SelectError::WrongType`](super::SelectError)
/// naming its path.
pub trait FromNode: Sized {
    /// The node as `Self`, or the node back.
    fn from_node(node: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>>;
    /// What `Self` accepts, for error messages.
    fn expected() -> String;
}

impl<T: Tree> FromNode for T {
    fn from_node(node: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        T::from_tree(node)
    }
    fn expected() -> String {
        T::slot_description()
    }
}

impl FromNode for Box<dyn Tree> {
    fn from_node(node: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        Ok(node)
    }
    fn expected() -> String {
        "any node".to_owned()
    }
}

impl FromNode for Box<dyn Layer> {
    fn from_node(node: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        node.into_layer()
    }
    fn expected() -> String {
        "any layer".to_owned()
    }
}

/// What a closure may return to put in a selected node's place: any tree value, or a
/// boxed node or layer.
pub trait IntoNode {
    /// The value as a boxed node.
    fn into_node(self) -> Box<dyn Tree>;
}

impl<T: Tree> IntoNode for T {
    fn into_node(self) -> Box<dyn Tree> {
        let boxed: Box<dyn Tree> = Box::new(self);
        // An `AnyLayer` is a slot, not a node: put what it holds, so that typed slots
        // accept it too.
        match boxed.downcast::<AnyLayer>() {
            Ok(any) => any.into_tree(),
            Err(node) => node,
        }
    }
}

impl IntoNode for Box<dyn Tree> {
    fn into_node(self) -> Box<dyn Tree> {
        self
    }
}

impl IntoNode for Box<dyn Layer> {
    fn into_node(self) -> Box<dyn Tree> {
        self
    }
}
