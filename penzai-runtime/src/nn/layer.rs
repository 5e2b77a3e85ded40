//! The `Layer` trait: a node that maps one named array to another, and how any tree node is
//! recognized as one ([`LayerCapability`], [`AsLayer`]).

use std::any::TypeId;
use std::sync::Arc;

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{Context, Signature};
use crate::nx::NamedArray;
use crate::tree::{Capability, Tree, TreeExt};

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
    /// A copy of this layer behind a fresh `Arc` (one allocation: what `AnyLayer` makes
    /// when an edit reaches a layer that copies of the model share).
    fn clone_shared(&self) -> Arc<dyn Layer>;
    /// The layer out of its `Arc`: moved when this is the only owner, else copied.
    fn unshare(self: Arc<Self>) -> Box<dyn Layer>;
    /// This layer as a tree trait object.
    fn as_tree_node(&self) -> &dyn Tree;
}

impl<L: Layer + Clone> LayerObject for L {
    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
    fn clone_shared(&self) -> Arc<dyn Layer> {
        Arc::new(self.clone())
    }
    fn unshare(self: Arc<Self>) -> Box<dyn Layer> {
        Box::new(Arc::try_unwrap(self).unwrap_or_else(|shared| (*shared).clone()))
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

/// A boxed node converted to a layer, or the node back when it is not one.
type LayerOrNode = std::result::Result<Box<dyn Layer>, Box<dyn Tree>>;

/// The capability that makes a tree node a layer: `tree` knows nothing of layers, so a
/// layer type answers [`Tree::capability`] with this table (`#[derive(Tree)]` writes the
/// answer for every type that implements [`Layer`]), and [`AsLayer`] uses it to view any
/// node as a `dyn Layer`.
///
/// A hand-written `Tree` impl for a layer type answers it with [`LayerCapability::answer`]:
///
/// ```
/// use std::any::TypeId;
/// use penzai::prelude::*;
/// use penzai::nn::LayerCapability;
/// use penzai::tree::{Capability, ChildError};
///
/// /// A layer with a hand-written `Tree` impl.
/// #[derive(Clone)]
/// struct Twice;
///
/// impl Tree for Twice {
///     fn type_name(&self) -> &'static str { "Twice" }
///     fn visit_children<'a>(&'a self, _: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {}
///     fn visit_children_mut(&mut self, _: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {}
///     fn child(&self, _: KeyRef<'_>) -> Option<&dyn Tree> { None }
///     fn child_mut(&mut self, _: KeyRef<'_>) -> Option<&mut dyn Tree> { None }
///     fn replace_child(&mut self, key: KeyRef<'_>, value: Box<dyn Tree>)
///         -> Result<Box<dyn Tree>, ChildError> {
///         Err(ChildError::NoSuchChild { key: key.to_owned_key(), type_name: "Twice", value: Some(value) })
///     }
///     fn tree_eq(&self, other: &dyn Tree) -> bool { other.is::<Twice>() }
///     fn capability(&self, key: TypeId) -> Option<Capability> {
///         LayerCapability::answer::<Twice>(key)
///     }
/// }
///
/// impl Layer for Twice {
///     fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
///         Ok((&x + &x)?)
///     }
/// }
///
/// let node: Box<dyn Tree> = Box::new(Twice);
/// assert!(node.as_layer().is_some());
/// let layer = node.into_layer().ok().unwrap();
/// let x = NamedArray::ones(&[("features", 2)])?;
/// assert_eq!(layer.call(x, &mut Context::new())?.to_f32_vec(), [2.0, 2.0]);
/// # Ok::<(), penzai::Error>(())
/// ```
pub struct LayerCapability {
    view: fn(&dyn Tree) -> Option<&dyn Layer>,
    view_mut: fn(&mut dyn Tree) -> Option<&mut dyn Layer>,
    unbox: fn(Box<dyn Tree>) -> LayerOrNode,
}

impl LayerCapability {
    /// The capability of the layer type `L` (one `'static` table per type).
    pub fn of<L: Layer>() -> &'static LayerCapability {
        const {
            &LayerCapability {
                view: view_as::<L>,
                view_mut: view_mut_as::<L>,
                unbox: unbox_as::<L>,
            }
        }
    }

    /// The answer of a layer type `L` to [`Tree::capability`]: this capability for its key,
    /// `None` for any other.
    pub fn answer<L: Layer>(key: TypeId) -> Option<Capability> {
        (key == TypeId::of::<LayerCapability>()).then(|| LayerCapability::of::<L>() as Capability)
    }
}

fn view_as<L: Layer>(node: &dyn Tree) -> Option<&dyn Layer> {
    node.downcast_ref::<L>().map(|l| l as &dyn Layer)
}

fn view_mut_as<L: Layer>(node: &mut dyn Tree) -> Option<&mut dyn Layer> {
    node.downcast_mut::<L>().map(|l| l as &mut dyn Layer)
}

fn unbox_as<L: Layer>(node: Box<dyn Tree>) -> LayerOrNode {
    node.downcast::<L>().map(|l| l as Box<dyn Layer>)
}

/// Any tree node viewed as a layer, when its type is one: `node.as_layer()`.
///
/// Transparent wrappers (`Option<T>`, `Box<T>`, [`AnyLayer`](crate::nn::AnyLayer)) are looked
/// through, as parents show them. In the prelude.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::Identity;
///
/// #[derive(Clone, Tree)]
/// struct Config { rate: f32 }
///
/// let layer: Box<dyn Tree> = Box::new(Identity);
/// assert!(layer.as_layer().is_some());
/// assert!(Config { rate: 0.1 }.as_layer().is_none());
/// assert!(layer.into_layer().is_ok());
/// ```
pub trait AsLayer {
    /// This node as a layer.
    fn as_layer(&self) -> Option<&dyn Layer>;
    /// This node as a mutable layer.
    fn as_layer_mut(&mut self) -> Option<&mut dyn Layer>;
    /// This boxed node as a boxed layer, or itself back when it is not one.
    fn into_layer(self: Box<Self>) -> LayerOrNode;
    /// True when this node is a layer.
    fn is_layer(&self) -> bool {
        self.as_layer().is_some()
    }
}

impl AsLayer for dyn Tree {
    fn as_layer(&self) -> Option<&dyn Layer> {
        let node = self.as_child()?;
        (node.capability_of::<LayerCapability>()?.view)(node)
    }
    fn as_layer_mut(&mut self) -> Option<&mut dyn Layer> {
        let node = self.as_child_mut()?;
        let capability = node.capability_of::<LayerCapability>()?;
        (capability.view_mut)(node)
    }
    fn into_layer(self: Box<Self>) -> LayerOrNode {
        match self.capability_of::<LayerCapability>() {
            Some(capability) => (capability.unbox)(self),
            None => Err(self),
        }
    }
}

impl<T: Tree> AsLayer for T {
    fn as_layer(&self) -> Option<&dyn Layer> {
        self.as_dyn().as_layer()
    }
    fn as_layer_mut(&mut self) -> Option<&mut dyn Layer> {
        self.as_dyn_mut().as_layer_mut()
    }
    fn into_layer(self: Box<Self>) -> LayerOrNode {
        let node: Box<dyn Tree> = self;
        node.into_layer()
    }
}
