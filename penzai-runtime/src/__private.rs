//! Items used by code that penzai's macros generate. Not a public API.

use std::marker::PhantomData;

pub use crate::io::save::{deserialize_steps_struct, serialize_steps_struct};
pub use crate::nn::check::{AxesCheck, AxesField, DeclaredSize};
pub use crate::nn::{Layer, LayerCapability};
pub use crate::tree::{
    Capability, ChildError, HasTypedPath, Invalid, Key, KeyPath, KeyRef, Leaf, OpaqueLeaf, Tree,
    TreeObject, TypedPath, field_path,
};
pub use crate::treescope::fmt_text as fmt_tree_text;
pub use crate::{Error, Result as PzResult};
pub use serde;
pub use std::any::TypeId;
pub use std::boxed::Box;
pub use std::fmt::Debug;
pub use std::marker::PhantomData as Marker;
pub use std::option::Option::{self, None, Some};
pub use std::result::Result::{self, Err, Ok};
pub use std::string::String;

/// Autoref probe that finds out, where the type is concrete, whether `T` is a layer: the
/// derive answers [`Tree::capability`] through it, so that `nn`'s
/// [`LayerCapability`](crate::nn::LayerCapability) is found for layer types without `tree`
/// knowing what a layer is.
pub struct LayerProbe<T>(PhantomData<T>);

impl<T> LayerProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        LayerProbe(PhantomData)
    }
}

impl<T> Default for LayerProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when `T: Layer` holds (method resolution tries it before autoref).
pub trait ProbeLayer<T> {
    /// `T`'s answer to [`Tree::capability`].
    fn probe_capability(&self, key: TypeId) -> Option<Capability>;
}

impl<T: Layer> ProbeLayer<T> for LayerProbe<T> {
    fn probe_capability(&self, key: TypeId) -> Option<Capability> {
        LayerCapability::answer::<T>(key)
    }
}

/// The fallback: `T` is not (known to be) a layer.
pub trait ProbeTree<T> {
    /// `None`: no capability.
    fn probe_capability(&self, key: TypeId) -> Option<Capability>;
}

impl<T> ProbeTree<T> for &LayerProbe<T> {
    fn probe_capability(&self, _key: TypeId) -> Option<Capability> {
        None
    }
}

pub use crate::io::save::{LayerRecord, SaveFns, save_fns};
pub use inventory;

/// Records a non-generic layer type with serde impls whose `Tree` impl is not derived
/// (`sequential_layer!` types, a hand-written `Tree`), as the derive does.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_layer {
    ($ty:ty, $name:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::LayerRecord::new(::core::module_path!(), $name, || {
                ::core::option::Option::Some($crate::__private::save_fns::<$ty>())
            })
        }
    };
}

/// Autoref probe that finds out, where the type is concrete, whether `T` is a layer with
/// serde impls: the derive's [`LayerRecord`] asks it for `T`'s save functions, so that a
/// layer type saves and loads by its derives alone.
pub struct SaveProbe<T>(PhantomData<T>);

impl<T> SaveProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        SaveProbe(PhantomData)
    }
}

impl<T> Default for SaveProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when `T` is a layer with `Serialize` and `Deserialize`.
pub trait ProbeSaved<T> {
    /// `T`'s save functions.
    fn save_fns(&self) -> Option<SaveFns>;
}

impl<T: Layer + serde::Serialize + serde::de::DeserializeOwned> ProbeSaved<T> for SaveProbe<T> {
    fn save_fns(&self) -> Option<SaveFns> {
        Some(crate::io::save::save_fns::<T>())
    }
}

/// The fallback: `T` is not a layer, or has no serde impls.
pub trait ProbeUnsaved<T> {
    /// `None`: nothing to save.
    fn save_fns(&self) -> Option<SaveFns>;
}

impl<T> ProbeUnsaved<T> for &SaveProbe<T> {
    fn save_fns(&self) -> Option<SaveFns> {
        None
    }
}

/// The type mismatch error for a slot of type `T`.
pub fn slot_mismatch<T: Tree>(value: Box<dyn Tree>) -> ChildError {
    ChildError::TypeMismatch {
        expected: T::slot_description(),
        given: value.type_name(),
        value,
    }
}

/// The error for a key that names no child of a derived node.
pub fn no_such_child(key: KeyRef<'_>, type_name: &'static str, value: Box<dyn Tree>) -> ChildError {
    ChildError::NoSuchChild {
        key: key.to_owned_key(),
        type_name,
        value: Some(value),
    }
}

/// Replaces a field of type `T` with a boxed value, checking the type.
pub fn replace_field<T: Tree>(
    slot: &mut T,
    value: Box<dyn Tree>,
) -> Result<Box<dyn Tree>, ChildError> {
    let new = T::from_tree(value).map_err(slot_mismatch::<T>)?;
    Ok(Box::new(std::mem::replace(slot, new)))
}

/// Replaces a `#[tree(leaf)]` field with a boxed value, checking the type.
pub fn replace_opaque_field<T>(
    slot: &mut T,
    value: Box<dyn Tree>,
) -> Result<Box<dyn Tree>, ChildError>
where
    T: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static,
{
    let new = OpaqueLeaf::<T>::accept(value).map_err(slot_mismatch::<OpaqueLeaf<T>>)?;
    Ok(Box::new(OpaqueLeaf(std::mem::replace(slot, new))))
}

/// A child field as the node its parent exposes (checks `T: Tree` once, at the field).
pub fn as_child<T: Tree>(field: &T) -> Option<&dyn Tree> {
    field.as_child()
}

/// Mutable form of [`as_child`].
pub fn as_child_mut<T: Tree>(field: &mut T) -> Option<&mut dyn Tree> {
    field.as_child_mut()
}

/// Equality of two child fields of the same type.
pub fn child_eq<T: Tree>(a: &T, b: &T) -> bool {
    a.tree_eq(b)
}

/// A static field for `visit_static_fields` (checks `T: Debug` at the field).
pub fn static_debug<T: std::fmt::Debug>(field: &T) -> &dyn std::fmt::Debug {
    field
}

/// Static-field equality used by derived `tree_eq`.
pub fn static_eq<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

// Used by `model!` and `#[layer]`.
pub use crate::nn::flow::{
    Axis, Blame, Flow, HasSignature, Literal, ModelStep, Place, Planned, Signature, StepArgs,
    StepInput, StepOption, UnitLayer, Value, Written, plan_step, value,
};
pub use crate::nn::{AnyLayer, Initializer, Sequential, Steps};

/// Runs the body `model!` expands to (a closure, so that `?` works in it).
pub fn build_model(build: impl FnOnce() -> crate::Result<Sequential>) -> crate::Result<Sequential> {
    build()
}

/// The block indices of `repeat n` (a function, so that a literal `0` is not an empty
/// range literal in the user's code, which clippy rejects).
pub fn block_indices(n: usize) -> std::ops::Range<usize> {
    0..n
}

/// A custom layer step of `model!`.
pub fn custom_layer<L: Layer>(layer: L) -> AnyLayer {
    AnyLayer::new(layer)
}

/// A `{ .. } as [axes]` step of `model!`.
pub fn block_layer<L: Layer>(layer: L) -> AnyLayer {
    AnyLayer::new(layer)
}

/// What `model!` leaves in place of a model after reporting compile errors.
pub fn unbuilt_model() -> crate::Result<Sequential> {
    Err(crate::nn::LayerError::Config("model! reported compile errors".into()).into())
}

fn flow_error(message: &str) -> crate::Error {
    crate::nn::LayerError::Check(message.to_owned()).into()
}

/// The flow after a custom layer's signature, when `model!` builds the model.
pub fn after_signature(
    flow: &Flow<'static>,
    sig: &Signature<'static>,
    layer: &str,
    place: Place<'static>,
) -> crate::Result<Flow<'static>> {
    let next = flow.then(sig, layer, place);
    match next.error() {
        Some(e) => Err(flow_error(e.as_str())),
        None => Ok(next),
    }
}

/// A body that must end as it started, when `model!` builds the model.
pub fn end_as_started(
    start: &Flow<'static>,
    end: &Flow<'static>,
    what: &str,
) -> crate::Result<Flow<'static>> {
    crate::nn::flow::ops::end_as_started(start.axes(), end.axes(), what)
        .map(Flow::of)
        .map_err(|e| flow_error(e.as_str()))
}

/// Branches that must agree, when `model!` builds the model.
pub fn branches_agree(ends: &[Flow<'static>], layer: &str) -> crate::Result<Flow<'static>> {
    let Some(first) = ends.first() else {
        return Err(
            crate::nn::LayerError::Config(format!("{layer} needs at least one branch")).into(),
        );
    };
    for (i, end) in ends.iter().enumerate().skip(1) {
        crate::nn::flow::ops::branches_agree(first.axes(), end.axes(), i, layer)
            .map_err(|e| flow_error(e.as_str()))?;
    }
    Ok(*first)
}

/// The model's declared output, when `model!` builds the model.
pub fn check_output(end: &Flow<'static>, declared: &[Axis<'static>]) -> crate::Result<()> {
    crate::nn::flow::ops::output(end.axes(), &crate::nn::AxisSet::of(declared))
        .map(drop)
        .map_err(|e| flow_error(e.as_str()))
}
