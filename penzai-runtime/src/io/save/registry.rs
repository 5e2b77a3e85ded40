//! The layer registry: which name each layer type is saved under, and how to rebuild it.
//!
//! An [`AnyLayer`](crate::nn::AnyLayer) slot can hold any layer, so its saved form names the
//! type (`{"type": "Linear", ...}`) and loading looks that name up here. One global table maps
//! `TypeId` to name and name to a pair of type-erased functions (a view of the layer as
//! `erased_serde::Serialize`, and a constructor from an `erased_serde::Deserializer`).
//!
//! Every layer type of this crate is registered up front, in [`builtin_layers`]. **A new layer
//! type in this crate** (the interpret module's adapters and captures, say) derives
//! `serde::Serialize` and `serde::Deserialize` and adds one `add::<Type>("Type")` line there.
//! **Users' layer types** call [`register_layer`] once before saving or loading.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::SaveError;
use crate::nn::Layer;

/// The layer as an erased `Serialize`, or `None` if it is not the entry's type.
type ViewFn = fn(&dyn Layer) -> Option<&dyn erased_serde::Serialize>;

/// Builds the entry's type from an erased deserializer.
type BuildFn = for<'a, 'de> fn(
    &'a mut dyn erased_serde::Deserializer<'de>,
) -> Result<Box<dyn Layer>, erased_serde::Error>;

/// One registered layer type. Cheap to clone, so callers copy it out and release the lock
/// before recursing into nested layers.
#[derive(Clone)]
pub(super) struct Entry {
    /// The saved name.
    pub name: Arc<str>,
    /// `std::any::type_name`, for error messages.
    pub rust_name: &'static str,
    pub view: ViewFn,
    pub build: BuildFn,
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<Arc<str>, Entry>,
    by_type: HashMap<TypeId, Arc<str>>,
}

impl Registry {
    fn add<T: Layer + Serialize + DeserializeOwned>(
        &mut self,
        name: &str,
    ) -> Result<(), SaveError> {
        let type_id = TypeId::of::<T>();
        if let Some(existing) = self.by_type.get(&type_id) {
            if &**existing == name {
                return Ok(());
            }
            return Err(SaveError::TypeTaken {
                type_name: std::any::type_name::<T>(),
                existing: existing.to_string(),
            });
        }
        if let Some(other) = self.by_name.get(name) {
            return Err(SaveError::NameTaken {
                name: name.to_owned(),
                existing: other.rust_name,
            });
        }
        let name: Arc<str> = name.into();
        let entry = Entry {
            name: name.clone(),
            rust_name: std::any::type_name::<T>(),
            view: view_as::<T>,
            build: build_as::<T>,
        };
        self.by_type.insert(type_id, name.clone());
        self.by_name.insert(name, entry);
        Ok(())
    }
}

fn view_as<T: Layer + Serialize>(layer: &dyn Layer) -> Option<&dyn erased_serde::Serialize> {
    let layer: &T = layer.as_any().downcast_ref::<T>()?;
    Some(layer)
}

fn build_as<T: Layer + DeserializeOwned>(
    d: &mut dyn erased_serde::Deserializer<'_>,
) -> Result<Box<dyn Layer>, erased_serde::Error> {
    Ok(Box::new(erased_serde::deserialize::<T>(d)?))
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| RwLock::new(builtin_layers()));

/// Every layer type this crate defines, under its `type_name()`.
fn builtin_layers() -> Registry {
    use crate::interpret::{Ablate, Capture, LowRankAdapter, PatchFromWorld};
    use crate::models::{TransformerBlock, TransformerFeedForward, TransformerLm};
    use crate::nn::*;

    let mut r = Registry::default();
    // Names are distinct by construction; a clash would be a bug caught by the registry tests.
    let add = |result: Result<(), SaveError>| debug_assert!(result.is_ok(), "{result:?}");
    add(r.add::<Sequential>("Sequential"));
    add(r.add::<NamedGroup>("NamedGroup"));
    add(r.add::<Identity>("Identity"));
    add(r.add::<Residual>("Residual"));
    add(r.add::<BranchAndAdd>("BranchAndAdd"));
    add(r.add::<BranchAndMultiply>("BranchAndMultiply"));
    add(r.add::<CheckAxes>("CheckAxes"));
    add(r.add::<RenameAxes>("RenameAxes"));
    add(r.add::<Linear>("Linear"));
    add(r.add::<AddBias>("AddBias"));
    add(r.add::<Affine>("Affine"));
    add(r.add::<Elementwise>("Elementwise"));
    add(r.add::<Relu>("Relu"));
    add(r.add::<Gelu>("Gelu"));
    add(r.add::<GeluTanh>("GeluTanh"));
    add(r.add::<Silu>("Silu"));
    add(r.add::<Tanh>("Tanh"));
    add(r.add::<Sigmoid>("Sigmoid"));
    add(r.add::<Exp>("Exp"));
    add(r.add::<Softmax>("Softmax"));
    add(r.add::<ConstantRescale>("ConstantRescale"));
    add(r.add::<TanhSoftCap>("TanhSoftCap"));
    add(r.add::<CastToDType>("CastToDType"));
    add(r.add::<Dropout>("Dropout"));
    add(r.add::<Standardize>("Standardize"));
    add(r.add::<RMSStandardize>("RMSStandardize"));
    add(r.add::<LayerNorm>("LayerNorm"));
    add(r.add::<RMSNorm>("RMSNorm"));
    add(r.add::<Mlp>("Mlp"));
    add(r.add::<Attention>("Attention"));
    add(r.add::<KVCachingAttention>("KVCachingAttention"));
    add(r.add::<ApplyCausalMask>("ApplyCausalMask"));
    add(r.add::<ApplyCausalSlidingWindowMask>("ApplyCausalSlidingWindowMask"));
    add(r.add::<ApplyExplicitMask>("ApplyExplicitMask"));
    add(r.add::<ApplyRoPE>("ApplyRoPE"));
    add(r.add::<ApplyRoPEToSubset>("ApplyRoPEToSubset"));
    add(r.add::<EmbeddingLookup>("EmbeddingLookup"));
    add(r.add::<EmbeddingDecode>("EmbeddingDecode"));
    add(r.add::<AddPositionalEmbedding>("AddPositionalEmbedding"));
    add(r.add::<NamedEinsum>("NamedEinsum"));
    add(r.add::<TransformerBlock>("TransformerBlock"));
    add(r.add::<TransformerFeedForward>("TransformerFeedForward"));
    add(r.add::<TransformerLm>("TransformerLm"));
    add(r.add::<LowRankAdapter>("LowRankAdapter"));
    add(r.add::<Capture>("Capture"));
    add(r.add::<Ablate>("Ablate"));
    add(r.add::<PatchFromWorld>("PatchFromWorld"));
    r
}

/// Registers a layer type under `name`, so that models holding it in a dynamic slot
/// ([`AnyLayer`](crate::nn::AnyLayer), a `Sequential` step) can be saved and loaded.
///
/// Call it once (at start-up, or before the first [`save`](super::save) or
/// [`load`](super::load)); registering the same type under the same name again does nothing.
/// Every layer type of penzai itself is already registered under its type name. A name taken by
/// another type is a [`SaveError::NameTaken`], a type already registered under another name a
/// [`SaveError::TypeTaken`].
///
/// A layer is saved as its serde form with a `"type"` key added: a struct's fields sit beside
/// `"type"` (so no field may be named `type`); any other shape is stored under `"value"`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Parameter, Sequential};
/// use serde::{Deserialize, Serialize};
///
/// /// Adds a learned offset.
/// #[derive(Clone, Debug, Tree, Serialize, Deserialize)]
/// struct Shift {
///     offset: Parameter,
/// }
///
/// impl Layer for Shift {
///     fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
///         Ok((&x + &self.offset.value)?)
///     }
/// }
///
/// penzai::io::register_layer::<Shift>("Shift")?;
///
/// let offset = Parameter::new("shift", NamedArray::ones(&[("features", 3)])?);
/// let model = Sequential::new().then(Shift { offset });
/// let dir = std::env::temp_dir().join("penzai_doc_register_layer");
/// penzai::io::save(&model, &dir)?;
/// let back: Sequential = penzai::io::load(&dir)?;
/// assert!(back.tree_eq(&model));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn register_layer<T: Layer + Serialize + DeserializeOwned>(
    name: &str,
) -> Result<(), SaveError> {
    REGISTRY
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .add::<T>(name)
}

/// The names of every registered layer type, sorted.
pub fn registered_layers() -> Vec<String> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let mut names: Vec<String> = registry.by_name.keys().map(|n| n.to_string()).collect();
    names.sort();
    names
}

/// The entry registered under `name`.
pub(super) fn by_name(name: &str) -> Option<Entry> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    registry.by_name.get(name).cloned()
}

/// The entry for the type `type_id`.
pub(super) fn by_type(type_id: TypeId) -> Option<Entry> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let name = registry.by_type.get(&type_id)?;
    registry.by_name.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Context, Identity, Linear};
    use crate::nx::NamedArray;

    /// A layer only these tests register.
    #[derive(Clone, Debug, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
    struct Twin;

    impl Layer for Twin {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> crate::Result<NamedArray> {
            Ok(x)
        }
    }

    #[test]
    fn builtins_are_registered_under_their_type_names() {
        let names = registered_layers();
        for name in [
            "Sequential",
            "Linear",
            "KVCachingAttention",
            "TransformerLm",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert_eq!(&*by_type(TypeId::of::<Linear>()).unwrap().name, "Linear");
        assert_eq!(
            by_name("Linear").unwrap().rust_name,
            std::any::type_name::<Linear>()
        );
    }

    /// Layer types defined in this crate's sources: `impl Layer for X`, `sequential_layer!`
    /// and `__steps_node!` types (doc examples and unit tests excluded; macro-generated
    /// `impl Layer for $ty` reads as an empty name).
    fn layer_types_in_sources(dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                layer_types_in_sources(&path, out);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut in_sequential_layer = false;
            // Unit tests sit at the end of a file; their layers are not the crate's.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().map(str::trim) {
                if line.starts_with("//") {
                    continue;
                }
                let name = if let Some(rest) = line.strip_prefix("impl Layer for ") {
                    Some(rest)
                } else if let Some(rest) = line.strip_prefix("crate::__steps_node!(") {
                    Some(rest)
                } else if in_sequential_layer {
                    line.strip_prefix("pub struct ")
                } else {
                    None
                };
                in_sequential_layer |= line.starts_with("crate::sequential_layer! {");
                if let Some(rest) = name {
                    in_sequential_layer = false;
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    out.push(rest[..end].to_owned());
                }
            }
        }
    }

    #[test]
    fn every_layer_type_of_this_crate_is_registered() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        layer_types_in_sources(&src, &mut found);
        assert!(found.len() > 30, "{found:?}");
        let missing: Vec<&String> = found
            .iter()
            .filter(|name| !name.is_empty() && *name != "AnyLayer" && by_name(name).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "add these to `builtin_layers` (and derive serde for them): {missing:?}"
        );
    }

    #[test]
    fn registering_again_is_idempotent_and_conflicts_are_errors() {
        register_layer::<Identity>("Identity").unwrap();
        let err = register_layer::<Identity>("Nothing").unwrap_err();
        assert_eq!(
            err.to_string(),
            "penzai_runtime::nn::combinators::Identity is already registered as \"Identity\""
        );
        let err = register_layer::<Twin>("Sequential").unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer name \"Sequential\" is already registered for penzai_runtime::nn::sequential::Sequential; choose another name"
        );
        register_layer::<Twin>("registry_tests::Twin").unwrap();
        register_layer::<Twin>("registry_tests::Twin").unwrap();
    }
}
