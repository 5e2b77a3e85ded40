//! What the rules keep alive on the tape, and their gradients when an input is a constant
//! (the rules decide what to keep from which inputs can receive a gradient).

use super::super::super::dtype::Storage;
use super::super::super::{AxisError, NamedArray};
use super::super::Tape;
use super::{array, check, ranged};

/// An activation whose buffer only the caller holds: the result of an op whose rule keeps
/// nothing (`x + 1`), so that `is_unique` says whether a later op's rule kept it.
fn activation(tape: &Tape, shape: &[(&str, usize)], seed: u64) -> NamedArray {
    (&tape.watch(&array(shape, seed)).unwrap() + 1.0).unwrap()
}

/// True when another holder (a rule on the tape) shares `x`'s elements.
fn kept(x: &NamedArray) -> bool {
    match &x.data {
        Storage::F32(a) => !a.is_unique(),
        _ => panic!("the tests use f32 arrays"),
    }
}

#[test]
fn products_with_a_constant_side_keep_only_the_constant() {
    let tape = Tape::start().unwrap();
    let h = activation(&tape, &[("a", 3), ("b", 2)], 1);
    let c = array(&[("b", 2), ("c", 2)], 2);
    let _prod = (&h * &c).unwrap();
    let _quot = (&h / &c).unwrap();
    let _proj = h.contract(&c, &["b"]).unwrap();
    assert!(!kept(&h), "the traced side is read by no gradient");
    assert!(
        kept(&c),
        "the constant side is read by the traced side's gradient"
    );
}

#[test]
fn shape_only_rules_keep_no_values() {
    let tape = Tape::start().unwrap();
    let h = activation(&tape, &[("a", 3), ("b", 2)], 3);
    let other = activation(&tape, &[("b", 2)], 4);
    let mask = NamedArray::from_bool(&[("a", 3)], vec![true, false, true]).unwrap();
    let _sum = (&h + &other).unwrap();
    let _diff = (&h - &other).unwrap();
    let _scaled = (&h * 3.0).unwrap();
    let _shifted = (2.0 - &h).unwrap();
    let _masked = NamedArray::where_(&mask, &h, &NamedArray::scalar(-1e9)).unwrap();
    let _mean = h.mean(&["b"]).unwrap();
    let _total = h.sum(&["a"]).unwrap();
    let _wide = other.broadcast_to(&[("a", 3), ("b", 2)]).unwrap();
    assert!(!kept(&h));
    assert!(!kept(&other));
}

#[test]
fn output_rules_keep_the_output_not_the_input() {
    let tape = Tape::start().unwrap();
    let h = activation(&tape, &[("a", 3), ("b", 2)], 5);
    let pos = (&activation(&tape, &[("a", 3)], 6) + 2.0).unwrap();
    let outs = [
        h.exp().unwrap(),
        h.tanh().unwrap(),
        h.softmax(&["b"]).unwrap(),
        h.log_softmax(&["b"]).unwrap(),
        pos.sqrt().unwrap(),
        pos.rsqrt().unwrap(),
    ];
    assert!(!kept(&h));
    assert!(!kept(&pos));
    for out in &outs {
        assert!(kept(out));
    }
}

#[test]
fn a_silu_keeps_its_input() {
    let tape = Tape::start().unwrap();
    let h = activation(&tape, &[("a", 3)], 7);
    let out = h.silu().unwrap();
    assert!(kept(&h));
    assert!(!kept(&out));
}

#[test]
fn constants_on_either_side_match_finite_differences() {
    let a = array(&[("a", 3), ("b", 2)], 8);
    let b = ranged(&[("b", 2), ("c", 2)], 9, 0.5, 1.5);
    type Op = fn(&NamedArray, &NamedArray) -> Result<NamedArray, AxisError>;
    let ops: &[Op] = &[
        |x, y| x * y,
        |x, y| x / y,
        |x, y| x + y,
        |x, y| x - y,
        |x, y| x.maximum(y),
        |x, y| x.contract(y, &["b"]),
    ];
    for op in ops {
        check(std::slice::from_ref(&a), |x| op(&x[0], &b));
        check(std::slice::from_ref(&b), |x| op(&a, &x[0]));
    }
    let mask = NamedArray::from_bool(&[("a", 3)], vec![true, false, true]).unwrap();
    let f = array(&[("b", 2)], 10);
    check(std::slice::from_ref(&a), |x| {
        NamedArray::where_(&mask, &x[0], &f)
    });
    check(std::slice::from_ref(&f), |x| {
        NamedArray::where_(&mask, &a, &x[0])
    });
}

#[test]
fn output_based_derivatives_match_finite_differences_at_the_edges() {
    // Large and small magnitudes, where a derivative from the output could lose precision.
    let x = NamedArray::from_f32(&[("a", 4)], vec![-3.0, -0.2, 0.3, 3.0]).unwrap();
    check(std::slice::from_ref(&x), |v| v[0].exp());
    check(std::slice::from_ref(&x), |v| v[0].tanh());
    let pos = NamedArray::from_f32(&[("a", 3)], vec![0.3, 1.0, 9.0]).unwrap();
    check(std::slice::from_ref(&pos), |v| v[0].sqrt());
    check(std::slice::from_ref(&pos), |v| v[0].rsqrt());
}

#[test]
fn one_pass_backwards_and_their_general_paths_match_finite_differences() {
    // Named axes only, in an order other than the gradient's: the one-pass path.
    let x = array(&[("a", 3), ("b", 4), ("c", 2)], 11);
    for axes in [&["b"][..], &["a", "c"][..]] {
        check(std::slice::from_ref(&x), |v| {
            v[0].softmax(axes)?.order_as(&["c", "b", "a"])
        });
        check(std::slice::from_ref(&x), |v| {
            v[0].log_softmax(axes)?.order_as(&["b", "a", "c"])
        });
    }
    check(std::slice::from_ref(&x), |v| {
        v[0].silu()?.order_as(&["c", "a", "b"])
    });
    // Positional axes (an untagged view): the general path.
    check(std::slice::from_ref(&x), |v| {
        v[0].untag(&["b"])?.softmax(&["a"])?.tag(&["b"])
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].untag(&["c"])?.log_softmax(&["b"])?.tag(&["c"])
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].untag(&["a"])?.exp()?.tag(&["a"])
    });
    check(std::slice::from_ref(&x), |v| {
        v[0].untag(&["a", "c"])?.gelu_tanh()?.tag(&["c", "a"])
    });
}

#[test]
fn an_activation_output_read_by_a_product_is_recomputed_not_kept() {
    let tape = Tape::start().unwrap();
    let gate = activation(&tape, &[("a", 3), ("n", 4)], 12);
    let up = activation(&tape, &[("a", 3), ("n", 4)], 13);
    let w = tape.watch(&array(&[("n", 4), ("e", 2)], 14)).unwrap();
    let acts = [
        gate.silu().unwrap(),
        gate.gelu_tanh().unwrap(),
        gate.gelu_erf().unwrap(),
    ];
    let _products: Vec<NamedArray> = acts
        .iter()
        .map(|h| (h * &up).unwrap().contract(&w, &["n"]).unwrap())
        .collect();
    let _projections: Vec<NamedArray> = acts
        .iter()
        .map(|h| h.contract(&w, &["n"]).unwrap())
        .collect();
    for h in &acts {
        assert!(!kept(h), "the product and the contraction keep the recipe");
    }
    assert!(kept(&gate) && kept(&up));
}

#[test]
fn recomputed_activations_give_the_same_gradients() {
    let gate = array(&[("a", 3), ("n", 4)], 15);
    let up = array(&[("a", 3), ("n", 4)], 16);
    let w = array(&[("n", 4), ("e", 2)], 17);
    let inputs = [gate, up, w];
    check(&inputs, |x| {
        (&x[0].silu()? * &x[1])?.contract(&x[2], &["n"])
    });
    check(&inputs, |x| x[0].gelu_tanh()?.contract(&x[2], &["n"]));
    check(&inputs, |x| &x[1] / &x[0].gelu_erf()?.exp()?);
    // A frozen side: only the traced input's gradient reads the recomputed value.
    check(&inputs[..2], |x| &x[0].silu()? * &x[1].silu()?);
}

#[test]
fn release_nodes_reports_every_node_in_recording_order() {
    let tape = Tape::start().unwrap();
    let x = tape.watch(&array(&[("a", 3)], 18)).unwrap();
    let _y = x.exp().unwrap().sum_all().unwrap();
    let mut readings = [300usize, 200, 200, 100, 0, 0].into_iter();
    let released = tape.release_nodes(|| readings.next().unwrap_or(0)).unwrap();
    let ops: Vec<&str> = released.iter().map(|n| n.op).collect();
    assert_eq!(ops, ["watch", "exp", "sum"]);
    // Dropped last to first: `sum` freed 300 - 200, `exp` 200 - 100, `watch` nothing.
    let bytes: Vec<usize> = released.iter().map(|n| n.bytes).collect();
    assert_eq!(bytes, [0, 100, 100]);
}
