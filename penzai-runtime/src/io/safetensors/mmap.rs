//! The one place penzai maps a file into memory: the crate's only `unsafe` io code.

use std::fs::File;

use memmap2::Mmap;

/// Maps `file` read-only into memory.
///
/// # Why this is sound enough
///
/// `Mmap::map` is `unsafe` because Rust cannot promise that the bytes behind the returned
/// `&[u8]` stay unchanged: if another process writes to the file while it is mapped, the slice
/// changes under safe code (formally undefined behaviour), and if another process truncates it,
/// touching the lost pages raises `SIGBUS` and kills this process. No other in-process alias
/// exists: the map is private to [`SafetensorsFile`](super::SafetensorsFile), which hands out
/// only shared borrows tied to its own lifetime, and the map is read-only, so nothing in this
/// process writes through it.
///
/// We accept the cross-process risk, as candle and the reference safetensors implementation do:
/// checkpoints are treated as immutable while open, and copying multi-gigabyte files into memory
/// to rule out a concurrent writer would defeat the point of mapping. Callers who cannot accept
/// it use [`SafetensorsFile::read`](super::SafetensorsFile::read), which copies the file instead.
/// The header is validated once, from the mapped bytes, before any view is handed out; a
/// concurrent writer could therefore make views read changed values, but every slice bound was
/// checked against the map's length, which cannot change.
#[allow(unsafe_code)]
pub(super) fn map_read_only(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: see the function documentation: read-only, private to its owner, and the
    // cross-process mutation risk is documented and accepted.
    unsafe { Mmap::map(file) }
}
