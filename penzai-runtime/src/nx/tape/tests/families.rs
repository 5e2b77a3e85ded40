//! Property tests: every op family against finite differences, over random shapes and
//! axis orders (the shapes come from [`axes`]: one to three named axes, sizes 1 to 3, in
//! any order).

use proptest::prelude::*;

use super::super::super::{AxisError, NamedArray};
use super::{array, axes, check, ranged};

/// The names of a shape.
fn names<'a>(shape: &[(&'a str, usize)]) -> Vec<&'a str> {
    shape.iter().map(|(n, _)| *n).collect()
}

/// The first `k` (at least one) names of a shape.
fn some_names<'a>(shape: &[(&'a str, usize)], k: usize) -> Vec<&'a str> {
    names(shape)[..k.clamp(1, shape.len())].to_vec()
}

/// A second shape over some of `shape`'s axes (same sizes), reversed, plus a new axis.
fn partner(shape: &[(&'static str, usize)], keep: usize) -> Vec<(&'static str, usize)> {
    let mut out: Vec<(&'static str, usize)> = shape[..keep.min(shape.len())].to_vec();
    out.reverse();
    out.push(("s", 2));
    out
}

/// A boolean mask over `shape`, from a seed.
fn mask(shape: &[(&str, usize)], seed: u64) -> NamedArray {
    let n: usize = shape.iter().map(|s| s.1).product();
    let bits = (0..n)
        .map(|i| (seed >> (i % 60)) & 1 == 1 || i % 3 == 0)
        .collect();
    NamedArray::from_bool(shape, bits).unwrap()
}

type Op = fn(&NamedArray) -> Result<NamedArray, AxisError>;

const SMOOTH: [Op; 12] = [
    |x| x.exp(),
    |x| x.tanh(),
    |x| x.gelu_erf(),
    |x| x.gelu_tanh(),
    |x| x.silu(),
    |x| x.sigmoid(),
    |x| x.softplus(),
    |x| x.square(),
    |x| -x,
    |x| 1.5 - x,
    |x| x * -2.0,
    |x| x / 3.0,
];

const POSITIVE: [Op; 6] = [
    |x| x.log(),
    |x| x.sqrt(),
    |x| x.rsqrt(),
    |x| x.powf(-0.5),
    |x| 2.0 / x,
    |x| x.abs(),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn elementwise_unary(shape in axes(), seed in 0u64..1000, op in 0usize..12, pos in 0usize..6) {
        let x = array(&shape, seed);
        check(std::slice::from_ref(&x), |v| SMOOTH[op](&v[0]));
        let p = ranged(&shape, seed, 0.5, 2.0);
        check(std::slice::from_ref(&p), |v| POSITIVE[pos](&v[0]));
    }

    #[test]
    fn elementwise_binary_broadcasts_by_name(
        shape in axes(), keep in 0usize..4, seed in 0u64..1000, op in 0usize..6,
    ) {
        // Values on two grids 0.05 apart, so that `maximum`/`minimum` never meet a tie
        // within the finite-difference step.
        let grid = |x: NamedArray, offset: f32| {
            x.map_f32(move |v| (v * 10.0).round() / 10.0 + offset).unwrap()
        };
        let a = grid(array(&shape, seed), 0.05);
        let b = grid(ranged(&partner(&shape, keep), seed + 1, 0.5, 1.5), 0.0);
        let f = |x: &[NamedArray]| match op {
            0 => &x[0] + &x[1],
            1 => &x[0] - &x[1],
            2 => &x[0] * &x[1],
            3 => &x[0] / &x[1],
            4 => x[0].maximum(&x[1]),
            _ => x[0].minimum(&x[1]),
        };
        check(&[a.clone(), b.clone()], f);
        // And with the sides swapped (the result takes the other side's order; the
        // divisor kept away from zero).
        check(&[b, grid(ranged(&shape, seed, 0.5, 1.5), 0.05)], f);
    }

    #[test]
    fn contraction_over_shared_axes(shape in axes(), keep in 1usize..4, seed in 0u64..1000) {
        let a = array(&shape, seed);
        let other = partner(&shape, keep);
        let b = array(&other, seed + 1);
        let shared = some_names(&other[..other.len() - 1], keep);
        check(&[a.clone(), b.clone()], |x| x[0].contract(&x[1], &shared));
        // einsum keeping one shared axis as a batch axis.
        let mut out: Vec<&str> = vec!["s"];
        out.extend(names(&shape).into_iter().filter(|n| !shared.contains(n) || *n == shared[0]));
        check(&[a, b], |x| x[0].einsum(&x[1], &out));
    }

    #[test]
    fn reductions_and_normalizations(shape in axes(), k in 1usize..4, seed in 0u64..1000, op in 0usize..9) {
        let over = some_names(&shape, k);
        // Distinct values further apart than the step, for the extremes.
        let n: usize = shape.iter().map(|s| s.1).product();
        let spread: Vec<f32> = (0..n).map(|i| ((i * 7 + seed as usize) % n) as f32 * 0.2 - 1.0).collect();
        let spread = NamedArray::from_f32(&shape, spread).unwrap();
        let x = array(&shape, seed);
        match op {
            0 => check(&[x], |v| v[0].sum(&over)),
            1 => check(&[x], |v| v[0].mean(&over)),
            2 => check(&[spread], |v| v[0].max(&over)),
            3 => check(&[spread], |v| v[0].min(&over)),
            4 => check(&[x], |v| v[0].var(&over)),
            5 => check(&[x], |v| v[0].logsumexp(&over)),
            6 => check(&[x], |v| v[0].softmax(&over)),
            7 => check(&[x], |v| v[0].log_softmax(&over)),
            // A norm: (x - mean) / sqrt(var + eps), over the chosen axes.
            _ => check(&[x], |v| {
                let centered = (&v[0] - &v[0].mean(&over)?)?;
                &centered * &(&v[0].var(&over)? + 1e-3)?.rsqrt()?
            }),
        }
    }

    #[test]
    fn gathers_and_indexed_updates(shape in axes(), seed in 0u64..1000, ids in proptest::collection::vec(-4i64..6, 1..5)) {
        let x = array(&shape, seed);
        let (axis, size) = shape[0];
        let idx = NamedArray::from_i64(&[("k", ids.len())], ids.clone()).unwrap();
        check(std::slice::from_ref(&x), |v| v[0].take(axis, &idx));
        check(std::slice::from_ref(&x), |v| v[0].index(&crate::idx! { axis => &idx }));
        // Scatter-add and set of rows at the same ids (out of range ones dropped).
        let rows: Vec<(&str, usize)> = [("k", ids.len())].into_iter().chain(shape[1..].iter().copied()).collect();
        let vals = array(&rows, seed + 2);
        check(&[x.clone(), vals.clone()], |v| v[0].at(&crate::idx! { axis => &idx }).add(&v[1]));
        check(&[x.clone(), vals], |v| v[0].at(&crate::idx! { axis => &idx }).set(&v[1]));
        // Per-element ids sharing the other axes with the source.
        if shape.len() > 1 {
            let other = shape[1];
            let n = other.1 * 2;
            let per: Vec<i64> = (0..n).map(|i| (i as i64 * 5 + seed as i64) % size as i64).collect();
            let per = NamedArray::from_i64(&[other, ("k", 2)], per).unwrap();
            check(std::slice::from_ref(&x), |v| v[0].take(axis, &per));
        }
    }

    #[test]
    fn slicing_and_indexing(shape in axes(), seed in 0u64..1000, start in 0usize..3, step in 1usize..3) {
        let x = array(&shape, seed);
        let (axis, size) = shape[shape.len() - 1];
        let start = start.min(size - 1);
        check(std::slice::from_ref(&x), |v| v[0].index_axis(axis, start));
        check(std::slice::from_ref(&x), |v| v[0].slice_axis_step(axis, start..size, step));
        check(std::slice::from_ref(&x), |v| v[0].index(&crate::idx! { axis => crate::nx::Slice::reversed() }));
    }

    #[test]
    fn concat_and_stack_of_parts_in_any_order(shape in axes(), seed in 0u64..1000) {
        let a = array(&shape, seed);
        // The same axes in reverse order, and another size along the joined axis.
        let mut reversed: Vec<(&str, usize)> = shape.iter().rev().copied().collect();
        let b_same = array(&reversed, seed + 1);
        let axis = shape[0].0;
        for entry in reversed.iter_mut() {
            if entry.0 == axis {
                entry.1 += 1;
            }
        }
        let b_longer = array(&reversed, seed + 2);
        check(&[a.clone(), b_longer], |v| NamedArray::concat(&[v[0].clone(), v[1].clone()], axis));
        check(&[a, b_same], |v| NamedArray::stack(&[v[0].clone(), v[1].clone()], "pair"));
    }

    #[test]
    fn transposes_and_positional_round_trips(shape in axes(), order in axes(), seed in 0u64..1000) {
        let x = array(&shape, seed);
        let own = names(&shape);
        // Some order of a subset of the axes in front (the rest follow in their order).
        let chosen: Vec<&str> = names(&order).into_iter().filter(|n| own.contains(n)).collect();
        check(std::slice::from_ref(&x), |v| v[0].move_to_front(&chosen));
        check(std::slice::from_ref(&x), |v| v[0].canonicalize());
        check(std::slice::from_ref(&x), |v| {
            let p = v[0].untag(&own)?;
            let names: Vec<String> = own.iter().map(|n| format!("{n}2")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            p.tag(&names)
        });
        check(std::slice::from_ref(&x), |v| v[0].rename(own[0], "z"));
    }

    #[test]
    fn where_and_masks(shape in axes(), keep in 0usize..4, seed in 0u64..1000) {
        let t = array(&shape, seed);
        let f = array(&partner(&shape, keep), seed + 1);
        let m = mask(&shape[..keep.clamp(1, shape.len())], seed);
        check(&[t.clone(), f], |v| NamedArray::where_(&m, &v[0], &v[1]));
        // A masked softmax, as attention computes it.
        let over = some_names(&shape, 1);
        check(&[t], |v| NamedArray::where_(&m, &v[0], &NamedArray::scalar(-1e4))?.softmax(&over));
    }
}
