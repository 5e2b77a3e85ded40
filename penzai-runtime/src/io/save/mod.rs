//! Saving and loading whole models: the structure as JSON (serde), the parameters as one
//! safetensors file.
//!
//! A saved model is a folder with two files:
//!
//! - [`STRUCTURE_FILE`] (`structure.json`): `{"format": "penzai-rs model", "version": 1,
//!   "root": ...}`, where the root and every layer in a dynamic slot
//!   ([`AnyLayer`], a `Sequential` step) is its serde form with the
//!   registered type name added (`{"type": "Linear", "weights": ..., "in_axes": [...]}`), and
//!   every parameter is a reference to a tensor with its label, dtype, axis names and shape
//!   (`{"label": "embed.embeddings", "tensor": "embed.table.embeddings", "dtype": "f32",
//!   "axes": ["vocabulary", "embedding"], "shape": [64, 32]}`).
//! - [`PARAMETERS_FILE`] (`parameters.safetensors`): one tensor per parameter, keyed by the
//!   parameter's [`KeyPath`] in the model. A tied parameter (several
//!   slots with one label) is stored once, under its first slot's path, and every slot refers
//!   to that key.
//!
//! Layer types are found by name in a registry that `#[derive(Tree)]` fills at link time: a
//! layer type that derives `Tree`, `Serialize` and `Deserialize` saves and loads with no
//! registration call (see [`register_layer`] for the exceptions). Loading checks everything the files claim against each other (every
//! referenced tensor exists with the declared dtype and shape, no tensor is left over, tied
//! slots agree, layers nest at most [`MAX_LAYER_DEPTH`] deep) and then runs
//! [`validate_all`]; each failure is a typed error naming the file,
//! the tensor or type, and the byte offset in the structure file.
//!
//! Serialization and parsing run on a helper thread with a large stack of its own, so that the
//! deepest nesting accepted fits whatever thread the caller is on; registered layer types'
//! serde impls run there too (and should not rely on the caller's thread-locals).

mod arrays;
mod context;
mod error;
mod layers;
mod plan;
mod registry;
mod tag_de;
mod tag_ser;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserializer, Serialize};

use self::context::{LoadState, fail_load, install_load, install_save};
use self::layers::{Root, RootSeed};
use crate::Result;
use crate::io::json_error;
use crate::io::named::named_to_host;
use crate::io::{HostTensor, IoError, SafetensorsFile, serialize_tensors, write_tensors};
use crate::nn::{AnyLayer, parameters};
use crate::tree::{KeyPath, Tree, validate_all};

pub use self::context::MAX_LAYER_DEPTH;
pub use self::error::SaveError;
#[doc(hidden)]
pub use self::layers::{deserialize_steps_struct, serialize_steps_struct};
#[doc(hidden)]
pub use self::registry::{LayerRecord, SaveFns, save_fns};
pub use self::registry::{register_layer, registered_layers};

/// The structure file's name inside a saved model's folder.
pub const STRUCTURE_FILE: &str = "structure.json";
/// The parameters file's name inside a saved model's folder.
pub const PARAMETERS_FILE: &str = "parameters.safetensors";
/// The `"format"` a structure file declares.
pub const FORMAT: &str = "penzai-rs model";
/// The structure format version written and read.
pub const VERSION: u64 = 1;

/// The two files of a saved model, in memory (what [`save`] writes to a folder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedModel {
    /// The contents of [`STRUCTURE_FILE`]: JSON text.
    pub structure: Vec<u8>,
    /// The contents of [`PARAMETERS_FILE`]: a safetensors file.
    pub parameters: Vec<u8>,
}

/// Saves `model` to the folder `dir` (created if needed) as [`STRUCTURE_FILE`] and
/// [`PARAMETERS_FILE`]; see the [module documentation](self) for the format.
///
/// Fails with a [`SaveError`] for a layer type that is not registered, a value the format
/// cannot hold (a custom activation's closure, an array with positional axes), or tied
/// parameters whose values differ; with an [`IoError`] when writing fails. Each file is written
/// under a temporary name and renamed into place.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::models::{LlamaConfig, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let dir = std::env::temp_dir().join("penzai_doc_save");
/// penzai::io::save(&model, &dir)?;
///
/// let back: TransformerLm = penzai::io::load(&dir)?;
/// assert!(back.tree_eq(&model));
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
/// assert_eq!(
///     back.call(tokens.clone(), &mut Context::new())?,
///     model.call(tokens, &mut Context::new())?,
/// );
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn save<T: Tree + Serialize>(model: &T, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    let structure_path = dir.join(STRUCTURE_FILE);
    let tensors_path = dir.join(PARAMETERS_FILE);
    let serialized = serialize_model(model, &structure_path.display().to_string())?;
    std::fs::create_dir_all(dir)
        .map_err(|e| IoError::os(&dir.display().to_string(), "create the folder", &e))?;
    write_tensors(&tensors_path, serialized.tensors, &tensors_metadata())?;
    write_atomically(&structure_path, &serialized.structure)?;
    Ok(())
}

/// Saves `model` in memory: the same two files [`save`] writes.
pub fn save_to_memory<T: Tree + Serialize>(model: &T) -> Result<SavedModel> {
    let serialized = serialize_model(model, STRUCTURE_FILE)?;
    let parameters = serialize_tensors(serialized.tensors, &tensors_metadata())?;
    Ok(SavedModel {
        structure: serialized.structure,
        parameters,
    })
}

/// Loads a model of type `T` saved by [`save`] in the folder `dir`.
///
/// `T` is the root's type (use [`load_any`] when it is not known). The parameters file is
/// memory-mapped while reading ([`SafetensorsFile::open`]), and its arrays copied out. Errors:
/// the reader's [`IoError`]s for a missing, truncated or corrupted file; a [`SaveError`] for a
/// structure that is malformed, names an unregistered layer type, or disagrees with the
/// tensors (missing, extra, other shape or dtype, tied slots that differ); the model's own
/// validation errors.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Identity, Sequential};
///
/// let dir = std::env::temp_dir().join("penzai_doc_load");
/// penzai::io::save(&Sequential::new().then(Identity), &dir)?;
/// std::fs::write(dir.join(penzai::io::STRUCTURE_FILE), r#"{"format": "penzai-rs model", "version": 1, "root": {"type": "Sequential", "steps": [{"layer": {"type": "Nope"}}]}}"#)?;
///
/// let message = penzai::io::load::<Sequential>(&dir).unwrap_err().to_string();
/// assert!(message.ends_with(
///     "structure.json: unknown layer type \"Nope\" at byte offset 110; no layer type of this program has that name (see `penzai::io::register_layer`)"
/// ), "{message}");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn load<T: Tree + DeserializeOwned>(dir: impl AsRef<Path>) -> Result<T> {
    let dir = dir.as_ref();
    let structure_path = dir.join(STRUCTURE_FILE);
    let structure_name = structure_path.display().to_string();
    let structure =
        std::fs::read(&structure_path).map_err(|e| IoError::os(&structure_name, "read", &e))?;
    let tensors = SafetensorsFile::open(dir.join(PARAMETERS_FILE))?;
    deserialize_model(structure_name, &structure, tensors)
}

/// Loads a saved model whatever its root type, as a layer in a dynamic slot (the root must be
/// a registered layer type).
pub fn load_any(dir: impl AsRef<Path>) -> Result<AnyLayer> {
    load::<AnyLayer>(dir)
}

/// Loads a model from the two files of [`save_to_memory`] (named [`STRUCTURE_FILE`] and
/// [`PARAMETERS_FILE`] in errors).
pub fn load_from_memory<T: Tree + DeserializeOwned>(saved: SavedModel) -> Result<T> {
    let tensors = SafetensorsFile::from_bytes(PARAMETERS_FILE, saved.parameters)?;
    deserialize_model(STRUCTURE_FILE.to_owned(), &saved.structure, tensors)
}

fn tensors_metadata() -> BTreeMap<String, String> {
    BTreeMap::from([("format".to_owned(), FORMAT.to_owned())])
}

/// The envelope written around the root.
#[derive(Serialize)]
#[serde(bound = "T: Tree + Serialize")]
struct Envelope<'a, T> {
    format: &'static str,
    version: u64,
    root: Root<'a, T>,
}

/// The stack of the thread a save or load runs on: serde recurses a few frames per level of
/// layer nesting (about 35 KiB per level in debug builds), and the caller's stack may be small
/// or already deep; the memory is only reserved, and committed as used.
const STACK_BYTES: usize = 64 << 20;

/// Runs `f` on a scoped thread with a [`STACK_BYTES`] stack, so that [`MAX_LAYER_DEPTH`] levels
/// of nesting fit whatever thread the caller is on. A panic in `f` resumes in the caller.
fn on_own_stack<R: Send>(f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("penzai-io-save".to_owned())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| IoError::os("<thread>", "start a thread to save or load on", &e))?;
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A model serialized, before its tensors are written.
struct Serialized {
    structure: Vec<u8>,
    tensors: Vec<(String, HostTensor)>,
}

/// The structure JSON and the tensors of `model`.
fn serialize_model<T: Tree + Serialize>(model: &T, structure_file: &str) -> Result<Serialized> {
    on_own_stack(|| serialize_on_this_thread(model, structure_file))
}

fn serialize_on_this_thread<T: Tree + Serialize>(
    model: &T,
    structure_file: &str,
) -> Result<Serialized> {
    let plan = plan::plan(model, structure_file)?;
    let scope = install_save(plan.state);
    let mut json = Vec::new();
    let written = Envelope {
        format: FORMAT,
        version: VERSION,
        root: Root(model),
    }
    .serialize(&mut serde_json::Serializer::pretty(&mut json));
    let failure = scope.finish().and_then(|state| state.failure);
    if let Err(e) = written {
        let error = failure.unwrap_or_else(|| SaveError::Unsavable {
            path: KeyPath::root(),
            type_name: model.type_name(),
            reason: e.to_string(),
        });
        return Err(error.into());
    }
    json.push(b'\n');
    let mut tensors = Vec::with_capacity(plan.tensors.len());
    for (key, array) in plan.tensors {
        // `plan` refused positional axes, the only arrays without a stored form.
        let Some(tensor) = named_to_host(array) else {
            return Err(IoError::InvalidTensorToWrite {
                file: PARAMETERS_FILE.to_owned(),
                tensor: key,
                message: "it has positional axes".to_owned(),
            }
            .into());
        };
        tensors.push((key, tensor));
    }
    Ok(Serialized {
        structure: json,
        tensors,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let name = path.display().to_string();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|e| IoError::os(&name, "write", &e))?;
    std::fs::rename(tmp, path).map_err(|e| IoError::os(&name, "rename into place", &e))
}

/// Parses the structure against the opened tensors, then checks what only the whole model
/// shows: unused tensors, tied slots, and the model's own invariants.
fn deserialize_model<T: Tree + DeserializeOwned>(
    structure_file: String,
    structure: &[u8],
    tensors: SafetensorsFile,
) -> Result<T> {
    on_own_stack(|| deserialize_on_this_thread(structure_file, structure, tensors))
}

fn deserialize_on_this_thread<T: Tree + DeserializeOwned>(
    structure_file: String,
    structure: &[u8],
    tensors: SafetensorsFile,
) -> Result<T> {
    let text = json_error::utf8(&structure_file, structure, 0)?;
    let scope = install_load(LoadState {
        structure_file: structure_file.clone(),
        tensors,
        loaded: HashMap::new(),
        failure: None,
    });
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = EnvelopeSeed::<T>(PhantomData)
        .deserialize(&mut de)
        .and_then(|model| de.end().map(|()| model));
    let Some(state) = scope.finish() else {
        return Err(SaveError::InvalidStructure {
            file: structure_file,
            offset: 0,
            message: "the load state was removed while loading".to_owned(),
        }
        .into());
    };
    let model = match parsed {
        Ok(model) => model,
        Err(e) => {
            let offset = json_error::byte_offset(text, &e) as u64;
            let error = match state.failure {
                Some(failure) => failure.at_offset(offset),
                None => SaveError::InvalidStructure {
                    file: structure_file,
                    offset,
                    message: json_error::message(&e),
                },
            };
            return Err(error.into());
        }
    };
    if let Some(unused) = state
        .tensors
        .names()
        .find(|name| !state.loaded.contains_key(*name))
    {
        return Err(SaveError::UnusedTensor {
            file: structure_file,
            tensors_file: state.tensors.file_name().to_owned(),
            tensor: unused.to_owned(),
        }
        .into());
    }
    check_ties(&model, &structure_file)?;
    validate_all(&model)?;
    Ok(model)
}

/// Slots sharing a label must hold equal values (a structure may point them at different
/// tensors).
fn check_ties(model: &dyn Tree, file: &str) -> Result<(), SaveError> {
    let mut first = HashMap::new();
    for (path, p) in parameters(model) {
        match first.get(&*p.label) {
            None => {
                first.insert(&*p.label, (path, &p.value));
            }
            Some((first_path, value)) if *value != &p.value => {
                return Err(SaveError::TieMismatch {
                    file: file.to_owned(),
                    label: p.label.to_string(),
                    first: first_path.clone(),
                    second: path,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Reads `{"format", "version", "root"}`, checking the format before trusting the rest.
struct EnvelopeSeed<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned + 'static> DeserializeSeed<'de> for EnvelopeSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned + 'static> Visitor<'de> for EnvelopeSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a model structure: {\"format\", \"version\", \"root\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let unsupported = |found: String| {
            A::Error::custom(fail_load(SaveError::UnsupportedFormat {
                file: context::structure_file(),
                found,
                expected: format!("{FORMAT:?} version {VERSION}"),
            }))
        };
        let (mut format, mut version, mut root) = (false, false, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    let found: String = map.next_value()?;
                    if found != FORMAT {
                        return Err(unsupported(format!("format {found:?}")));
                    }
                    format = true;
                }
                "version" => {
                    let found: u64 = map.next_value()?;
                    if found != VERSION {
                        return Err(unsupported(format!("version {found}")));
                    }
                    version = true;
                }
                "root" => {
                    if root.is_some() {
                        return Err(A::Error::duplicate_field("root"));
                    }
                    root = Some(map.next_value_seed(RootSeed::<T>(PhantomData))?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !format {
            return Err(A::Error::missing_field("format"));
        }
        if !version {
            return Err(A::Error::missing_field("version"));
        }
        root.ok_or_else(|| A::Error::missing_field("root"))
    }
}
