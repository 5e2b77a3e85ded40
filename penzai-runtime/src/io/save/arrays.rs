//! serde for `Parameter` and `NamedArray`: the structure holds a reference to a tensor of the
//! parameters file, with the dtype, axis names and shape it must have.
//!
//! ```json
//! {"label": "embed.embeddings", "tensor": "embed.table.embeddings",
//!  "dtype": "f32", "axes": ["vocabulary", "embedding"], "shape": [64, 32]}
//! ```
//!
//! A plain array (a `NamedArray` child of a layer) has no `label`. Axis names live here because
//! safetensors shapes are positional. Every slot of a tied parameter references the tensor of
//! the first slot; loading reads each tensor once and shares it among its references.

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::context::{
    Declared, LoadState, LoadedTensor, enclosing_layer, fail_save, with_load, with_save,
};
use super::error::SaveError;
use super::plan::address;
use crate::io::IoError;
use crate::nn::Parameter;
use crate::nx::{DType, NamedArray};

#[derive(Serialize)]
struct ArrayOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    tensor: &'a str,
    dtype: DType,
    axes: Vec<&'a str>,
    shape: Vec<usize>,
}

impl<'a> ArrayOut<'a> {
    fn new(label: Option<&'a str>, tensor: &'a str, array: &'a NamedArray) -> ArrayOut<'a> {
        let shape = array.named_shape();
        ArrayOut {
            label,
            tensor,
            dtype: array.dtype(),
            axes: array.axis_names().iter().map(|n| n.as_str()).collect(),
            shape: shape.iter().map(|(_, size)| size).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterIn {
    label: String,
    tensor: String,
    dtype: DType,
    axes: Vec<String>,
    shape: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrayIn {
    tensor: String,
    dtype: DType,
    axes: Vec<String>,
    shape: Vec<usize>,
}

/// The error for a value that `save` did not plan for (outside a save, or not a tree child).
fn unplanned(kind: &str, label: Option<&str>) -> String {
    let in_save = with_save(|_| ()).is_some();
    if !in_save {
        return format!(
            "a {kind} is serialized by penzai::io::save (its values go to the parameters file), not on its own"
        );
    }
    let (path, type_name) = enclosing_layer();
    let what = match label {
        Some(label) => format!("a {kind} labelled {label:?}"),
        None => format!("a {kind}"),
    };
    fail_save(SaveError::Unsavable {
        path,
        type_name,
        reason: format!(
            "{what} in it is not a child in the tree (a `#[tree(skip)]` field?); only tree children are saved"
        ),
    })
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = with_save(|st| st.params.get(&address(self)).cloned()).flatten();
        let Some(key) = key else {
            return Err(S::Error::custom(unplanned("Parameter", Some(&self.label))));
        };
        ArrayOut::new(Some(&self.label), &key, &self.value).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Parameter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Parameter, D::Error> {
        let r = ParameterIn::deserialize(d)?;
        let declared = Declared {
            dtype: r.dtype,
            axes: r.axes,
            shape: r.shape,
        };
        let value = read_tensor(Some(&r.label), &r.tensor, declared).map_err(D::Error::custom)?;
        Ok(Parameter::new(r.label, value))
    }
}

impl Serialize for NamedArray {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = with_save(|st| st.arrays.get(&address(self)).cloned()).flatten();
        let Some(key) = key else {
            return Err(S::Error::custom(unplanned("NamedArray", None)));
        };
        ArrayOut::new(None, &key, self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for NamedArray {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NamedArray, D::Error> {
        let r = ArrayIn::deserialize(d)?;
        let declared = Declared {
            dtype: r.dtype,
            axes: r.axes,
            shape: r.shape,
        };
        read_tensor(None, &r.tensor, declared).map_err(D::Error::custom)
    }
}

/// The tensor `key` of the file being loaded, checked against what the structure declares.
///
/// A tensor is read once; later references must declare the same dtype, axes and shape and
/// carry the same label, and get the first one's (shared) array. So no input can make a load
/// allocate more than the parameters file's own tensors.
fn read_tensor(label: Option<&str>, key: &str, declared: Declared) -> Result<NamedArray, String> {
    let read = with_load(|st| match read_checked(st, label, key, declared) {
        Ok(array) => Ok(array),
        Err(error) => {
            let message = error.to_string();
            st.failure.get_or_insert(error);
            Err(message)
        }
    });
    read.unwrap_or_else(|| {
        Err("a Parameter or NamedArray is deserialized by penzai::io::load (its values come from the parameters file), not on its own".to_owned())
    })
}

fn read_checked(
    st: &mut LoadState,
    label: Option<&str>,
    key: &str,
    declared: Declared,
) -> Result<NamedArray, SaveError> {
    let mismatch = |st: &LoadState, problem: String| SaveError::TensorMismatch {
        file: st.structure_file.clone(),
        tensors_file: st.tensors.file_name().to_owned(),
        tensor: key.to_owned(),
        offset: 0,
        problem,
    };
    if let Some(first) = st.loaded.get(key) {
        if first.label.as_deref() != label {
            let problem = format!(
                "it is referenced as {} here but as {} before; one tensor holds one parameter",
                describe_label(label),
                describe_label(first.label.as_deref())
            );
            return Err(mismatch(st, problem));
        }
        if first.declared != declared {
            let problem = format!(
                "it is declared as {} here but as {} before",
                describe(&declared),
                describe(&first.declared)
            );
            return Err(mismatch(st, problem));
        }
        return Ok(first.array.clone());
    }
    let Some(view) = st.tensors.get(key) else {
        return Err(SaveError::MissingTensor {
            file: st.structure_file.clone(),
            tensors_file: st.tensors.file_name().to_owned(),
            tensor: key.to_owned(),
            offset: 0,
        });
    };
    if declared.axes.len() != declared.shape.len() {
        let problem = format!(
            "the structure names {} axes {:?} for a shape of rank {}",
            declared.axes.len(),
            declared.axes,
            declared.shape.len()
        );
        return Err(mismatch(st, problem));
    }
    if view.shape() != declared.shape.as_slice() || !same_kind(declared.dtype, view.dtype()) {
        let problem = format!(
            "declared {}, stored {} {:?}",
            describe(&declared),
            view.dtype().safetensors_name(),
            view.shape()
        );
        return Err(mismatch(st, problem));
    }
    let axes: Vec<&str> = declared.axes.iter().map(String::as_str).collect();
    let array = match view.to_named_array(&axes) {
        Ok(array) => array,
        Err(IoError::Axis { source, .. }) => return Err(mismatch(st, source.to_string())),
        Err(other) => return Err(mismatch(st, other.to_string())),
    };
    // A tensor stored narrower or wider than declared (an f32 parameter saved as bf16) takes
    // the declared dtype.
    let array = match array.cast(declared.dtype) {
        Ok(array) => array,
        Err(e) => return Err(mismatch(st, e.to_string())),
    };
    st.loaded.insert(
        key.to_owned(),
        LoadedTensor {
            label: label.map(str::to_owned),
            declared,
            array: array.clone(),
        },
    );
    Ok(array)
}

/// Whether a stored dtype converts to the declared one: any float to a float (a file
/// converted to bf16 to save space still loads as the declared f32), any integer to i64,
/// BOOL to bool.
fn same_kind(declared: DType, stored: DType) -> bool {
    if declared.is_float() {
        stored.is_float()
    } else if declared == DType::Bool {
        stored == DType::Bool
    } else {
        declared == DType::I64 && stored.is_integer()
    }
}

fn describe(d: &Declared) -> String {
    format!("{} {:?} {:?}", d.dtype, d.axes, d.shape)
}

fn describe_label(label: Option<&str>) -> String {
    match label {
        Some(label) => format!("parameter {label:?}"),
        None => "a plain array".to_owned(),
    }
}
