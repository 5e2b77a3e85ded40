//! Summary statistics of an array, and the one-line summary both renderers print.

use std::fmt::Write as _;

use serde::Serialize;

use super::array_data::{ArrayData, Values};

/// Statistics of an array's values. Mean, std, min and max cover finite values only.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ArrayStats {
    /// Number of elements.
    pub count: u64,
    /// Mean of the finite values (`None` when there are none).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "short_opt")]
    pub mean: Option<f64>,
    /// Population standard deviation of the finite values.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "short_opt")]
    pub std: Option<f64>,
    /// Smallest finite value.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "short_opt")]
    pub min: Option<f64>,
    /// Largest finite value.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "short_opt")]
    pub max: Option<f64>,
    /// Number of zeros (for booleans: number of `false`).
    #[serde(skip_serializing_if = "is_zero")]
    pub zeros: u64,
    /// Number of NaNs.
    #[serde(skip_serializing_if = "is_zero")]
    pub nan: u64,
    /// Number of +infinities.
    #[serde(skip_serializing_if = "is_zero")]
    pub pos_inf: u64,
    /// Number of -infinities.
    #[serde(skip_serializing_if = "is_zero")]
    pub neg_inf: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Serializes at `f32` precision: the page shows four digits, and shorter JSON reads better.
pub(crate) fn short_f64<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f32(*x as f32)
}

fn short_opt<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) => short_f64(v, s),
        None => s.serialize_none(),
    }
}

impl ArrayStats {
    /// Computes the statistics of `data` in one pass over its values in storage order
    /// (never copied; 16-bit floats widened a block at a time).
    pub fn of(data: &ArrayData<'_>) -> ArrayStats {
        match data.stored_values() {
            Values::F32(v) => f32_stats(v),
            Values::F16(v) => half_stats(v),
            Values::BF16(v) => half_stats(v),
            Values::I64(v) => {
                let mut s = Moments::default();
                let mut zeros = 0u64;
                for &x in v.iter() {
                    zeros += (x == 0) as u64;
                    s.add(x as f64);
                }
                s.finish(v.len() as u64, zeros)
            }
            Values::Bool(v) => {
                let trues = v.iter().filter(|b| **b).count() as u64;
                ArrayStats {
                    count: v.len() as u64,
                    zeros: v.len() as u64 - trues,
                    ..ArrayStats::default()
                }
            }
        }
    }

    /// Number of `true` values of a boolean array (elements that are not zero).
    pub fn nonzero(&self) -> u64 {
        self.count - self.zeros
    }
}

#[derive(Default)]
struct Moments {
    n: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        }
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn finish(&self, count: u64, zeros: u64) -> ArrayStats {
        let (mean, std) = if self.n > 0 {
            let n = self.n as f64;
            let mean = self.sum / n;
            (
                Some(mean),
                Some((self.sum_sq / n - mean * mean).max(0.0).sqrt()),
            )
        } else {
            (None, None)
        };
        ArrayStats {
            count,
            mean,
            std,
            min: (self.n > 0).then_some(self.min),
            max: (self.n > 0).then_some(self.max),
            zeros,
            ..ArrayStats::default()
        }
    }
}

/// Lanes of independent accumulators, so the compiler can keep the hot loops in vector
/// registers: a whole model's parameters pass through here on every render.
const LANES: usize = 8;

/// f32 partial sums stay accurate over blocks this long; blocks are folded into f64.
const BLOCK: usize = 4096;

/// Folds one block lane-wise with `step`, then the lanes with `finish`. Each statistic
/// gets its own pass over the (cache-resident) block: fused into one loop, the compiler
/// mixes lanes of different sums into one register and stops vectorizing cleanly.
#[inline(always)]
fn lanes<T: Copy>(block: &[f32], init: T, step: impl Fn(T, f32) -> T) -> [T; LANES] {
    let mut acc = [init; LANES];
    let mut chunks = block.chunks_exact(LANES);
    for c in &mut chunks {
        // A fixed-size array lets the compiler drop the bounds checks.
        let Ok(c) = <&[f32; LANES]>::try_from(c) else {
            continue;
        };
        for l in 0..LANES {
            acc[l] = step(acc[l], c[l]);
        }
    }
    for &x in chunks.remainder() {
        acc[0] = step(acc[0], x);
    }
    acc
}

#[inline(never)]
fn block_sum(block: &[f32]) -> f64 {
    lanes(block, 0f32, |a, x| a + x)
        .iter()
        .map(|&a| a as f64)
        .sum()
}

#[inline(never)]
fn block_sum_sq(block: &[f32]) -> f64 {
    lanes(block, 0f32, |a, x| a + x * x)
        .iter()
        .map(|&a| a as f64)
        .sum()
}

#[inline(never)]
fn block_zeros(block: &[f32]) -> u64 {
    lanes(block, 0u32, |a, x| a + u32::from(x == 0.0))
        .iter()
        .map(|&a| a as u64)
        .sum()
}

/// Smallest and largest value (NaN never wins a comparison, so it is skipped).
#[inline(never)]
fn block_extremes(block: &[f32]) -> (f32, f32) {
    let lo = lanes(block, f32::INFINITY, |a, x| if x < a { x } else { a });
    let hi = lanes(block, f32::NEG_INFINITY, |a, x| if x > a { x } else { a });
    (
        lo.iter().copied().fold(f32::INFINITY, f32::min),
        hi.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    )
}

/// The fast path's sums over one block (every value assumed finite).
#[derive(Clone, Copy)]
struct BlockSums {
    sum: f64,
    sq: f64,
    zeros: u64,
    lo: f32,
    hi: f32,
}

fn block_sums(block: &[f32]) -> BlockSums {
    let (lo, hi) = block_extremes(block);
    BlockSums {
        sum: block_sum(block),
        sq: block_sum_sq(block),
        zeros: block_zeros(block),
        lo,
        hi,
    }
}

/// Below this many values one thread sums them; above it the blocks are spread over all
/// cores (a real-size checkpoint holds hundreds of millions of parameters).
const PARALLEL_MIN: usize = 1 << 20;

/// The sums of every `BLOCK`-long block of `n` values, in order; `block(i)` reads block `i`
/// (borrowed or widened to f32) and returns its sums.
fn all_block_sums(n: usize, block: impl Fn(usize) -> BlockSums + Sync + Send) -> Vec<BlockSums> {
    use rayon::prelude::*;
    let blocks = n.div_ceil(BLOCK);
    if n < PARALLEL_MIN {
        (0..blocks).map(block).collect()
    } else {
        // Collected in order and folded below in that order: the same figures at any
        // thread count.
        (0..blocks).into_par_iter().map(block).collect()
    }
}

/// Folds per-block sums in order into the statistics of `n` values; `None` when a value
/// was not finite (the sums are then not finite either) and the exact path must run.
fn fold_blocks(n: usize, blocks: &[BlockSums]) -> Option<ArrayStats> {
    let (mut sum, mut sq, mut zeros) = (0f64, 0f64, 0u64);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for b in blocks {
        sum += b.sum;
        sq += b.sq;
        zeros += b.zeros;
        lo = lo.min(b.lo);
        hi = hi.max(b.hi);
    }
    if !(sum.is_finite() && sq.is_finite()) {
        return None;
    }
    let mut m = Moments {
        n: n as u64,
        sum,
        sum_sq: sq,
        min: lo as f64,
        max: hi as f64,
    };
    if n == 0 {
        m.n = 0;
    }
    Some(m.finish(n as u64, zeros))
}

fn f32_stats(v: &[f32]) -> ArrayStats {
    // Fast path: assume every value is finite; a NaN or infinity (or an overflowing
    // square) makes the sums non-finite, and then the exact path below runs instead.
    let blocks = all_block_sums(v.len(), |i| {
        block_sums(&v[i * BLOCK..((i + 1) * BLOCK).min(v.len())])
    });
    fold_blocks(v.len(), &blocks).unwrap_or_else(|| f32_stats_exact(v.iter().copied()))
}

/// Statistics of 16-bit floats, widened a block at a time into a buffer that stays in L1.
fn half_stats<T: Copy + Into<f32> + Sync + Send>(v: &[T]) -> ArrayStats {
    let blocks = all_block_sums(v.len(), |i| {
        let part = &v[i * BLOCK..((i + 1) * BLOCK).min(v.len())];
        let mut wide = [0f32; BLOCK];
        for (w, &x) in wide.iter_mut().zip(part) {
            *w = x.into();
        }
        block_sums(&wide[..part.len()])
    });
    fold_blocks(v.len(), &blocks).unwrap_or_else(|| f32_stats_exact(v.iter().map(|&x| x.into())))
}

/// One value at a time in f64, counting NaN and infinities apart.
fn f32_stats_exact(v: impl Iterator<Item = f32>) -> ArrayStats {
    let mut m = Moments::default();
    let (mut zeros, mut nan, mut pos_inf, mut neg_inf, mut count) = (0, 0, 0, 0, 0u64);
    for x in v {
        count += 1;
        if x.is_nan() {
            nan += 1;
        } else if x == f32::INFINITY {
            pos_inf += 1;
        } else if x == f32::NEG_INFINITY {
            neg_inf += 1;
        } else {
            zeros += u64::from(x == 0.0);
            m.add(x as f64);
        }
    }
    ArrayStats {
        nan,
        pos_inf,
        neg_inf,
        ..m.finish(count, zeros)
    }
}

/// The one-line summary of an array: `f32{batch: 2, seq: 8} ≈0.012 ±1.03 [≥-2.1, ≤2.3] zero:3`.
///
/// Counts that are zero are left out, as are moments an array does not have.
pub fn summary_line(dtype: &str, shape: &str, stats: &ArrayStats) -> String {
    let mut s = format!("{dtype}{shape}");
    if dtype == "bool" {
        let _ = write!(s, " true:{} false:{}", stats.nonzero(), stats.zeros);
        return s;
    }
    if let (Some(mean), Some(std)) = (stats.mean, stats.std) {
        let _ = write!(s, " ≈{} ±{}", format_number(mean), format_number(std));
    }
    if let (Some(lo), Some(hi)) = (stats.min, stats.max) {
        // Integer extremes are exact: token ids must not round to `1.2e7`.
        let integer = dtype.starts_with('i') || dtype.starts_with('u');
        let show = |x: f64| {
            if integer {
                format_int(x as i64)
            } else {
                format_number(x)
            }
        };
        let _ = write!(s, " [≥{}, ≤{}]", show(lo), show(hi));
    }
    for (name, n) in [
        ("zero", stats.zeros),
        ("nan", stats.nan),
        ("+inf", stats.pos_inf),
        ("-inf", stats.neg_inf),
    ] {
        if n > 0 {
            let _ = write!(s, " {name}:{}", format_count(n));
        }
    }
    s
}

/// A number with about four significant digits, without noise: `0.01234`, `1.5`, `1.2e-7`.
pub fn format_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".to_owned()
        } else if x > 0.0 {
            "+inf".to_owned()
        } else {
            "-inf".to_owned()
        };
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        let s = format!("{x:.3e}");
        // `1.500e3` -> `1.5e3`
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m)),
            None => s,
        };
    }
    let decimals = (3 - mag).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A signed integer with thousands separators: `-12_000`.
fn format_int(x: i64) -> String {
    let sign = if x < 0 { "-" } else { "" };
    format!("{sign}{}", format_count(x.unsigned_abs()))
}

/// A count with thousands separators: `1_048_576`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_stats_skip_non_finite_values_and_count_them() {
        let a = ArrayData::from_f32(
            &[("x", 6)],
            vec![1.0, 3.0, 0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
        )
        .unwrap();
        let s = ArrayStats::of(&a);
        assert_eq!((s.nan, s.pos_inf, s.neg_inf, s.zeros), (1, 1, 1, 1));
        assert_eq!(s.min, Some(0.0));
        assert_eq!(s.max, Some(3.0));
        assert!((s.mean.unwrap() - 4.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            summary_line(a.dtype(), &a.shape_text(), &s),
            "f32{x: 6} ≈1.333 ±1.247 [≥0, ≤3] zero:1 nan:1 +inf:1 -inf:1"
        );
    }

    #[test]
    fn long_float_arrays_agree_with_a_naive_pass() {
        let v: Vec<f32> = (0..10_007)
            .map(|i| ((i * 37) % 101) as f32 - 50.0)
            .collect();
        let a = ArrayData::from_f32(&[("x", v.len())], v.clone()).unwrap();
        let s = ArrayStats::of(&a);
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        assert!((s.mean.unwrap() - mean).abs() < 1e-6);
        assert_eq!(s.min, Some(-50.0));
        assert_eq!(s.max, Some(50.0));
        assert_eq!(s.zeros, v.iter().filter(|&&x| x == 0.0).count() as u64);
    }

    #[test]
    fn the_fast_path_and_the_exact_path_agree() {
        let v: Vec<f32> = (0..9_001)
            .map(|i| ((i * 7919) % 2003) as f32 / 1000.0 - 1.0)
            .collect();
        let fast = f32_stats(&v);
        let exact = f32_stats_exact(v.iter().copied());
        assert_eq!(
            (fast.min, fast.max, fast.zeros, fast.count),
            (exact.min, exact.max, exact.zeros, exact.count)
        );
        assert!((fast.mean.unwrap() - exact.mean.unwrap()).abs() < 1e-6);
        assert!((fast.std.unwrap() - exact.std.unwrap()).abs() < 1e-6);
        let huge = vec![3.0e20f32, -3.0e20];
        assert_eq!(
            f32_stats(&huge).max,
            Some(3.0e20f32 as f64),
            "overflowing squares use the exact path"
        );
    }

    #[test]
    fn large_and_16_bit_arrays_read_in_parallel_blocks_give_the_same_figures() {
        // Above PARALLEL_MIN, so the blocks are summed on every core, in order.
        let n = PARALLEL_MIN + 12_345;
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 255) as f32 / 4.0 - 32.0)
            .collect();
        let serial = fold_blocks(
            n,
            &(0..n.div_ceil(BLOCK))
                .map(|i| block_sums(&v[i * BLOCK..((i + 1) * BLOCK).min(n)]))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(f32_stats(&v), serial);
        // These values are exact in bf16 and f16, so widening blockwise changes nothing.
        let b: Vec<half::bf16> = v.iter().map(|&x| half::bf16::from_f32(x)).collect();
        let h: Vec<half::f16> = v.iter().map(|&x| half::f16::from_f32(x)).collect();
        assert_eq!(half_stats(&b), serial);
        assert_eq!(half_stats(&h), serial);
        let mut with_nan = b.clone();
        with_nan[7] = half::bf16::NAN;
        let s = half_stats(&with_nan);
        assert_eq!((s.nan, s.count), (1, n as u64));
    }

    #[test]
    fn bool_summaries_count_true_and_false() {
        let a = ArrayData::from_bool(&[("m", 3)], vec![true, false, true]).unwrap();
        assert_eq!(
            summary_line("bool", &a.shape_text(), &ArrayStats::of(&a)),
            "bool{m: 3} true:2 false:1"
        );
    }

    #[test]
    fn numbers_print_with_four_significant_digits() {
        assert_eq!(format_number(0.012345), "0.01235");
        assert_eq!(format_number(1.5), "1.5");
        assert_eq!(format_number(-1234.7), "-1235");
        assert_eq!(format_number(1.25e-7), "1.25e-7");
        assert_eq!(format_number(3.0e9), "3e9");
        assert_eq!(format_count(1_048_576), "1_048_576");
    }
}
