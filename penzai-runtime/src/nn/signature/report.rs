//! The one place constant evaluation stops with an axis-flow error.
//!
//! Kept in its own small file: rustc's `evaluation panicked` diagnostic notes this line,
//! and the compile-fail snapshots quote it.

use super::Message;

/// Fails constant evaluation with `message`; rustc reports it at the `model!` step whose
/// check called this.
pub const fn fail(message: &Message) -> ! {
    panic!("{}", message.as_str())
}
