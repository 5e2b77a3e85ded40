//! serde for the dynamic parts of a model: `AnyLayer` slots (tagged with the registered type
//! name), the root, `Steps`, and the refusal of closures.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, MapAccess};
use serde::ser::{Error as _, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::context::{
    DepthGuard, enclosing_layer, fail_load, fail_save, structure_file, with_save,
};
use super::error::SaveError;
use super::plan::address;
use super::registry;
use super::tag_de::{RestOfMap, TagTarget, TaggedVisitor};
use super::tag_ser::serialize_tagged;
use crate::nn::{AnyLayer, Layer, NamedFn, Steps};
use crate::tree::{KeyPath, Tree};

impl Serialize for AnyLayer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_layer(self.get(), s)
    }
}

impl<'de> Deserialize<'de> for AnyLayer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AnyLayer, D::Error> {
        let _level = enter_load_level::<D::Error>()?;
        d.deserialize_map(TaggedVisitor(AnyTarget))
    }
}

/// Serializes a layer held in a dynamic slot as `{"type": <registered name>, ...}`.
fn serialize_layer<S: Serializer>(layer: &dyn Layer, s: S) -> Result<S::Ok, S::Error> {
    // A slot holding a slot: the inner one is what a reader sees.
    if let Some(inner) = layer.as_any().downcast_ref::<AnyLayer>() {
        return serialize_layer(inner.get(), s);
    }
    let type_id = Any::type_id(layer.as_any());
    let path = with_save(|st| st.layers.get(&(address(layer), type_id)).cloned())
        .flatten()
        .unwrap_or_else(|| enclosing_layer().0);
    let type_name = layer.type_name();
    let _level = enter_save_level::<S::Error>(&path, type_name)?;
    let entry = match registry::by_type(type_id) {
        Ok(entry) => entry,
        Err(error) => {
            let error = error.unwrap_or(SaveError::UnregisteredType { path, type_name });
            return Err(S::Error::custom(fail_save(error)));
        }
    };
    let Some(view) = (entry.view)(layer) else {
        return Err(S::Error::custom(
            "the layer registry's entry has another type",
        ));
    };
    let _scope = Enclosing::push(path, type_name);
    serialize_tagged(&entry.name, view, s)
}

/// Marks the layer being serialized, for errors raised inside it.
struct Enclosing(());

impl Enclosing {
    fn push(path: KeyPath, type_name: &'static str) -> Enclosing {
        with_save(|st| st.enclosing.push((path, type_name)));
        Enclosing(())
    }
}

impl Drop for Enclosing {
    fn drop(&mut self) {
        with_save(|st| st.enclosing.pop());
    }
}

fn enter_save_level<E: serde::ser::Error>(
    path: &KeyPath,
    type_name: &'static str,
) -> Result<DepthGuard, E> {
    DepthGuard::enter().map_err(|limit| {
        E::custom(fail_save(SaveError::Unsavable {
            path: path.clone(),
            type_name,
            reason: format!("layers nest deeper than {limit} levels, which loading refuses"),
        }))
    })
}

fn enter_load_level<E: serde::de::Error>() -> Result<DepthGuard, E> {
    DepthGuard::enter().map_err(|limit| {
        E::custom(fail_load(SaveError::TooDeep {
            file: structure_file(),
            limit,
            offset: 0,
        }))
    })
}

/// Builds whatever registered layer type the tag names.
struct AnyTarget;

impl<'de> TagTarget<'de> for AnyTarget {
    type Value = AnyLayer;

    fn finish<A: MapAccess<'de>>(
        self,
        tag: String,
        rest: RestOfMap<'de, A>,
    ) -> Result<AnyLayer, A::Error> {
        let entry = match registry::by_name(&tag) {
            Ok(entry) => entry,
            Err(error) => {
                let error = error.unwrap_or_else(|| SaveError::UnknownLayerType {
                    file: structure_file(),
                    type_name: tag,
                    offset: 0,
                });
                return Err(A::Error::custom(fail_load(error)));
            }
        };
        let mut erased = <dyn erased_serde::Deserializer>::erase(rest);
        (entry.build)(&mut erased)
            .map(AnyLayer::from_box)
            .map_err(A::Error::custom)
    }
}

/// The model at the root of a save: tagged like a slot when its type is registered (so
/// [`load_any`](super::load_any) can rebuild it), as plain serde otherwise.
pub(super) struct Root<'a, T>(pub &'a T);

impl<T: Tree + Serialize> Serialize for Root<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entry = match registry::by_type(TypeId::of::<T>()) {
            Ok(entry) => entry,
            Err(None) => return self.0.serialize(s),
            Err(Some(error)) => return Err(S::Error::custom(fail_save(error))),
        };
        let type_name = self.0.type_name();
        let _level = enter_save_level::<S::Error>(&KeyPath::root(), type_name)?;
        let _scope = Enclosing::push(KeyPath::root(), type_name);
        serialize_tagged(&entry.name, self.0, s)
    }
}

/// Reads the root as a `T` (checking the tag when `T` is a registered layer type).
pub(super) struct RootSeed<T>(pub PhantomData<T>);

impl<'de, T: DeserializeOwned + 'static> DeserializeSeed<'de> for RootSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        match registry::by_type(TypeId::of::<T>()) {
            Ok(entry) => {
                let _level = enter_load_level::<D::Error>()?;
                d.deserialize_map(TaggedVisitor(Typed::<T> {
                    name: entry.name.to_string(),
                    marker: PhantomData,
                }))
            }
            Err(None) => T::deserialize(d),
            Err(Some(error)) => Err(D::Error::custom(fail_load(error))),
        }
    }
}

/// Builds a `T`, registered as `name`.
struct Typed<T> {
    name: String,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> TagTarget<'de> for Typed<T> {
    type Value = T;

    fn finish<A: MapAccess<'de>>(
        self,
        tag: String,
        rest: RestOfMap<'de, A>,
    ) -> Result<T, A::Error> {
        if tag != self.name {
            return Err(A::Error::custom(fail_load(SaveError::RootTypeMismatch {
                file: structure_file(),
                expected: self.name,
                found: tag,
                offset: 0,
            })));
        }
        T::deserialize(rest)
    }
}

/// One step as saved: `{"name": "mlp", "layer": {...}}`, the name omitted when absent.
#[derive(Serialize)]
struct StepOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    layer: &'a AnyLayer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepIn {
    #[serde(default)]
    name: Option<String>,
    layer: AnyLayer,
}

impl Serialize for Steps {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|step| StepOut {
            name: step.name.as_deref(),
            layer: &step.layer,
        }))
    }
}

impl<'de> Deserialize<'de> for Steps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Steps, D::Error> {
        let mut steps = Steps::new();
        // Names are checked as they are added (field-like and unique), as when building.
        for step in Vec::<StepIn>::deserialize(d)? {
            match step.name {
                Some(name) => steps
                    .push_named(name, step.layer)
                    .map_err(D::Error::custom)?,
                None => steps.push(step.layer),
            }
        }
        Ok(steps)
    }
}

/// `serde` for a [`sequential_layer!`](crate::sequential_layer) type: `{"steps": [...]}`.
#[doc(hidden)]
pub fn serialize_steps_struct<S: Serializer>(
    name: &'static str,
    steps: &Steps,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut out = s.serialize_struct(name, 1)?;
    out.serialize_field("steps", steps)?;
    out.end()
}

/// The steps of a [`sequential_layer!`](crate::sequential_layer) type.
#[doc(hidden)]
pub fn deserialize_steps_struct<'de, D: Deserializer<'de>>(d: D) -> Result<Steps, D::Error> {
    #[derive(Deserialize)]
    struct StepsOnly {
        steps: Steps,
    }
    Ok(StepsOnly::deserialize(d)?.steps)
}

/// A custom activation's closure has no saved form: saving one is an error naming the layer.
impl Serialize for NamedFn {
    fn serialize<S: Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        let (path, type_name) = enclosing_layer();
        Err(S::Error::custom(fail_save(SaveError::Unsavable {
            path,
            type_name,
            reason: format!(
                "its custom activation {:?} is a closure, which cannot be saved; use a built-in activation, or a registered layer type that computes it",
                self.name
            ),
        })))
    }
}
