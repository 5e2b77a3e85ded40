//! Matrix products behind `contract`: a packed, multithreaded GEMM for the general case, a
//! memory-bound kernel for skinny products (decoding one token: a row times a matrix), and
//! 16-bit weights widened inside both, with f32 accumulation.
//!
//! Kernel choice (measured, see BENCHMARKS.md): the `gemm` crate's packed kernel, which takes
//! any row and column strides, so permuted operands reach it without a layout copy, and
//! dispatches at run time to the widest SIMD the CPU has. Threads come from rayon's pool.
//!
//! - **Skinny** (at most [`SKINNY_ROWS`] rows on one side): reads each weight once, each
//!   thread one contiguous run of it (blocks of columns when the contracted axis is
//!   contiguous, blocks of rows with partial sums when the output axis is); a 16-bit weight is
//!   widened in registers as it streams by (`matvec`). This is the decode path, bound by
//!   memory bandwidth.
//! - **General**: f32 operands go straight to `gemm`. A 16-bit operand is widened one panel
//!   of columns at a time into a per-thread buffer that stays in cache while `gemm` packs it,
//!   the panels spread over the threads; a model's 16-bit weights are never widened whole.
//! - **Batches** of small products (attention heads) run one product per thread.
//! - **Small** f32 products (at most [`SMALL_F32_PRODUCT`] multiply-adds, such as one
//!   attention head's scores on the general path) go to `matrixmultiply`
//!   (`general_mat_mul`), which measured about twice as fast as `gemm` on them: `gemm`'s
//!   per-call setup dominates at that size.

use std::cell::RefCell;

use half::{bf16, f16};
use ndarray::Dimension;
use ndarray::{Array3, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, CowArray, Ix2, IxDyn};
use rayon::prelude::*;

/// Products with at most this many rows on one side take the skinny (memory-bound) path.
pub(crate) const SKINNY_ROWS: usize = 4;

/// Batched products smaller than this (multiply-adds each) run one product per thread.
const SMALL_PRODUCT: usize = 128 * 128 * 128 + 1;

/// f32 products up to this many multiply-adds run on `matrixmultiply` instead of `gemm`.
const SMALL_F32_PRODUCT: usize = 128 * 128 * 128;

/// Skinny products smaller than this (weight elements) run on one thread.
const SKINNY_PARALLEL: usize = 32 * 1024;

/// Tasks per thread on the skinny path when a weight's rows are contiguous: more than one,
/// so a thread slowed by another process does not hold the others up, and few, since each
/// task adds a partial sum of the output.
const ROW_TASKS_PER_THREAD: usize = 2;

/// Columns per task on the skinny path when a weight's columns are contiguous.
const COLUMN_BLOCK: usize = 32;

/// Columns widened at a time on the general path for a 16-bit operand.
/// Measured on the Llama-1B shape's forward (bf16, 1 x 128 tokens, 2 threads, two runs each
/// at load 2-3): 128 gave 2.80 / 2.47 s, 256 2.49 / 2.28 s, 512 3.33 / 2.66 s, 2048
/// 4.25 / 3.79 s (the widened panel no longer stays in cache).
const PANEL: usize = 256;

/// One operand of a product: a view of f32, f16 or bf16 elements.
#[derive(Clone)]
pub(crate) enum Operand<'a> {
    F32(ArrayViewD<'a, f32>),
    F16(ArrayViewD<'a, f16>),
    BF16(ArrayViewD<'a, bf16>),
}

impl Operand<'_> {
    fn shape(&self) -> &[usize] {
        match self {
            Operand::F32(a) => a.shape(),
            Operand::F16(a) => a.shape(),
            Operand::BF16(a) => a.shape(),
        }
    }
}

/// One operand of one product, as a matrix (a view when its axes merge in place).
enum Mat<'a> {
    F32(CowArray<'a, f32, Ix2>),
    F16(CowArray<'a, f16, Ix2>),
    BF16(CowArray<'a, bf16, Ix2>),
}

impl Mat<'_> {
    fn dim(&self) -> (usize, usize) {
        match self {
            Mat::F32(a) => a.dim(),
            Mat::F16(a) => a.dim(),
            Mat::BF16(a) => a.dim(),
        }
    }

    fn t(&self) -> Mat<'_> {
        match self {
            Mat::F32(a) => Mat::F32(a.t().into()),
            Mat::F16(a) => Mat::F16(a.t().into()),
            Mat::BF16(a) => Mat::BF16(a.t().into()),
        }
    }

    fn is_f32(&self) -> bool {
        matches!(self, Mat::F32(_))
    }

    /// The elements as an f32 matrix (a view when they already are f32).
    fn to_f32(&self) -> CowArray<'_, f32, Ix2> {
        match self {
            Mat::F32(a) => a.view().into(),
            Mat::F16(a) => a.mapv(f16::to_f32).into(),
            Mat::BF16(a) => a.mapv(bf16::to_f32).into(),
        }
    }
}

/// The batch slice `index` of `op` (axes `(batch.., rows.., cols..)`, `split` of them row
/// axes after the batch ones) as a `rows x cols` matrix. The row axes and the column axes each
/// merge into one axis without copying when their strides allow: always, for any permutation
/// of one row-major buffer in which each group keeps its internal order.
fn slice_matrix<'a>(op: &Operand<'a>, index: &[usize], split: usize) -> Mat<'a> {
    match op {
        Operand::F32(a) => Mat::F32(as_matrix(a.clone(), index, split)),
        Operand::F16(a) => Mat::F16(as_matrix(a.clone(), index, split)),
        Operand::BF16(a) => Mat::BF16(as_matrix(a.clone(), index, split)),
    }
}

fn as_matrix<'a, T: Clone>(
    mut v: ArrayViewD<'a, T>,
    index: &[usize],
    split: usize,
) -> CowArray<'a, T, Ix2> {
    for &i in index {
        v.index_axis_inplace(Axis(0), i);
    }
    let nd = v.ndim();
    let rows: usize = v.shape()[..split].iter().product();
    let cols: usize = v.shape()[split..].iter().product();
    if merge_group(&mut v, 0, split) && merge_group(&mut v, split, nd) {
        // Every axis but the last of each group now has length 1: drop them.
        for ax in (0..nd).rev() {
            if ax + 1 != split && ax + 1 != nd {
                v.index_axis_inplace(Axis(ax), 0);
            }
        }
        if split == 0 {
            v.insert_axis_inplace(Axis(0));
        }
        if split == nd {
            v.insert_axis_inplace(Axis(1));
        }
        if let Ok(m) = v.into_dimensionality::<Ix2>() {
            return m.into();
        }
        unreachable!("two axes remain");
    }
    // The groups' strides do not merge: copy, in logical order.
    let mut values = Vec::new();
    super::shared::extend_logical(&v, &mut values);
    ndarray::Array2::from_shape_vec((rows, cols), values)
        .expect("rows * cols elements")
        .into()
}

/// Merges axes `first..end` of `v` into axis `end - 1` (row-major), leaving the others of
/// length 1; false (with `v` partly merged) when the strides do not allow it.
fn merge_group<T>(v: &mut ArrayViewD<'_, T>, first: usize, end: usize) -> bool {
    if end <= first + 1 {
        return true;
    }
    (first..end - 1)
        .rev()
        .all(|ax| v.merge_axes(Axis(ax), Axis(end - 1)))
}

/// `out[b] = a[b] @ b[b]` for `a: (batch.., M.., K..)` and `b: (batch.., K.., N..)`, whose
/// first `n_batch` axes are the (equal) batch axes, with `k_axes` contracted axes; sizes are
/// the products of each group.
pub(crate) fn batched_matmul(
    a: Operand<'_>,
    b: Operand<'_>,
    (n_batch, k_axes): (usize, usize),
    (nb, m, k, n): (usize, usize, usize, usize),
) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros((nb, m, n));
    if nb * m * n == 0 || k == 0 {
        return out;
    }
    let batch_dims = a.shape()[..n_batch].to_vec();
    let (a_split, b_split) = (a.shape().len() - n_batch - k_axes, k_axes);
    let pairs: Vec<(Mat<'_>, Mat<'_>)> = ndarray::indices(IxDyn(&batch_dims))
        .into_iter()
        .map(|idx| {
            let idx = idx.as_array_view().to_vec();
            (
                slice_matrix(&a, &idx, a_split),
                slice_matrix(&b, &idx, b_split),
            )
        })
        .collect();
    let outs: Vec<ArrayViewMut2<'_, f32>> = out.outer_iter_mut().collect();
    // Many small products: one per task, when together they are worth the pool's
    // hand-off (waking a worker costs tens of microseconds).
    if nb > 1 && m * n * k < SMALL_PRODUCT && nb * m * n * k >= SMALL_PRODUCT {
        outs.into_par_iter()
            .zip(pairs.into_par_iter())
            .for_each(|(c, (a, b))| matmul(&a, &b, c, false));
    } else {
        for (c, (a, b)) in outs.into_iter().zip(pairs) {
            matmul(&a, &b, c, true);
        }
    }
    out
}

/// `c = a @ b` for one product; `parallel` allows spreading it over the threads.
fn matmul(a: &Mat<'_>, b: &Mat<'_>, c: ArrayViewMut2<'_, f32>, parallel: bool) {
    let ((m, _), (_, n)) = (a.dim(), b.dim());
    if m <= SKINNY_ROWS && m <= n {
        skinny(a, b, c, parallel);
    } else if n <= SKINNY_ROWS {
        // c^T = b^T a^T: the skinny side becomes the rows.
        skinny(&b.t(), &a.t(), c.reversed_axes(), parallel);
    } else if !b.is_f32() {
        general(a, b, c, parallel);
    } else if !a.is_f32() {
        // The 16-bit side goes on the right, where it is widened panel by panel.
        general(&b.t(), &a.t(), c.reversed_axes(), parallel);
    } else {
        general(a, b, c, parallel);
    }
}

/// Widening to f32, exact for every 16-bit value.
trait Widen: Copy + Send + Sync + 'static {
    /// Writes `src` as f32 into `dst` (of equal length).
    fn widen_into(src: &[Self], dst: &mut [f32]);
    /// One value as f32.
    fn widen(self) -> f32;
    /// `sum(x[i] * w[i])` over the common length, widened in registers.
    fn dot(x: &[f32], w: &[Self]) -> f32;
    /// `y[i] += s * w[i]` over the common length, widened in registers.
    fn axpy(y: &mut [f32], s: f32, w: &[Self]);
}

impl Widen for f32 {
    #[inline(always)]
    fn widen_into(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn dot(x: &[f32], w: &[f32]) -> f32 {
        super::matvec::dot_f32(x, w)
    }
    #[inline(always)]
    fn axpy(y: &mut [f32], s: f32, w: &[f32]) {
        super::matvec::axpy_f32(y, s, w)
    }
}

impl Widen for bf16 {
    #[inline(always)]
    fn widen_into(src: &[bf16], dst: &mut [f32]) {
        // bf16 is the top half of an f32: a shift the compiler vectorizes.
        for (d, s) in dst.iter_mut().zip(src) {
            *d = f32::from_bits(u32::from(s.to_bits()) << 16);
        }
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn dot(x: &[f32], w: &[bf16]) -> f32 {
        super::matvec::dot_bf16(x, w)
    }
    #[inline(always)]
    fn axpy(y: &mut [f32], s: f32, w: &[bf16]) {
        super::matvec::axpy_bf16(y, s, w)
    }
}

impl Widen for f16 {
    #[inline(always)]
    fn widen_into(src: &[f16], dst: &mut [f32]) {
        // Uses the CPU's conversion instructions (F16C) when it has them.
        half::slice::HalfFloatSliceExt::convert_to_f32_slice(src, dst);
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn dot(x: &[f32], w: &[f16]) -> f32 {
        super::matvec::dot_f16(x, w)
    }
    #[inline(always)]
    fn axpy(y: &mut [f32], s: f32, w: &[f16]) {
        super::matvec::axpy_f16(y, s, w)
    }
}

/// `c = x @ w` where `x` has at most [`SKINNY_ROWS`] rows: every element of `w` is read once.
fn skinny(x: &Mat<'_>, w: &Mat<'_>, c: ArrayViewMut2<'_, f32>, parallel: bool) {
    let x = x.to_f32();
    let (rows, k) = x.dim();
    // The rows, contiguous (at most SKINNY_ROWS * k elements).
    let x: Vec<f32> = x.iter().copied().collect();
    match w {
        Mat::F32(w) => skinny_typed(&x, rows, k, w.view(), c, parallel),
        Mat::F16(w) => skinny_typed(&x, rows, k, w.view(), c, parallel),
        Mat::BF16(w) => skinny_typed(&x, rows, k, w.view(), c, parallel),
    }
}

fn skinny_typed<T: Widen>(
    x: &[f32],
    rows: usize,
    k: usize,
    w: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, f32>,
    parallel: bool,
) {
    let n = w.ncols();
    let parallel = parallel && k * n >= SKINNY_PARALLEL;
    if k == 1 || w.strides()[0] == 1 {
        // Columns contiguous (a HuggingFace Linear weight, `[out, in]`): one dot per column.
        let task = |(block, mut c): (usize, ArrayViewMut2<'_, f32>)| {
            columns_task(x, rows, k, w, block * COLUMN_BLOCK, &mut c)
        };
        let blocks = c.axis_chunks_iter_mut(Axis(1), COLUMN_BLOCK);
        if parallel {
            blocks.into_par_iter().enumerate().for_each(task);
        } else {
            blocks.enumerate().for_each(task);
        }
    } else if w.strides()[1] == 1 {
        // Rows contiguous (GPT-2's `Conv1D`, `[in, out]`): accumulate scaled rows.
        rows_split(x, rows, k, w, c, parallel);
    } else {
        // Neither layout streams: widen once and use the general kernel.
        let wide = w.mapv(T::widen);
        let xs = ArrayView2::from_shape((rows, k), x).expect("rows * k elements");
        gemm_f32(xs, wide.view(), c, parallel);
    }
}

/// Columns `first..first + c.ncols()` of `x @ w` when each column of `w` is contiguous.
fn columns_task<T: Widen>(
    x: &[f32],
    rows: usize,
    k: usize,
    w: ArrayView2<'_, T>,
    first: usize,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    for j in 0..c.ncols() {
        let column = w.column(first + j);
        // Stride 1 along k (or k == 1), checked by the caller.
        let Some(column) = column.to_slice() else {
            unreachable!("contiguous columns")
        };
        for r in 0..rows {
            c[[r, j]] = T::dot(&x[r * k..(r + 1) * k], column);
        }
    }
}

/// `c = x @ w` when each row of `w` is contiguous: the rows of `w` are split among
/// [`ROW_TASKS_PER_THREAD`] tasks a thread, each adding `x[r, kk] * w[kk, ..]` over its own
/// rows into a partial sum of `c`; the partials are added at the end.
///
/// Each task reads one contiguous run of the weight. Splitting by columns instead (each task
/// a block of columns of every row) read 2 KB runs a row apart, which the hardware
/// prefetchers do not follow from page to page: GPT-2 small's decode spent 62% of its time
/// there, at about 10 GB/s.
fn rows_split<T: Widen>(
    x: &[f32],
    rows: usize,
    k: usize,
    w: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, f32>,
    parallel: bool,
) {
    let n = w.ncols();
    let tasks = if parallel {
        (rayon::current_num_threads() * ROW_TASKS_PER_THREAD).clamp(1, k.max(1))
    } else {
        1
    };
    let per_task = k.div_ceil(tasks);
    let mut partials = vec![0.0f32; tasks * rows * n];
    let task = |(t, part): (usize, &mut [f32])| {
        for kk in (t * per_task)..((t + 1) * per_task).min(k) {
            let row = w.row(kk);
            let Some(row) = row.to_slice() else {
                unreachable!("contiguous rows")
            };
            for (r, acc) in part.chunks_exact_mut(n).enumerate() {
                T::axpy(acc, x[r * k + kk], row);
            }
        }
    };
    if n == 0 {
        return;
    }
    if tasks > 1 {
        partials.par_chunks_mut(rows * n).enumerate().for_each(task);
    } else {
        partials.chunks_mut(rows * n).enumerate().for_each(task);
    }
    for r in 0..rows {
        let mut out = c.row_mut(r);
        for (j, o) in out.iter_mut().enumerate() {
            *o = (0..tasks).map(|t| partials[(t * rows + r) * n + j]).sum();
        }
    }
}

thread_local! {
    /// Each thread's buffer for widened panels, reused across calls.
    static PANEL_BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `c = a @ b` by the packed kernel; a 16-bit `b` is widened panel by panel (`a` is f32 or
/// is widened whole: the caller puts the larger 16-bit operand on the right).
fn general(a: &Mat<'_>, b: &Mat<'_>, c: ArrayViewMut2<'_, f32>, parallel: bool) {
    let a = a.to_f32();
    match b {
        Mat::F32(b) if a.nrows() * a.ncols() * b.ncols() <= SMALL_F32_PRODUCT => {
            let mut c = c;
            ndarray::linalg::general_mat_mul(1.0, &a.view(), &b.view(), 0.0, &mut c);
        }
        Mat::F32(b) => gemm_f32(a.view(), b.view(), c, parallel),
        Mat::F16(b) => panels(a.view(), b.view(), c, parallel),
        Mat::BF16(b) => panels(a.view(), b.view(), c, parallel),
    }
}

/// `c = a @ b` for a 16-bit `b`: each panel of [`PANEL`] columns is widened into the
/// thread's buffer, row-major, and multiplied there.
fn panels<T: Widen>(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, f32>,
    parallel: bool,
) {
    let k = b.nrows();
    let arch = pulp::Arch::new();
    let task = |(p, c): (usize, ArrayViewMut2<'_, f32>)| {
        let first = p * PANEL;
        let width = c.ncols();
        let panel = b.slice(ndarray::s![.., first..first + width]);
        PANEL_BUFFER.with_borrow_mut(|buf| {
            // Every element is overwritten below: resizing without clearing zero-fills only
            // growth (clearing first zero-filled every panel, 3% of the 1B forward).
            buf.resize(k * width, 0.0);
            // A column-major panel (a torch `Linear`'s `[out, in]` weight) is written out
            // row-major: the `gemm` crate packs a column-major right side several times
            // slower (its packing was half of the 1B forward with the AVX-512 kernels).
            if panel.strides()[0] == 1 && width > 1 {
                arch.dispatch(|| widen_transposed(panel, buf));
            } else {
                arch.dispatch(|| widen_rows(panel, buf));
            }
            // The buffer holds exactly k * width elements, row-major.
            let wide = ArrayView2::from_shape((k, width), &buf[..]).expect("k * width elements");
            gemm_f32(a, wide, c, false);
        });
    };
    let blocks = c.axis_chunks_iter_mut(Axis(1), PANEL);
    if parallel {
        blocks.into_par_iter().enumerate().for_each(task);
    } else {
        blocks.enumerate().for_each(task);
    }
}

/// Widens a column-major `panel` (its columns contiguous) into `buf` in row-major order,
/// [`TILE`] x [`TILE`] elements at a time: each column's run is widened into a tile in L1
/// (a streaming read), then the tile is written out row by row.
#[inline(always)]
fn widen_transposed<T: Widen>(panel: ArrayView2<'_, T>, buf: &mut [f32]) {
    let (k, width) = panel.dim();
    let mut tile = [[0.0f32; TILE]; TILE];
    for j0 in (0..width).step_by(TILE) {
        let jn = TILE.min(width - j0);
        let columns: Vec<ndarray::ArrayView1<'_, T>> = (j0..j0 + jn)
            .map(|j| panel.index_axis_move(Axis(1), j))
            .collect();
        // Each column as one slice, taken once per column rather than once per tile (the
        // caller passes panels whose columns are contiguous; others go element by element).
        let slices: Vec<Option<&[T]>> = columns.iter().map(|c| c.to_slice()).collect();
        for i0 in (0..k).step_by(TILE) {
            let i_n = TILE.min(k - i0);
            for ((column, slice), row) in columns.iter().zip(&slices).zip(tile.iter_mut()) {
                let dst = &mut row[..i_n];
                match slice {
                    Some(src) => T::widen_into(&src[i0..i0 + i_n], dst),
                    None => dst
                        .iter_mut()
                        .zip(column.slice(ndarray::s![i0..i0 + i_n]))
                        .for_each(|(d, s)| *d = s.widen()),
                }
            }
            for ii in 0..i_n {
                let start = (i0 + ii) * width + j0;
                for (d, column) in buf[start..start + jn].iter_mut().zip(&tile) {
                    *d = column[ii];
                }
            }
        }
    }
}

/// The side of [`widen_transposed`]'s tiles (32 x 32 f32: 4 KiB).
const TILE: usize = 32;

/// Widens `panel` into `buf` row by row.
#[inline(always)]
fn widen_rows<T: Widen>(panel: ArrayView2<'_, T>, buf: &mut [f32]) {
    let width = panel.ncols();
    for (i, row) in panel.rows().into_iter().enumerate() {
        let dst = &mut buf[i * width..(i + 1) * width];
        match row.to_slice() {
            Some(src) => T::widen_into(src, dst),
            None => dst.iter_mut().zip(row).for_each(|(d, s)| *d = s.widen()),
        }
    }
}

/// `c = a @ b` for f32 views of any strides, by the `gemm` crate's packed kernel (threaded
/// over rayon's pool when `parallel` and the product is large enough to pay).
#[allow(unsafe_code)]
fn gemm_f32(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    parallel: bool,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul shapes: ({m}, {k}) @ ({k2}, {n}) into {:?}",
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: each pointer is the [0, 0] element of a live view, and with its strides it
    // addresses exactly that view's elements (rows < its row count, columns < its column
    // count), all in bounds: the sizes passed are the views' own, checked equal above.
    // `c` is borrowed mutably, so it aliases neither `a` nor `b`; `read_dst = false` means its
    // prior contents are not read. `gemm` writes only elements of `c`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayD, IxDyn};

    use super::*;

    /// A reference product in f64.
    fn reference(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f32> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| {
            (0..k)
                .map(|p| f64::from(a[[i, p]]) * f64::from(b[[p, j]]))
                .sum::<f64>() as f32
        })
    }

    fn data(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            (((i * 31 + j * 17 + seed * 7) % 23) as f32 - 11.0) / 8.0
        })
    }

    fn close(got: &Array2<f32>, want: &Array2<f32>) {
        assert_eq!(got.dim(), want.dim());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }

    fn product(a: Operand<'_>, b: Operand<'_>, m: usize, k: usize, n: usize) -> Array2<f32> {
        let out = batched_matmul(a, b, (0, 1), (1, m, k, n));
        out.index_axis_move(Axis(0), 0)
    }

    fn dyn_view<T>(a: &Array2<T>) -> ArrayViewD<'_, T> {
        a.view().into_dyn()
    }

    #[test]
    fn every_path_matches_the_reference_for_both_weight_layouts() {
        // (m, k, n): skinny rows, skinny columns, general; k past the widening chunk.
        // (20, 70, 600): three panels, the last partial, tiles cut at both edges.
        for &(m, k, n) in &[
            (1, 300, 70),
            (3, 40, 9),
            (9, 40, 2),
            (33, 300, 140),
            (20, 70, 600),
        ] {
            let a = data(m, k, 0);
            let b = data(k, n, 1);
            let want = reference(&a, &b);
            // b as stored (rows contiguous) and transposed in memory (columns contiguous).
            let bt = b.t().as_standard_layout().into_owned();
            let b_cols = bt.t();
            for bv in [b.view(), b_cols] {
                let got = product(
                    Operand::F32(dyn_view(&a)),
                    Operand::F32(bv.into_dyn()),
                    m,
                    k,
                    n,
                );
                close(&got, &want);
                let b16 = bv.mapv(bf16::from_f32);
                let want16 = reference(&a, &b16.mapv(bf16::to_f32));
                let got = product(
                    Operand::F32(dyn_view(&a)),
                    Operand::BF16(dyn_view(&b16)),
                    m,
                    k,
                    n,
                );
                close(&got, &want16);
                let h16 = bv.mapv(f16::from_f32);
                let want16 = reference(&a, &h16.mapv(f16::to_f32));
                let got = product(
                    Operand::F32(dyn_view(&a)),
                    Operand::F16(dyn_view(&h16)),
                    m,
                    k,
                    n,
                );
                close(&got, &want16);
            }
        }
    }

    #[test]
    fn a_sixteen_bit_left_operand_is_widened_on_the_right() {
        let (m, k, n) = (20, 50, 30);
        let a16 = data(m, k, 2).mapv(bf16::from_f32);
        let b = data(k, n, 3);
        let want = reference(&a16.mapv(bf16::to_f32), &b);
        let got = product(
            Operand::BF16(dyn_view(&a16)),
            Operand::F32(dyn_view(&b)),
            m,
            k,
            n,
        );
        close(&got, &want);
    }

    #[test]
    fn batches_of_permuted_operands_need_no_copy_and_match() {
        // q {seq: 5, heads: 3, dim: 4} x k {kv: 6, heads: 3, dim: 4}, batched over heads.
        let q = ArrayD::from_shape_fn(IxDyn(&[5, 3, 4]), |i| {
            (i[0] * 12 + i[1] * 4 + i[2]) as f32 / 10.0
        });
        let k = ArrayD::from_shape_fn(IxDyn(&[6, 3, 4]), |i| {
            (i[0] + 2 * i[1]) as f32 - i[2] as f32
        });
        let a = q.view().permuted_axes(vec![1, 0, 2]); // (heads, seq, dim)
        let b = k.view().permuted_axes(vec![1, 2, 0]); // (heads, dim, kv)
        let m = slice_matrix(&Operand::F32(a.clone()), &[1], 1);
        assert!(matches!(m, Mat::F32(CowArray { .. })) && m.dim() == (5, 4));
        let out = batched_matmul(
            Operand::F32(a.clone()),
            Operand::F32(b.clone()),
            (1, 1),
            (3, 5, 4, 6),
        );
        for h in 0..3 {
            let ah = a
                .index_axis(Axis(0), h)
                .into_dimensionality::<Ix2>()
                .unwrap()
                .to_owned();
            let bh = b
                .index_axis(Axis(0), h)
                .into_dimensionality::<Ix2>()
                .unwrap()
                .to_owned();
            close(&out.index_axis(Axis(0), h).to_owned(), &reference(&ah, &bh));
        }
    }

    #[test]
    fn merging_axes_is_free_for_permuted_buffers_and_copies_otherwise() {
        let w = ArrayD::from_shape_fn(IxDyn(&[6, 4]), |i| (i[0] * 4 + i[1]) as f32);
        // [heads * dim, embedding] seen as (embedding | heads, dim): the column group merges.
        let split = w.view().into_shape_with_order(IxDyn(&[2, 3, 4])).unwrap();
        let v = split.clone().permuted_axes(vec![2, 0, 1]);
        let merged = as_matrix(v.clone(), &[], 1);
        assert!(merged.is_view());
        assert_eq!(merged.strides(), [1, 4]);
        // (dim, heads) order does not merge: copied, in logical order.
        let swapped = split.permuted_axes(vec![2, 1, 0]);
        let copied = as_matrix(swapped.clone(), &[], 1);
        assert!(!copied.is_view());
        assert_eq!(
            copied.row(0).to_vec(),
            swapped.iter().take(6).copied().collect::<Vec<_>>()
        );
    }

    #[test]
    fn empty_products_are_zero() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 4));
        let out = product(
            Operand::F32(dyn_view(&a)),
            Operand::F32(dyn_view(&b)),
            3,
            0,
            4,
        );
        assert_eq!(out, Array2::<f32>::zeros((3, 4)));
    }
}
