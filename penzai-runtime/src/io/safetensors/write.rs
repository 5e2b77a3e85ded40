//! Writing safetensors files: deterministic (tensors sorted by name), header padded with spaces
//! so the data section starts at a multiple of 8, as the reference writer does.

use std::collections::{BTreeMap, btree_map::Entry};
use std::io::Write;
use std::path::Path;

use super::header::METADATA_KEY;
use crate::io::named::named_to_host;
use crate::io::{HostTensor, IoError};
use crate::nx::NamedArray;

/// Serializes `tensors` and `metadata` to the bytes of a safetensors file.
///
/// Tensors are written sorted by name whatever the input order, so equal inputs give equal
/// bytes. A duplicate name, the reserved name `__metadata__`, or a shape whose element count
/// differs from the data's is an [`IoError::InvalidTensorToWrite`].
pub fn serialize_tensors(
    tensors: impl IntoIterator<Item = (String, HostTensor)>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, IoError> {
    serialize_named("<memory>", tensors, metadata)
}

fn serialize_named(
    file: &str,
    tensors: impl IntoIterator<Item = (String, HostTensor)>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, IoError> {
    let invalid = |tensor: &str, message: String| IoError::InvalidTensorToWrite {
        file: file.to_owned(),
        tensor: tensor.to_owned(),
        message,
    };
    let mut sorted = BTreeMap::new();
    for (name, tensor) in tensors {
        if name == METADATA_KEY {
            return Err(invalid(&name, "the name is reserved for metadata".into()));
        }
        let count = tensor
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d));
        if count != Some(tensor.data.len()) {
            let message = format!(
                "shape {:?} does not match {} values",
                tensor.shape,
                tensor.data.len()
            );
            return Err(invalid(&name, message));
        }
        match sorted.entry(name) {
            Entry::Occupied(e) => return Err(invalid(e.key(), "duplicate name".into())),
            Entry::Vacant(e) => e.insert(tensor),
        };
    }

    let mut header = String::from("{");
    let push_key = |header: &mut String, key: &str| {
        if header.len() > 1 {
            header.push(',');
        }
        // Serializing a &str cannot fail.
        header.push_str(&serde_json::to_string(key).unwrap_or_default());
        header.push(':');
    };
    if !metadata.is_empty() {
        push_key(&mut header, METADATA_KEY);
        header.push_str(&serde_json::to_string(metadata).unwrap_or_default());
    }
    let mut offset = 0usize;
    for (name, tensor) in &sorted {
        let len = tensor.data.len() * tensor.data.dtype().size_bytes();
        push_key(&mut header, name);
        header.push_str(&format!(
            r#"{{"dtype":"{}","shape":{:?},"data_offsets":[{},{}]}}"#,
            tensor.data.dtype().safetensors_name(),
            tensor.shape,
            offset,
            offset + len
        ));
        offset += len;
    }
    header.push('}');
    // Pad so the data section starts 8-byte aligned (8 + header length is a multiple of 8).
    while header.len() % 8 != 0 {
        header.push(' ');
    }

    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend((header.len() as u64).to_le_bytes());
    out.extend(header.as_bytes());
    for tensor in sorted.values() {
        tensor.data.write_le_bytes(&mut out);
    }
    Ok(out)
}

/// Writes `tensors` and `metadata` as a safetensors file at `path` (see
/// [`serialize_tensors`] for the format and errors).
///
/// The file is written next to `path` under a temporary name and renamed into place, so a
/// reader never sees a half-written file.
pub fn write_tensors(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (String, HostTensor)>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = serialize_named(&name, tensors, metadata)?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()
    };
    write().map_err(|e| IoError::os(&name, "write", &e))?;
    std::fs::rename(tmp, path).map_err(|e| IoError::os(&name, "rename into place", &e))
}

/// Writes named arrays as a safetensors file at `path`.
///
/// Each array is stored row-major in the order of its named axes (`named_shape()`; call
/// `order_as` first to choose another); f32 arrays as F32, i64 as I64, bool as BOOL. Axis
/// names are not stored: safetensors shapes are positional, so a reader supplies them again
/// ([`TensorView::to_named_array`](super::TensorView::to_named_array)). Tensors are sorted by
/// name and the header padded to 8 bytes, so equal inputs give identical files. An array with
/// positional axes is an [`IoError::InvalidTensorToWrite`].
///
/// ```
/// use std::collections::BTreeMap;
/// use penzai::io::{SafetensorsFile, write_safetensors};
/// use penzai::nx::NamedArray;
///
/// let w = NamedArray::from_f32(&[("embedding", 2), ("neurons", 3)], vec![0., 1., 2., 3., 4., 5.])?;
/// let path = std::env::temp_dir().join("penzai_doc_write.safetensors");
/// write_safetensors(&path, [("mlp.up", &w)], &BTreeMap::new())?;
///
/// let file = SafetensorsFile::open(&path)?;
/// let view = file.tensor("mlp.up")?;
/// assert_eq!(view.shape(), &[2, 3]);
/// assert_eq!(view.to_named_array(&["embedding", "neurons"])?, w);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn write_safetensors<'a, S: Into<String>>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (S, &'a NamedArray)>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let host = tensors
        .into_iter()
        .map(|(name, array)| {
            let name = name.into();
            match named_to_host(array) {
                Some(tensor) => Ok((name, tensor)),
                None => Err(IoError::InvalidTensorToWrite {
                    file: path.display().to_string(),
                    message: format!(
                        "it has positional axes {:?}, which have no name to store; tag them first",
                        array.positional_shape()
                    ),
                    tensor: name,
                }),
            }
        })
        .collect::<Result<Vec<_>, IoError>>()?;
    write_tensors(path, host, metadata)
}
