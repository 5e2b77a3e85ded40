//! Reading and writing models' files: whole models ([`save`](fn@save) and [`load`]: structure
//! as JSON, parameters as safetensors), safetensors parameters (single and sharded HuggingFace
//! checkpoints) and HuggingFace `config.json`.
//!
//! Every reader bounds what a file may claim (lengths, offsets, element counts) against the
//! file itself before allocating, and fails with an [`IoError`] naming the file, the tensor or
//! key, and the byte offset — never a panic, an abort or an allocation the file did not
//! justify.
//!
//! ```
//! use std::collections::BTreeMap;
//! use penzai::io::{HostTensor, SafetensorsFile, TensorData, serialize_tensors};
//!
//! let ids = HostTensor::new(vec![3], TensorData::I64(vec![7, 8, 9])).unwrap();
//! let bytes = serialize_tensors([("ids".to_owned(), ids)], &BTreeMap::new())?;
//! let file = SafetensorsFile::from_bytes("ids.safetensors", bytes)?;
//! assert_eq!(file.tensor("ids")?.to_i64_vec()?, vec![7, 8, 9]);
//!
//! let err = file.tensor("nope").unwrap_err();
//! assert_eq!(err.to_string(), "ids.safetensors: no tensor named \"nope\"");
//! # Ok::<(), penzai::io::IoError>(())
//! ```
// The memory map is the one exception, allowed in `safetensors::mmap` alone.
#![deny(unsafe_code)]

mod dtype;
mod error;
pub mod hf;
pub mod hf_cache;
pub mod hf_config;
pub(crate) mod json_error;
mod named;
pub mod safetensors;
pub mod save;
mod tensor;

pub use dtype::{bf16_to_f32, f16_to_f32};
pub use error::IoError;
pub use hf_config::{
    Architecture, AttentionBias, HfConfig, HfGpt2Config, HfGptNeoxConfig, HfLlamaConfig,
    LlamaFamily,
};
pub use safetensors::{
    Checkpoint, INDEX_FILE_NAME, SINGLE_FILE_NAME, SafetensorsFile, TensorView, serialize_tensors,
    write_safetensors, write_tensors,
};
pub use save::{
    MAX_LAYER_DEPTH, PARAMETERS_FILE, STRUCTURE_FILE, SaveError, SavedModel, load, load_any,
    load_from_memory, register_layer, registered_layers, save, save_to_memory,
};
pub use tensor::{HostTensor, TensorData};
