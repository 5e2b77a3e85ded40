//! `AnyLayer`: a slot that holds any layer.

use std::any::TypeId;
use std::fmt;

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{AsLayer, Context, Layer, LayerCapability, Signature};
use crate::nx::NamedArray;
use crate::tree::{AnyPath, Capability, HasTypedPath, Tree, forward_slot_tree_methods};

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
    forward_slot_tree_methods!(AnyLayer);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::TanhSoftCap;

    /// The slot forwards the held layer's own checks, so a bad layer inside an `AnyLayer` is
    /// found by `validate_all` at the slot's path.
    #[test]
    fn validation_reaches_the_layer_held() {
        let good = vec![AnyLayer::new(TanhSoftCap { soft_cap: 30.0 })];
        assert!(crate::tree::validate_all(&good).is_ok());
        let bad = vec![
            AnyLayer::new(TanhSoftCap { soft_cap: 30.0 }),
            AnyLayer::new(TanhSoftCap { soft_cap: -1.0 }),
        ];
        let err = crate::tree::validate_all(&bad).unwrap_err();
        assert!(err.to_string().contains("[1]"), "{err}");
        assert!(err.to_string().contains("soft_cap"), "{err}");
    }
}
