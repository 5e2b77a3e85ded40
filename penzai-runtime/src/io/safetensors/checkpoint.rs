//! `Checkpoint`: one name → tensor lookup over a single safetensors file or the shards of a
//! HuggingFace `model.safetensors.index.json`.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::Deserialize;

use super::{SafetensorsFile, TensorView};
use crate::io::{IoError, json_error};

/// The file name HuggingFace uses for an unsharded checkpoint.
pub const SINGLE_FILE_NAME: &str = "model.safetensors";
/// The file name HuggingFace uses for a sharded checkpoint's index.
pub const INDEX_FILE_NAME: &str = "model.safetensors.index.json";

/// The index JSON: `weight_map` maps tensor names to shard file names; `metadata` (e.g.
/// `total_size`) is informative only.
#[derive(Deserialize)]
struct RawIndex {
    weight_map: BTreeMap<String, String>,
}

/// Tensors of one checkpoint, possibly spread over several safetensors shards, looked up by
/// name.
///
/// Each shard is opened (mapped) once; lookups borrow from the shards.
///
/// ```
/// use penzai::io::Checkpoint;
///
/// // Picks model.safetensors.index.json (and its shards) if present, else model.safetensors.
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/llama-sharded");
/// let ckpt = Checkpoint::open_dir(dir)?;
/// assert_eq!(ckpt.shards().len(), 2);
/// let embed = ckpt.tensor("model.embed_tokens.weight")?;
/// assert_eq!(embed.shape(), &[101, 32]);
/// let values: Vec<f32> = embed.to_f32_vec()?;
/// assert_eq!(values.len(), 101 * 32);
/// # Ok::<(), penzai::io::IoError>(())
/// ```
#[derive(Debug)]
pub struct Checkpoint {
    /// The index file, or the single file, as named in errors.
    source: String,
    shards: Vec<SafetensorsFile>,
    /// Tensor name → index into `shards`.
    locations: BTreeMap<String, usize>,
}

impl Checkpoint {
    /// Opens the HF checkpoint in `dir`: `model.safetensors.index.json` and its shards if the
    /// index exists, else `model.safetensors`.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Checkpoint, IoError> {
        let dir = dir.as_ref();
        let index = dir.join(INDEX_FILE_NAME);
        if index.is_file() {
            Checkpoint::open_index(index)
        } else {
            Ok(Checkpoint::from_file(SafetensorsFile::open(
                dir.join(SINGLE_FILE_NAME),
            )?))
        }
    }

    /// A checkpoint made of one file.
    pub fn from_file(file: SafetensorsFile) -> Checkpoint {
        let locations = file.names().map(|n| (n.to_owned(), 0)).collect();
        Checkpoint {
            source: file.file_name().to_owned(),
            shards: vec![file],
            locations,
        }
    }

    /// Opens a sharded checkpoint from its index file; shards are looked up in the index's
    /// folder.
    ///
    /// Every shard is opened once and checked to contain the tensors the index places in it:
    /// a missing shard ([`IoError::MissingShard`]) or a listed tensor absent from its shard
    /// ([`IoError::TensorMissingFromShard`]) is an error naming both. Shard names must be
    /// plain file names ([`IoError::UnsafeShardPath`]), so an index cannot reach outside its
    /// folder. The index is authoritative: a tensor a shard holds but the index does not list
    /// is not visible, as in transformers.
    pub fn open_index(index_path: impl AsRef<Path>) -> Result<Checkpoint, IoError> {
        let index_path = index_path.as_ref();
        let source = index_path.display().to_string();
        let bytes = std::fs::read(index_path).map_err(|e| IoError::os(&source, "read", &e))?;
        let text = json_error::utf8(&source, &bytes, 0)?;
        let index: RawIndex = json_error::parse(&source, text, 0)?;
        let dir = index_path.parent().unwrap_or(Path::new(""));

        let mut shard_ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut shards = Vec::new();
        let mut locations = BTreeMap::new();
        for (tensor, shard) in &index.weight_map {
            let id = match shard_ids.get(shard.as_str()) {
                Some(&id) => id,
                None => {
                    if !is_plain_file_name(shard) {
                        return Err(IoError::UnsafeShardPath {
                            index: source,
                            shard: shard.clone(),
                            tensor: tensor.clone(),
                        });
                    }
                    let file = SafetensorsFile::open(dir.join(shard)).map_err(|e| {
                        IoError::MissingShard {
                            index: source.clone(),
                            shard: shard.clone(),
                            tensor: tensor.clone(),
                            source: Box::new(e),
                        }
                    })?;
                    shards.push(file);
                    shard_ids.insert(shard, shards.len() - 1);
                    shards.len() - 1
                }
            };
            if !shards[id].contains(tensor) {
                return Err(IoError::TensorMissingFromShard {
                    index: source,
                    shard: shard.clone(),
                    tensor: tensor.clone(),
                });
            }
            locations.insert(tensor.clone(), id);
        }
        Ok(Checkpoint {
            source,
            shards,
            locations,
        })
    }

    /// The index file (or single file) this checkpoint was opened from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The opened shard files, in the order first referenced.
    pub fn shards(&self) -> &[SafetensorsFile] {
        &self.shards
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.locations.len()
    }

    /// Whether the checkpoint holds no tensors.
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.locations.keys().map(String::as_str)
    }

    /// The tensor called `name`, or `None`.
    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        self.shards[*self.locations.get(name)?].get(name)
    }

    /// The tensor called `name`; [`IoError::TensorNotFound`] names the checkpoint and tensor
    /// if absent.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>, IoError> {
        self.get(name).ok_or_else(|| IoError::TensorNotFound {
            file: self.source.clone(),
            tensor: name.to_owned(),
        })
    }

    /// Every tensor, sorted by name.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> {
        self.names().filter_map(|n| self.get(n))
    }
}

/// Whether `name` is a single normal path component (no separators, `..`, or root).
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains('\\')
}
