//! Slice kernels for reductions and softmax, written so the compiler vectorizes them.
//!
//! Each loop keeps eight independent accumulators (or none), with selects instead of
//! branches, over a contiguous `&[f32]`. Results depend only on IEEE `+ - *` and
//! comparisons, so they are the same bits on every platform.

/// Number of independent accumulators: two 128-bit or one 256-bit register of `f32`.
const LANES: usize = 8;

/// The sum of `xs`, in eight interleaved partial sums (vectorized, and more accurate than a
/// single running sum on long lanes).
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    combine(acc, |a, b| a + b) + tail
}

/// Folds eight partial results pairwise.
fn combine(acc: [f32; LANES], f: impl Fn(f32, f32) -> f32) -> f32 {
    f(
        f(f(acc[0], acc[4]), f(acc[1], acc[5])),
        f(f(acc[2], acc[6]), f(acc[3], acc[7])),
    )
}

/// The maximum of `xs` (`-inf` when empty), NaN if any element is NaN (as `jnp.max`).
pub(crate) fn max(xs: &[f32]) -> f32 {
    extremum(xs, f32::NEG_INFINITY, |x, m| x > m)
}

/// The minimum of `xs` (`+inf` when empty), NaN if any element is NaN.
pub(crate) fn min(xs: &[f32]) -> f32 {
    extremum(xs, f32::INFINITY, |x, m| x < m)
}

fn extremum(xs: &[f32], init: f32, better: impl Fn(f32, f32) -> bool + Copy) -> f32 {
    let mut acc = [init; LANES];
    let mut nan = [false; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for ((a, n), &x) in acc.iter_mut().zip(&mut nan).zip(chunk) {
            *a = if better(x, *a) { x } else { *a };
            *n |= x.is_nan();
        }
    }
    let mut best = combine(acc, |a, b| if better(b, a) { b } else { a });
    for &x in tail {
        best = if better(x, best) { x } else { best };
    }
    if nan.iter().any(|&n| n) || tail.iter().any(|x| x.is_nan()) {
        f32::NAN
    } else {
        best
    }
}

/// `e^x` for `x <= 0`, the range of a softmax lane after subtracting its maximum.
///
/// Cephes' `expf` scheme: `x = n ln 2 + r` with `|r| <= ln 2 / 2` (Cody-Waite split of
/// `ln 2`), a degree-7 polynomial for `e^r`, and `2^n` built from exponent bits. Rounding to
/// `n` adds and subtracts `1.5 * 2^23`, so no `floor` call blocks vectorization. Relative
/// error is within 2 ulp of `libm::expf` (tested). Below `-87.33` (where `2^n` would be
/// subnormal) the result is 0; NaN gives NaN; positive inputs are not supported.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LOWEST: f32 = -87.336_54; // ln(f32::MIN_POSITIVE)
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = if x < LOWEST { LOWEST } else { x };
    let t = xc * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5; // Cephes: 5.0000001201e-1, which rounds to 0.5 in f32
    let er = p * (r * r) + r + 1.0;
    // `t`'s low mantissa bits hold `n` (|n| <= 126 here), so this builds 2^n exactly.
    let biased = (t.to_bits() as i32)
        .wrapping_sub(ROUND.to_bits() as i32)
        .wrapping_add(127);
    let scale = f32::from_bits((biased as u32) << 23);
    if x < LOWEST { 0.0 } else { er * scale }
}

/// The hyperbolic tangent, from [`exp_nonpositive`] so that it vectorizes: `libm::tanhf`
/// calls `expm1f` per element, and GPT-2's GELU spent 12% of a forward pass there.
///
/// `tanh(x) = sign(x) (1 - e) / (1 + e)` with `e = exp(-2|x|)`, and near 0 (`|x| < 1/16`,
/// where `1 - e` would cancel) the odd Taylor polynomial to `x^7`, whose next term is below
/// `2^-36 |x|`. Within 8 ulp of `libm::tanhf` over the whole range (tested); NaN gives NaN,
/// the infinities give `±1`. Only IEEE `+ - * /`, so the same bits on every platform.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let e = exp_nonpositive(-2.0 * a);
    let far = (1.0 - e) / (1.0 + e);
    let x2 = x * x;
    let near = x + x * x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0)));
    if a < 0.0625 {
        near
    } else if x < 0.0 {
        -far
    } else {
        far
    }
}

/// The logistic sigmoid `1 / (1 + e^-x)`, from [`exp_nonpositive`] so that it vectorizes
/// (SiLU through `libm::expf` was 6% of Penzai's medium forward).
///
/// With `e = exp(-|x|)`: `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below, so neither
/// side cancels. Within 4 ulp of `1 / (1 + libm::expf(-x))` (tested); NaN gives NaN.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let inv = 1.0 / (1.0 + e);
    if x < 0.0 { e * inv } else { inv }
}

/// Replaces `xs` by its softmax: `exp(x - max) / sum`. A lane whose maximum is NaN or
/// `-inf` (all masked) becomes all NaN, as in `jax.nn.softmax`.
pub(crate) fn softmax_inplace(xs: &mut [f32]) {
    let m = max(xs);
    for x in xs.iter_mut() {
        *x = exp_nonpositive(*x - m);
    }
    let inv = 1.0 / sum(xs);
    for x in xs.iter_mut() {
        *x *= inv;
    }
}

/// `sum(exp(x - m))` for `m >= max(xs)`, without storing the exponentials.
pub(crate) fn sum_exp_shifted(xs: &[f32], m: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|&x| exp_nonpositive(x - m))
        .sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += exp_nonpositive(x - m);
        }
    }
    combine(acc, |a, b| a + b) + tail
}

/// Replaces `xs` by its log-softmax, `x - max - log(sum(exp(x - max)))`.
pub(crate) fn log_softmax_inplace(xs: &mut [f32]) {
    let m = max(xs);
    let shift = m + libm::logf(sum_exp_shifted(xs, m));
    for x in xs.iter_mut() {
        *x -= shift;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_matches_libm_within_four_ulp() {
        let mut worst = 0.0f32;
        let mut x = -87.0f32;
        while x <= 40.0 {
            let (got, want) = (sigmoid(x), 1.0 / (1.0 + libm::expf(-x)));
            worst = worst.max(((got - want) / want).abs());
            x += 0.000_93;
        }
        assert!(worst <= 4.0 * f32::EPSILON, "worst relative error {worst}");
        assert!(sigmoid(f32::NAN).is_nan());
        assert_eq!(
            (sigmoid(f32::INFINITY), sigmoid(f32::NEG_INFINITY)),
            (1.0, 0.0)
        );
        assert_eq!(sigmoid(0.0), 0.5);
    }

    #[test]
    fn tanh_matches_libm_within_eight_ulp() {
        let mut worst = 0.0f32;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let (got, want) = (tanh(x), libm::tanhf(x));
            if want != 0.0 {
                worst = worst.max(((got - want) / want).abs());
            } else {
                assert_eq!(got, 0.0);
            }
            x += 0.000_37;
        }
        // Tiny inputs, where tanh(x) = x to f32 precision.
        for x in [1e-30f32, -3e-12, 1e-7, -0.01, 0.062_49, 0.0625, -0.0625] {
            let want = libm::tanhf(x);
            worst = worst.max(((tanh(x) - want) / want).abs());
        }
        assert!(worst <= 8.0 * f32::EPSILON, "worst relative error {worst}");
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert_eq!((tanh(0.0), tanh(100.0), tanh(-100.0)), (0.0, 1.0, -1.0));
    }

    #[test]
    fn exp_matches_libm_within_two_ulp() {
        let mut worst = 0.0f32;
        let mut x = -87.3f32;
        while x <= 0.0 {
            let (got, want) = (exp_nonpositive(x), libm::expf(x));
            worst = worst.max(((got - want) / want).abs());
            x += 0.000_7;
        }
        assert!(worst <= 2.0 * f32::EPSILON, "worst relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
    }

    #[test]
    fn exp_handles_the_edges() {
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(-100.0), 0.0);
        assert!(exp_nonpositive(f32::NAN).is_nan());
        assert!(exp_nonpositive(-87.3) > 0.0);
    }

    #[test]
    fn extrema_propagate_nan_in_body_and_tail() {
        let mut xs: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!((max(&xs), min(&xs)), (18.0, 0.0));
        xs[3] = f32::NAN;
        assert!(max(&xs).is_nan() && min(&xs).is_nan());
        xs[3] = 3.0;
        xs[18] = f32::NAN;
        assert!(max(&xs).is_nan());
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn sums_cover_body_and_tail() {
        let xs: Vec<f32> = (1..=21).map(|i| i as f32).collect();
        assert_eq!(sum(&xs), 231.0);
        assert_eq!(sum(&[]), 0.0);
    }
}
