//! `Sequential` and `NamedGroup`: layers run one after another, with optional step names.

use std::sync::Arc;

use crate::Result;
use crate::nn::{AnyLayer, Context, Layer};
use crate::nx::NamedArray;
use crate::tree::{ChildError, Key, KeyRef, Tree, TreeError, is_field_name};

/// One step of a sequence: a layer, and optionally a name that becomes its key.
///
/// Named steps read as fields in paths (`mlp.up`), unnamed ones as positions (`mlp[1]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The key under which the step appears, if named (shared by copies of the model).
    pub name: Option<Arc<str>>,
    /// The layer.
    pub layer: AnyLayer,
}

impl Step {
    /// An unnamed step.
    pub fn new(layer: impl Layer) -> Step {
        Step {
            name: None,
            layer: AnyLayer::new(layer),
        }
    }

    fn key(&self, index: usize) -> KeyRef<'_> {
        match &self.name {
            Some(name) => KeyRef::Field(name),
            None => KeyRef::Index(index),
        }
    }
}

/// The steps shared by [`Sequential`] and [`NamedGroup`], with their tree behaviour.
#[derive(Debug, Default, PartialEq)]
pub struct Steps(Vec<Step>);

impl Clone for Steps {
    fn clone(&self) -> Steps {
        // Copies of a model share its layers (`AnyLayer`), so a sequence is mostly copied
        // because an edit reached it, often to insert a step: leave room for one.
        let mut steps = Vec::with_capacity(self.0.len() + 1);
        steps.extend_from_slice(&self.0);
        Steps(steps)
    }
}

impl Steps {
    /// No steps.
    pub fn new() -> Steps {
        Steps(Vec::new())
    }

    /// The steps in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Step> {
        self.0.iter()
    }

    /// The steps, mutably (names are not re-validated; keep them unique field names).
    pub fn as_mut_slice(&mut self) -> &mut [Step] {
        &mut self.0
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends an unnamed step.
    pub fn push(&mut self, layer: AnyLayer) {
        self.0.push(Step { name: None, layer });
    }

    /// Appends a named step; the name must be a field-like key not used by another step.
    pub fn push_named(
        &mut self,
        name: impl Into<String>,
        layer: AnyLayer,
    ) -> Result<(), TreeError> {
        let name = name.into();
        if !is_field_name(&name) || self.position_of_name(&name).is_some() {
            return Err(TreeError::InvalidName { name });
        }
        self.0.push(Step {
            name: Some(name.into()),
            layer,
        });
        Ok(())
    }

    /// Steps from `(name, layer)` pairs, in order; every name must be a unique field-like key.
    pub fn named<'n>(
        steps: impl IntoIterator<Item = (&'n str, AnyLayer)>,
    ) -> Result<Steps, TreeError> {
        let mut out = Steps::new();
        for (name, layer) in steps {
            out.push_named(name, layer)?;
        }
        Ok(out)
    }

    /// The layer of the step named `name`.
    pub fn get_named(&self, name: &str) -> Option<&AnyLayer> {
        self.position_of_name(name).map(|i| &self.0[i].layer)
    }

    fn position_of_name(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.name.as_deref() == Some(name))
    }

    /// The position of the step at `key` (a name or an index).
    pub fn position(&self, key: KeyRef<'_>) -> Option<usize> {
        match key {
            KeyRef::Field(name) => self.position_of_name(name),
            KeyRef::Index(i) if i < self.0.len() => Some(i),
            _ => None,
        }
    }

    /// The signature of running these steps in order, when every step states one and they
    /// compose (see [`Signature::then`](crate::nn::Signature::then)).
    pub fn signature(&self) -> Option<crate::nn::Signature<'_>> {
        let mut out = crate::nn::Signature::new();
        for step in self.iter() {
            out = out.then(&step.layer.get().signature()?)?;
        }
        Some(out)
    }

    /// Runs the steps in order, each as a child of the current layer.
    pub fn run(&self, mut x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        for (i, step) in self.0.iter().enumerate() {
            let key = match &step.name {
                Some(name) => crate::tree::KeyRef::Field(name).to_owned_key(),
                None => Key::Index(i),
            };
            x = cx.call_child(key, step.layer.get(), x)?;
        }
        Ok(x)
    }

    #[doc(hidden)]
    pub fn __visit<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        for (i, step) in self.0.iter().enumerate() {
            let layer: &dyn Tree = step.layer.get();
            visit(step.key(i), layer);
        }
    }

    #[doc(hidden)]
    pub fn __visit_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        for (i, step) in self.0.iter_mut().enumerate() {
            let key = match &step.name {
                Some(name) => KeyRef::Field(name),
                None => KeyRef::Index(i),
            };
            let layer: &mut dyn Tree = step.layer.get_mut();
            visit(key, layer);
        }
    }

    #[doc(hidden)]
    pub fn __child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        let layer: &dyn Tree = self.0[self.position(key)?].layer.get();
        Some(layer)
    }

    #[doc(hidden)]
    pub fn __child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        let i = self.position(key)?;
        let layer: &mut dyn Tree = self.0[i].layer.get_mut();
        Some(layer)
    }

    #[doc(hidden)]
    pub fn __replace(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
        owner: &'static str,
    ) -> Result<Box<dyn Tree>, ChildError> {
        let Some(i) = self.position(key) else {
            return Err(ChildError::NoSuchChild {
                key: key.to_owned_key(),
                type_name: owner,
                value: Some(value),
            });
        };
        let layer = accept_layer(value)?;
        let old = std::mem::replace(&mut self.0[i].layer, layer);
        Ok(old.into_tree())
    }

    #[doc(hidden)]
    pub fn __insert(&mut self, index: usize, value: Box<dyn Tree>) -> Result<(), ChildError> {
        if index > self.0.len() {
            return Err(ChildError::OutOfRange {
                index,
                len: self.0.len(),
                value: Some(value),
            });
        }
        let layer = accept_layer(value)?;
        self.0.insert(index, Step { name: None, layer });
        Ok(())
    }

    #[doc(hidden)]
    pub fn __remove(&mut self, index: usize) -> Result<Box<dyn Tree>, ChildError> {
        if index >= self.0.len() {
            return Err(ChildError::OutOfRange {
                index,
                len: self.0.len(),
                value: None,
            });
        }
        Ok(self.0.remove(index).layer.into_tree())
    }

    #[doc(hidden)]
    pub fn __tree_eq(&self, other: &Steps) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                a.name == b.name && a.layer.get().tree_eq(b.layer.get().as_tree_node())
            })
    }
}

impl FromIterator<AnyLayer> for Steps {
    fn from_iter<I: IntoIterator<Item = AnyLayer>>(iter: I) -> Steps {
        Steps(
            iter.into_iter()
                .map(|layer| Step { name: None, layer })
                .collect(),
        )
    }
}

fn accept_layer(value: Box<dyn Tree>) -> Result<AnyLayer, ChildError> {
    AnyLayer::from_tree(value).map_err(|value| ChildError::TypeMismatch {
        expected: AnyLayer::slot_description(),
        given: value.type_name(),
        value,
    })
}

/// Implements `Tree` (as a sequence of steps), `Layer` and `HasTypedPath` for a type with
/// a `steps: Steps` field. `$name` is the type name shown; `$statics` visits static fields.
#[doc(hidden)]
#[macro_export]
macro_rules! __steps_node {
    ($ty:ty, $name:expr, |$s:ident, $visit:ident| $statics:block, |$a:ident, $b:ident| $eq:expr) => {
        $crate::__steps_node!(@tree $ty, $name, |$s, $visit| $statics, |$a, $b| $eq);

        impl $crate::nn::Layer for $ty {
            fn call(
                &self,
                x: $crate::nx::NamedArray,
                cx: &mut $crate::nn::Context,
            ) -> $crate::Result<$crate::nx::NamedArray> {
                self.steps.run(x, cx)
            }

            fn flow<'a>(
                &'a self,
                x: ::std::option::Option<$crate::nn::AxisSet<'a>>,
                check: &mut $crate::nn::FlowCheck,
            ) -> $crate::nn::FlowResult<'a> {
                check.steps(&self.steps, x)
            }
        }
    };
    // A named kind of sequence (`LayerNorm`, `Affine`): it states the signature its steps
    // compose into, so checks report it as one layer.
    (@composite $ty:ty, $name:expr) => {
        $crate::__steps_node!(@tree $ty, $name, |_s, _visit| {}, |_a, _b| true);

        impl $crate::nn::Layer for $ty {
            fn call(
                &self,
                x: $crate::nx::NamedArray,
                cx: &mut $crate::nn::Context,
            ) -> $crate::Result<$crate::nx::NamedArray> {
                self.steps.run(x, cx)
            }

            fn signature(&self) -> ::std::option::Option<$crate::nn::Signature<'_>> {
                self.steps.signature()
            }

            fn flow<'a>(
                &'a self,
                x: ::std::option::Option<$crate::nn::AxisSet<'a>>,
                check: &mut $crate::nn::FlowCheck,
            ) -> $crate::nn::FlowResult<'a> {
                match (x, self.steps.signature()) {
                    (::std::option::Option::Some(x), ::std::option::Option::Some(sig)) => check
                        .apply($name, &x, &sig)
                        .map(::std::option::Option::Some),
                    (x, _) => check.steps(&self.steps, x),
                }
            }
        }
    };
    (@tree $ty:ty, $name:expr, |$s:ident, $visit:ident| $statics:block, |$a:ident, $b:ident| $eq:expr) => {
        impl $crate::tree::Tree for $ty {
            fn type_name(&self) -> &'static str {
                $name
            }
            fn visit_children<'a>(
                &'a self,
                visit: &mut dyn FnMut($crate::tree::KeyRef<'a>, &'a dyn $crate::tree::Tree),
            ) {
                self.steps.__visit(visit)
            }
            fn visit_children_mut(
                &mut self,
                visit: &mut dyn FnMut($crate::tree::KeyRef<'_>, &mut dyn $crate::tree::Tree),
            ) {
                self.steps.__visit_mut(visit)
            }
            fn child(&self, key: $crate::tree::KeyRef<'_>) -> Option<&dyn $crate::tree::Tree> {
                self.steps.__child(key)
            }
            fn child_mut(
                &mut self,
                key: $crate::tree::KeyRef<'_>,
            ) -> Option<&mut dyn $crate::tree::Tree> {
                self.steps.__child_mut(key)
            }
            fn replace_child(
                &mut self,
                key: $crate::tree::KeyRef<'_>,
                value: Box<dyn $crate::tree::Tree>,
            ) -> ::std::result::Result<Box<dyn $crate::tree::Tree>, $crate::tree::ChildError> {
                self.steps.__replace(key, value, $name)
            }
            fn tree_eq(&self, other: &dyn $crate::tree::Tree) -> bool {
                match other.peer::<$ty>() {
                    Some($b) => {
                        let $a = self;
                        $eq && $a.steps.__tree_eq(&$b.steps)
                    }
                    None => false,
                }
            }
            fn sequence_len(&self) -> Option<usize> {
                Some(self.steps.len())
            }
            fn sequence_position(&self, key: $crate::tree::KeyRef<'_>) -> Option<usize> {
                self.steps.position(key)
            }
            fn insert_child(
                &mut self,
                index: usize,
                value: Box<dyn $crate::tree::Tree>,
            ) -> ::std::result::Result<(), $crate::tree::ChildError> {
                self.steps.__insert(index, value)
            }
            fn remove_child(
                &mut self,
                index: usize,
            ) -> ::std::result::Result<Box<dyn $crate::tree::Tree>, $crate::tree::ChildError> {
                self.steps.__remove(index)
            }
            #[allow(unused_variables)]
            fn visit_static_fields(
                &self,
                $visit: &mut dyn FnMut(&'static str, &dyn ::std::fmt::Debug),
            ) {
                let $s = self;
                $statics
            }
            fn capability(
                &self,
                key: ::std::any::TypeId,
            ) -> ::std::option::Option<$crate::tree::Capability> {
                $crate::nn::LayerCapability::answer::<$ty>(key)
            }
        }

        impl $crate::tree::HasTypedPath for $ty {
            type Path = $crate::tree::AnyPath;
        }

        // Saved and loaded with no registration call (see `penzai::io::register_layer`).
        $crate::__record_layer!($ty, $name);

        /// Prints the tree with the Treescope text renderer.
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::__private::fmt_tree_text(self, f)
            }
        }
    };
}

/// Defines a named kind of [`Sequential`]: a struct holding `steps` that runs them in order,
/// inserts and removes like a sequence, but has its own type (so selectors can find it by
/// type) — Penzai's `Sequential` subclasses such as `LayerNorm` or `TransformerBlock`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Identity, Steps};
///
/// penzai::sequential_layer! {
///     /// Two identities, for the example.
///     pub struct Twice;
/// }
///
/// let mut steps = Steps::new();
/// steps.push(AnyLayer::new(Identity));
/// steps.push(AnyLayer::new(Identity));
/// let twice = Twice { steps };
/// assert_eq!(twice.type_name(), "Twice");
/// assert_eq!(twice.sequence_len(), Some(2));
/// ```
#[macro_export]
macro_rules! sequential_layer {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis struct $name {
            /// The steps, run in order.
            pub steps: $crate::nn::Steps,
        }

        $crate::__steps_node!(@composite $name, ::core::stringify!($name));

        // Saved as `{"steps": [...]}` (see `penzai::io::save`).
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serialize_steps_struct(::core::stringify!($name), &self.steps, s)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::__private::deserialize_steps_struct(d).map(|steps| $name { steps })
            }
        }
    };
}

/// Layers run in order: the output of each is the input of the next.
///
/// Steps may be named; a named step is reached by its name (`body.up`), an unnamed one by
/// its position (`body[2]`). Selectors insert and remove steps like list elements.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Identity, Sequential};
///
/// let seq = Sequential::new().then(Identity).then_named("same", Identity)?;
/// let x = NamedArray::ones(&[("seq", 2)])?;
/// assert_eq!(seq.call(x.clone(), &mut Context::new())?, x);
/// let paths: Vec<String> = seq.all_paths().iter().map(ToString::to_string).collect();
/// assert_eq!(paths, ["", "[0]", "same"]);
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sequential {
    /// The steps.
    pub steps: Steps,
}

impl Sequential {
    /// An empty sequence (the identity).
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// A sequence of unnamed steps.
    pub fn from_layers(layers: impl IntoIterator<Item = AnyLayer>) -> Sequential {
        Sequential {
            steps: layers.into_iter().collect(),
        }
    }

    /// A sequence of named steps.
    pub fn named<'n>(steps: impl IntoIterator<Item = (&'n str, AnyLayer)>) -> Result<Sequential> {
        Ok(Sequential {
            steps: Steps::named(steps)?,
        })
    }

    /// This sequence with one more unnamed step.
    pub fn then(mut self, layer: impl Layer) -> Sequential {
        self.steps.push(AnyLayer::new(layer));
        self
    }

    /// This sequence with one more step, reached by `name`.
    pub fn then_named(mut self, name: impl Into<String>, layer: impl Layer) -> Result<Sequential> {
        self.steps.push_named(name, AnyLayer::new(layer))?;
        Ok(self)
    }
}

crate::__steps_node!(Sequential, "Sequential", |_s, _visit| {}, |_a, _b| true);

/// A [`Sequential`] with a name, shown in the viewer and usable by selectors; Penzai's
/// `NamedGroup`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NamedGroup {
    /// The group's name.
    pub name: String,
    /// The steps.
    pub steps: Steps,
}

impl NamedGroup {
    /// An empty group.
    pub fn new(name: impl Into<String>) -> NamedGroup {
        NamedGroup {
            name: name.into(),
            steps: Steps::new(),
        }
    }

    /// A group of unnamed steps.
    pub fn from_layers(
        name: impl Into<String>,
        layers: impl IntoIterator<Item = AnyLayer>,
    ) -> NamedGroup {
        NamedGroup {
            name: name.into(),
            steps: layers.into_iter().collect(),
        }
    }

    /// This group with one more unnamed step.
    pub fn then(mut self, layer: impl Layer) -> NamedGroup {
        self.steps.push(AnyLayer::new(layer));
        self
    }

    /// This group with one more named step.
    pub fn then_named(mut self, name: impl Into<String>, layer: impl Layer) -> Result<NamedGroup> {
        self.steps.push_named(name, AnyLayer::new(layer))?;
        Ok(self)
    }
}

crate::__steps_node!(
    NamedGroup,
    "NamedGroup",
    |s, visit| {
        visit("name", &s.name);
    },
    |a, b| a.name == b.name
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Identity, Softmax};
    use crate::tree::{KeyPath, TreeExt};

    fn seq() -> Sequential {
        Sequential::new()
            .then(Identity)
            .then_named("soft", Softmax::over("a"))
            .unwrap()
            .then(Identity)
    }

    #[test]
    fn named_steps_are_keyed_by_name_and_others_by_position() {
        let s = seq();
        let keys: Vec<String> = s.all_paths().iter().map(ToString::to_string).collect();
        assert_eq!(keys, ["", "[0]", "soft", "[2]"]);
        assert_eq!(
            s.get_at(&"soft".parse().unwrap()).unwrap().type_name(),
            "Softmax"
        );
        // A named step is also reachable by its position.
        assert_eq!(
            s.get_at(&"[1]".parse().unwrap()).unwrap().type_name(),
            "Softmax"
        );
    }

    #[test]
    fn names_must_be_unique_field_names() {
        let err = Sequential::new().then_named("a-b", Identity).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"a-b\" cannot be a step name: use ASCII letters, digits and '_'"
        );
        assert!(seq().then_named("soft", Identity).is_err());
    }

    #[test]
    fn insert_remove_and_replace_steps() {
        let mut s = seq();
        s.insert_at(&KeyPath::root(), 1, Box::new(Softmax::over("b")))
            .unwrap();
        let keys: Vec<String> = s.all_paths().iter().map(ToString::to_string).collect();
        assert_eq!(keys, ["", "[0]", "[1]", "soft", "[3]"]);
        let removed = s.remove_at(&"soft".parse().unwrap()).unwrap();
        assert_eq!(removed.type_name(), "Softmax");
        let err = s
            .replace_at(&"[0]".parse().unwrap(), Box::new(3.0f32))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot put a f32 at [0]: the slot expects any layer"
        );
        let group = NamedGroup::new("g").then(Identity);
        assert!(!group.tree_eq(&NamedGroup::new("h").then(Identity)));
        assert!(group.tree_eq(&group.clone()));
    }
}
