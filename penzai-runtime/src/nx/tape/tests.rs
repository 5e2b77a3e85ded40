//! Finite-difference checks of every gradient rule, over shapes and axis orders.

use proptest::prelude::*;

use super::super::{AxisError, DType, NamedArray};
use super::{GradError, Tape};

/// Deterministic values in [-1, 1) (or [lo, hi)) for a test array.
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 40) as f32 / (1u64 << 24) as f32;
            lo + (hi - lo) * u
        })
        .collect()
}

fn array(shape: &[(&str, usize)], seed: u64) -> NamedArray {
    ranged(shape, seed, -1.0, 1.0)
}

fn ranged(shape: &[(&str, usize)], seed: u64, lo: f32, hi: f32) -> NamedArray {
    let n = shape.iter().map(|s| s.1).product();
    NamedArray::from_f32(shape, values(n, seed, lo, hi)).unwrap()
}

/// A scalar from `out`: its elements weighted by fixed pseudo-random weights, so every
/// element of the result's gradient is exercised with a different value.
fn weigh(out: &NamedArray) -> Result<NamedArray, AxisError> {
    // Positional axes (a result of `untag`, `nmap_any`) are named first.
    let pos: Vec<String> = (0..out.positional_shape().len())
        .map(|i| format!("pos{i}"))
        .collect();
    let pos: Vec<&str> = pos.iter().map(String::as_str).collect();
    let out = &out.tag(&pos)?;
    let shape = out.named_shape();
    let pairs: Vec<(String, usize)> = shape.iter().map(|(n, s)| (n.to_string(), s)).collect();
    let pairs: Vec<(&str, usize)> = pairs.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let w = array(&pairs, 99);
    (out * &w)?.sum_all()
}

/// The tape's gradient of `weigh(f(inputs))` against central differences, input by input.
fn check(inputs: &[NamedArray], f: impl Fn(&[NamedArray]) -> Result<NamedArray, AxisError>) {
    check_tol(inputs, f, 2e-2)
}

fn check_tol(
    inputs: &[NamedArray],
    f: impl Fn(&[NamedArray]) -> Result<NamedArray, AxisError>,
    tol: f32,
) {
    let tape = Tape::start().unwrap();
    let watched: Vec<NamedArray> = inputs.iter().map(|x| tape.watch(x).unwrap()).collect();
    let loss = weigh(&f(&watched).unwrap()).unwrap();
    let refs: Vec<&NamedArray> = watched.iter().collect();
    let grads = tape.gradients(&loss, &refs).unwrap();
    for (i, x) in inputs.iter().enumerate() {
        let names: Vec<String> = x.axis_names().iter().map(|n| n.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let got = match &grads[i] {
            Some(g) => {
                assert_eq!(
                    g.named_shape(),
                    x.named_shape(),
                    "gradient {i} keeps the axes"
                );
                g.order_as(&names).unwrap().to_f32_vec()
            }
            None => vec![0.0; x.len()],
        };
        let base = x.to_f32_vec();
        let shape = x.named_shape();
        let eps = 1e-2f32;
        for k in 0..base.len() {
            let at = |delta: f32| {
                let mut v = base.clone();
                v[k] += delta;
                let xi = NamedArray::from_f32(&shape, v)
                    .unwrap()
                    .cast(x.dtype())
                    .unwrap();
                let mut args = inputs.to_vec();
                args[i] = xi;
                weigh(&f(&args).unwrap()).unwrap().scalar_f32().unwrap()
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            let err = (got[k] - fd).abs();
            assert!(
                err <= tol * (1.0 + fd.abs()),
                "input {i} element {k}: tape {} vs finite difference {fd}",
                got[k]
            );
        }
    }
}

#[test]
fn unary_ops_match_finite_differences() {
    let x = array(&[("a", 3), ("b", 2)], 1);
    let pos = ranged(&[("a", 3), ("b", 2)], 2, 0.5, 2.0);
    type Op = fn(&NamedArray) -> Result<NamedArray, AxisError>;
    let on_any: &[Op] = &[
        |x| x.exp(),
        |x| x.tanh(),
        |x| x.gelu_erf(),
        |x| x.gelu_tanh(),
        |x| x.silu(),
        |x| x.sigmoid(),
        |x| x.square(),
        |x| -x,
        |x| x + 2.0,
        |x| x - 2.0,
        |x| 2.0 - x,
        |x| x * 3.0,
        |x| 3.0 * x,
        |x| x / 4.0,
        |x| x.cast(DType::F32),
    ];
    for op in on_any {
        check(std::slice::from_ref(&x), |a| op(&a[0]));
    }
    let on_positive: &[Op] = &[
        |x| x.log(),
        |x| x.sqrt(),
        |x| x.rsqrt(),
        |x| x.powf(1.5),
        |x| x.abs(),
        |x| x.relu(),
        |x| 2.0 / x,
    ];
    for op in on_positive {
        check(std::slice::from_ref(&pos), |a| op(&a[0]));
    }
    let neg = (&pos * -1.0).unwrap();
    check(std::slice::from_ref(&neg), |a| a[0].abs());
    check(&[neg], |a| a[0].relu());
}

#[test]
fn binary_ops_broadcast_by_name() {
    let a = array(&[("a", 3), ("b", 2)], 3);
    let b = ranged(&[("b", 2), ("c", 2)], 4, 0.5, 1.5);
    check(&[a.clone(), b.clone()], |x| &x[0] + &x[1]);
    check(&[a.clone(), b.clone()], |x| &x[0] - &x[1]);
    check(&[a.clone(), b.clone()], |x| &x[0] * &x[1]);
    check(&[a.clone(), b.clone()], |x| &x[0] / &x[1]);
    check(&[a.clone(), b.clone()], |x| x[0].maximum(&x[1]));
    check(&[a.clone(), b.clone()], |x| x[0].minimum(&x[1]));
    // One array used twice: the two uses add up.
    check(std::slice::from_ref(&a), |x| &x[0] * &x[0]);
}

#[test]
fn where_routes_the_gradient_by_the_mask() {
    let t = array(&[("a", 3), ("b", 2)], 5);
    let f = array(&[("b", 2)], 6);
    let mask = NamedArray::from_bool(&[("a", 3)], vec![true, false, true]).unwrap();
    check(&[t, f], |x| NamedArray::where_(&mask, &x[0], &x[1]));
}

#[test]
fn reductions_and_normalizations() {
    let x = array(&[("a", 3), ("b", 4), ("c", 2)], 7);
    let spread: Vec<f32> = (0..24).map(|i| ((i * 7) % 24) as f32 * 0.1 - 1.2).collect();
    let spread = NamedArray::from_f32(&[("a", 3), ("b", 4), ("c", 2)], spread).unwrap();
    for axes in [&["b"][..], &["a", "c"][..]] {
        check(std::slice::from_ref(&x), |v| v[0].sum(axes));
        check(std::slice::from_ref(&x), |v| v[0].mean(axes));
        // Extremes need values further apart than the finite-difference step.
        check(std::slice::from_ref(&spread), |v| v[0].max(axes));
        check(std::slice::from_ref(&spread), |v| v[0].min(axes));
        check(std::slice::from_ref(&x), |v| v[0].var(axes));
        check(std::slice::from_ref(&x), |v| v[0].softmax(axes));
        check(std::slice::from_ref(&x), |v| v[0].log_softmax(axes));
        check(std::slice::from_ref(&x), |v| v[0].logsumexp(axes));
    }
    check(std::slice::from_ref(&x), |v| v[0].sum_all());
    check(std::slice::from_ref(&x), |v| v[0].mean_all());
}

#[test]
fn contraction_and_einsum() {
    let q = array(&[("seq", 3), ("heads", 2), ("d", 4)], 8);
    let k = array(&[("heads", 2), ("kv", 3), ("d", 4)], 9);
    check(&[q.clone(), k.clone()], |x| x[0].contract(&x[1], &["d"]));
    check(&[q.clone(), k.clone()], |x| {
        x[0].einsum(&x[1], &["kv", "seq"])
    });
    // A bf16 weight (widened inside the kernel) gets the gradient its f32 copy gets.
    let w16 = array(&[("d", 4), ("h", 3)], 10).cast(DType::BF16).unwrap();
    let w32 = w16.cast(DType::F32).unwrap();
    let grad_of = |w: &NamedArray| {
        let tape = Tape::start().unwrap();
        let w = tape.watch(w).unwrap();
        let loss = weigh(&q.contract(&w, &["d"]).unwrap()).unwrap();
        tape.gradients(&loss, &[&w]).unwrap().remove(0).unwrap()
    };
    let (g16, g32) = (grad_of(&w16), grad_of(&w32));
    assert_eq!(g16.dtype(), DType::F32);
    assert_eq!(g16, g32);
}

#[test]
fn indexing_and_joining() {
    let x = array(&[("vocab", 5), ("e", 3)], 11);
    let ids = NamedArray::from_i64(&[("seq", 4)], vec![1, 3, 1, 0]).unwrap();
    check(std::slice::from_ref(&x), |v| v[0].take("vocab", &ids));
    // Indices sharing an axis with the source gather per batch element.
    let y = array(&[("batch", 2), ("vocab", 5)], 12);
    let per = NamedArray::from_i64(&[("batch", 2), ("k", 3)], vec![0, 4, 4, 2, 1, 2]).unwrap();
    check(std::slice::from_ref(&y), |v| v[0].take("vocab", &per));
    check(std::slice::from_ref(&x), |v| v[0].index_axis("vocab", 2));
    check(std::slice::from_ref(&x), |v| v[0].slice_axis("vocab", 1..4));
    check(std::slice::from_ref(&x), |v| {
        v[0].slice_axis_step("vocab", 0..5, 2)
    });
    let z = array(&[("e", 3), ("vocab", 2)], 13);
    check(&[x.clone(), z.clone()], |v| {
        NamedArray::concat(&[v[0].clone(), v[1].clone()], "vocab")
    });
    let w = array(&[("e", 3), ("vocab", 5)], 14);
    check(&[x.clone(), w], |v| {
        NamedArray::stack(&[v[0].clone(), v[1].clone()], "pair")
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].broadcast_to(&[("batch", 2), ("e", 3)])
    });
}

#[test]
fn axis_relabelling() {
    let x = array(&[("a", 2), ("b", 3), ("c", 2)], 15);
    check(std::slice::from_ref(&x), |v| {
        v[0].move_to_front(&["c", "a"])
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].order_as(&["c", "a", "b"])
    });
    check(std::slice::from_ref(&x), |v| v[0].rename("b", "z"));
    check(std::slice::from_ref(&x), |v| v[0].insert_axis("one"));
    // Through positional axes and back, with a positional broadcast in between.
    check(std::slice::from_ref(&x), |v| {
        let p = v[0].untag(&["b", "a"])?;
        let row = NamedArray::wrap(ndarray::ArrayD::from_elem(vec![1, 2], 0.5));
        (&p * &row)?.tag(&["b2", "a2"])
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].untag_prefix(&["c"])?.tag_prefix(&["c"])
    });
}

#[test]
fn closures_have_no_rule_and_say_so() {
    let tape = Tape::start().unwrap();
    let x = tape.watch(&array(&[("a", 2)], 16)).unwrap();
    let loss = x.map_f32(|v| v * 2.0).unwrap().sum_all().unwrap();
    let err = tape.gradients(&loss, &[&x]).unwrap_err();
    assert_eq!(err, GradError::NoRule { op: "map_f32" });
    assert!(err.to_string().contains("map_f32"));
}

#[test]
fn tapes_do_not_nest_and_stop_when_dropped() {
    let tape = Tape::start().unwrap();
    assert_eq!(Tape::start().err(), Some(GradError::AlreadyRecording));
    assert!(Tape::is_recording());
    drop(tape);
    assert!(!Tape::is_recording());
    let tape = Tape::start().unwrap();
    let x = tape.watch(&array(&[("a", 2)], 17)).unwrap();
    let loss = x.sum(&["a"]).unwrap();
    // Unrelated arrays get no gradient; a non-scalar loss is an error.
    let other = array(&[("a", 2)], 18);
    let grads = tape.gradients(&loss, &[&other, &x]).unwrap();
    assert!(grads[0].is_none());
    assert_eq!(grads[1].as_ref().unwrap().to_f32_vec(), [1.0, 1.0]);
    let tape = Tape::start().unwrap();
    let x = tape.watch(&array(&[("a", 2)], 17)).unwrap();
    assert!(matches!(
        tape.gradients(&x, &[&x]),
        Err(GradError::LossNotScalar { .. })
    ));
    assert_eq!(
        Tape::start()
            .unwrap()
            .watch(&NamedArray::scalar_i64(1))
            .err(),
        Some(GradError::NotFloat { dtype: DType::I64 })
    );
}

/// Axis names and sizes for the property tests: up to three named axes, in any order.
fn axes() -> impl Strategy<Value = Vec<(&'static str, usize)>> {
    let names = ["p", "q", "r"];
    (
        proptest::sample::subsequence(names.to_vec(), 1..=3),
        1usize..4,
        1usize..4,
        1usize..4,
    )
        .prop_flat_map(|(chosen, s0, s1, s2)| {
            let sizes = [s0, s1, s2];
            let pairs: Vec<(&'static str, usize)> = chosen
                .iter()
                .enumerate()
                .map(|(i, n)| (*n, sizes[i]))
                .collect();
            Just(pairs).prop_shuffle()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn products_and_contractions_over_any_axis_order(
        left in axes(), seed in 0u64..1000, shared in "[pqr]",
    ) {
        // The right side holds the shared axis (when the left has it) and a new one, in a
        // shuffled order.
        let mut right: Vec<(&str, usize)> = left
            .iter()
            .copied()
            .filter(|(n, _)| *n == shared.as_str())
            .collect();
        right.insert(0, ("s", 2));
        let (a, b) = (array(&left, seed), array(&right, seed + 1));
        check(&[a.clone(), b.clone()], |x| &x[0] * &x[1]);
        if right.len() > 1 {
            check(&[a.clone(), b.clone()], |x| x[0].contract(&x[1], &[shared.as_str()]));
        }
        let names: Vec<&str> = left.iter().map(|(n, _)| *n).collect();
        check(std::slice::from_ref(&a), |x| x[0].softmax(&names[..1]));
        check(std::slice::from_ref(&a), |x| x[0].order_as(&names).and_then(|y| y.var(&names[names.len() - 1..])));
    }
}

mod coverage;
mod families;
mod kept;
