//! The state a save or a load shares with the serde impls of parameters, arrays and layers.
//!
//! serde gives a `Serialize` impl only the value, not where it sits in the model, and a
//! `Deserialize` impl only the parser. Saving therefore first walks the model with the `Tree`
//! trait ([`plan`](super::plan)), recording each parameter's and array's tensor key by the
//! value's address; `Parameter::serialize` then finds its key from `self`'s address (serde
//! serializes the very same values, by reference). Loading installs the opened parameters file,
//! which `Parameter::deserialize` reads its tensor from. Both live in thread-locals for the
//! duration of one `save` or `load` (installed and removed by a guard, so a panic in user code
//! cannot leave a stale context behind).
//!
//! Errors: serde errors are strings, so code that finds a problem records the typed
//! [`SaveError`] here and returns a serde error; `save`/`load` then report the recorded error
//! (with the parser's offset) instead of the string.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::thread::LocalKey;

use super::error::SaveError;
use crate::io::SafetensorsFile;
use crate::nx::NamedArray;
use crate::tree::KeyPath;

/// How deep layers may nest in a saved model. Loading recurses once per level (through
/// serde and the type-erased layer constructors), so hostile input must not choose the depth.
pub const MAX_LAYER_DEPTH: usize = 64;

/// What `save` knows about the model being serialized.
#[derive(Default)]
pub(super) struct SaveState {
    /// Address of each `Parameter` node -> the tensor key its value is stored under (the first
    /// slot's path for tied parameters).
    pub params: HashMap<usize, String>,
    /// Address of each plain `NamedArray` node -> its tensor key (its path).
    pub arrays: HashMap<usize, String>,
    /// Address and type of each layer node -> its path, for error messages.
    pub layers: HashMap<(usize, TypeId), KeyPath>,
    /// Paths of the layers being serialized, innermost last.
    pub enclosing: Vec<(KeyPath, &'static str)>,
    /// The first problem met.
    pub failure: Option<SaveError>,
}

/// One tensor read during a load, with what the structure declared for it.
pub(super) struct LoadedTensor {
    pub label: Option<String>,
    pub declared: Declared,
    pub array: NamedArray,
}

/// What the structure declares about a tensor it references.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Declared {
    pub dtype: crate::nx::DType,
    pub axes: Vec<String>,
    pub shape: Vec<usize>,
}

/// What `load` shares with the deserializers.
pub(super) struct LoadState {
    pub structure_file: String,
    pub tensors: SafetensorsFile,
    /// Tensors read so far, by key: later references share the first one's storage.
    pub loaded: HashMap<String, LoadedTensor>,
    pub failure: Option<SaveError>,
}

thread_local! {
    static SAVE: RefCell<Option<SaveState>> = const { RefCell::new(None) };
    static LOAD: RefCell<Option<LoadState>> = const { RefCell::new(None) };
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Installs a state in a thread-local until finished or dropped, restoring the outer one (so a
/// `save` inside a custom `Serialize` impl works too, and a panic leaves nothing behind).
pub(super) struct Scope<T: 'static> {
    key: &'static LocalKey<RefCell<Option<T>>>,
    outer: Option<T>,
    active: bool,
}

impl<T: 'static> Scope<T> {
    fn install(key: &'static LocalKey<RefCell<Option<T>>>, state: T) -> Scope<T> {
        let outer = key.with(|s| s.borrow_mut().replace(state));
        Scope {
            key,
            outer,
            active: true,
        }
    }

    /// Removes the state and hands it back.
    pub fn finish(mut self) -> Option<T> {
        self.active = false;
        let outer = self.outer.take();
        self.key
            .with(|s| std::mem::replace(&mut *s.borrow_mut(), outer))
    }
}

impl<T: 'static> Drop for Scope<T> {
    fn drop(&mut self) {
        if self.active {
            let outer = self.outer.take();
            self.key.with(|s| *s.borrow_mut() = outer);
        }
    }
}

/// Installs `state` as the current save.
pub(super) fn install_save(state: SaveState) -> Scope<SaveState> {
    Scope::install(&SAVE, state)
}

/// Installs `state` as the current load.
pub(super) fn install_load(state: LoadState) -> Scope<LoadState> {
    Scope::install(&LOAD, state)
}

/// Runs `f` on the current save state, if a save is under way.
pub(super) fn with_save<R>(f: impl FnOnce(&mut SaveState) -> R) -> Option<R> {
    SAVE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Runs `f` on the current load state, if a load is under way.
pub(super) fn with_load<R>(f: impl FnOnce(&mut LoadState) -> R) -> Option<R> {
    LOAD.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Records `error` as the save's failure (the first one wins) and returns its message, for
/// the serde error that unwinds the serialization.
pub(super) fn fail_save(error: SaveError) -> String {
    let message = error.to_string();
    with_save(|s| {
        s.failure.get_or_insert(error);
    });
    message
}

/// Records `error` as the load's failure (the first one wins) and returns its message.
pub(super) fn fail_load(error: SaveError) -> String {
    let message = error.to_string();
    with_load(|s| {
        s.failure.get_or_insert(error);
    });
    message
}

/// The innermost layer being saved, for error messages (the root outside any layer).
pub(super) fn enclosing_layer() -> (KeyPath, &'static str) {
    with_save(|s| s.enclosing.last().cloned())
        .flatten()
        .unwrap_or((KeyPath::root(), "model"))
}

/// The structure file's name during a load (for errors raised by the deserializers).
pub(super) fn structure_file() -> String {
    with_load(|s| s.structure_file.clone()).unwrap_or_else(|| "<structure>".to_owned())
}

/// One level of layer nesting, counted while serializing or deserializing a layer slot.
pub(super) struct DepthGuard(());

impl DepthGuard {
    /// Enters one more level, or fails when [`MAX_LAYER_DEPTH`] levels are already open.
    pub fn enter() -> Result<DepthGuard, usize> {
        DEPTH.with(|d| {
            if d.get() >= MAX_LAYER_DEPTH {
                Err(MAX_LAYER_DEPTH)
            } else {
                d.set(d.get() + 1);
                Ok(DepthGuard(()))
            }
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}
