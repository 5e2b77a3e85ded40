//! The layer registry: which name each layer type is saved under, and how to rebuild it.
//!
//! An [`AnyLayer`](crate::nn::AnyLayer) slot can hold any layer, so its saved form names the
//! type (`{"type": "Linear", ...}`) and loading looks that name up here. The table maps
//! `TypeId` to name and name to a pair of type-erased functions (a view of the layer as
//! `erased_serde::Serialize`, and a constructor from an `erased_serde::Deserializer`).
//!
//! **Nothing registers by hand.** `#[derive(Tree)]` (and `sequential_layer!`) leaves a
//! [`LayerRecord`] for every non-generic type it is used on; the records of the whole program
//! (penzai's layers and the user's alike) are gathered at link time, and the first save or
//! load reads them. A record whose type is a [`Layer`] with serde's `Serialize` and
//! `Deserialize` gives an entry; any other type (a config, an array wrapper) gives none. So a
//! layer type declares everything saving needs in its derives:
//!
//! ```text
//! #[derive(Clone, Debug, Tree, Serialize, Deserialize)]
//! #[serde(crate = "penzai::serde")]
//! struct Shift { offset: Parameter }
//! ```
//!
//! Names: penzai's own layers are saved under their type name (`Linear`); every other crate's
//! under `crate_name::Type` (`my_model::Shift`), so a user's type never collides with a layer
//! penzai adds later, and moving it between modules keeps old files loadable. Two types of
//! one crate with one name are both refused (an error naming both) until one is renamed or
//! given its own name with [`register_layer`], which also covers generic layer types (one
//! record per instantiation cannot be derived).
//!
//! **Why `inventory`.** The records are gathered with the `inventory` crate rather than
//! `linkme` (both well kept, by the same author): `inventory::submit!` is a plain
//! `macro_rules!` that works through penzai's re-export (`$crate` paths), so the derive's
//! output names nothing but `penzai::__private`, while `linkme`'s `#[distributed_slice]` is a
//! proc-macro attribute that must be told the re-export's path in every expansion
//! (`#[linkme(crate = ..)]`) and adds a proc-macro crate to every user's build. The price is
//! one static constructor per record run at start-up (a few dozen pointer pushes), which the
//! first save or load reads. Measured side by side (`tools/registration_bench`: 80 serde
//! layer types registered through a `$crate` re-export, rustc 1.95, 2 cores at load ~4.7, `-j 1`,
//! median of 5): clean release build of the registering crates 8.31 s (`inventory`) vs 8.22 s
//! (`linkme`), debug 3.86 s vs 4.09 s, within noise; stripped binary 869,952 vs 853,328 bytes
//! (`linkme` 1.9% smaller, about 200 bytes per record). Neither cost decides; the re-export
//! ergonomics and `inventory`'s wasm support (`linkme` has none) do.

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

/// What `#[derive(Tree)]` records about a type, gathered from the whole program at link
/// time. Not a public API: the derive writes it.
#[doc(hidden)]
pub struct LayerRecord {
    /// `module_path!()` where the type is defined.
    module: &'static str,
    /// The type's name.
    ident: &'static str,
    /// The save functions, for a layer type with serde impls.
    save: fn() -> Option<SaveFns>,
}

impl LayerRecord {
    /// The record of the type `ident`, defined in `module`.
    pub const fn new(
        module: &'static str,
        ident: &'static str,
        save: fn() -> Option<SaveFns>,
    ) -> LayerRecord {
        LayerRecord {
            module,
            ident,
            save,
        }
    }

    /// The name the type is saved under: bare for penzai's own layers, `crate::Type` for
    /// every other crate's.
    fn saved_name(&self) -> String {
        let krate = self.module.split("::").next().unwrap_or(self.module);
        if krate == env!("CARGO_CRATE_NAME") {
            self.ident.to_owned()
        } else {
            format!("{krate}::{}", self.ident)
        }
    }
}

inventory::collect!(LayerRecord);

/// How to save and rebuild one layer type. Not a public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct SaveFns {
    type_id: TypeId,
    rust_name: &'static str,
    view: ViewFn,
    build: BuildFn,
}

/// The save functions of `T`.
#[doc(hidden)]
pub fn save_fns<T: Layer + Serialize + DeserializeOwned>() -> SaveFns {
    SaveFns {
        type_id: TypeId::of::<T>(),
        rust_name: std::any::type_name::<T>(),
        view: view_as::<T>,
        build: build_as::<T>,
    }
}

/// One registered layer type. Cheap to clone, so callers copy it out and release the lock
/// before recursing into nested layers.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The saved name.
    pub name: Arc<str>,
    /// The type.
    pub type_id: TypeId,
    /// `std::any::type_name`, for error messages.
    pub rust_name: &'static str,
    pub view: ViewFn,
    pub build: BuildFn,
}

impl Entry {
    fn new(name: Arc<str>, fns: SaveFns) -> Entry {
        Entry {
            name,
            type_id: fns.type_id,
            rust_name: fns.rust_name,
            view: fns.view,
            build: fns.build,
        }
    }
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<Arc<str>, Entry>,
    by_type: HashMap<TypeId, Arc<str>>,
    /// Names that several recorded types of one crate share: none of them is saved under it.
    shared: HashMap<Arc<str>, Vec<SaveFns>>,
}

impl Registry {
    /// Every recorded layer type of the program.
    fn recorded() -> Registry {
        let mut r = Registry::default();
        for record in inventory::iter::<LayerRecord> {
            if let Some(fns) = (record.save)() {
                r.record(record.saved_name().into(), fns);
            }
        }
        r
    }

    /// Adds a recorded type; a second type under a taken name withdraws the name from both.
    fn record(&mut self, name: Arc<str>, fns: SaveFns) {
        if self.by_type.contains_key(&fns.type_id) {
            return;
        }
        if let Some(group) = self.shared.get_mut(&name) {
            group.push(fns);
            return;
        }
        if let Some(first) = self.by_name.remove(&name) {
            self.by_type.remove(&first.type_id);
            let first_fns = SaveFns {
                type_id: first.type_id,
                rust_name: first.rust_name,
                view: first.view,
                build: first.build,
            };
            self.shared.insert(name, vec![first_fns, fns]);
            return;
        }
        self.by_type.insert(fns.type_id, name.clone());
        self.by_name.insert(name.clone(), Entry::new(name, fns));
    }

    /// Registers `fns` under `name` by hand: idempotent for the same pair; a type that shares
    /// its recorded name with another leaves the shared group (the last one left takes it).
    fn add(&mut self, name: &str, fns: SaveFns) -> Result<(), SaveError> {
        if let Some(existing) = self.by_type.get(&fns.type_id) {
            if &**existing == name {
                return Ok(());
            }
            return Err(SaveError::TypeTaken {
                type_name: fns.rust_name,
                existing: existing.to_string(),
            });
        }
        if let Some(other) = self.by_name.get(name) {
            return Err(SaveError::NameTaken {
                name: name.to_owned(),
                existing: other.rust_name,
            });
        }
        let other_of_group = self
            .shared
            .get(name)
            .and_then(|group| group.iter().find(|f| f.type_id != fns.type_id));
        if let Some(other) = other_of_group {
            return Err(SaveError::NameTaken {
                name: name.to_owned(),
                existing: other.rust_name,
            });
        }
        let mut last_of_group = None;
        for (shared_name, group) in &mut self.shared {
            group.retain(|f| f.type_id != fns.type_id);
            if group.len() == 1 {
                last_of_group = Some((shared_name.clone(), group[0]));
            }
        }
        self.shared.retain(|_, group| group.len() > 1);
        let name: Arc<str> = name.into();
        self.by_type.insert(fns.type_id, name.clone());
        self.by_name.insert(name.clone(), Entry::new(name, fns));
        if let Some((shared_name, other)) = last_of_group {
            self.by_type.insert(other.type_id, shared_name.clone());
            self.by_name
                .insert(shared_name.clone(), Entry::new(shared_name, other));
        }
        Ok(())
    }

    /// The error for a name that several types share, if `name` is one.
    fn shared_error(&self, name: &str) -> Option<SaveError> {
        let group = self.shared.get(name)?;
        Some(SaveError::NameShared {
            name: name.to_owned(),
            types: group.iter().map(|f| f.rust_name).collect(),
        })
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

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| RwLock::new(Registry::recorded()));

/// Registers a layer type under `name` by hand. Rarely needed: every non-generic layer type
/// that derives `Tree`, `Serialize` and `Deserialize` is registered already (see the
/// [`io::save`](crate::io::save())). Use it for a **generic** layer type (once per instantiation), or to
/// give one of two same-named types of a crate a name of its own.
///
/// Registering the same type under the same name again does nothing. A name taken by another
/// type is a [`SaveError::NameTaken`], a type already registered under another name a
/// [`SaveError::TypeTaken`].
///
/// A layer is saved as its serde form with a `"type"` key added: a struct's fields sit beside
/// `"type"` (so no field may be named `type`); any other shape is stored under `"value"`.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Parameter, Sequential};
/// use penzai::serde::{Deserialize, Serialize};
///
/// /// Adds a learned offset, `N` times.
/// #[derive(Clone, Debug, Tree, Serialize, Deserialize)]
/// #[serde(crate = "penzai::serde")]
/// struct Shift<const N: usize> {
///     offset: Parameter,
/// }
///
/// impl<const N: usize> Layer for Shift<N> {
///     fn call(&self, mut x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
///         for _ in 0..N {
///             x = (&x + &self.offset.value)?;
///         }
///         Ok(x)
///     }
/// }
///
/// penzai::io::register_layer::<Shift<2>>("ShiftTwice")?;
///
/// let offset = Parameter::new("shift", NamedArray::ones(&[("features", 3)])?);
/// let model = Sequential::new().then(Shift::<2> { offset });
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
        .add(name, save_fns::<T>())
}

/// The names of every registered layer type, sorted.
pub fn registered_layers() -> Vec<String> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let mut names: Vec<String> = registry.by_name.keys().map(|n| n.to_string()).collect();
    names.sort();
    names
}

/// The entry registered under `name`, or the error saying why there is none (`None`: no
/// type has that name).
pub(super) fn by_name(name: &str) -> Result<Entry, Option<SaveError>> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    match registry.by_name.get(name) {
        Some(entry) => Ok(entry.clone()),
        None => Err(registry.shared_error(name)),
    }
}

/// The entry for the type `type_id`, or the error saying why there is none (`None`: the type
/// is not a saveable layer).
pub(super) fn by_type(type_id: TypeId) -> Result<Entry, Option<SaveError>> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(entry) = registry
        .by_type
        .get(&type_id)
        .and_then(|name| registry.by_name.get(name))
    {
        return Ok(entry.clone());
    }
    let shared = registry
        .shared
        .iter()
        .find(|(_, group)| group.iter().any(|f| f.type_id == type_id));
    Err(shared.and_then(|(name, _)| registry.shared_error(name)))
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
        assert_eq!(
            &*by_type(TypeId::of::<Linear>()).ok().unwrap().name,
            "Linear"
        );
        assert_eq!(
            by_name("Linear").ok().unwrap().rust_name,
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
            .filter(|name| !name.is_empty() && *name != "AnyLayer" && by_name(name).is_err())
            .collect();
        assert!(
            missing.is_empty(),
            "derive `serde::Serialize` and `serde::Deserialize` for these: {missing:?}"
        );
    }

    /// A generic layer: the derive leaves no record for it.
    #[derive(Clone, Debug, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
    struct Repeat<const N: usize>;

    impl<const N: usize> Layer for Repeat<N> {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> crate::Result<NamedArray> {
            Ok(x)
        }
    }

    /// A tree that is not a layer: recorded, but gives no entry.
    #[derive(Clone, Debug, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
    struct NotALayer {
        #[tree(skip)]
        size: usize,
    }

    #[test]
    fn a_derived_layer_is_registered_without_a_call() {
        assert_eq!(&*by_type(TypeId::of::<Twin>()).ok().unwrap().name, "Twin");
        assert!(by_type(TypeId::of::<NotALayer>()).unwrap_err().is_none());
        assert!(by_type(TypeId::of::<Repeat<1>>()).unwrap_err().is_none());
        assert!(by_name("NotALayer").unwrap_err().is_none());
    }

    #[test]
    fn names_outside_penzai_carry_their_crate() {
        let none = || None;
        assert_eq!(
            LayerRecord::new("penzai_runtime::nn::linear", "Linear", none).saved_name(),
            "Linear"
        );
        assert_eq!(
            LayerRecord::new("my_model::blocks", "Shift", none).saved_name(),
            "my_model::Shift"
        );
        assert_eq!(
            LayerRecord::new("my_model", "Shift", none).saved_name(),
            "my_model::Shift"
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
        let err = register_layer::<Repeat<2>>("Sequential").unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer name \"Sequential\" is already registered for penzai_runtime::nn::sequential::Sequential; choose another name"
        );
        register_layer::<Repeat<3>>("registry_tests::Repeat3").unwrap();
        register_layer::<Repeat<3>>("registry_tests::Repeat3").unwrap();
        assert_eq!(
            &*by_name("registry_tests::Repeat3").ok().unwrap().name,
            "registry_tests::Repeat3"
        );
    }

    #[test]
    fn a_shared_name_is_refused_until_one_type_is_named_by_hand() {
        let mut r = Registry::default();
        r.record("c::Block".into(), save_fns::<Twin>());
        r.record("c::Block".into(), save_fns::<Identity>());
        assert!(r.by_name.is_empty() && r.by_type.is_empty());
        let err = r.shared_error("c::Block").unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "layer name \"c::Block\" belongs to 2 types: {}, {}; rename one, or give it a name of its own with `penzai::io::register_layer`",
                std::any::type_name::<Twin>(),
                std::any::type_name::<Identity>()
            )
        );
        r.add("c::OtherBlock", save_fns::<Identity>()).unwrap();
        assert!(r.shared.is_empty());
        assert_eq!(&*r.by_type[&TypeId::of::<Twin>()], "c::Block");
        assert_eq!(&*r.by_type[&TypeId::of::<Identity>()], "c::OtherBlock");
    }
}
