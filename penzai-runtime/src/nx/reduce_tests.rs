use super::*;
use crate::nx::DType;

fn f(shape: &[(&str, usize)], data: &[f32]) -> NamedArray {
    NamedArray::from_f32(shape, data.to_vec()).unwrap()
}

fn ab() -> NamedArray {
    f(&[("a", 2), ("b", 3)], &[1., 2., 3., 4., 5., 6.])
}

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-6 * w.abs().max(1.0);
        assert!(ok, "{got:?} vs {want:?}");
    }
}

#[test]
fn sum_over_one_or_several_axes() {
    assert_eq!(ab().sum(&["b"]).unwrap().to_f32_vec(), [6., 15.]);
    assert_eq!(ab().sum(&["a"]).unwrap().to_f32_vec(), [5., 7., 9.]);
    assert_eq!(ab().sum(&["b", "a"]).unwrap().scalar_f32().unwrap(), 21.);
    assert_eq!(ab().sum_all().unwrap().scalar_f32().unwrap(), 21.);
}

#[test]
fn sum_over_no_axes_returns_the_values() {
    assert_eq!(ab().sum(&[]).unwrap(), ab());
    assert_eq!(
        ab().var(&[]).unwrap(),
        NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap()
    );
}

#[test]
fn sum_keeps_integers_and_counts_booleans() {
    let ids = NamedArray::from_i64(&[("a", 2), ("b", 2)], vec![1, 2, 3, 4]).unwrap();
    let s = ids.sum(&["b"]).unwrap();
    assert_eq!((s.dtype(), s.to_i64_vec()), (DType::I64, vec![3, 7]));
    let m = NamedArray::from_bool(&[("a", 3)], vec![true, false, true]).unwrap();
    assert_eq!(m.sum(&["a"]).unwrap().to_i64_vec(), [2]);
    assert_eq!(m.mean(&["a"]).unwrap().to_f32_vec(), [2.0 / 3.0]);
}

#[test]
fn sum_of_a_long_contiguous_lane_is_accurate() {
    let x = NamedArray::ones(&[("a", 3), ("b", 1001)]).unwrap();
    assert_eq!(x.sum(&["b"]).unwrap().to_f32_vec(), [1001.; 3]);
    assert_eq!(
        x.move_to_front(&["b"])
            .unwrap()
            .sum(&["b"])
            .unwrap()
            .to_f32_vec(),
        [1001.; 3]
    );
}

#[test]
fn reductions_keep_positional_axes() {
    let v = ab().untag(&["a"]).unwrap();
    let s = v.sum(&["b"]).unwrap();
    assert_eq!(s.positional_shape(), [2]);
    assert_eq!(s.to_f32_vec(), [6., 15.]);
}

#[test]
fn mean_max_min() {
    assert_eq!(ab().mean(&["b"]).unwrap().to_f32_vec(), [2., 5.]);
    assert_eq!(ab().mean_all().unwrap().scalar_f32().unwrap(), 3.5);
    assert_eq!(ab().max(&["a"]).unwrap().to_f32_vec(), [4., 5., 6.]);
    assert_eq!(ab().min(&["b"]).unwrap().to_f32_vec(), [1., 4.]);
    let ids = NamedArray::from_i64(&[("a", 3)], vec![5, -2, 9]).unwrap();
    assert_eq!(ids.max(&["a"]).unwrap().to_i64_vec(), [9]);
    assert_eq!(ids.min(&["a"]).unwrap().to_i64_vec(), [-2]);
}

#[test]
fn max_propagates_nan_and_rejects_empty_axes() {
    let x = f(&[("a", 3)], &[1., f32::NAN, 3.]);
    assert!(x.max(&["a"]).unwrap().scalar_f32().unwrap().is_nan());
    let empty = NamedArray::zeros(&[("a", 2), ("b", 0)]).unwrap();
    assert_eq!(
        empty.max(&["b"]).unwrap_err().to_string(),
        "max over zero-size axes [\"b\"] has no identity: {a: 2, b: 0}"
    );
    assert!(empty.mean(&["b"]).unwrap().to_f32_vec()[0].is_nan());
    assert_eq!(empty.sum(&["b"]).unwrap().to_f32_vec(), [0., 0.]);
}

#[test]
fn reductions_check_axis_names() {
    assert_eq!(
        ab().sum(&["c"]).unwrap_err().to_string(),
        "sum: no axis \"c\" in {a: 2, b: 3}"
    );
    assert_eq!(
        ab().mean(&["a", "a"]).unwrap_err().to_string(),
        "mean: axis \"a\" is listed more than once"
    );
    let m = NamedArray::full_bool(&[("a", 2)], true).unwrap();
    assert_eq!(
        m.max(&["a"]).unwrap_err().to_string(),
        "max does not accept bool arrays (it needs a float or i64)"
    );
}

#[test]
fn argmax_returns_the_first_maximum_as_i64() {
    let x = f(&[("a", 2), ("b", 3)], &[1., 7., 7., 9., 0., 2.]);
    let am = x.argmax("b").unwrap();
    assert_eq!((am.dtype(), am.to_i64_vec()), (DType::I64, vec![1, 0]));
    assert_eq!(x.argmax("a").unwrap().to_i64_vec(), [1, 0, 0]);
    assert_eq!(
        f(&[("a", 3)], &[1., f32::NAN, 5.])
            .argmax("a")
            .unwrap()
            .to_i64_vec(),
        [1]
    );
}

#[test]
fn var_is_the_population_variance() {
    close(
        &ab().var(&["b"]).unwrap().to_f32_vec(),
        &[2.0 / 3.0, 2.0 / 3.0],
    );
    close(&ab().var(&["a", "b"]).unwrap().to_f32_vec(), &[35.0 / 12.0]);
}

#[test]
fn softmax_normalizes_each_lane_and_keeps_the_shape() {
    let x = f(&[("a", 2), ("b", 3)], &[0., 1., 2., 1000., 1000., 1000.]);
    let p = x.softmax(&["b"]).unwrap();
    assert_eq!(p.axis_names(), x.axis_names());
    let e = [
        1.0f32,
        std::f32::consts::E,
        std::f32::consts::E * std::f32::consts::E,
    ];
    let z: f32 = e.iter().sum();
    close(
        &p.to_f32_vec(),
        &[e[0] / z, e[1] / z, e[2] / z, 1. / 3., 1. / 3., 1. / 3.],
    );
    // Over the other axis, the lanes are columns.
    let q = x.softmax(&["a"]).unwrap().to_f32_vec();
    close(&q, &[0., 0., 0., 1., 1., 1.]);
}

#[test]
fn softmax_over_two_axes_normalizes_jointly() {
    let p = ab().softmax(&["a", "b"]).unwrap();
    close(&p.sum_all().unwrap().to_f32_vec(), &[1.0]);
}

#[test]
fn softmax_handles_masked_entries_like_jax() {
    let ninf = f32::NEG_INFINITY;
    let x = f(&[("a", 3), ("b", 2)], &[0., ninf, ninf, ninf, f32::NAN, 1.]);
    let p = x.softmax(&["b"]).unwrap().to_f32_vec();
    close(&p, &[1., 0., f32::NAN, f32::NAN, f32::NAN, f32::NAN]);
    let lp = x.log_softmax(&["b"]).unwrap().to_f32_vec();
    close(&lp[..2], &[0., ninf]);
    assert!(lp[2..].iter().all(|v| v.is_nan()));
}

#[test]
fn log_softmax_and_logsumexp_agree() {
    let x = f(&[("a", 3)], &[1., 2., 3.]);
    let lse = x.logsumexp(&["a"]).unwrap().scalar_f32().unwrap();
    let want = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
    close(&[lse], &[want]);
    close(
        &x.log_softmax(&["a"]).unwrap().to_f32_vec(),
        &[1. - want, 2. - want, 3. - want],
    );
    let masked = f(&[("a", 2)], &[f32::NEG_INFINITY; 2]);
    assert_eq!(
        masked.logsumexp(&["a"]).unwrap().scalar_f32().unwrap(),
        f32::NEG_INFINITY
    );
}
