//! Named-axis arrays: [`NamedArray`], Penzai's `pz.nx` in one type.
//!
//! An array's axes are either *named* (`batch`, `seq`, `embedding`) or *positional*. Named
//! axes broadcast and vectorize by name: `x + y` lines up axes with the same name whatever
//! their order, and adds the axes only one side has. Positional axes are what a local
//! function sees: [`NamedArray::untag`] turns named axes into positional ones, and
//! [`NamedArray::nmap`] runs a function on the positional axes of every slice.
//!
//! ```
//! use penzai::nx::NamedArray;
//!
//! // Broadcasting by name: {batch} + {embedding} is an outer sum {batch, embedding}.
//! let x = NamedArray::from_f32(&[("batch", 2)], vec![0., 10.])?;
//! let bias = NamedArray::from_f32(&[("embedding", 3)], vec![1., 2., 3.])?;
//! let y = (&x + &bias)?;
//! assert_eq!(y.named_shape().to_string(), "{batch: 2, embedding: 3}");
//! assert_eq!(y.to_f32_vec(), [1., 2., 3., 11., 12., 13.]);
//!
//! // Shared names line up whatever the order; their sizes must agree (no stretching).
//! assert_eq!((&y - &y.move_to_front(&["embedding"])?)?, NamedArray::zeros(y.named_shape())?);
//! let wrong = NamedArray::zeros(&[("batch", 3)])?;
//! assert_eq!(
//!     (&y + &wrong).unwrap_err().to_string(),
//!     "cannot add: axis \"batch\" has size 2 on the left but 3 on the right: \
//!      left is {batch: 2, embedding: 3}, right is {batch: 3}"
//! );
//! # Ok::<(), penzai::nx::AxisError>(())
//! ```
//!
//! | Concept | Module |
//! |---|---|
//! | [`AxisName`] | `axis` |
//! | [`NamedShape`], [`ArrayShape`], [`IntoNamedShape`] | `shape` |
//! | [`DType`], [`Storage`] | `dtype` |
//! | [`SharedArray`]: owned or borrowed (memory-mapped) elements | `shared` |
//! | [`NamedArray`], introspection, conversions, equality | `array` |
//! | `tag`, `untag`, `order_as`, `rename` | `axes` |
//! | `canonicalize`, `order_like`, `unwrap`; `zeros_of`/`ones_of`/`full_of` (a dtype argument) | `order` |
//! | constructors; seeded random arrays | `construct`, `random` |
//! | broadcasting by name | `align` |
//! | `+ - * /`, comparisons, `where_`, logic, `cast` | `elementwise` |
//! | `exp`, `gelu_*`, `map_f32`, ... | `math` |
//! | `contract`, `einsum` | `contract` |
//! | `sum`, `mean`, `max`, `var`, `softmax`, ... | `reduce` |
//! | `take`, `index_axis`, `slice_axis`, `concat`, `stack` | `index` |
//! | dict indexing: [`Indexer`], `idx!`, [`NamedArray::index`] | `indexer` |
//! | indexed updates and scatter-add: [`NamedArray::at`], [`IndexedUpdate`] | `update` |
//! | positional reductions, `reshape_positional`, `broadcast_to_full` | `positional` |
//! | `scan` over a named axis with a carry | `scan` |
//! | `nmap` (f32 views); `nmap_any`, `nmap_many` (any dtype, several outputs) | `nmap`, `nmap_any` |
//! | [`Tape`]: reverse-mode gradients of any computation over these ops | `tape` |
//! | [`AxisError`] | `error` |

mod align;
mod array;
mod axes;
mod axis;
mod construct;
mod contract;
mod dtype;
mod elementwise;
mod error;
mod index;
mod indexer;
pub(crate) mod kernels;
mod math;
mod matmul;
mod matvec;
mod nmap;
mod nmap_any;
mod order;
mod positional;
mod random;
mod reduce;
mod scan;
mod shape;
mod shared;
mod slice_map;
pub mod tape;
mod update;

#[cfg(test)]
mod props;

pub use array::NamedArray;
pub use axis::AxisName;
pub(crate) use construct::{can_allocate, checked_len};
pub use dtype::{DType, Storage};
pub use error::AxisError;
/// The 16-bit float element types of `F16` and `BF16` arrays (from the `half` crate).
pub use half::{bf16, f16};
pub use indexer::{AxisIndex, Indexer, IntoAxisIndex, NewAxis, Slice};
pub use shape::{ArrayShape, IntoNamedShape, NamedShape};
pub use shared::{ArrayElement, SharedArray};
pub(crate) use shared::{ByteRegion, extend_logical};
pub use tape::{GradError, ReleasedNode, Tape};
pub(crate) use tape::{Trace, pause, record, recorded_trace, untraced};
pub use update::IndexedUpdate;
