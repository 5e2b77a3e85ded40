//! The inner loops of the skinny (decode) products: `dot` and `axpy` of f32 activations
//! against f32, f16 or bf16 weights, a 16-bit weight widened in registers as it streams by.
//!
//! Why explicit SIMD: a decode step is bound by memory only if these loops keep up with
//! memory. The compiler's own vectorization of "widen a chunk into a buffer, then dot" read
//! bf16 weights at 12-17 GB/s on a machine whose memory gives 28-31 GB/s (BENCHMARKS.md).
//! With AVX2 and FMA (checked at run time, once per call, which is an atomic load) each weight
//! is loaded, widened and multiplied in registers, with four independent accumulators to hide
//! the latency of the fused multiply-add. Other CPUs run the portable loops below, which the
//! compiler vectorizes as well as it can.

use half::{bf16, f16};

/// Independent partial sums of the portable `dot` (enough to vectorize and to hide latency).
const LANES: usize = 16;

/// `sum(x[i] * widen(w[i]))` over the common length, in `LANES` interleaved partial sums.
#[inline(always)]
fn dot_portable<T: Copy>(x: &[f32], w: &[T], widen: impl Fn(T) -> f32) -> f32 {
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let mut acc = [0.0f32; LANES];
    let (xc, wc) = (x.chunks_exact(LANES), w.chunks_exact(LANES));
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(wc.remainder())
        .map(|(&a, &b)| a * widen(b))
        .sum();
    for (xs, ws) in xc.zip(wc) {
        for i in 0..LANES {
            acc[i] += xs[i] * widen(ws[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y[i] += s * widen(w[i])` over the common length.
#[inline(always)]
fn axpy_portable<T: Copy>(y: &mut [f32], s: f32, w: &[T], widen: impl Fn(T) -> f32) {
    for (y, &w) in y.iter_mut().zip(w) {
        *y += s * widen(w);
    }
}

#[inline(always)]
fn bf16_to_f32(v: bf16) -> f32 {
    // bf16 is the top half of an f32.
    f32::from_bits(u32::from(v.to_bits()) << 16)
}

/// `sum(x[i] * w[i])` over the common length of `x` and `w`.
pub(crate) fn dot_f32(x: &[f32], w: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma() {
        return x86::dot_f32(x, w);
    }
    dot_portable(x, w, |v| v)
}

/// `sum(x[i] * w[i])` over the common length, `w` widened from bf16.
pub(crate) fn dot_bf16(x: &[f32], w: &[bf16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma() {
        return x86::dot_bf16(x, w);
    }
    dot_portable(x, w, bf16_to_f32)
}

/// `sum(x[i] * w[i])` over the common length, `w` widened from f16.
pub(crate) fn dot_f16(x: &[f32], w: &[f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma_f16c() {
        return x86::dot_f16(x, w);
    }
    dot_portable(x, w, f16::to_f32)
}

/// `y[i] += s * w[i]` over the common length of `y` and `w`.
pub(crate) fn axpy_f32(y: &mut [f32], s: f32, w: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma() {
        return x86::axpy_f32(y, s, w);
    }
    axpy_portable(y, s, w, |v| v);
}

/// `y[i] += s * w[i]` over the common length, `w` widened from bf16.
pub(crate) fn axpy_bf16(y: &mut [f32], s: f32, w: &[bf16]) {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma() {
        return x86::axpy_bf16(y, s, w);
    }
    axpy_portable(y, s, w, bf16_to_f32);
}

/// `y[i] += s * w[i]` over the common length, `w` widened from f16.
pub(crate) fn axpy_f16(y: &mut [f32], s: f32, w: &[f16]) {
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2_fma_f16c() {
        return x86::axpy_f16(y, s, w);
    }
    axpy_portable(y, s, w, f16::to_f32);
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{bf16, bf16_to_f32, f16};
    use std::arch::x86_64::*;

    pub(super) fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    pub(super) fn has_avx2_fma_f16c() -> bool {
        has_avx2_fma() && is_x86_feature_detected!("f16c")
    }

    /// The sum of the eight lanes of `v`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sum8(v: __m256) -> f32 {
        let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        let one = _mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair));
        _mm_cvtss_f32(one)
    }

    /// Defines a `dot` and an `axpy` over weights of type `$t`, given `$load`: eight weights
    /// at a pointer as an `__m256` of f32, and `$widen` for one weight of the tail.
    macro_rules! kernels {
        ($dot:ident, $axpy:ident, $t:ty, $features:literal, $load:expr, $widen:expr) => {
            /// `sum(x[i] * w[i])` over the common length (the caller checked the features).
            pub(super) fn $dot(x: &[f32], w: &[$t]) -> f32 {
                #[target_feature(enable = $features)]
                fn inner(x: &[f32], w: &[$t]) -> f32 {
                    let n = x.len().min(w.len());
                    let (xp, wp) = (x.as_ptr(), w.as_ptr());
                    let mut acc = [_mm256_setzero_ps(); 4];
                    let mut i = 0;
                    // SAFETY: every load reads 8 elements at offset i + 8u with
                    // i + 8u + 8 <= n, within both slices (n is their common length).
                    unsafe {
                        while i + 32 <= n {
                            for (u, a) in acc.iter_mut().enumerate() {
                                let o = i + 8 * u;
                                *a = _mm256_fmadd_ps(
                                    _mm256_loadu_ps(xp.add(o)),
                                    $load(wp.add(o)),
                                    *a,
                                );
                            }
                            i += 32;
                        }
                        while i + 8 <= n {
                            acc[0] = _mm256_fmadd_ps(
                                _mm256_loadu_ps(xp.add(i)),
                                $load(wp.add(i)),
                                acc[0],
                            );
                            i += 8;
                        }
                    }
                    let total =
                        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
                    let tail: f32 = x[i..n]
                        .iter()
                        .zip(&w[i..n])
                        .map(|(&a, &b)| a * $widen(b))
                        .sum();
                    sum8(total) + tail
                }
                // SAFETY: the caller checked at run time that the CPU has these features.
                unsafe { inner(x, w) }
            }

            /// `y[i] += s * w[i]` over the common length (the caller checked the features).
            pub(super) fn $axpy(y: &mut [f32], s: f32, w: &[$t]) {
                #[target_feature(enable = $features)]
                fn inner(y: &mut [f32], s: f32, w: &[$t]) {
                    let n = y.len().min(w.len());
                    let (yp, wp) = (y.as_mut_ptr(), w.as_ptr());
                    let sv = _mm256_set1_ps(s);
                    let mut i = 0;
                    // SAFETY: every load and store touches 8 elements at offset o with
                    // o + 8 <= n, within both slices; `y` is borrowed mutably, so it does
                    // not alias `w`.
                    unsafe {
                        while i + 32 <= n {
                            for u in 0..4 {
                                let o = i + 8 * u;
                                let acc = _mm256_fmadd_ps(
                                    sv,
                                    $load(wp.add(o)),
                                    _mm256_loadu_ps(yp.add(o)),
                                );
                                _mm256_storeu_ps(yp.add(o), acc);
                            }
                            i += 32;
                        }
                        while i + 8 <= n {
                            let acc =
                                _mm256_fmadd_ps(sv, $load(wp.add(i)), _mm256_loadu_ps(yp.add(i)));
                            _mm256_storeu_ps(yp.add(i), acc);
                            i += 8;
                        }
                    }
                    for (y, &w) in y[i..n].iter_mut().zip(&w[i..n]) {
                        *y += s * $widen(w);
                    }
                }
                // SAFETY: the caller checked at run time that the CPU has these features.
                unsafe { inner(y, s, w) }
            }
        };
    }

    /// Eight f32 weights.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_f32(p: *const f32) -> __m256 {
        // SAFETY: the caller reads within its slice.
        unsafe { _mm256_loadu_ps(p) }
    }

    /// Eight bf16 weights widened: zero-extend to 32 bits, shift into the top half.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_bf16(p: *const bf16) -> __m256 {
        // SAFETY: the caller reads 8 elements (16 bytes) within its slice.
        let half = unsafe { _mm_loadu_si128(p.cast::<__m128i>()) };
        _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(half)))
    }

    /// Eight f16 weights widened by the F16C conversion.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_f16(p: *const f16) -> __m256 {
        // SAFETY: the caller reads 8 elements (16 bytes) within its slice.
        let half = unsafe { _mm_loadu_si128(p.cast::<__m128i>()) };
        _mm256_cvtph_ps(half)
    }

    kernels!(dot_f32, axpy_f32, f32, "avx2,fma", load_f32, |v: f32| v);
    kernels!(
        dot_bf16,
        axpy_bf16,
        bf16,
        "avx2,fma",
        load_bf16,
        bf16_to_f32
    );
    kernels!(
        dot_f16,
        axpy_f16,
        f16,
        "avx2,fma,f16c",
        load_f16,
        f16::to_f32
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 2001) as f32 / 1000.0
                    - 1.0
            })
            .collect()
    }

    /// The kernels against a plain f64 loop, at lengths around every unrolled step, with
    /// slices of unequal length (the common length counts).
    #[test]
    fn kernels_match_a_plain_loop() {
        for n in [0, 1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 100, 257, 1000] {
            let x = data(n + 3, 1);
            let w = data(n, 2);
            let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
            let wh: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
            let reference = |widen: &dyn Fn(usize) -> f32| -> f64 {
                (0..n).map(|i| f64::from(x[i]) * f64::from(widen(i))).sum()
            };
            let close = |got: f32, want: f64| {
                assert!(
                    (f64::from(got) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "n {n}: {got} vs {want}"
                );
            };
            close(dot_f32(&x, &w), reference(&|i| w[i]));
            close(dot_bf16(&x, &wb), reference(&|i| wb[i].to_f32()));
            close(dot_f16(&x, &wh), reference(&|i| wh[i].to_f32()));

            let base = data(n + 5, 3);
            let s = 0.75f32;
            let check = |y: Vec<f32>, widen: &dyn Fn(usize) -> f32| {
                for (i, (&got, &b)) in y.iter().zip(&base).enumerate() {
                    let want = if i < n { b + s * widen(i) } else { b };
                    assert!(
                        (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                        "n {n}, i {i}"
                    );
                }
            };
            let mut y = base.clone();
            axpy_f32(&mut y, s, &w);
            check(y, &|i| w[i]);
            let mut y = base.clone();
            axpy_bf16(&mut y, s, &wb);
            check(y, &|i| wb[i].to_f32());
            let mut y = base.clone();
            axpy_f16(&mut y, s, &wh);
            check(y, &|i| wh[i].to_f32());
        }
    }

    /// The portable loops give what the SIMD ones give (so other CPUs compute the same).
    #[test]
    fn portable_loops_agree() {
        let x = data(203, 5);
        let w = data(203, 6);
        let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
        let a = dot_portable(&x, &wb, bf16_to_f32);
        let b = dot_bf16(&x, &wb);
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
        let mut y1 = data(203, 7);
        let mut y2 = y1.clone();
        axpy_portable(&mut y1, -1.5, &wb, bf16_to_f32);
        axpy_bf16(&mut y2, -1.5, &wb);
        // A fused multiply-add rounds once, the portable loop twice.
        for (a, b) in y1.iter().zip(&y2) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }
}
