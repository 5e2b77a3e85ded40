//! Finite-difference checks of the rules of indexed updates, dict indexing, positional
//! ops, `scan` and `nmap_any`, and the typed errors of ops that apply a closure.

use ndarray::ArrayD;

use super::super::super::{AxisError, Indexer, NamedArray, NewAxis, Slice};
use super::super::{GradError, Tape};
use super::{array, check, ranged, weigh};

/// Values spread further apart than the finite-difference step (for min/max).
fn spread(shape: &[(&str, usize)], offset: f32) -> NamedArray {
    let n: usize = shape.iter().map(|s| s.1).product();
    let v = (0..n)
        .map(|i| ((i * 7 + 3) % n) as f32 * 0.3 - 0.9 + offset)
        .collect();
    NamedArray::from_f32(shape, v).unwrap()
}

#[test]
fn indexed_set_and_add_pass_the_gradient_to_both_sides() {
    let x = array(&[("seq", 5), ("e", 3)], 21);
    // A value missing the `seq` axis, broadcast over the written rows.
    let row = array(&[("e", 3)], 22);
    check(&[x.clone(), row.clone()], |v| {
        v[0].at(&crate::idx! { "seq" => 1..4 }).set(&v[1])
    });
    check(&[x.clone(), row.clone()], |v| {
        v[0].at(&crate::idx! { "seq" => Slice::reversed() })
            .add(&v[1])
    });
    // Scatter-add: repeated ids accumulate; `set` keeps (and differentiates) the last.
    let ids = NamedArray::from_i64(&[("tok", 4)], vec![2, 0, 2, -1]).unwrap();
    let vals = array(&[("tok", 4), ("e", 3)], 23);
    check(&[x.clone(), vals.clone()], |v| {
        v[0].at(&crate::idx! { "seq" => &ids }).add(&v[1])
    });
    check(&[x.clone(), vals.clone()], |v| {
        v[0].at(&crate::idx! { "seq" => &ids }).set(&v[1])
    });
    // Writes out of range are dropped, and so is their gradient.
    let far = NamedArray::from_i64(&[("tok", 2)], vec![9, 1]).unwrap();
    let two = array(&[("tok", 2)], 24);
    check(&[x.clone(), two], |v| {
        v[0].at(&crate::idx! { "seq" => &far }).add(&v[1])
    });
    // A single position and a positional value.
    let scalar = NamedArray::scalar(0.7);
    check(&[x, scalar], |v| {
        v[0].at(&crate::idx! { "seq" => 2, "e" => 1 }).set(&v[1])
    });
}

#[test]
fn indexed_mul_min_max_follow_the_product_rule_and_the_selected_side() {
    let x = spread(&[("seq", 4), ("e", 2)], 0.05);
    let v = spread(&[("e", 2)], -0.1);
    let ids = NamedArray::from_i64(&[("tok", 3)], vec![1, 3, 1]).unwrap();
    let many = spread(&[("tok", 3), ("e", 2)], 0.13);
    for at in [crate::idx! { "seq" => 1..3 }, crate::idx! { "seq" => &ids }] {
        let val = if at.entries()[0].1 == crate::nx::AxisIndex::Array(ids.clone()) {
            many.clone()
        } else {
            v.clone()
        };
        check(&[x.clone(), val.clone()], |a| a[0].at(&at).mul(&a[1]));
        check(&[x.clone(), val.clone()], |a| a[0].at(&at).min(&a[1]));
        check(&[x.clone(), val.clone()], |a| a[0].at(&at).max(&a[1]));
    }
    // A zero factor: the other factors' gradient is still exact.
    let zero = NamedArray::from_f32(&[("e", 2)], vec![0.0, 2.0]).unwrap();
    check(&[x.clone(), zero], |a| {
        a[0].at(&crate::idx! { "seq" => &ids }).mul(&a[1])
    });
    // `apply` is a read, a function and a set.
    check(std::slice::from_ref(&x), |a| {
        a[0].at(&crate::idx! { "seq" => 0..2 })
            .apply(|p| p.square())
    });
}

#[test]
fn dict_indexing_by_slices_integers_arrays_and_new_axes() {
    let x = array(&[("a", 3), ("b", 5)], 25);
    let at = |i: Indexer| move |v: &[NamedArray]| v[0].index(&i);
    check(std::slice::from_ref(&x), at(crate::idx! { "b" => 1..4 }));
    check(
        std::slice::from_ref(&x),
        at(crate::idx! { "b" => Slice::new(Some(4), None, -2) }),
    );
    check(
        std::slice::from_ref(&x),
        at(crate::idx! { "a" => -1, "b" => 2 }),
    );
    let per_row = NamedArray::from_i64(&[("a", 3)], vec![4, 1, 1]).unwrap();
    check(
        std::slice::from_ref(&x),
        at(crate::idx! { "b" => &per_row }),
    );
    // Clamped and negative ids, and a positional index array.
    let ks = NamedArray::from_i64(&[("k", 4)], vec![-1, 9, 0, 0]).unwrap();
    check(std::slice::from_ref(&x), at(crate::idx! { "b" => &ks }));
    let pos = NamedArray::wrap_i64(ArrayD::from_shape_vec(vec![2], vec![3, 3]).unwrap());
    check(
        std::slice::from_ref(&x),
        at(crate::idx! { "b" => &pos, "n" => NewAxis }),
    );
}

#[test]
fn positional_ops() {
    let x = array(&[("p", 2), ("q", 3), ("n", 2)], 26)
        .untag_prefix(&["p", "q"])
        .unwrap();
    let named = |y: NamedArray| -> Result<NamedArray, AxisError> {
        let names: Vec<String> = (0..y.positional_shape().len())
            .map(|i| format!("t{i}"))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        y.tag(&names)
    };
    let tagged = |v: &[NamedArray]| v[0].tag(&["p", "q"]);
    let x_named = tagged(std::slice::from_ref(&x)).unwrap();
    let back = |v: &NamedArray| v.untag_prefix(&["p", "q"]);
    check(std::slice::from_ref(&x_named), |v| {
        named(back(&v[0])?.sum_positional(1)?)
    });
    check(std::slice::from_ref(&x_named), |v| {
        named(back(&v[0])?.mean_positional(0)?)
    });
    let s = spread(&[("p", 2), ("q", 3), ("n", 2)], 0.0);
    check(std::slice::from_ref(&s), |v| {
        named(back(&v[0])?.max_positional(1)?)
    });
    check(std::slice::from_ref(&s), |v| {
        named(back(&v[0])?.min_positional(0)?)
    });
    check(std::slice::from_ref(&x_named), |v| {
        named(back(&v[0])?.reshape_positional(&[3, 2])?)
    });
    check(std::slice::from_ref(&x_named), |v| {
        named(back(&v[0])?.broadcast_to_full(&[2, 2, 3], &[("m", 2)])?)
    });
    check(std::slice::from_ref(&x_named), |v| {
        named(v[0].unwrap(&["n", "q", "p"])?)
    });
}

#[test]
fn scan_differentiates_through_its_steps_and_carry() {
    let xs = array(&[("batch", 2), ("seq", 4)], 27);
    let gates = ranged(&[("seq", 4)], 28, 0.5, 1.5);
    let init = array(&[("batch", 2)], 29);
    // A gated running state: h_t = g_t * h_{t-1} + x_t, and the stacked states.
    check(&[xs, gates, init], |v| {
        let (last, states) = NamedArray::scan("seq", v[2].clone(), &[&v[0], &v[1]], |h, s| {
            let next = (&(&h * &s[1])? + &s[0])?.tanh()?;
            Ok((next.clone(), next))
        })?;
        &states + &last
    });
}

#[test]
fn nmap_any_over_nx_ops_has_a_gradient_and_closures_say_they_have_none() {
    let x = array(&[("b", 2), ("d", 3)], 30);
    let w = array(&[("d", 3)], 31);
    check(&[x.clone(), w.clone()], |v| {
        let rows = v[0].untag(&["d"])?;
        let col = v[1].untag(&["d"])?;
        NamedArray::nmap_any(&[&rows, &col], |s| {
            (&s[0] * &s[1])?.tag(&["d"])?.softmax(&["d"])?.untag(&["d"])
        })
    });
    let no_rule = |f: &dyn Fn(&NamedArray) -> Result<NamedArray, AxisError>| {
        let tape = Tape::start().unwrap();
        let x = tape.watch(&x).unwrap();
        let loss = weigh(&f(&x).unwrap()).unwrap();
        tape.gradients(&loss, &[&x]).unwrap_err()
    };
    // A closure that builds its output from raw numbers.
    let err = no_rule(&|x| {
        NamedArray::nmap_any(&[&x.untag(&["d"])?], |s| {
            Ok(NamedArray::scalar(s[0].to_f32_vec().iter().sum()))
        })
    });
    assert_eq!(err, GradError::NoRule { op: "nmap_any" });
    let err = no_rule(&|x| NamedArray::nmap(&[&x.untag(&["d"])?], |s| s[0].mapv(|v| v * 2.0)));
    assert_eq!(err, GradError::NoRule { op: "nmap" });
    let err = no_rule(&|x| {
        let mut y = x.clone();
        y.map_f32_inplace(|v| v + 1.0)?;
        Ok(y)
    });
    assert_eq!(
        err,
        GradError::NoRule {
            op: "map_f32_inplace"
        }
    );
    assert!(err.to_string().contains("map_f32_inplace"), "{err}");
}

#[test]
fn softplus_has_the_sigmoid_as_derivative() {
    let x = ranged(&[("a", 4), ("b", 2)], 32, -3.0, 3.0);
    check(std::slice::from_ref(&x), |v| v[0].softplus());
}
