//! The `Layer` trait: a node that maps one named array to another.

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{Context, Signature};
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
    /// it states them. `#[layer(...)]` on an `impl Layer` block writes this method.
    ///
    /// A stated signature is a promise checked at every run: when the layer's output
    /// disagrees with it, [`Context`] returns an error naming the layer, the signature and
    /// the axes it produced. Flow checks ([`check_flow`](crate::nn::check_flow),
    /// [`Sequential::checked`](crate::nn::Sequential::checked)) follow it; `None`, the
    /// default, means "unknown": a check stops following the axes at this layer (unless
    /// [`flow`](Layer::flow) says more).
    fn signature(&self) -> Option<Signature<'_>> {
        None
    }

    /// How the named axes `x` (`None`: unknown) flow through this layer, for flow checks:
    /// the axes after it, or the mistake. The default follows [`signature`](Layer::signature);
    /// a combinator follows its children through `check` (see [`FlowCheck`]).
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        match (x, self.signature()) {
            (Some(x), Some(sig)) => check.apply(self.type_name(), &x, &sig).map(Some),
            _ => Ok(None),
        }
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
