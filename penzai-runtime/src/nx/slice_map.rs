//! Elementwise maps over contiguous slices, as fast as the machine allows: the same scalar
//! loop compiled for the widest SIMD the CPU has (chosen at run time), split over rayon's pool
//! when the array is large enough to pay for the hand-off.
//!
//! Why a second compiled copy: the crate targets baseline x86_64 (SSE2), so the compiler
//! vectorizes `kernels::sigmoid` and friends 4 lanes wide; an AVX2 or AVX-512 copy of the
//! same loop runs 8 or 16. The copies give the same bits: Rust never contracts `a * b + c`
//! into a fused multiply-add, so enabling FMA changes which instructions are legal, not what
//! any operation computes (tested bit for bit against the portable loop).
//!
//! Splitting is by fixed chunks written in place, so the parallel result is the serial one.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Elements from which a map is split over the pool. An estimate, not a measured crossover:
/// `silu` costs ~0.5 ns an element in one AVX-512 thread, so 2^16 elements are ~35 us against
/// a hand-off of a few; at 2^19 two cores took it from 0.28 to 0.17 ms. Binary ops are not
/// split: a product of two 2^19-element arrays got slower on two cores (memory-bound).
const PARALLEL_MIN: usize = 1 << 16;

/// Elements per parallel task: large enough that a task's start-up is noise, small enough
/// that two cores share a 2^16-element map evenly.
const TASK: usize = 1 << 13;

/// `f(x)` for every element of `xs`, in order.
pub(crate) fn map1<A, R, F>(xs: &[A], f: F) -> Vec<R>
where
    A: Copy + Sync,
    R: Send,
    F: Fn(A) -> R + Sync,
{
    collect(xs.len(), |start, out| {
        loops::map1(&xs[start..start + out.len()], out, &f)
    })
}

/// [`map1`] on the calling thread, for a function that cannot be shared between threads.
pub(crate) fn map1_serial<A: Copy, R>(xs: &[A], f: impl Fn(A) -> R) -> Vec<R> {
    let mut out = Vec::with_capacity(xs.len());
    loops::map1(xs, &mut out.spare_capacity_mut()[..xs.len()], &f);
    // SAFETY: the loop wrote one element per element of `xs`, all `xs.len()` of them.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(xs.len())
    };
    out
}

/// `f(x, y)` for every pair of elements of `xs` and `ys`, in order, over their common length.
pub(crate) fn map2<A, B, R, F>(xs: &[A], ys: &[B], f: F) -> Vec<R>
where
    A: Copy + Sync,
    B: Copy + Sync,
    R: Send,
    F: Fn(A, B) -> R + Sync,
{
    let n = xs.len().min(ys.len());
    collect(n, |start, out| {
        let range = start..start + out.len();
        loops::map2(&xs[range.clone()], &ys[range], out, &f)
    })
}

/// A new vector of `n` elements, made by `fill(start, out)` on consecutive pieces `out` of it
/// (starting at element `start`), over rayon's pool when `n` is at least [`PARALLEL_MIN`].
///
/// `fill` must write every element of `out`; the callers' loops zip `out` with input slices
/// of exactly its length.
fn collect<R: Send>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<R>]) + Sync) -> Vec<R> {
    let mut out = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        spare
            .par_chunks_mut(TASK)
            .enumerate()
            .for_each(|(i, piece)| fill(i * TASK, piece));
    } else {
        fill(0, spare);
    }
    // SAFETY: `fill` wrote all `n` elements (its contract above); a panic in it unwinds
    // before this point and leaves the vector empty, leaking nothing unsafely.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(n)
    };
    out
}

/// The loops themselves, and their dispatch to the widest SIMD the CPU has.
pub(crate) mod loops {
    use std::mem::MaybeUninit;

    /// Writes `f(x)` for each `x` of `xs` into `out` (same length).
    #[inline(always)]
    pub(crate) fn map1_portable<A: Copy, R>(
        xs: &[A],
        out: &mut [MaybeUninit<R>],
        f: &impl Fn(A) -> R,
    ) {
        for (o, &x) in out.iter_mut().zip(xs) {
            o.write(f(x));
        }
    }

    /// Writes `f(x, y)` into `out` (all three the same length).
    #[inline(always)]
    pub(crate) fn map2_portable<A: Copy, B: Copy, R>(
        xs: &[A],
        ys: &[B],
        out: &mut [MaybeUninit<R>],
        f: &impl Fn(A, B) -> R,
    ) {
        for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
            o.write(f(x, y));
        }
    }

    /// [`map2_portable`] in the widest instruction set this CPU has.
    pub(crate) fn map2<A: Copy, B: Copy, R>(
        xs: &[A],
        ys: &[B],
        out: &mut [MaybeUninit<R>],
        f: &impl Fn(A, B) -> R,
    ) {
        #[cfg(target_arch = "x86_64")]
        match x86::level() {
            x86::Level::Avx512 => return x86::map2_avx512(xs, ys, out, f),
            x86::Level::Avx2 => return x86::map2_avx2(xs, ys, out, f),
            x86::Level::Baseline => {}
        }
        map2_portable(xs, ys, out, f)
    }

    /// [`map1_portable`] in the widest instruction set this CPU has.
    pub(crate) fn map1<A: Copy, R>(xs: &[A], out: &mut [MaybeUninit<R>], f: &impl Fn(A) -> R) {
        #[cfg(target_arch = "x86_64")]
        match x86::level() {
            x86::Level::Avx512 => return x86::map1_avx512(xs, out, f),
            x86::Level::Avx2 => return x86::map1_avx2(xs, out, f),
            x86::Level::Baseline => {}
        }
        map1_portable(xs, out, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    pub(crate) mod x86 {
        use std::mem::MaybeUninit;

        use super::{map1_portable, map2_portable};

        /// The instruction sets the loops are compiled for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Level {
            Baseline,
            Avx2,
            Avx512,
        }

        /// The widest level this CPU runs (the detection macro caches, so this is a few
        /// atomic loads).
        pub(crate) fn level() -> Level {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
            {
                Level::Avx512
            } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                Level::Avx2
            } else {
                Level::Baseline
            }
        }

        /// Defines a safe entry point calling `$loop` compiled with `$features` (the caller
        /// checked them with [`level`]).
        macro_rules! compiled_for {
            ($map1:ident, $map2:ident, $features:literal) => {
                /// [`map1_portable`] compiled for these features (checked by the caller).
                pub(crate) fn $map1<A: Copy, R>(
                    xs: &[A],
                    out: &mut [MaybeUninit<R>],
                    f: &impl Fn(A) -> R,
                ) {
                    #[target_feature(enable = $features)]
                    fn inner<A: Copy, R>(
                        xs: &[A],
                        out: &mut [MaybeUninit<R>],
                        f: &impl Fn(A) -> R,
                    ) {
                        map1_portable(xs, out, f)
                    }
                    // SAFETY: the caller checked with `level` that the CPU has these features.
                    unsafe { inner(xs, out, f) }
                }

                /// [`map2_portable`] compiled for these features (checked by the caller).
                pub(crate) fn $map2<A: Copy, B: Copy, R>(
                    xs: &[A],
                    ys: &[B],
                    out: &mut [MaybeUninit<R>],
                    f: &impl Fn(A, B) -> R,
                ) {
                    #[target_feature(enable = $features)]
                    fn inner<A: Copy, B: Copy, R>(
                        xs: &[A],
                        ys: &[B],
                        out: &mut [MaybeUninit<R>],
                        f: &impl Fn(A, B) -> R,
                    ) {
                        map2_portable(xs, ys, out, f)
                    }
                    // SAFETY: the caller checked with `level` that the CPU has these features.
                    unsafe { inner(xs, ys, out, f) }
                }
            };
        }

        compiled_for!(map1_avx2, map2_avx2, "avx2,fma");
        compiled_for!(map1_avx512, map2_avx512, "avx512f,avx2,fma");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nx::kernels;

    /// Inputs covering the awkward cases: NaN, the infinities, both zeros, subnormals, the
    /// largest magnitudes, the kernels' branch points, and a dense sweep of ordinary values.
    fn awkward_inputs() -> Vec<f32> {
        let mut xs = vec![
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-40,
            -1e-40,
            f32::from_bits(1),
            f32::MAX,
            f32::MIN,
            1e30,
            -1e30,
            87.336_54,
            -87.336_54,
            -88.0,
            0.0625,
            -0.0625,
        ];
        let mut state = 0x9e37_79b9u32;
        for i in 0..20_000 {
            // Bits from an xorshift: every exponent, sign and mantissa pattern shows up.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            xs.push(f32::from_bits(state));
            xs.push((i as f32 - 10_000.0) * 0.003_7);
        }
        xs.push(1.5); // an odd length, so every loop has a tail
        xs
    }

    type Unary = fn(f32) -> f32;

    /// The activations the math module maps, by name.
    fn activations() -> Vec<(&'static str, Unary)> {
        vec![
            ("sigmoid", kernels::sigmoid),
            ("tanh", kernels::tanh),
            ("silu", |x| x * kernels::sigmoid(x)),
            ("gelu_tanh", |x| {
                0.5 * x * (1.0 + kernels::tanh(0.797_884_6 * (x + 0.044_715 * x * x * x)))
            }),
            ("exp_nonpositive", |x| kernels::exp_nonpositive(-x.abs())),
            ("max with zero", |x| x.max(0.0)),
            ("mul add", |x| x * 1.25 + 0.5),
        ]
    }

    fn portable1(xs: &[f32], f: Unary) -> Vec<u32> {
        let mut out = vec![MaybeUninit::uninit(); xs.len()];
        loops::map1_portable(xs, &mut out, &f);
        assumed_bits(&out)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn assumed_bits(out: &[MaybeUninit<f32>]) -> Vec<u32> {
        // SAFETY: the callers pass buffers a loop wrote in full.
        #[allow(unsafe_code)]
        out.iter()
            .map(|v| unsafe { v.assume_init() }.to_bits())
            .collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_compiled_copy_gives_the_portable_bits() {
        use loops::x86::{self, Level};
        let xs = awkward_inputs();
        let level = x86::level();
        let copies = [(Level::Avx2, "avx2"), (Level::Avx512, "avx512")];
        let ys: Vec<f32> = xs.iter().rev().copied().collect();
        for (name, f) in activations() {
            let want = portable1(&xs, f);
            let want2: Vec<u32> = xs
                .iter()
                .zip(&ys)
                .map(|(&x, &y)| (y * f(x)).to_bits())
                .collect();
            for (needed, copy) in copies {
                let supported = match needed {
                    Level::Avx512 => level == Level::Avx512,
                    _ => level != Level::Baseline,
                };
                if !supported {
                    continue;
                }
                // The binary copies too, as a gradient rule `g * d(x)` uses them.
                let g = |x: f32, y: f32| y * f(x);
                let mut out = vec![MaybeUninit::uninit(); xs.len()];
                let mut out2 = vec![MaybeUninit::uninit(); xs.len()];
                if needed == Level::Avx2 {
                    x86::map1_avx2(&xs, &mut out, &f);
                    x86::map2_avx2(&xs, &ys, &mut out2, &g);
                } else {
                    x86::map1_avx512(&xs, &mut out, &f);
                    x86::map2_avx512(&xs, &ys, &mut out2, &g);
                }
                assert!(
                    assumed_bits(&out2) == want2,
                    "{name} binary in {copy} differs"
                );
                let got = assumed_bits(&out);
                let diff = got.iter().zip(&want).position(|(a, b)| a != b);
                assert_eq!(diff, None, "{name} in {copy} differs at {diff:?}");
            }
        }
    }

    #[test]
    fn parallel_maps_give_the_serial_bits() {
        let xs = awkward_inputs();
        let mut big = xs.clone();
        while big.len() < 3 * PARALLEL_MIN {
            big.extend_from_slice(&xs);
        }
        big.push(-2.5); // not a multiple of the task size
        for (name, f) in activations() {
            let want = portable1(&big, f);
            assert!(bits(&map1(&big, f)) == want, "{name} in parallel differs");
            let small = &big[..1000];
            assert!(
                bits(&map1(small, f)) == want[..1000],
                "{name} serial differs"
            );
            let ys: Vec<f32> = big.iter().rev().copied().collect();
            let want2: Vec<u32> = big
                .iter()
                .zip(&ys)
                .map(|(&x, &y)| (y * f(x)).to_bits())
                .collect();
            let got2 = map2(&big, &ys, |x, y| y * f(x));
            assert!(bits(&got2) == want2, "{name} binary in parallel differs");
        }
    }

    #[test]
    fn collect_fills_every_piece_at_its_start() {
        let n = PARALLEL_MIN * 2 + 21;
        let got: Vec<usize> = collect(n, |start, out| {
            for (i, o) in out.iter_mut().enumerate() {
                o.write(start + i);
            }
        });
        assert!(got.iter().enumerate().all(|(i, &v)| i == v));
        assert!(map1::<f32, f32, _>(&[], |x| x).is_empty());
    }
}
