//! Attention's fused path: scores, mask, softmax and the weighted sum of values computed one
//! block of query rows at a time per batch-and-head, so the scores array is never made; and
//! its backward, which recomputes each block's probabilities the same way (the recorded
//! forward keeps only queries, keys and values). Re-running the general path recorded had
//! been a quarter of a checkpointed gradient step of Penzai's medium model; this is 6%.
//!
//! It runs only when the `scores` slot holds the standard layers, recognized by their types
//! (an optional [`ApplyCausalMask`] or [`ApplyCausalSlidingWindowMask`], then a [`Softmax`]
//! over the kv axis): anything a user put in the slot (a capture, an ablation, another mask)
//! sends attention down the general path, where every intermediate flows through the slot.
//! The fused result equals the general one to float rounding (the same softmax kernel, dot
//! products summed in another order).

use rayon::prelude::*;

use crate::nn::mask::MASKED_SCORE;
use crate::nn::{
    AnyLayer, ApplyCausalMask, ApplyCausalSlidingWindowMask, Context, Sequential, Softmax,
};
use crate::nx::{AxisName, DType, NamedArray, NamedShape, Storage, extend_logical, kernels};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMut2, Axis};

/// The causal mask of a standard scores slot: its settings, and the window when it slides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CausalMask<'a> {
    causal: &'a ApplyCausalMask,
    window: Option<usize>,
}

/// A `scores` slot holding exactly the standard layers: an optional causal mask, then a
/// softmax over the kv axis alone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StandardScores<'a> {
    mask: Option<CausalMask<'a>>,
}

/// The slot's layers as a standard scores slot, if that is all they are.
pub(crate) fn standard_scores<'a>(slot: &'a AnyLayer, kv_axis: &str) -> Option<StandardScores<'a>> {
    let is_softmax = |layer: &AnyLayer| {
        layer
            .downcast_ref::<Softmax>()
            .is_some_and(|s| s.axes.len() == 1 && s.axes[0] == kv_axis)
    };
    if is_softmax(slot) {
        return Some(StandardScores { mask: None });
    }
    let steps: Vec<&AnyLayer> = slot
        .downcast_ref::<Sequential>()?
        .steps
        .iter()
        .map(|s| &s.layer)
        .collect();
    let mask = |layer: &'a AnyLayer| -> Option<CausalMask<'a>> {
        if let Some(causal) = layer.downcast_ref::<ApplyCausalMask>() {
            return Some(CausalMask {
                causal,
                window: None,
            });
        }
        let sliding = layer.downcast_ref::<ApplyCausalSlidingWindowMask>()?;
        Some(CausalMask {
            causal: &sliding.causal,
            window: Some(sliding.window),
        })
    };
    match steps.as_slice() {
        [softmax] if is_softmax(softmax) => Some(StandardScores { mask: None }),
        [m, softmax] if is_softmax(softmax) => {
            let m = mask(m)?;
            (m.causal.kv_axis == kv_axis).then_some(StandardScores { mask: Some(m) })
        }
        _ => None,
    }
}

/// How the operands' axes split: `batch` in queries, keys and values (batch and heads),
/// `rows` in queries only (the query positions, grouped query heads), `features` in values
/// only (the per-head output axis).
struct Split {
    batch: Vec<(AxisName, usize)>,
    rows: Vec<(AxisName, usize)>,
    features: Vec<(AxisName, usize)>,
    head_size: usize,
    kv_size: usize,
}

fn split(
    q: &NamedArray,
    k: &NamedArray,
    v: &NamedArray,
    head_axis: &str,
    kv_axis: &str,
) -> Option<Split> {
    let all_f32 = [q, k, v].iter().all(|a| a.dtype() == DType::F32);
    let no_positional = [q, k, v].iter().all(|a| a.positional_shape().is_empty());
    if !all_f32 || !no_positional || q.has_axis(kv_axis) || head_axis == kv_axis {
        return None;
    }
    let head_size = q.axis_size(head_axis)?;
    let kv_size = k.axis_size(kv_axis)?;
    if k.axis_size(head_axis)? != head_size || v.axis_size(kv_axis)? != kv_size {
        return None;
    }
    let q_shape = q.named_shape();
    let mut batch = Vec::new();
    let mut rows = Vec::new();
    for (name, size) in q_shape.iter() {
        if name == head_axis {
            continue;
        }
        match (k.axis_size(name), v.axis_size(name)) {
            (Some(ks), Some(vs)) if ks == size && vs == size => batch.push((name.clone(), size)),
            (None, None) => rows.push((name.clone(), size)),
            // Broadcast or mismatched sizes: the general path says what is wrong.
            _ => return None,
        }
    }
    // Keys hold nothing but the batch, kv and head axes.
    if k.axis_names().len() != batch.len() + 2 {
        return None;
    }
    let features: Vec<(AxisName, usize)> = v
        .named_shape()
        .iter()
        .filter(|(n, _)| n.as_str() != kv_axis && !batch.iter().any(|(b, _)| b == *n))
        .map(|(n, s)| (n.clone(), s))
        .collect();
    if features
        .iter()
        .any(|(n, _)| q.has_axis(n) && n != head_axis)
    {
        return None;
    }
    Some(Split {
        batch,
        rows,
        features,
        head_size,
        kv_size,
    })
}

fn f32_view(x: &NamedArray) -> Option<ArrayViewD<'_, f32>> {
    match x.storage() {
        Storage::F32(a) => Some(a.view()),
        _ => None,
    }
}

/// `x` with its named axes in `order` (a stride change, no copy).
fn ordered(x: &NamedArray, order: &[String]) -> Option<NamedArray> {
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    x.move_to_front(&order).ok()
}

/// Integer positions along one axis from a side input, or `None` when they are not a plain
/// `{axis}` i64 array of `size` (the general path handles other forms).
fn positions(cx: &Context, name: &str, axis: &str, size: usize) -> Option<Option<Vec<i64>>> {
    match cx.side_input(name) {
        None => Some(None),
        Some(p)
            if p.dtype() == DType::I64
                && p.axis_names().len() == 1
                && p.axis_size(axis) == Some(size)
                && p.positional_shape().is_empty() =>
        {
            Some(Some(p.to_i64_vec()))
        }
        Some(_) => None,
    }
}

/// Which score of each row the mask keeps: query and key positions, and the window.
struct RowMask {
    query: Vec<i64>,
    key: Vec<i64>,
    window: Option<usize>,
    /// Key positions strictly increase (as without a cache, or in a cache filled in order):
    /// each row then keeps one contiguous run of keys.
    keys_increase: bool,
}

impl RowMask {
    fn new(query: Vec<i64>, key: Vec<i64>, window: Option<usize>) -> RowMask {
        let keys_increase = key.windows(2).all(|w| w[0] < w[1]);
        RowMask {
            query,
            key,
            window,
            keys_increase,
        }
    }

    fn keeps(&self, row: usize, key: usize) -> bool {
        let behind = self.query[row] - self.key[key];
        behind >= 0 && self.window.is_none_or(|w| (behind as u64) < w as u64)
    }

    /// The keys `[lo, hi)` outside of which every score of `rows` is masked, so their
    /// weights are exactly 0 and the block's products can skip them: under a causal mask
    /// a block of queries sees no later key, which halves attention's work. The whole
    /// range when keys are not in increasing order, or when a row keeps no key at all
    /// (its softmax then spreads over every key, as the general path's does).
    fn span(&self, rows: std::ops::Range<usize>) -> (usize, usize) {
        let all = (0, self.key.len());
        if !self.keys_increase {
            return all;
        }
        let (mut lo, mut hi) = (self.key.len(), 0);
        for q in rows.map(|r| self.query[r]) {
            // Kept: q - window < key <= q.
            let end = self.key.partition_point(|&k| k <= q);
            let start = match self.window {
                Some(w) => self
                    .key
                    .partition_point(|&k| k <= q.saturating_sub(w.try_into().unwrap_or(i64::MAX))),
                None => 0,
            };
            if start >= end {
                return all;
            }
            (lo, hi) = (lo.min(start), hi.max(end));
        }
        if lo >= hi { all } else { (lo, hi) }
    }
}

/// The keys a block of `rows` must look at: [`RowMask::span`], or all of them unmasked.
fn block_span(mask: Option<&RowMask>, rows: std::ops::Range<usize>, n_kv: usize) -> (usize, usize) {
    mask.map_or((0, n_kv), |m| m.span(rows))
}

/// The mask's positions for every row of `split`, as the general path's mask layer finds
/// them; `None` when the general path must run (unusual positions, or an error to report).
fn row_mask(cx: &Context, mask: CausalMask<'_>, split: &Split) -> Option<RowMask> {
    let seq_axis = mask.causal.seq_axis.as_str();
    let at = split.rows.iter().position(|(n, _)| n == seq_axis)?;
    let seq_size = split.rows[at].1;
    let query = match positions(cx, &mask.causal.query_positions, seq_axis, seq_size)? {
        Some(p) => p,
        None => (0..seq_size as i64).collect(),
    };
    let kv_axis = mask.causal.kv_axis.as_str();
    let key = match positions(cx, &mask.causal.key_positions, kv_axis, split.kv_size)? {
        Some(p) => p,
        // Without key positions, keys are the queries (no cache).
        None if seq_size == split.kv_size => query.clone(),
        None => return None,
    };
    // Each row's query position: rows are laid out row-major over `split.rows`.
    let inner: usize = split.rows[at + 1..].iter().map(|(_, s)| s).product();
    let n_rows: usize = split.rows.iter().map(|(_, s)| s).product();
    let query = (0..n_rows).map(|r| query[(r / inner) % seq_size]).collect();
    Some(RowMask::new(query, key, mask.window))
}

/// `sum(a[i] * b[i])` in eight independent lanes (so it vectorizes).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((a, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *a += x * y;
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + tail
}

/// Copies the elements of `view` in logical order into `buffer` (a decode step's keys and
/// values are a prefix of the cache, so not contiguous).
fn pack(view: ArrayViewD<'_, f32>, buffer: &mut Vec<f32>) {
    buffer.clear();
    extend_logical(&view, buffer);
}

/// The view at flat batch index `b` over the leading `n_batch` axes of `view`.
fn at_batch<'a>(
    mut view: ArrayViewD<'a, f32>,
    batch: &[(AxisName, usize)],
    mut b: usize,
) -> ArrayViewD<'a, f32> {
    let mut index = vec![0; batch.len()];
    for (i, (_, size)) in batch.iter().enumerate().rev() {
        index[i] = b % size;
        b /= size;
    }
    for i in index {
        view = view.index_axis_move(Axis(0), i);
    }
    view
}

/// Multiply-adds below which a call runs on the calling thread: handing work to rayon's
/// pool from outside it wakes a worker and blocks on a latch, tens of microseconds that a
/// small model's whole attention does not take (on Penzai's small model, 1 x 32 tokens,
/// 17% of a forward was the scheduler).
const PARALLEL_WORK: usize = 1 << 20;

/// Whether `work` multiply-adds are worth splitting over the thread pool.
fn pays_to_split(work: usize) -> bool {
    work >= PARALLEL_WORK
}

/// Query rows from which a batch entry's scores are computed as matrix products.
const GEMM_ROWS: usize = 8;

/// Query rows per block of scores on the matrix-product path (a block of 64 rows by 2048
/// keys is 512 KiB, within L2).
const QUERY_BLOCK: usize = 64;

/// One batch entry's attention, row by row: a dot product per key (a decode step's one
/// query row, where a matrix product would only add packing).
fn attend_rows(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (n_head, n_kv, n_features): (usize, usize, usize),
    mask: Option<&RowMask>,
    out: &mut [f32],
) {
    let mut weights = vec![0.0f32; n_kv];
    for (r, row_out) in out.chunks_exact_mut(n_features.max(1)).enumerate() {
        let query = &q[r * n_head..(r + 1) * n_head];
        for (j, w) in weights.iter_mut().enumerate() {
            *w = match mask {
                Some(m) if !m.keeps(r, j) => MASKED_SCORE,
                _ => dot(query, &k[j * n_head..(j + 1) * n_head]),
            };
        }
        kernels::softmax_inplace(&mut weights);
        row_out.fill(0.0);
        for (j, &w) in weights.iter().enumerate() {
            let value = &v[j * n_features..(j + 1) * n_features];
            for (o, &x) in row_out.iter_mut().zip(value) {
                *o += w * x;
            }
        }
    }
}

/// Masks the scores of a block (rows from `start`, keys from `lo`) and replaces each row by
/// its softmax.
fn mask_and_softmax(
    block: &mut ArrayViewMut2<'_, f32>,
    mask: Option<&RowMask>,
    start: usize,
    lo: usize,
) {
    for (i, mut row) in block.rows_mut().into_iter().enumerate() {
        let Some(row) = row.as_slice_mut() else {
            unreachable!("rows of a row-major block are contiguous")
        };
        if let Some(m) = mask {
            for (j, w) in (lo..).zip(row.iter_mut()) {
                if !m.keeps(start + i, j) {
                    *w = MASKED_SCORE;
                }
            }
        }
        kernels::softmax_inplace(row);
    }
}

/// One batch entry's attention, [`QUERY_BLOCK`] query rows at a time: the block's scores as
/// one matrix product, masked and softmaxed row by row in place, then the weighted sum as a
/// second product. Row-by-row dot products took 12% of Penzai's medium forward.
fn attend_blocks(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (n_rows, n_head, n_kv, n_features): (usize, usize, usize, usize),
    mask: Option<&RowMask>,
    out: &mut [f32],
) {
    // The packed operands hold exactly these many elements (the split's sizes).
    let km = ArrayView2::from_shape((n_kv, n_head), k).expect("n_kv x n_head keys");
    let vm = ArrayView2::from_shape((n_kv, n_features), v).expect("n_kv x n_features values");
    let mut scores = Array2::<f32>::zeros((QUERY_BLOCK.min(n_rows), n_kv));
    for start in (0..n_rows).step_by(QUERY_BLOCK) {
        let rows = QUERY_BLOCK.min(n_rows - start);
        let qm =
            ArrayView2::from_shape((rows, n_head), &q[start * n_head..(start + rows) * n_head])
                .expect("rows x n_head queries");
        let (lo, hi) = block_span(mask, start..start + rows, n_kv);
        let mut block = scores.slice_mut(ndarray::s![..rows, ..hi - lo]);
        let keys = km.slice(ndarray::s![lo..hi, ..]);
        general_mat_mul(1.0, &qm, &keys.t(), 0.0, &mut block);
        mask_and_softmax(&mut block, mask, start, lo);
        let mut om = ArrayViewMut2::from_shape(
            (rows, n_features),
            &mut out[start * n_features..(start + rows) * n_features],
        )
        .expect("rows x n_features outputs");
        let values = vm.slice(ndarray::s![lo..hi, ..]);
        general_mat_mul(1.0, &block.view(), &values, 0.0, &mut om);
    }
}

/// The operands of a fused call, checked and put in the kernels' axis orders: queries
/// `{batch.., rows.., head}`, keys `{batch.., kv, head}`, values `{batch.., kv, features..}`
/// (stride changes, no copies), with the mask's positions.
struct Prepared {
    split: Split,
    mask: Option<RowMask>,
    q: NamedArray,
    k: NamedArray,
    v: NamedArray,
    n_batch: usize,
    n_rows: usize,
    n_features: usize,
}

/// The names of `axes`, in order, then `last`.
fn names(axes: &[&[(AxisName, usize)]], last: &[&str]) -> Vec<String> {
    axes.iter()
        .flat_map(|a| a.iter().map(|(n, _)| n.as_str().to_owned()))
        .chain(last.iter().map(|s| (*s).to_owned()))
        .collect()
}

fn prepare(
    q: &NamedArray,
    k: &NamedArray,
    v: &NamedArray,
    head_axis: &str,
    kv_axis: &str,
    scores: StandardScores<'_>,
    cx: &Context,
) -> Option<Prepared> {
    let split = split(q, k, v, head_axis, kv_axis)?;
    let mask = match scores.mask {
        Some(m) => Some(row_mask(cx, m, &split)?),
        None => None,
    };
    let q_order = names(&[&split.batch, &split.rows], &[head_axis]);
    let k_order = names(&[&split.batch], &[kv_axis, head_axis]);
    let mut v_order = names(&[&split.batch], &[kv_axis]);
    v_order.extend(names(&[&split.features], &[]));
    let product = |axes: &[(AxisName, usize)]| axes.iter().map(|(_, s)| s).product();
    Some(Prepared {
        n_batch: product(&split.batch),
        n_rows: product(&split.rows),
        n_features: product(&split.features),
        q: ordered(q, &q_order)?,
        k: ordered(k, &k_order)?,
        v: ordered(v, &v_order)?,
        split,
        mask,
    })
}

/// The fused attention of queries `q`, keys `k` and values `v`: the weighted sum of values,
/// `{batch.., rows.., features..}`, exactly what the general path's `mixed` is, or `None`
/// when these operands need the general path (it then reports any mistake).
pub(crate) fn attend(
    q: &NamedArray,
    k: &NamedArray,
    v: &NamedArray,
    head_axis: &str,
    kv_axis: &str,
    scores: StandardScores<'_>,
    cx: &Context,
) -> Option<NamedArray> {
    let p = prepare(q, k, v, head_axis, kv_axis, scores, cx)?;
    let (qv, kv, vv) = (f32_view(&p.q)?, f32_view(&p.k)?, f32_view(&p.v)?);
    let (n_batch, n_rows, n_features) = (p.n_batch, p.n_rows, p.n_features);
    let (n_head, n_kv) = (p.split.head_size, p.split.kv_size);
    let (split, mask) = (&p.split, p.mask.as_ref());
    let mut out = vec![0.0f32; n_batch * n_rows * n_features];
    let entry = |(b, out): (usize, &mut [f32])| {
        let (mut qb, mut kb, mut vb) = (Vec::new(), Vec::new(), Vec::new());
        pack(at_batch(qv.clone(), &split.batch, b), &mut qb);
        pack(at_batch(kv.clone(), &split.batch, b), &mut kb);
        pack(at_batch(vv.clone(), &split.batch, b), &mut vb);
        if n_rows < GEMM_ROWS {
            attend_rows(&qb, &kb, &vb, (n_head, n_kv, n_features), mask, out);
        } else {
            attend_blocks(&qb, &kb, &vb, (n_rows, n_head, n_kv, n_features), mask, out);
        }
    };
    if !out.is_empty() {
        let chunks = n_rows * n_features;
        if pays_to_split(n_batch * n_rows * n_kv * (n_head + n_features)) {
            out.par_chunks_mut(chunks).enumerate().for_each(entry);
        } else {
            out.chunks_mut(chunks).enumerate().for_each(entry);
        }
    }
    let shape = NamedShape::new(
        split
            .batch
            .iter()
            .chain(&split.rows)
            .chain(&split.features)
            .cloned(),
    );
    NamedArray::from_f32(shape, out).ok()
}

/// One batch entry's slices of the query, key and value gradients, as the chunk iterators
/// zip them.
type GradientChunks<'a> = ((&'a mut [f32], &'a mut [f32]), &'a mut [f32]);

/// Which of the three gradients (queries, keys, values) a backward makes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted {
    pub(crate) q: bool,
    pub(crate) k: bool,
    pub(crate) v: bool,
}

/// One batch entry's attention backward, [`QUERY_BLOCK`] query rows at a time: each block's
/// probabilities are recomputed from the queries and keys (as the forward made them), then
/// `dv += pᵀ g`, `ds = p ⊙ (g vᵀ - rowsum(p ⊙ g vᵀ))` (zero where the mask hid a score, as
/// the general path's mask passes no gradient there), `dq = ds k` and `dk += dsᵀ q`: six
/// matrix products per block, and nothing of the scores' size kept between blocks.
#[allow(clippy::too_many_arguments)]
fn backward_blocks(
    (q, k, v, g): (&[f32], &[f32], &[f32], &[f32]),
    (n_rows, n_head, n_kv, n_features): (usize, usize, usize, usize),
    mask: Option<&RowMask>,
    wanted: Wanted,
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    // The packed operands and the gradient buffers hold exactly these many elements.
    let km = ArrayView2::from_shape((n_kv, n_head), k).expect("n_kv x n_head keys");
    let vm = ArrayView2::from_shape((n_kv, n_features), v).expect("n_kv x n_features values");
    let mut dkm = ArrayViewMut2::from_shape((n_kv, n_head), dk).expect("n_kv x n_head");
    let mut dvm = ArrayViewMut2::from_shape((n_kv, n_features), dv).expect("n_kv x n_features");
    let block_rows = QUERY_BLOCK.min(n_rows);
    let mut probs = Array2::<f32>::zeros((block_rows, n_kv));
    let mut dprobs = Array2::<f32>::zeros((block_rows, n_kv));
    for start in (0..n_rows).step_by(QUERY_BLOCK) {
        let rows = QUERY_BLOCK.min(n_rows - start);
        let qm =
            ArrayView2::from_shape((rows, n_head), &q[start * n_head..(start + rows) * n_head])
                .expect("rows x n_head queries");
        let gm = ArrayView2::from_shape(
            (rows, n_features),
            &g[start * n_features..(start + rows) * n_features],
        )
        .expect("rows x n_features gradients");
        // Keys outside the block's span have weight exactly 0, so they get no gradient
        // from it either.
        let (lo, hi) = block_span(mask, start..start + rows, n_kv);
        let (keys, values) = (
            km.slice(ndarray::s![lo..hi, ..]),
            vm.slice(ndarray::s![lo..hi, ..]),
        );
        let mut p = probs.slice_mut(ndarray::s![..rows, ..hi - lo]);
        general_mat_mul(1.0, &qm, &keys.t(), 0.0, &mut p);
        mask_and_softmax(&mut p, mask, start, lo);
        if wanted.v {
            let mut dv_span = dvm.slice_mut(ndarray::s![lo..hi, ..]);
            general_mat_mul(1.0, &p.t(), &gm, 1.0, &mut dv_span);
        }
        if !(wanted.q || wanted.k) {
            continue;
        }
        let mut ds = dprobs.slice_mut(ndarray::s![..rows, ..hi - lo]);
        general_mat_mul(1.0, &gm, &values.t(), 0.0, &mut ds);
        for (i, (p_row, mut ds_row)) in p.rows().into_iter().zip(ds.rows_mut()).enumerate() {
            let (Some(p_row), Some(ds_row)) = (p_row.as_slice(), ds_row.as_slice_mut()) else {
                unreachable!("rows of a row-major block are contiguous")
            };
            let delta = dot(p_row, ds_row);
            for ((d, &pj), j) in ds_row.iter_mut().zip(p_row).zip(lo..) {
                *d = match mask {
                    Some(m) if !m.keeps(start + i, j) => 0.0,
                    _ => pj * (*d - delta),
                };
            }
        }
        if wanted.q {
            let mut dqm = ArrayViewMut2::from_shape(
                (rows, n_head),
                &mut dq[start * n_head..(start + rows) * n_head],
            )
            .expect("rows x n_head query gradients");
            general_mat_mul(1.0, &ds, &keys, 0.0, &mut dqm);
        }
        if wanted.k {
            let mut dk_span = dkm.slice_mut(ndarray::s![lo..hi, ..]);
            general_mat_mul(1.0, &ds.t(), &qm, 1.0, &mut dk_span);
        }
    }
}

/// The gradients of [`attend`]'s queries, keys and values (those `wanted`) given `g`, the
/// gradient of its result; `None` when these operands need the general path. Each comes
/// out in the axis order the kernels use (`{batch.., rows.., head}`, `{batch.., kv, head}`,
/// `{batch.., kv, features..}`), with the names and sizes of its operand.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attend_backward(
    q: &NamedArray,
    k: &NamedArray,
    v: &NamedArray,
    g: &NamedArray,
    head_axis: &str,
    kv_axis: &str,
    scores: StandardScores<'_>,
    cx: &Context,
    wanted: Wanted,
) -> Option<[Option<NamedArray>; 3]> {
    let p = prepare(q, k, v, head_axis, kv_axis, scores, cx)?;
    let split = &p.split;
    let g_order = names(&[&split.batch, &split.rows, &split.features], &[]);
    if g.dtype() != DType::F32
        || !g.positional_shape().is_empty()
        || g.axis_names().len() != g_order.len()
    {
        return None;
    }
    let g = ordered(g, &g_order)?;
    let g_expected = split.batch.iter().chain(&split.rows).chain(&split.features);
    if !g
        .named_shape()
        .iter()
        .zip(g_expected)
        .all(|((n, s), (m, t))| n == m && s == *t)
    {
        return None;
    }
    let (qv, kv, vv, gv) = (
        f32_view(&p.q)?,
        f32_view(&p.k)?,
        f32_view(&p.v)?,
        f32_view(&g)?,
    );
    let (n_batch, n_rows, n_features) = (p.n_batch, p.n_rows, p.n_features);
    let (n_head, n_kv) = (split.head_size, split.kv_size);
    let mut dq = vec![0.0f32; n_batch * n_rows * n_head];
    let mut dk = vec![0.0f32; n_batch * n_kv * n_head];
    let mut dv = vec![0.0f32; n_batch * n_kv * n_features];
    // Chunks of at least one element, so the three zip to one entry per batch index even
    // when an axis is empty (there is then nothing to add up).
    let chunk = |n: usize| n.max(1);
    let entry = |(b, ((dq, dk), dv)): (usize, GradientChunks<'_>)| {
        let (mut qb, mut kb, mut vb, mut gb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        pack(at_batch(qv.clone(), &split.batch, b), &mut qb);
        pack(at_batch(kv.clone(), &split.batch, b), &mut kb);
        pack(at_batch(vv.clone(), &split.batch, b), &mut vb);
        pack(at_batch(gv.clone(), &split.batch, b), &mut gb);
        backward_blocks(
            (&qb, &kb, &vb, &gb),
            (n_rows, n_head, n_kv, n_features),
            p.mask.as_ref(),
            wanted,
            dq,
            dk,
            dv,
        );
    };
    if n_batch > 0 && n_rows > 0 && n_kv > 0 {
        let (cq, ck, cv) = (
            chunk(n_rows * n_head),
            chunk(n_kv * n_head),
            chunk(n_kv * n_features),
        );
        if pays_to_split(n_batch * n_rows * n_kv * (n_head + n_features)) {
            dq.par_chunks_mut(cq)
                .zip(dk.par_chunks_mut(ck))
                .zip(dv.par_chunks_mut(cv))
                .enumerate()
                .for_each(entry);
        } else {
            dq.chunks_mut(cq)
                .zip(dk.chunks_mut(ck))
                .zip(dv.chunks_mut(cv))
                .enumerate()
                .for_each(entry);
        }
    }
    let head = (AxisName::from(head_axis), n_head);
    let kv = (AxisName::from(kv_axis), n_kv);
    let shape = |parts: &[&[(AxisName, usize)]]| {
        NamedShape::new(parts.iter().flat_map(|p| p.iter()).cloned())
    };
    let make = |want: bool, shape: NamedShape, data: Vec<f32>| {
        if want {
            NamedArray::from_f32(shape, data).ok().map(Some)
        } else {
            Some(None)
        }
    };
    Some([
        make(
            wanted.q,
            shape(&[&split.batch, &split.rows, std::slice::from_ref(&head)]),
            dq,
        )?,
        make(
            wanted.k,
            shape(&[&split.batch, &[kv.clone(), head.clone()]]),
            dk,
        )?,
        make(
            wanted.v,
            shape(&[&split.batch, std::slice::from_ref(&kv), &split.features]),
            dv,
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key outside a block's span is masked for every row of the block, and the span
    /// is tight (its first and last keys are kept by some row).
    fn check_span(mask: &RowMask, rows: std::ops::Range<usize>) {
        let (lo, hi) = mask.span(rows.clone());
        let kept = |j: usize| rows.clone().any(|r| mask.keeps(r, j));
        assert!((0..lo).chain(hi..mask.key.len()).all(|j| !kept(j)));
        assert!(kept(lo) && kept(hi - 1), "{lo}..{hi} for rows {rows:?}");
    }

    #[test]
    fn a_block_span_covers_exactly_the_keys_its_rows_keep() {
        let causal = RowMask::new((0..150).collect(), (0..150).collect(), None);
        for start in (0..150).step_by(64) {
            check_span(&causal, start..(start + 64).min(150));
        }
        assert_eq!(causal.span(64..128), (0, 128));
        let window = RowMask::new((0..150).collect(), (0..150).collect(), Some(5));
        assert_eq!(window.span(64..128), (60, 128));
        check_span(&window, 64..128);
        // Queries after a cache's prefix (decode of several rows at once).
        let cached = RowMask::new((20..30).collect(), (0..30).collect(), Some(8));
        check_span(&cached, 0..10);
        assert_eq!(cached.span(0..10), (13, 30));
    }

    #[test]
    fn a_block_span_is_everything_when_keys_are_unordered_or_a_row_keeps_none() {
        let unordered = RowMask::new(vec![5, 6], vec![3, 1, 2, 9], None);
        assert_eq!(unordered.span(0..2), (0, 4));
        // Row 0 (query 0) keeps no key at 1..: its softmax spreads over every key.
        let none = RowMask::new(vec![0, 3], vec![1, 2, 3, 4], None);
        assert_eq!(none.span(0..2), (0, 4));
        assert_eq!(none.span(1..2), (0, 3));
    }
}
