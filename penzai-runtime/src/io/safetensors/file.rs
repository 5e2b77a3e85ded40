//! `SafetensorsFile`: an opened, validated safetensors file and lookup of its tensors.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::header::{Header, TensorInfo, parse_header};
use super::mmap::map_read_only;
use super::view::TensorView;
use crate::io::IoError;
use crate::nx::ByteRegion;

/// The bytes of a safetensors file, mapped from disk or owned, shared with the arrays that
/// borrow their elements from it (see [`TensorView::to_named_array`]).
struct Storage {
    bytes: ByteRegion,
}

impl Storage {
    fn mapped(map: Mmap) -> Storage {
        Storage {
            bytes: Arc::new(map),
        }
    }

    fn owned(bytes: Vec<u8>) -> Storage {
        Storage {
            bytes: Arc::new(bytes),
        }
    }
}

impl Deref for Storage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }
}

/// An opened safetensors file whose header has been validated; hands out borrowed
/// [`TensorView`]s.
///
/// ```
/// use std::collections::BTreeMap;
/// use penzai::io::{HostTensor, SafetensorsFile, TensorData, serialize_tensors};
///
/// let weights = HostTensor::new(vec![2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
/// let bytes = serialize_tensors([("w".to_owned(), weights)], &BTreeMap::new())?;
/// let file = SafetensorsFile::from_bytes("<memory>", bytes)?;
/// let w = file.tensor("w")?;
/// assert_eq!(w.shape(), &[2, 2]);
/// assert_eq!(w.to_f32_vec()?, vec![1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), penzai::io::IoError>(())
/// ```
pub struct SafetensorsFile {
    file: String,
    storage: Storage,
    header: Header,
}

impl std::fmt::Debug for SafetensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("file", &self.file)
            .field("len", &self.storage.len())
            .field("tensors", &self.header.tensors.len())
            .finish()
    }
}

impl SafetensorsFile {
    /// Opens `path` by mapping it into memory, and validates its header.
    ///
    /// Nothing is copied: views borrow the mapped bytes, and so do arrays made by
    /// [`TensorView::to_named_array`] (F32, F16 and BF16 tensors whose data is aligned),
    /// which keep the map alive after this value is dropped. The file must not be modified or
    /// truncated by another process while this value lives (truncation would crash the process
    /// with `SIGBUS` when a lost page is read); use [`SafetensorsFile::read`] where that cannot
    /// be ruled out.
    pub fn open(path: impl AsRef<Path>) -> Result<SafetensorsFile, IoError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| IoError::os(&name, "open", &e))?;
        let map = map_read_only(&file).map_err(|e| IoError::os(&name, "map", &e))?;
        SafetensorsFile::from_storage(name, Storage::mapped(map))
    }

    /// Reads `path` into memory (no mapping), and validates its header.
    pub fn read(path: impl AsRef<Path>) -> Result<SafetensorsFile, IoError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| IoError::os(&name, "read", &e))?;
        SafetensorsFile::from_storage(name, Storage::owned(bytes))
    }

    /// Validates `bytes` as a safetensors file; `name` labels it in errors.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<SafetensorsFile, IoError> {
        SafetensorsFile::from_storage(name.into(), Storage::owned(bytes))
    }

    fn from_storage(file: String, storage: Storage) -> Result<SafetensorsFile, IoError> {
        let header = parse_header(&file, &storage)?;
        Ok(SafetensorsFile {
            file,
            storage,
            header,
        })
    }

    /// The file's name as given when opening it.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The header's `__metadata__` strings (empty if absent).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.header.metadata
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.header.tensors.len()
    }

    /// Whether the file holds no tensors.
    pub fn is_empty(&self) -> bool {
        self.header.tensors.is_empty()
    }

    /// Tensor names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.header.tensors.iter().map(|t| t.name.as_str())
    }

    /// Whether a tensor called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.header.find(name).is_some()
    }

    /// The tensor called `name`, or `None`.
    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        self.header.find(name).map(|t| self.view(t))
    }

    /// The tensor called `name`; [`IoError::TensorNotFound`] names the file and tensor if
    /// absent.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>, IoError> {
        self.get(name).ok_or_else(|| IoError::TensorNotFound {
            file: self.file.clone(),
            tensor: name.to_owned(),
        })
    }

    /// Every tensor, sorted by name.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> {
        self.header.tensors.iter().map(|t| self.view(t))
    }

    fn view<'a>(&'a self, t: &'a TensorInfo) -> TensorView<'a> {
        TensorView {
            file: &self.file,
            name: &t.name,
            dtype: t.dtype,
            shape: &t.shape,
            // In bounds: parse_header checked start <= end <= the file length.
            bytes: &self.storage[t.start..t.end],
            offset: t.start as u64,
            region: &self.storage.bytes,
        }
    }
}
