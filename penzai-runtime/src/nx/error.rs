//! `AxisError`: everything that can go wrong with named axes, shapes and dtypes.
//!
//! Messages are documentation: each names the operation, the axis and the shapes of the
//! arrays involved, so the reader can see the mismatch without a debugger.

use std::fmt::Write as _;

use super::axis::AxisName;
use super::dtype::DType;
use super::shape::{ArrayShape, NamedShape};

/// An error from a named-array operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AxisError {
    /// An operation got elements of a dtype it does not accept.
    #[error(
        "{op} does not accept {} arrays (it needs {expected})",
        list_dtypes(got)
    )]
    DType {
        /// The operation.
        op: &'static str,
        /// The dtypes it got, one per array argument.
        got: Vec<DType>,
        /// What it accepts, in words (`"f32"`, `"f32 or i64"`).
        expected: &'static str,
    },
    /// A contraction axis is missing on one side.
    #[error("cannot contract over {axis:?}: left is {left}, right is {right}")]
    ContractMissing {
        /// The axis to contract over.
        axis: AxisName,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// A contraction axis has different sizes on the two sides.
    #[error(
        "cannot contract over {axis:?}: its size is {left_size} on the left but {right_size} on the right: left is {left}, right is {right}"
    )]
    ContractSize {
        /// The axis to contract over.
        axis: AxisName,
        /// Its size on the left.
        left_size: usize,
        /// Its size on the right.
        right_size: usize,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// An `einsum` output axis is on neither operand.
    #[error("einsum: output axis {axis:?} is on neither side: left is {left}, right is {right}")]
    EinsumOutput {
        /// The output axis.
        axis: AxisName,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// Two operands share named axes whose sizes differ (named axes never stretch).
    #[error(
        "cannot {op}: {}: left is {left}, right is {right}",
        describe_sizes(sizes)
    )]
    SizeMismatch {
        /// The operation.
        op: &'static str,
        /// Each shared axis with different sizes: name, size on the left, size on the right.
        sizes: Vec<(AxisName, usize, usize)>,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// Several arguments disagree on the sizes of some named axes.
    #[error(
        "inconsistent named axes in {op} for {axes:?}: {}",
        describe_args(args)
    )]
    Inconsistent {
        /// The operation.
        op: &'static str,
        /// Every axis whose sizes disagree.
        axes: Vec<AxisName>,
        /// The shape of every argument, in order.
        args: Vec<ArrayShape>,
    },
    /// Arrays that must have one shape (apart from the axis being joined) do not.
    #[error(
        "{op} needs arrays of one shape apart from axis {axis:?}: {}",
        describe_args(args)
    )]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// The axis being joined.
        axis: AxisName,
        /// The shape of every argument, in order.
        args: Vec<ArrayShape>,
    },
    /// Positional shapes that do not broadcast (numpy rules, right-aligned).
    #[error(
        "cannot {op}: positional shapes {:?} and {:?} do not broadcast: left is {left}, right is {right}",
        left.positional,
        right.positional
    )]
    PositionalBroadcast {
        /// The operation.
        op: &'static str,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// An axis that the operation needs is not there.
    #[error("{op}: no axis {axis:?} in {shape}")]
    MissingAxis {
        /// The operation.
        op: &'static str,
        /// The missing axis.
        axis: AxisName,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// A name the operation would add is already used.
    #[error("{op}: axis {axis:?} already exists in {shape}")]
    AxisExists {
        /// The operation.
        op: &'static str,
        /// The axis.
        axis: AxisName,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// An operation that needs every named axis listed was not given this one.
    #[error("{op}: axis {axis:?} of {shape} is not listed")]
    NotListed {
        /// The operation.
        op: &'static str,
        /// The axis left out.
        axis: AxisName,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// An operation that needs every named axis listed (Penzai's `order_as`) was given only
    /// some of them.
    #[error("{op} needs every named axis of {shape}; missing {missing:?}")]
    Unlisted {
        /// The operation.
        op: &'static str,
        /// The axes left out, in the array's logical order.
        missing: Vec<AxisName>,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// The same name was given twice.
    #[error("{op}: axis {axis:?} is listed more than once")]
    RepeatedAxis {
        /// The operation.
        op: &'static str,
        /// The repeated axis.
        axis: AxisName,
    },
    /// The number of names does not match the number of positional axes.
    #[error("{op}: got {got} names for {expected} positional axes in {shape}")]
    PositionalCount {
        /// The operation.
        op: &'static str,
        /// The number of positional axes.
        expected: usize,
        /// The number of names given.
        got: usize,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// The operation works on named axes only, and the array has positional ones.
    #[error("{op} needs an array without positional axes, got {shape}")]
    HasPositional {
        /// The operation.
        op: &'static str,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// A flat data buffer has the wrong length for its shape.
    #[error("{op}: the data has {actual} elements but the shape {shape} needs {expected}")]
    DataLength {
        /// The constructor.
        op: &'static str,
        /// The number of elements the shape needs.
        expected: usize,
        /// The number of elements given.
        actual: usize,
        /// The shape.
        shape: NamedShape,
    },
    /// A slice with step 0.
    #[error("index: the slice of axis {axis:?} has step 0")]
    SliceStep {
        /// The sliced axis.
        axis: AxisName,
    },
    /// A shape whose element count does not fit in memory addresses.
    #[error("{op}: the shape {shape} has too many elements")]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// The shape.
        shape: ArrayShape,
    },
    /// A shape that can be made, but whose buffer the allocator refused.
    #[error("{op}: cannot allocate {bytes} bytes for the shape {shape}")]
    OutOfMemory {
        /// The operation.
        op: &'static str,
        /// The shape.
        shape: NamedShape,
        /// The size of the buffer asked for.
        bytes: usize,
    },
    /// An index outside an axis.
    #[error("{op}: index {index} is out of range for axis {axis:?} of size {size}")]
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis.
        axis: AxisName,
        /// The bad index.
        index: i64,
        /// The axis size.
        size: usize,
    },
    /// A slice outside an axis, or with a zero step.
    #[error(
        "slice_axis: {start}..{end} step {step} is not a valid slice of axis {axis:?} of size {size}"
    )]
    BadSlice {
        /// The axis.
        axis: AxisName,
        /// Start of the range.
        start: usize,
        /// End of the range (exclusive).
        end: usize,
        /// Step.
        step: usize,
        /// The axis size.
        size: usize,
    },
    /// A reduction with no identity over an empty axis (`max` of nothing).
    #[error("{op} over zero-size axes {axes:?} has no identity: {shape}")]
    EmptyReduction {
        /// The reduction.
        op: &'static str,
        /// The reduced axes.
        axes: Vec<AxisName>,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// A scalar was expected.
    #[error("expected a scalar (no axes), got {shape}")]
    NotScalar {
        /// The array's shape.
        shape: ArrayShape,
    },
    /// `scan` over an axis of size 0 cannot call the function to learn its output shape.
    #[error("scan over axis {axis:?} of size 0 cannot infer the output shape")]
    ScanEmpty {
        /// The scanned axis.
        axis: AxisName,
    },
    /// A positional axis number beyond the array's positional axes.
    #[error("{op}: no positional axis {axis} in {shape}")]
    PositionalAxis {
        /// The operation.
        op: &'static str,
        /// The axis number asked for.
        axis: usize,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// An integer index outside a positional axis.
    #[error(
        "{op}: index {index} is out of range for positional axis {axis} (size {size}) of {shape}"
    )]
    PositionalIndex {
        /// The operation.
        op: &'static str,
        /// The positional axis number.
        axis: usize,
        /// The index given.
        index: i64,
        /// The axis size.
        size: usize,
        /// The array's shape.
        shape: ArrayShape,
    },
    /// A slice of a positional axis with step 0.
    #[error("{op}: the slice of positional axis {axis} has step 0")]
    PositionalSliceStep {
        /// The operation.
        op: &'static str,
        /// The positional axis number.
        axis: usize,
    },
    /// A positional contraction whose contracted axes do not line up.
    #[error(
        "{op}: cannot contract the last {n} positional axes of {left} with the first {n} of {right}"
    )]
    PositionalContract {
        /// The operation.
        op: &'static str,
        /// How many axes were to be contracted.
        n: usize,
        /// The left operand's shape.
        left: ArrayShape,
        /// The right operand's shape.
        right: ArrayShape,
    },
    /// A positional reshape to a different element count.
    #[error("cannot reshape the positional axes of {shape} to {to:?}")]
    Reshape {
        /// The array's shape.
        shape: ArrayShape,
        /// The positional shape asked for.
        to: Vec<usize>,
    },
    /// An operation over a list of arrays got none.
    #[error("{op} needs at least one array")]
    NoArrays {
        /// The operation.
        op: &'static str,
    },
    /// The function given to `nmap` returned differently shaped results for different slices.
    #[error(
        "nmap: the function returned shape {first:?} for the first slice but {got:?} for a later one; it must return one shape"
    )]
    NmapOutputShape {
        /// The shape of the first result.
        first: Vec<usize>,
        /// The shape of a later result.
        got: Vec<usize>,
    },
    /// An `nmap` function returned an array with named axes (it sees and returns positional
    /// axes only; the names are added back around it).
    #[error(
        "nmap: the function returned output {output} with named axes {shape}; it must return positional axes only"
    )]
    NmapNamedOutput {
        /// Which output.
        output: usize,
        /// Its shape.
        shape: ArrayShape,
    },
    /// An `nmap` function returned a different number of outputs or a different dtype for a
    /// later slice than for the first.
    #[error(
        "nmap: the function returned {first} for the first slice but {got} for a later one; it must return the same every time"
    )]
    NmapOutputKind {
        /// What the first call returned (count and dtypes).
        first: String,
        /// What a later call returned.
        got: String,
    },
    /// `nmap` over an empty named axis cannot call the function to learn its output shape.
    #[error("nmap over a zero-size named axis cannot infer the output shape: {shape}")]
    NmapEmpty {
        /// The union of the arguments' named shapes.
        shape: NamedShape,
    },
}

fn list_dtypes(dtypes: &[DType]) -> String {
    let names: Vec<&str> = dtypes.iter().map(|d| d.name()).collect();
    names.join(" and ")
}

fn describe_sizes(sizes: &[(AxisName, usize, usize)]) -> String {
    let mut out = String::new();
    for (i, (axis, l, r)) in sizes.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "axis {axis:?} has size {l} on the left but {r} on the right"
        );
    }
    out
}

fn describe_args(args: &[ArrayShape]) -> String {
    let mut out = String::new();
    for (i, shape) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "args[{i}] is {shape}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small_enough_to_return_by_value() {
        // clippy's `result_large_err` starts at 128 bytes; every `Result` in the crate
        // carries this type (wrapped in `penzai::Error`).
        assert!(
            std::mem::size_of::<AxisError>() <= 112,
            "{}",
            std::mem::size_of::<AxisError>()
        );
    }
}
