//! The names of the side inputs penzai's own layers read and write, in one place, so that the
//! code that sets a side input and the layers that read it agree by construction.
//!
//! A layer that reads a side input keeps its name in a field (`positions_input` of
//! [`ApplyRoPE`](crate::nn::ApplyRoPE), `query_positions` of
//! [`ApplyCausalMask`](crate::nn::ApplyCausalMask), ...), so a model may be rewired to read
//! another one; these are the names the layers start with.
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::nn::side_inputs::TOKEN_POSITIONS;
//!
//! let cx = Context::new().with_side_input(TOKEN_POSITIONS, NamedArray::arange("seq", 4)?);
//! assert!(cx.side_input(TOKEN_POSITIONS).is_some());
//! # Ok::<(), penzai::Error>(())
//! ```

/// Each query token's position in its sequence (an `i64` array over `seq`, or over
/// `{batch, seq}`): read by rotary embeddings, learned position embeddings and causal masks;
/// set by [`generate`](crate::models::generate()) for each step.
pub const TOKEN_POSITIONS: &str = "token_positions";

/// Each key/value token's position (an `i64` array over `kv_seq`): set by
/// [`KVCachingAttention`](crate::nn::KVCachingAttention) for the cached keys it attends to,
/// and read by causal masks.
pub const KV_TOKEN_POSITIONS: &str = "kv_token_positions";
