//! The `Layer` trait: a node that maps one named array to another.

use crate::Result;
use crate::nn::{Context, Signature, Steps};
use crate::nx::NamedArray;
use crate::tree::Tree;

/// A model component: immutable data whose `call` maps one [`NamedArray`] to another.
///
/// Per-run effects (side inputs, captured values, caches, randomness) live in the
/// [`Context`], never in the layer, so a model can be cloned, edited and shared freely.
pub trait Layer: Tree + LayerObject {
    /// Runs the layer on `x`.
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray>;

    /// The axes this layer requires, removes and adds (everything else passes through), if
    /// it states them. Run-time flow checks ([`check_flow`](crate::nn::check_flow),
    /// [`Sequential::checked`](crate::nn::Sequential::checked)) use it; `None`, the
    /// default, means "unknown": a check stops following the axes at this layer.
    /// `#[layer(...)]` on an `impl Layer` block writes this method.
    fn signature(&self) -> Option<Signature> {
        None
    }

    /// The steps, when this layer runs a sequence of steps in order ([`Sequential`],
    /// [`NamedGroup`] and every [`sequential_layer!`](crate::sequential_layer) type), so
    /// that flow checks can follow them.
    ///
    /// [`Sequential`]: crate::nn::Sequential
    /// [`NamedGroup`]: crate::nn::NamedGroup
    fn as_steps(&self) -> Option<&Steps> {
        None
    }
}

/// Object helpers every `Layer + Clone` gets for free.
pub trait LayerObject {
    /// A copy of this layer as a trait object.
    fn clone_layer(&self) -> Box<dyn Layer>;
    /// This layer as a tree trait object.
    fn as_tree_node(&self) -> &dyn Tree;
}

impl<L: Layer + Clone> LayerObject for L {
    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
    fn as_tree_node(&self) -> &dyn Tree {
        self
    }
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        (**self).clone_layer()
    }
}
