//! Constructors: filled arrays, ranges, arrays from flat data and from ndarrays.

use ndarray::{ArrayD, IxDyn};

use super::array::NamedArray;
use super::axis::AxisName;
use super::dtype::{Element, Storage};
use super::error::AxisError;
use super::shape::{ArrayShape, IntoNamedShape, NamedShape};
use super::shared::{ByteRegion, SharedArray};

/// The most elements an array may have: a buffer of any dtype (at most 8 bytes per
/// element) must fit in `isize::MAX` bytes, or allocating it would panic instead of failing.
pub(crate) const MAX_ELEMENTS: usize = isize::MAX as usize / 8;

/// The element count of an array whose axes have `sizes`, if an array of that shape can be
/// made: `None` when it cannot.
///
/// This is the one shape check every constructor, operation result and file loader goes
/// through, and it checks what the allocator and ndarray will check: the product of all
/// lengths (the buffer) and the product of the non-zero lengths (ndarray's stride arithmetic,
/// which it asserts even for an empty array) must both stay within [`MAX_ELEMENTS`]. A shape
/// like `[0, 2^63]` has no elements but is still refused.
pub(crate) fn checked_len(sizes: impl IntoIterator<Item = usize>) -> Option<usize> {
    let mut len = 1usize;
    let mut non_zero = 1usize;
    for size in sizes {
        len = len.saturating_mul(size);
        if size != 0 {
            non_zero = non_zero.checked_mul(size).filter(|&n| n <= MAX_ELEMENTS)?;
        }
    }
    // `len` is 0 or equals `non_zero`, which is within the bound.
    Some(len)
}

/// Whether one allocation of `bytes` is possible: the allocator is asked for that much and
/// the untouched buffer is released at once (so the answer costs nothing, whatever its size).
/// Layers use it to refuse, with a message, an array the machine cannot hold.
pub(crate) fn can_allocate(bytes: u128) -> bool {
    let Ok(bytes) = usize::try_from(bytes) else {
        return false;
    };
    bytes <= isize::MAX as usize && Vec::<u8>::new().try_reserve_exact(bytes).is_ok()
}

/// A checked shape: unique names and an element count that fits in memory addresses.
pub(crate) struct CheckedShape {
    pub names: Vec<AxisName>,
    pub sizes: Vec<usize>,
    pub len: usize,
}

impl CheckedShape {
    pub(crate) fn new(
        op: &'static str,
        shape: impl IntoNamedShape,
    ) -> Result<CheckedShape, AxisError> {
        let pairs = shape.into_pairs();
        let mut names: Vec<AxisName> = Vec::with_capacity(pairs.len());
        let mut sizes = Vec::with_capacity(pairs.len());
        for (name, size) in &pairs {
            if names.contains(name) {
                return Err(AxisError::RepeatedAxis {
                    op,
                    axis: name.clone(),
                });
            }
            names.push(name.clone());
            sizes.push(*size);
        }
        match checked_len(sizes.iter().copied()) {
            Some(len) => Ok(CheckedShape { names, sizes, len }),
            None => Err(AxisError::TooLarge {
                op,
                shape: ArrayShape {
                    positional: Box::default(),
                    named: NamedShape::new(pairs),
                },
            }),
        }
    }

    fn named_shape(&self) -> NamedShape {
        NamedShape::new(self.names.iter().cloned().zip(self.sizes.iter().copied()))
    }

    /// An empty buffer with room for every element, or an error if the allocator refuses it
    /// (a shape within [`MAX_ELEMENTS`] may still be more than the machine has).
    pub(crate) fn buffer<T>(&self, op: &'static str) -> Result<Vec<T>, AxisError> {
        let mut data = Vec::new();
        match data.try_reserve_exact(self.len) {
            Ok(()) => Ok(data),
            Err(_) => Err(AxisError::OutOfMemory {
                op,
                shape: self.named_shape(),
                bytes: self.len.saturating_mul(std::mem::size_of::<T>()),
            }),
        }
    }

    fn filled<T: Element + Clone>(
        self,
        op: &'static str,
        value: T,
    ) -> Result<NamedArray, AxisError> {
        // Probe with an untouched buffer, then let `from_elem` allocate: for zeros it asks
        // the allocator for zeroed memory, which costs nothing until written.
        drop(self.buffer::<T>(op)?);
        Ok(NamedArray::from_parts(
            T::into_storage(ArrayD::from_elem(IxDyn(&self.sizes), value)),
            self.names,
        ))
    }

    pub(crate) fn with_data<T: Element>(
        self,
        op: &'static str,
        data: Vec<T>,
    ) -> Result<NamedArray, AxisError> {
        if data.len() != self.len {
            return Err(AxisError::DataLength {
                op,
                expected: self.len,
                actual: data.len(),
                shape: self.named_shape(),
            });
        }
        // The shape passed `checked_len` and the length was checked just above: ndarray
        // checks nothing more.
        let array = ArrayD::from_shape_vec(IxDyn(&self.sizes), data).expect("length checked");
        Ok(NamedArray::from_parts(T::into_storage(array), self.names))
    }
}

impl NamedArray {
    /// An array of `data`, whose axes are named by `shape` in order; the sizes must match.
    pub(crate) fn from_storage(
        op: &'static str,
        shape: impl IntoNamedShape,
        data: Storage,
    ) -> Result<NamedArray, AxisError> {
        let shape = CheckedShape::new(op, shape)?;
        if shape.sizes != data.shape() {
            return Err(AxisError::DataLength {
                op,
                expected: shape.len,
                actual: data.shape().iter().product(),
                shape: shape.named_shape(),
            });
        }
        Ok(NamedArray::from_parts(data, shape.names))
    }

    /// An `f32` array of zeros.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::zeros(&[("batch", 2), ("seq", 3)])?;
    /// assert_eq!(x.named_shape().to_string(), "{batch: 2, seq: 3}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn zeros(shape: impl IntoNamedShape) -> Result<NamedArray, AxisError> {
        CheckedShape::new("zeros", shape)?.filled("zeros", 0.0f32)
    }

    /// An `f32` array of zeros whose memory is not touched until it is read or written: from
    /// 1 MiB on, an anonymous read-only memory map (the kernel supplies zeroed pages on first
    /// access; a write copies into an owned buffer, as for any borrowed array). For weights
    /// that are replaced before use, such as the zero-weight skeleton a checkpoint loader
    /// fills: `calloc` must `memset` large heap blocks once glibc's mmap threshold has risen
    /// after the first big frees, so that skeleton used to be written in full (GPT-2 small:
    /// 340 MB, the whole excess of `penzai logits` over the file's size).
    pub(crate) fn zeros_untouched(shape: impl IntoNamedShape) -> Result<NamedArray, AxisError> {
        const MIN_BYTES: usize = 1 << 20;
        let checked = CheckedShape::new("zeros", shape)?;
        let bytes = checked.len.saturating_mul(std::mem::size_of::<f32>());
        if bytes >= MIN_BYTES {
            let map = memmap2::MmapOptions::new()
                .len(bytes)
                .map_anon()
                .and_then(|m| m.make_read_only());
            // A failed map (address space limits) falls back to the allocator below.
            if let Ok(map) = map {
                let region: ByteRegion = std::sync::Arc::new(map);
                if let Some(data) =
                    SharedArray::<f32>::borrow_bytes(region, 0..bytes, &checked.sizes)
                {
                    return Ok(NamedArray::from_parts(Storage::F32(data), checked.names));
                }
            }
        }
        checked.filled("zeros", 0.0f32)
    }

    /// An `f32` array of ones.
    pub fn ones(shape: impl IntoNamedShape) -> Result<NamedArray, AxisError> {
        CheckedShape::new("ones", shape)?.filled("ones", 1.0f32)
    }

    /// An `f32` array with every element `value`.
    pub fn full(shape: impl IntoNamedShape, value: f32) -> Result<NamedArray, AxisError> {
        CheckedShape::new("full", shape)?.filled("full", value)
    }

    /// An `i64` array with every element `value`.
    pub fn full_i64(shape: impl IntoNamedShape, value: i64) -> Result<NamedArray, AxisError> {
        CheckedShape::new("full_i64", shape)?.filled("full_i64", value)
    }

    /// A `bool` array with every element `value` (a mask).
    pub fn full_bool(shape: impl IntoNamedShape, value: bool) -> Result<NamedArray, AxisError> {
        CheckedShape::new("full_bool", shape)?.filled("full_bool", value)
    }

    /// An `f32` array without axes.
    pub fn scalar(value: f32) -> NamedArray {
        NamedArray::from_parts(
            Storage::F32(ArrayD::from_elem(IxDyn(&[]), value).into()),
            vec![],
        )
    }

    /// An `i64` array without axes.
    pub fn scalar_i64(value: i64) -> NamedArray {
        NamedArray::from_parts(
            Storage::I64(ArrayD::from_elem(IxDyn(&[]), value).into()),
            vec![],
        )
    }

    /// The `i64` values `0, 1, .., n-1` along one axis `name` (positions, token ids).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// assert_eq!(NamedArray::arange("seq", 4)?.to_i64_vec(), [0, 1, 2, 3]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn arange(name: &str, n: usize) -> Result<NamedArray, AxisError> {
        let shape = CheckedShape::new("arange", &[(name, n)])?;
        let data: Vec<i64> = (0..n as i64).collect();
        shape.with_data("arange", data)
    }

    /// The `f32` values `0, 1, .., n-1` along one axis `name`.
    pub fn arange_f32(name: &str, n: usize) -> Result<NamedArray, AxisError> {
        let shape = CheckedShape::new("arange_f32", &[(name, n)])?;
        let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
        shape.with_data("arange_f32", data)
    }

    /// An `f32` array from row-major data in the order of `shape`.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("a", 2), ("b", 2)], vec![1., 2., 3., 4.])?;
    /// assert_eq!(x.to_f32_vec(), [1., 2., 3., 4.]);
    /// let err = NamedArray::from_f32(&[("a", 2)], vec![1.]).unwrap_err();
    /// assert_eq!(err.to_string(), "from_f32: the data has 1 elements but the shape {a: 2} needs 2");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn from_f32(shape: impl IntoNamedShape, data: Vec<f32>) -> Result<NamedArray, AxisError> {
        CheckedShape::new("from_f32", shape)?.with_data("from_f32", data)
    }

    /// An `i64` array from row-major data in the order of `shape`.
    pub fn from_i64(shape: impl IntoNamedShape, data: Vec<i64>) -> Result<NamedArray, AxisError> {
        CheckedShape::new("from_i64", shape)?.with_data("from_i64", data)
    }

    /// A `bool` array from row-major data in the order of `shape`.
    pub fn from_bool(shape: impl IntoNamedShape, data: Vec<bool>) -> Result<NamedArray, AxisError> {
        CheckedShape::new("from_bool", shape)?.with_data("from_bool", data)
    }

    /// An `f16` array from row-major data in the order of `shape` (parameters kept at 16
    /// bits; arithmetic on them produces `f32`).
    pub fn from_f16(
        shape: impl IntoNamedShape,
        data: Vec<half::f16>,
    ) -> Result<NamedArray, AxisError> {
        CheckedShape::new("from_f16", shape)?.with_data("from_f16", data)
    }

    /// A `bf16` array from row-major data in the order of `shape` (parameters kept at 16
    /// bits; arithmetic on them produces `f32`).
    ///
    /// ```
    /// use penzai::nx::{DType, NamedArray, bf16};
    ///
    /// let w = NamedArray::from_bf16(&[("a", 2)], vec![bf16::from_f32(1.5), bf16::from_f32(-2.0)])?;
    /// assert_eq!(w.dtype(), DType::BF16);
    /// assert_eq!((&w * 2.0)?.dtype(), DType::F32);
    /// assert_eq!(w.to_f32_vec(), [1.5, -2.0]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn from_bf16(
        shape: impl IntoNamedShape,
        data: Vec<half::bf16>,
    ) -> Result<NamedArray, AxisError> {
        CheckedShape::new("from_bf16", shape)?.with_data("from_bf16", data)
    }

    /// An `f32` array from an ndarray, naming every axis in order; the data is not copied.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_ndarray(ndarray::ArrayD::zeros(vec![2, 3]), &["a", "b"])?;
    /// assert_eq!(x.named_shape().to_string(), "{a: 2, b: 3}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn from_ndarray(array: ArrayD<f32>, names: &[&str]) -> Result<NamedArray, AxisError> {
        let wrapped = NamedArray::wrap(array);
        if names.len() != wrapped.n_pos() {
            return Err(AxisError::PositionalCount {
                op: "from_ndarray",
                expected: wrapped.n_pos(),
                got: names.len(),
                shape: wrapped.full_shape(),
            });
        }
        wrapped.tag(names)
    }

    /// An `f32` array whose axes are all positional (Penzai's `wrap`); name them with
    /// [`tag`](NamedArray::tag).
    pub fn wrap(array: ArrayD<f32>) -> NamedArray {
        NamedArray::from_parts(Storage::F32(array.into()), vec![])
    }

    /// An `i64` array whose axes are all positional.
    pub fn wrap_i64(array: ArrayD<i64>) -> NamedArray {
        NamedArray::from_parts(Storage::I64(array.into()), vec![])
    }

    /// A `bool` array whose axes are all positional.
    pub fn wrap_bool(array: ArrayD<bool>) -> NamedArray {
        NamedArray::from_parts(Storage::Bool(array.into()), vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nx::DType;

    #[test]
    fn untouched_zeros_read_as_zeros_and_copy_on_write() {
        let big = NamedArray::zeros_untouched(&[("a", 512), ("b", 1024)]).unwrap();
        assert_eq!(big.named_shape().to_string(), "{a: 512, b: 1024}");
        assert!(matches!(&big.data, Storage::F32(a) if a.is_borrowed()));
        assert_eq!(big.count_non_finite(), 0);
        assert!(big.to_f32_vec().iter().all(|v| *v == 0.0));
        let mut written = big.clone();
        written.map_f32_inplace(|v| v + 1.0).unwrap();
        assert_eq!(written.to_f32_vec()[0], 1.0);
        assert_eq!(big.to_f32_vec()[0], 0.0);
        // Below 1 MiB: an ordinary owned array.
        let small = NamedArray::zeros_untouched(&[("a", 4)]).unwrap();
        assert!(matches!(&small.data, Storage::F32(a) if !a.is_borrowed()));
    }

    #[test]
    fn filled_constructors_have_the_shape_and_value() {
        let z = NamedArray::zeros(&[("batch", 2), ("seq", 3)]).unwrap();
        assert_eq!(z.named_shape().to_string(), "{batch: 2, seq: 3}");
        assert_eq!(z.to_f32_vec(), [0.0; 6]);
        assert_eq!(
            NamedArray::ones(&[("a", 2)]).unwrap().to_f32_vec(),
            [1.0, 1.0]
        );
        assert_eq!(
            NamedArray::full(&[("a", 2)], 7.5).unwrap().to_f32_vec(),
            [7.5, 7.5]
        );
        let m = NamedArray::full_bool(&[("a", 1)], true).unwrap();
        assert_eq!((m.dtype(), m.to_bool_vec()), (DType::Bool, vec![true]));
        assert_eq!(
            NamedArray::full_i64(&[("a", 1)], -3).unwrap().to_i64_vec(),
            [-3]
        );
    }

    #[test]
    fn shapes_reject_repeated_names() {
        let err = NamedArray::zeros(&[("a", 2), ("a", 3)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "zeros: axis \"a\" is listed more than once"
        );
    }

    #[test]
    fn shapes_reject_impossible_sizes() {
        let err = NamedArray::zeros(&[("a", usize::MAX), ("b", 2)]).unwrap_err();
        assert!(
            matches!(err, AxisError::TooLarge { op: "zeros", .. }),
            "{err}"
        );
    }

    #[test]
    fn shapes_with_a_zero_still_bound_the_other_lengths() {
        // ndarray checks the product of the non-zero lengths even when there are no elements:
        // [0, 2^63] must be refused like [2^63, 0], not panic inside ndarray.
        for pairs in [
            [("a", 0), ("b", 1usize << 63)],
            [("a", 1usize << 63), ("b", 0)],
            [("a", 0), ("b", usize::MAX)],
        ] {
            let err = NamedArray::zeros(&pairs).unwrap_err();
            assert!(
                matches!(err, AxisError::TooLarge { op: "zeros", .. }),
                "{err}"
            );
            let err = NamedArray::from_f32(&pairs, vec![]).unwrap_err();
            assert!(
                matches!(err, AxisError::TooLarge { op: "from_f32", .. }),
                "{err}"
            );
        }
        assert_eq!(checked_len([0, MAX_ELEMENTS]), Some(0));
        assert_eq!(
            checked_len([2, MAX_ELEMENTS / 2]),
            Some(MAX_ELEMENTS / 2 * 2)
        );
        assert_eq!(checked_len([0, MAX_ELEMENTS, 2]), None);
        assert_eq!(checked_len([]), Some(1));
        let empty = NamedArray::zeros(&[("a", 0), ("b", 1 << 40)]).unwrap();
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn shapes_accept_named_shapes_of_other_arrays() {
        let x = NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap();
        let y = NamedArray::ones(x.named_shape()).unwrap();
        assert_eq!(y.named_shape(), x.named_shape());
        let z = NamedArray::ones(x.named_shape().as_pairs()).unwrap();
        assert_eq!(z.named_shape(), x.named_shape());
    }

    #[test]
    fn scalars_have_no_axes() {
        let s = NamedArray::scalar(3.0);
        assert_eq!(
            (s.len(), s.named_shape().len(), s.positional_shape().len()),
            (1, 0, 0)
        );
        assert_eq!(NamedArray::scalar_i64(4).to_i64_vec(), [4]);
    }

    #[test]
    fn aranges_count_from_zero() {
        let r = NamedArray::arange("seq", 3).unwrap();
        assert_eq!((r.dtype(), r.to_i64_vec()), (DType::I64, vec![0, 1, 2]));
        assert_eq!(
            NamedArray::arange_f32("x", 3).unwrap().to_f32_vec(),
            [0.0, 1.0, 2.0]
        );
    }

    #[test]
    fn flat_data_must_match_the_shape() {
        let x = NamedArray::from_i64(&[("a", 2), ("b", 2)], vec![1, 2, 3, 4]).unwrap();
        assert_eq!(x.to_i64_vec(), [1, 2, 3, 4]);
        let err = NamedArray::from_bool(&[("a", 2), ("b", 2)], vec![true]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_bool: the data has 1 elements but the shape {a: 2, b: 2} needs 4"
        );
    }

    #[test]
    fn from_ndarray_names_every_axis() {
        let err = NamedArray::from_ndarray(ArrayD::zeros(vec![2, 3]), &["a"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_ndarray: got 1 names for 2 positional axes in {} + positional [2, 3]"
        );
        let w = NamedArray::wrap(ArrayD::zeros(vec![2, 3]));
        assert_eq!(w.positional_shape(), [2, 3]);
    }
}
