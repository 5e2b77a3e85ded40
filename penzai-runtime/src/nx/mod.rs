//! Named-axis arrays: [`NamedArray`], Penzai's `pz.nx` in one type.
//!
//! An array's axes are either *named* (`batch`, `seq`, `embedding`) or *positional*. Named
//! axes broadcast and vectorize by name: `x + y` lines up axes with the same name whatever
//! their order, and adds the axes only one side has. Positional axes are what a local
//! function sees: [`NamedArray::untag`] turns named axes into positional ones, and
//! [`NamedArray::nmap`] runs a function on the positional axes of every slice.
//!
//! | Concept | Module |
//! |---|---|
//! | [`AxisName`] | `axis` |
//! | [`NamedShape`], [`ArrayShape`], [`IntoNamedShape`] | `shape` |
//! | [`DType`], [`Storage`] | `dtype` |
//! | [`NamedArray`], introspection, conversions, equality | `array` |
//! | `tag`, `untag`, `order_as`, `rename` | `axes` |
//! | constructors; seeded random arrays | `construct`, `random` |
//! | broadcasting by name | `align` |
//! | `+ - * /`, comparisons, `where_`, logic, `cast` | `elementwise` |
//! | `exp`, `gelu_*`, `map_f32`, ... | `math` |
//! | `contract`, `einsum` | `contract` |
//! | `sum`, `mean`, `max`, `var`, `softmax`, ... | `reduce` |
//! | `take`, `index_axis`, `slice_axis`, `concat`, `stack` | `index` |
//! | `nmap` | `nmap` |
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
mod math;
mod nmap;
mod random;
mod reduce;
mod shape;

#[cfg(test)]
mod props;

pub use array::NamedArray;
pub use axis::AxisName;
pub use dtype::{DType, Storage};
pub use error::AxisError;
pub use shape::{ArrayShape, IntoNamedShape, NamedShape};
