//! The walk before a save: which tensor each parameter and array goes to, ties checked.

use std::collections::HashMap;

use super::context::SaveState;
use super::error::SaveError;
use crate::nn::{AsLayer, Parameter};
use crate::nx::NamedArray;
use crate::tree::{KeyPath, Leaf, Tree, Walk, walk};

/// What a save writes: the state the serde impls consult, and the tensors (each once).
pub(super) struct Plan<'m> {
    pub state: SaveState,
    pub tensors: Vec<(String, &'m NamedArray)>,
}

/// The address a node is serialized from: the identity [`SaveState`] is keyed by.
pub(super) fn address<T: ?Sized>(value: &T) -> usize {
    (value as *const T).cast::<()>() as usize
}

/// Walks `model`, giving every parameter and array a tensor key (its path; the first slot's
/// path for every slot of a tied parameter) and every layer its path.
///
/// Two slots with one label must hold equal values, or the save would silently keep one:
/// a [`SaveError::TieMismatch`] names both paths. `file` names the structure file in it.
pub(super) fn plan<'m>(model: &'m dyn Tree, file: &str) -> Result<Plan<'m>, SaveError> {
    let mut state = SaveState::default();
    let mut tensors = Vec::new();
    // Label -> the first slot's path and value.
    let mut labels: HashMap<&'m str, (KeyPath, &'m NamedArray)> = HashMap::new();
    let mut failure = None;
    walk(model, &mut |frame, node| {
        let at = address(node);
        if let Some(p) = node.downcast_ref::<Parameter>() {
            let path = frame.to_key_path();
            if let Some((first, value)) = labels.get(&*p.label) {
                if *value != &p.value {
                    failure = Some(SaveError::TieMismatch {
                        file: file.to_owned(),
                        label: p.label.to_string(),
                        first: first.clone(),
                        second: path,
                    });
                    return Walk::Stop;
                }
                state.params.insert(at, first.to_string());
                return Walk::Continue;
            }
            if let Err(e) = storable(&p.value, &path, "Parameter") {
                failure = Some(e);
                return Walk::Stop;
            }
            let key = path.to_string();
            state.params.insert(at, key.clone());
            tensors.push((key, &p.value));
            labels.insert(&p.label, (path, &p.value));
        } else if let Some(a) = node.downcast_ref::<NamedArray>() {
            let path = frame.to_key_path();
            if let Err(e) = storable(a, &path, "NamedArray") {
                failure = Some(e);
                return Walk::Stop;
            }
            let key = path.to_string();
            state.arrays.insert(at, key.clone());
            tensors.push((key, a));
        } else if let Some(v) = match node.leaf() {
            Some(Leaf::Float(v)) => Some(v),
            Some(Leaf::Float32(v)) => Some(f64::from(v)),
            _ => None,
        } && !v.is_finite()
        {
            // serde_json would write `null`, which no f32 field reads back.
            failure = Some(SaveError::Unsavable {
                path: frame.to_key_path(),
                type_name: node.type_name(),
                reason: format!("the number {v} has no JSON form (JSON numbers are finite)"),
            });
            return Walk::Stop;
        } else if node.as_layer().is_some() {
            let type_id = std::any::Any::type_id(node.as_any());
            state.layers.insert((at, type_id), frame.to_key_path());
        }
        Walk::Continue
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(Plan { state, tensors }),
    }
}

/// Positional axes have no name to save them under: refuse them up front.
fn storable(array: &NamedArray, path: &KeyPath, type_name: &'static str) -> Result<(), SaveError> {
    let positional = array.positional_shape();
    if positional.is_empty() {
        return Ok(());
    }
    Err(SaveError::Unsavable {
        path: path.clone(),
        type_name,
        reason: format!(
            "the array has positional axes {positional:?}, which have no name to save them under; tag them first"
        ),
    })
}
