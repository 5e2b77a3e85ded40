//! `AnyLayer`: a slot that holds any layer.

use std::any::TypeId;
use std::fmt;

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{AsLayer, Context, Layer, LayerCapability, Signature};
use crate::nx::NamedArray;
use crate::tree::{AnyPath, Capability, ChildError, HasTypedPath, KeyRef, Leaf, Tree};

/// A slot (struct field or sequence element) that accepts any layer.
///
/// It is transparent in the tree: parents show the layer it holds, so paths and selectors
/// see a `Linear`, not an `AnyLayer`. Replacing into it accepts any layer type.
#[derive(Clone)]
pub struct AnyLayer(Box<dyn Layer>);

impl AnyLayer {
    /// Boxes a layer into a dynamic slot.
    pub fn new(layer: impl Layer) -> AnyLayer {
        AnyLayer(Box::new(layer))
    }

    /// Wraps an already boxed layer.
    pub fn from_box(layer: Box<dyn Layer>) -> AnyLayer {
        AnyLayer(layer)
    }

    /// The layer held.
    pub fn get(&self) -> &dyn Layer {
        &*self.0
    }

    /// The layer held, mutably.
    pub fn get_mut(&mut self) -> &mut dyn Layer {
        &mut *self.0
    }

    /// The boxed layer.
    pub fn into_inner(self) -> Box<dyn Layer> {
        self.0
    }

    /// The boxed layer as a tree node.
    pub fn into_tree(self) -> Box<dyn Tree> {
        self.0
    }

    /// The layer as a `T`, if it is one.
    pub fn downcast_ref<T: Layer>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl fmt::Debug for AnyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tree: &dyn Tree = &*self.0;
        fmt::Debug::fmt(tree, f)
    }
}

impl PartialEq for AnyLayer {
    fn eq(&self, other: &AnyLayer) -> bool {
        self.0.tree_eq(&*other.0)
    }
}

impl Tree for AnyLayer {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        self.0.visit_children(visit)
    }
    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        self.0.visit_children_mut(visit)
    }
    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        self.0.child(key)
    }
    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        self.0.child_mut(key)
    }
    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        self.0.replace_child(key, value)
    }
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        match other.downcast_ref::<AnyLayer>() {
            Some(o) => self.0.tree_eq(&*o.0),
            None => self.0.tree_eq(other),
        }
    }
    fn sequence_len(&self) -> Option<usize> {
        self.0.sequence_len()
    }
    fn sequence_position(&self, key: KeyRef<'_>) -> Option<usize> {
        self.0.sequence_position(key)
    }
    fn insert_child(&mut self, index: usize, value: Box<dyn Tree>) -> Result<(), ChildError> {
        self.0.insert_child(index, value)
    }
    fn remove_child(&mut self, index: usize) -> Result<Box<dyn Tree>, ChildError> {
        self.0.remove_child(index)
    }
    fn visit_static_fields(&self, visit: &mut dyn FnMut(&'static str, &dyn fmt::Debug)) {
        self.0.visit_static_fields(visit)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        self.0.leaf()
    }
    fn array_mut(&mut self) -> Option<&mut crate::nx::NamedArray> {
        self.0.array_mut()
    }
    // The slot itself is a layer (`AsLayer` looks through it to the layer it holds).
    fn capability(&self, key: TypeId) -> Option<Capability> {
        LayerCapability::answer::<AnyLayer>(key)
    }
    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        let inner: &dyn Tree = &*self.0;
        Some(Some(inner))
    }
    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        let inner: &mut dyn Tree = &mut *self.0;
        Some(Some(inner))
    }
    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        if value.is::<AnyLayer>() {
            return value.downcast::<AnyLayer>().map(|b| *b);
        }
        AsLayer::into_layer(value).map(AnyLayer)
    }
    fn slot_description() -> String {
        "any layer".to_owned()
    }
}

impl Layer for AnyLayer {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        self.0.call(x, cx)
    }
    fn signature(&self) -> Option<Signature<'_>> {
        self.0.signature()
    }
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        self.0.flow(x, check)
    }
}

impl HasTypedPath for AnyLayer {
    type Path = AnyPath;
}
