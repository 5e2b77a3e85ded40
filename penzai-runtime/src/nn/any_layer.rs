//! `AnyLayer`: a slot that holds any layer.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{AsLayer, Context, Layer, LayerCapability, Signature};
use crate::nx::NamedArray;
use crate::tree::{AnyPath, Capability, HasTypedPath, Tree, forward_slot_tree_methods};

/// A slot (struct field or sequence element) that accepts any layer.
///
/// It is transparent in the tree: parents show the layer it holds, so paths, selectors
/// see a `Linear`, not an `AnyLayer`. Replacing into it accepts any layer type.
///
/// Copies share the layer until one of them is edited: cloning a model copies only its
/// top-level fields, and an edit copies only the layers on the way to what it changes
/// (each copied node again shares its own children). A model is still a value: no edit
/// through one copy is seen through another.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{AnyLayer, Identity, TanhSoftCap};
///
/// let slot = AnyLayer::new(TanhSoftCap { soft_cap: 30.0 });
/// let mut copy = slot.clone();
/// assert!(copy.shares_layer_with(&slot));
/// // Editing the copy gives it its own layer; the original is unchanged.
/// copy = select(copy).at_path("")?.set(Identity)?;
/// assert!(!copy.shares_layer_with(&slot));
/// assert!(slot.downcast_ref::<TanhSoftCap>().is_some());
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone)]
pub struct AnyLayer(Arc<dyn Layer>);

impl AnyLayer {
    /// Puts a layer into a dynamic slot.
    pub fn new(layer: impl Layer) -> AnyLayer {
        AnyLayer(Arc::new(layer))
    }

    /// Wraps an already boxed layer.
    pub fn from_box(layer: Box<dyn Layer>) -> AnyLayer {
        AnyLayer(Arc::from(layer))
    }

    /// The layer held.
    pub fn get(&self) -> &dyn Layer {
        &*self.0
    }

    /// The layer held, mutably: a layer shared with copies of this slot is copied first
    /// (one node: its own child slots stay shared).
    pub fn get_mut(&mut self) -> &mut dyn Layer {
        if Arc::get_mut(&mut self.0).is_none() {
            self.0 = self.0.clone_shared();
        }
        match Arc::get_mut(&mut self.0) {
            Some(layer) => layer,
            // Just replaced by a fresh `Arc` that nothing else holds.
            None => unreachable!("a fresh Arc has one owner"),
        }
    }

    /// The layer, boxed (a copy of the node when copies of the slot share it).
    pub fn into_inner(self) -> Box<dyn Layer> {
        self.0.unshare()
    }

    /// The layer, boxed as a tree node (a copy of the node when copies of the slot share it).
    pub fn into_tree(self) -> Box<dyn Tree> {
        self.into_inner()
    }

    /// The layer as a `T`, if it is one.
    pub fn downcast_ref<T: Layer>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }

    /// True when both slots hold the very same layer (a copy not yet edited apart).
    pub fn shares_layer_with(&self, other: &AnyLayer) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for AnyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tree: &dyn Tree = self.get();
        fmt::Debug::fmt(tree, f)
    }
}

impl PartialEq for AnyLayer {
    fn eq(&self, other: &AnyLayer) -> bool {
        self.get().tree_eq(other.get())
    }
}

impl Tree for AnyLayer {
    forward_slot_tree_methods!(AnyLayer);
    // The slot itself is a layer (`AsLayer` looks through it to the layer it holds).
    fn capability(&self, key: TypeId) -> Option<Capability> {
        LayerCapability::answer::<AnyLayer>(key)
    }
    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        let inner: &dyn Tree = self.get();
        Some(Some(inner))
    }
    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        let inner: &mut dyn Tree = self.get_mut();
        Some(Some(inner))
    }
    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        if value.is::<AnyLayer>() {
            return value.downcast::<AnyLayer>().map(|b| *b);
        }
        AsLayer::into_layer(value).map(AnyLayer::from_box)
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
