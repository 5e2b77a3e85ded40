//! `SharedArray`: the elements of one dtype behind a `NamedArray`, either owned
//! (reference-counted, copy-on-write) or borrowed from shared read-only bytes such as a
//! memory-mapped checkpoint.
//!
//! Borrowing is what lets a loaded F32, F16 or BF16 checkpoint cost no copy: the array's
//! elements *are* the file's bytes. Layout changes (permuting, slicing, indexing an axis)
//! only move an offset and strides, for both kinds; the first write copies (to an owned
//! buffer), so an edit never reaches the file or another clone.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;

use ndarray::{
    ArcArray, ArrayD, ArrayViewD, ArrayViewMutD, Axis, Dimension, IxDyn, ShapeBuilder, Slice,
};

/// Appends the elements of `view` to `out` in logical (row-major) order: one slice copy when
/// the view is contiguous, else one per row along the last axis (a `memcpy` each when that
/// axis is unit-stride), rather than ndarray's element iterator, which steps an
/// n-dimensional index per element (16% of GPT-2 small's decode when the fused attention
/// copied its cache that way).
pub(crate) fn extend_logical<T: Clone>(view: &ArrayViewD<'_, T>, out: &mut Vec<T>) {
    if let Some(s) = view.as_slice() {
        out.extend_from_slice(s);
        return;
    }
    if view.ndim() == 0 {
        out.extend(view.iter().cloned());
        return;
    }
    out.reserve(view.len());
    for row in view.rows() {
        match row.as_slice() {
            Some(s) => out.extend_from_slice(s),
            None => out.extend(row.iter().cloned()),
        }
    }
}

/// Read-only bytes that arrays may borrow from: a memory map or an owned buffer. Their
/// address never changes while shared (both `Mmap` and `Vec<u8>` keep their data in place).
pub(crate) type ByteRegion = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// An n-dimensional array of `T`, shared by its clones: owned, or borrowed from shared bytes.
///
/// Cloning never copies elements. Reading goes through [`view`](SharedArray::view); writing
/// copies first when the elements are borrowed or shared with another clone.
pub struct SharedArray<T> {
    repr: Repr<T>,
}

enum Repr<T> {
    Owned(ArcArray<T, IxDyn>),
    Borrowed(Borrowed<T>),
}

/// Elements that live in `bytes[start..end]`, read as `T` (alignment and length checked when
/// the region was adopted), laid out by `dims` and non-negative `strides` from `offset`.
struct Borrowed<T> {
    bytes: ByteRegion,
    start: usize,
    end: usize,
    offset: usize,
    dims: IxDyn,
    strides: IxDyn,
    _element: PhantomData<T>,
}

impl<T> Clone for Borrowed<T> {
    fn clone(&self) -> Self {
        Borrowed {
            bytes: Arc::clone(&self.bytes),
            start: self.start,
            end: self.end,
            offset: self.offset,
            dims: self.dims.clone(),
            strides: self.strides.clone(),
            _element: PhantomData,
        }
    }
}

impl<T> Clone for SharedArray<T> {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Owned(a) => Repr::Owned(a.clone()),
            Repr::Borrowed(b) => Repr::Borrowed(b.clone()),
        };
        SharedArray { repr }
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedArray")
            .field("shape", &self.shape())
            .field("borrowed", &self.is_borrowed())
            .finish()
    }
}

impl<T: Clone> From<ArrayD<T>> for SharedArray<T> {
    fn from(a: ArrayD<T>) -> Self {
        SharedArray {
            repr: Repr::Owned(a.into_shared()),
        }
    }
}

impl<T> From<ArcArray<T, IxDyn>> for SharedArray<T> {
    fn from(a: ArcArray<T, IxDyn>) -> Self {
        SharedArray {
            repr: Repr::Owned(a),
        }
    }
}

impl<T: bytemuck::Pod> SharedArray<T> {
    /// Adopts `bytes[range]` as a row-major array of `shape`, without copying; `None` when the
    /// bytes cannot be read in place as `T` (misaligned, wrong length, or a big-endian host,
    /// since stored tensors are little-endian). The caller then copies instead.
    pub(crate) fn borrow_bytes(
        bytes: ByteRegion,
        range: Range<usize>,
        shape: &[usize],
    ) -> Option<SharedArray<T>> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let region = (*bytes).as_ref().get(range.clone())?;
        let elements: &[T] = bytemuck::try_cast_slice(region).ok()?;
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
        if count != elements.len() || count == 0 {
            return None;
        }
        let dims = IxDyn(shape);
        let strides = dims.default_strides();
        Some(SharedArray {
            repr: Repr::Borrowed(Borrowed {
                bytes,
                start: range.start,
                end: range.end,
                offset: 0,
                dims,
                strides,
                _element: PhantomData,
            }),
        })
    }
}

impl<T> SharedArray<T> {
    /// The sizes of all axes.
    pub fn shape(&self) -> &[usize] {
        match &self.repr {
            Repr::Owned(a) => a.shape(),
            Repr::Borrowed(b) => b.dims.slice(),
        }
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// True when the elements are borrowed from shared bytes (a memory-mapped file) rather
    /// than owned.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.repr, Repr::Borrowed(_))
    }
}

impl<T: ArrayElement> SharedArray<T> {
    /// A read-only view of the elements.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        match &self.repr {
            Repr::Owned(a) => a.view(),
            Repr::Borrowed(b) => {
                let all = T::read(&(*b.bytes).as_ref()[b.start..b.end]);
                // `dims`, `strides` and `offset` always come from a valid view of `all`
                // (checked when adopted, and kept by every layout change).
                ArrayViewD::from_shape(b.dims.clone().strides(b.strides.clone()), &all[b.offset..])
                    .expect("layout of a view of these elements")
            }
        }
    }

    /// The elements as one slice when they are contiguous in logical row-major order.
    pub fn as_slice(&self) -> Option<&[T]> {
        match &self.repr {
            Repr::Owned(a) => a.as_slice(),
            Repr::Borrowed(_) => self.view().to_slice(),
        }
    }

    /// A pointer to the first element (for identity checks: clones share it).
    pub fn as_ptr(&self) -> *const T {
        match &self.repr {
            Repr::Owned(a) => a.as_ptr(),
            Repr::Borrowed(_) => self.view().as_ptr(),
        }
    }

    /// The elements as an owned array (a copy, in logical order).
    pub fn to_owned_array(&self) -> ArrayD<T> {
        self.view().to_owned()
    }

    /// True when no other clone shares these elements (tests of what a gradient tape keeps
    /// alive); borrowed elements are never unique.
    #[cfg(test)]
    pub(crate) fn is_unique(&self) -> bool {
        match &self.repr {
            Repr::Owned(a) => a.is_unique(),
            Repr::Borrowed(_) => false,
        }
    }

    /// A mutable view; copies first when the elements are borrowed or shared with a clone.
    pub(crate) fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        if let Repr::Borrowed(_) = self.repr {
            self.repr = Repr::Owned(self.view().to_owned().into_shared());
        }
        match &mut self.repr {
            Repr::Owned(a) => a.view_mut(),
            Repr::Borrowed(_) => unreachable!("made owned just above"),
        }
    }

    /// Applies a layout-only change: `owned` to an owned array, `view` to a borrowed one,
    /// whose result is recorded as an offset and strides into the same bytes.
    fn relayout(
        &self,
        owned: impl FnOnce(ArcArray<T, IxDyn>) -> ArcArray<T, IxDyn>,
        view: impl FnOnce(ArrayViewD<'_, T>) -> ArrayViewD<'_, T>,
    ) -> SharedArray<T> {
        let b = match &self.repr {
            Repr::Owned(a) => return owned(a.clone()).into(),
            Repr::Borrowed(b) => b,
        };
        let all = T::read(&(*b.bytes).as_ref()[b.start..b.end]);
        let v = view(self.view());
        let base = all.as_ptr() as usize;
        let first = v.as_ptr() as usize;
        let size = std::mem::size_of::<T>().max(1);
        if v.is_empty() || v.strides().iter().any(|&s| s < 0) || first < base {
            return v.to_owned().into();
        }
        let strides: Vec<usize> = v.strides().iter().map(|&s| s as usize).collect();
        SharedArray {
            repr: Repr::Borrowed(Borrowed {
                offset: (first - base) / size,
                dims: v.raw_dim(),
                strides: IxDyn(&strides),
                ..b.clone()
            }),
        }
    }

    /// Reorders the axes (no copy).
    pub(crate) fn permuted_axes(&self, perm: &[usize]) -> SharedArray<T> {
        self.relayout(|a| a.permuted_axes(perm), |v| v.permuted_axes(perm))
    }

    /// Adds an axis of size 1 at `at` (no copy).
    pub(crate) fn insert_axis(&self, at: Axis) -> SharedArray<T> {
        self.relayout(|a| a.insert_axis(at), |v| v.insert_axis(at))
    }

    /// The slice at index `i` of axis `ax`, which is removed (no copy).
    pub(crate) fn index_axis(&self, ax: Axis, i: usize) -> SharedArray<T> {
        self.relayout(|a| a.index_axis_move(ax, i), |v| v.index_axis_move(ax, i))
    }

    /// The elements `slice` selects along axis `ax` (no copy).
    pub(crate) fn slice_axis(&self, ax: Axis, slice: Slice) -> SharedArray<T> {
        self.relayout(
            |mut a| {
                a.slice_axis_inplace(ax, slice);
                a
            },
            |mut v| {
                v.slice_axis_inplace(ax, slice);
                v
            },
        )
    }
}

/// An element type a [`SharedArray`] holds: `f32`, `f16`, `bf16`, `i64` or `bool` (sealed).
///
/// It says how borrowed bytes read as elements: in place for plain-old-data types; `bool`
/// arrays are never borrowed, so their reader is never called on a non-empty region.
pub trait ArrayElement: sealed::Sealed + Copy {
    /// The bytes as elements.
    #[doc(hidden)]
    fn read(bytes: &[u8]) -> &[Self];
}

mod sealed {
    /// Keeps [`ArrayElement`](super::ArrayElement) to the types below.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
    impl Sealed for i64 {}
    impl Sealed for bool {}
}

macro_rules! borrow_as_pod {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn read(bytes: &[u8]) -> &[$t] {
                // Alignment and length were checked when the bytes were adopted.
                bytemuck::cast_slice(bytes)
            }
        }
    )*};
}
borrow_as_pod!(f32, i64, half::f16, half::bf16);

impl ArrayElement for bool {
    fn read(_: &[u8]) -> &[bool] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six f32 values 0..6 as little-endian bytes, after `pad` leading bytes.
    fn region(pad: usize) -> ByteRegion {
        let mut bytes = vec![0u8; pad];
        for i in 0..6 {
            bytes.extend((i as f32).to_le_bytes());
        }
        Arc::new(bytes)
    }

    fn values(a: &SharedArray<f32>) -> Vec<f32> {
        a.view().iter().copied().collect()
    }

    #[test]
    fn borrowed_bytes_are_read_in_place() {
        let bytes = region(4);
        let a = SharedArray::<f32>::borrow_bytes(Arc::clone(&bytes), 4..28, &[2, 3]).unwrap();
        assert!(a.is_borrowed());
        assert_eq!(a.shape(), [2, 3]);
        assert_eq!(values(&a), [0., 1., 2., 3., 4., 5.]);
        let start = (*bytes).as_ref()[4..].as_ptr();
        assert_eq!(a.as_ptr().cast::<u8>(), start);
    }

    #[test]
    fn misaligned_or_mis_sized_bytes_are_not_borrowed() {
        assert!(SharedArray::<f32>::borrow_bytes(region(1), 1..25, &[6]).is_none());
        assert!(SharedArray::<f32>::borrow_bytes(region(0), 0..24, &[5]).is_none());
        assert!(SharedArray::<f32>::borrow_bytes(region(0), 0..28, &[7]).is_none());
        assert!(SharedArray::<f32>::borrow_bytes(region(0), 0..0, &[0]).is_none());
    }

    #[test]
    fn layout_changes_keep_borrowing() {
        let a = SharedArray::<f32>::borrow_bytes(region(0), 0..24, &[2, 3]).unwrap();
        let t = a.permuted_axes(&[1, 0]);
        assert!(t.is_borrowed());
        assert_eq!(values(&t), [0., 3., 1., 4., 2., 5.]);
        let row = a.index_axis(Axis(0), 1);
        assert!(row.is_borrowed());
        assert_eq!(values(&row), [3., 4., 5.]);
        let cols = t.slice_axis(Axis(0), Slice::new(1, None, 1));
        assert!(cols.is_borrowed());
        assert_eq!(values(&cols), [1., 4., 2., 5.]);
        let wide = row.insert_axis(Axis(0));
        assert_eq!(wide.shape(), [1, 3]);
        assert_eq!(cols.as_slice(), None);
        assert_eq!(row.as_slice(), Some(&[3., 4., 5.][..]));
    }

    #[test]
    fn an_empty_slice_of_borrowed_bytes_is_owned() {
        let a = SharedArray::<f32>::borrow_bytes(region(0), 0..24, &[2, 3]).unwrap();
        let none = a.slice_axis(Axis(1), Slice::new(3, None, 1));
        assert_eq!(none.shape(), [2, 0]);
        assert!(!none.is_borrowed());
    }

    #[test]
    fn writing_copies_and_leaves_the_bytes_alone() {
        let bytes = region(0);
        let a = SharedArray::<f32>::borrow_bytes(Arc::clone(&bytes), 0..24, &[6]).unwrap();
        let mut b = a.clone();
        b.view_mut().mapv_inplace(|x| x * 10.0);
        assert!(!b.is_borrowed() && a.is_borrowed());
        assert_eq!(values(&b), [0., 10., 20., 30., 40., 50.]);
        assert_eq!(values(&a), [0., 1., 2., 3., 4., 5.]);
        let again = SharedArray::<f32>::borrow_bytes(bytes, 0..24, &[6]).unwrap();
        assert_eq!(values(&again), [0., 1., 2., 3., 4., 5.]);
    }

    #[test]
    fn extend_logical_copies_any_view_in_logical_order() {
        use ndarray::s;
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 5, 4]), |i| {
            (i[0] * 100 + i[1] * 10 + i[2]) as f32
        });
        let views = [
            a.view(),
            a.slice(s![.., 1..4, ..]).into_dyn(),
            a.slice(s![.., .., 1..3]).into_dyn(),
            a.view().permuted_axes(IxDyn(&[1, 0, 2])),
            a.view().reversed_axes(),
            a.index_axis(Axis(1), 2).into_dyn(),
            a.index_axis(Axis(0), 1)
                .index_axis_move(Axis(0), 1)
                .index_axis_move(Axis(0), 3),
        ];
        for v in views {
            let mut out = vec![7.0];
            extend_logical(&v, &mut out);
            assert_eq!(out[0], 7.0);
            assert_eq!(out[1..], v.iter().copied().collect::<Vec<_>>()[..]);
        }
    }
}
