//! The safetensors format: reading (memory-mapped, validated), writing, and sharded
//! checkpoints.

mod checkpoint;
mod file;
mod header;
mod mmap;
#[cfg(test)]
mod tests;
mod view;
mod write;

pub use checkpoint::{Checkpoint, INDEX_FILE_NAME, SINGLE_FILE_NAME};
pub use file::SafetensorsFile;
pub use header::MAX_HEADER_LEN;
pub use view::TensorView;
pub use write::{serialize_tensors, write_safetensors, write_tensors};
