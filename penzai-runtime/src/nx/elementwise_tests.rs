use super::*;
use ndarray::ArrayD;

fn f(shape: &[(&str, usize)], data: &[f32]) -> NamedArray {
    NamedArray::from_f32(shape, data.to_vec()).unwrap()
}

fn i(shape: &[(&str, usize)], data: &[i64]) -> NamedArray {
    NamedArray::from_i64(shape, data.to_vec()).unwrap()
}

fn b(shape: &[(&str, usize)], data: &[bool]) -> NamedArray {
    NamedArray::from_bool(shape, data.to_vec()).unwrap()
}

#[test]
fn add_broadcasts_disjoint_names_into_an_outer_sum() {
    let x = f(&[("a", 2)], &[0., 10.]);
    let y = f(&[("b", 3)], &[1., 2., 3.]);
    let s = (&x + &y).unwrap();
    assert_eq!(s.named_shape().to_string(), "{a: 2, b: 3}");
    assert_eq!(s.to_f32_vec(), [1., 2., 3., 11., 12., 13.]);
}

#[test]
fn shared_names_line_up_whatever_their_order() {
    let x = f(&[("a", 2), ("b", 3)], &[0., 1., 2., 3., 4., 5.]);
    let t = x.order_as(&["b", "a"]).unwrap();
    assert_eq!((&x + &t).unwrap(), (&x * 2.0).unwrap());
    assert_eq!(
        (&t - &x).unwrap(),
        NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap()
    );
}

#[test]
fn broadcasting_commutes_up_to_axis_order() {
    let x = f(&[("a", 2), ("b", 3)], &[0., 1., 2., 3., 4., 5.]);
    let y = f(&[("c", 2), ("a", 2)], &[1., 2., 3., 4.]);
    let xy = (&x + &y).unwrap();
    let yx = (&y + &x).unwrap();
    assert_eq!(xy, yx);
    assert_eq!(xy.axis_names(), ["a", "b", "c"]);
    assert_eq!(yx.axis_names(), ["c", "a", "b"]);
}

#[test]
fn shared_axes_must_have_equal_sizes() {
    let x = NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap();
    let y = NamedArray::zeros(&[("a", 5)]).unwrap();
    assert_eq!(
        (&x + &y).unwrap_err().to_string(),
        "cannot add: axis \"a\" has size 2 on the left but 5 on the right: left is {a: 2, b: 3}, right is {a: 5}"
    );
}

#[test]
fn named_axes_of_size_one_do_not_stretch() {
    let x = NamedArray::zeros(&[("a", 1)]).unwrap();
    let y = NamedArray::zeros(&[("a", 3)]).unwrap();
    assert!(matches!(
        (&x * &y).unwrap_err(),
        AxisError::SizeMismatch { op: "mul", .. }
    ));
}

#[test]
fn positional_axes_broadcast_like_numpy() {
    let x = f(&[("a", 2), ("b", 3)], &[0., 1., 2., 3., 4., 5.])
        .untag(&["b"])
        .unwrap();
    let row = NamedArray::wrap(ndarray::arr1(&[10., 20., 30.]).into_dyn());
    let s = (&x + &row).unwrap();
    assert_eq!(s.positional_shape(), [3]);
    assert_eq!(
        s.tag(&["b"])
            .unwrap()
            .move_to_front(&["a"])
            .unwrap()
            .to_f32_vec(),
        [10., 21., 32., 13., 24., 35.]
    );
    let bad = NamedArray::wrap(ArrayD::zeros(vec![4]));
    assert_eq!(
        (&x + &bad).unwrap_err().to_string(),
        "cannot add: positional shapes [3] and [4] do not broadcast: left is {a: 2} + positional [3], right is {} + positional [4]"
    );
}

#[test]
fn scalar_operators_work_on_both_sides() {
    let x = f(&[("a", 3)], &[1., 2., 4.]);
    assert_eq!((&x + 1.0).unwrap().to_f32_vec(), [2., 3., 5.]);
    assert_eq!((1.0 - &x).unwrap().to_f32_vec(), [0., -1., -3.]);
    assert_eq!((&x * 3.0).unwrap().to_f32_vec(), [3., 6., 12.]);
    assert_eq!((8.0 / &x).unwrap().to_f32_vec(), [8., 4., 2.]);
    assert_eq!((x.clone() / 2.0).unwrap().to_f32_vec(), [0.5, 1., 2.]);
    assert_eq!((x.clone() - x.clone()).unwrap().to_f32_vec(), [0., 0., 0.]);
}

#[test]
fn integer_arithmetic_stays_integer_except_division() {
    let x = i(&[("a", 3)], &[1, 2, 7]);
    let y = i(&[("a", 3)], &[2, 2, 2]);
    let s = (&x + &y).unwrap();
    assert_eq!((s.dtype(), s.to_i64_vec()), (DType::I64, vec![3, 4, 9]));
    let q = (&x / &y).unwrap();
    assert_eq!(
        (q.dtype(), q.to_f32_vec()),
        (DType::F32, vec![0.5, 1.0, 3.5])
    );
    let z = (&x / &i(&[("a", 3)], &[0, 0, 0])).unwrap();
    assert!(z.to_f32_vec()[0].is_infinite());
}

#[test]
fn mixed_integer_and_float_promote_to_float() {
    let x = i(&[("a", 2)], &[1, 2]);
    let y = f(&[("a", 2)], &[0.5, 0.5]);
    let s = (&x + &y).unwrap();
    assert_eq!((s.dtype(), s.to_f32_vec()), (DType::F32, vec![1.5, 2.5]));
    let t = (&x * 0.5).unwrap();
    assert_eq!((t.dtype(), t.to_f32_vec()), (DType::F32, vec![0.5, 1.0]));
}

#[test]
fn arithmetic_on_booleans_is_a_dtype_error() {
    let x = f(&[("a", 2)], &[1., 2.]);
    let m = b(&[("a", 2)], &[true, false]);
    assert_eq!(
        (&x + &m).unwrap_err().to_string(),
        "add does not accept f32 and bool arrays (it needs a float or i64)"
    );
    assert_eq!(
        (&m * 2.0).unwrap_err().to_string(),
        "mul does not accept bool arrays (it needs a float or i64)"
    );
    assert!(matches!(
        (-&m).unwrap_err(),
        AxisError::DType { op: "neg", .. }
    ));
}

#[test]
fn unary_numeric_ops_keep_the_dtype() {
    let x = f(&[("a", 3)], &[-1.5, 0., 2.]);
    assert_eq!((-&x).unwrap().to_f32_vec(), [1.5, -0., -2.]);
    assert_eq!(x.abs().unwrap().to_f32_vec(), [1.5, 0., 2.]);
    assert_eq!(x.square().unwrap().to_f32_vec(), [2.25, 0., 4.]);
    let n = i(&[("a", 2)], &[-3, 4]);
    assert_eq!(n.abs().unwrap().to_i64_vec(), [3, 4]);
    assert_eq!((-n).unwrap().to_i64_vec(), [3, -4]);
}

#[test]
fn maximum_and_minimum_propagate_nan() {
    let x = f(&[("a", 3)], &[1., f32::NAN, 5.]);
    let y = f(&[("a", 3)], &[2., 0., 3.]);
    let hi = x.maximum(&y).unwrap().to_f32_vec();
    assert_eq!((hi[0], hi[2]), (2., 5.));
    assert!(hi[1].is_nan());
    let lo = x.minimum(&NamedArray::scalar(2.0)).unwrap().to_f32_vec();
    assert_eq!((lo[0], lo[2]), (1., 2.));
    assert_eq!(
        i(&[("a", 2)], &[1, 9])
            .maximum(&i(&[("a", 2)], &[5, 5]))
            .unwrap()
            .to_i64_vec(),
        [5, 9]
    );
}

#[test]
fn comparisons_give_boolean_arrays() {
    let x = f(&[("a", 3)], &[1., 2., 3.]);
    let two = NamedArray::scalar(2.0);
    let gt = x.gt(&two).unwrap();
    assert_eq!(
        (gt.dtype(), gt.to_bool_vec()),
        (DType::Bool, vec![false, false, true])
    );
    assert_eq!(x.ge(&two).unwrap().to_bool_vec(), [false, true, true]);
    assert_eq!(x.lt(&two).unwrap().to_bool_vec(), [true, false, false]);
    assert_eq!(x.le(&two).unwrap().to_bool_vec(), [true, true, false]);
    assert_eq!(x.eq_elem(&two).unwrap().to_bool_vec(), [false, true, false]);
    assert_eq!(x.ne_elem(&two).unwrap().to_bool_vec(), [true, false, true]);
    let ids = i(&[("a", 3)], &[1, 2, 3]);
    assert_eq!(
        ids.eq_elem(&NamedArray::scalar_i64(2))
            .unwrap()
            .to_bool_vec(),
        [false, true, false]
    );
    let m = b(&[("a", 2)], &[true, false]);
    assert_eq!(
        m.eq_elem(&b(&[("a", 2)], &[true, true]))
            .unwrap()
            .to_bool_vec(),
        [true, false]
    );
}

#[test]
fn where_selects_and_broadcasts_by_name() {
    // A causal mask {seq, kv_seq} applied to scores {heads, seq, kv_seq}.
    let q = NamedArray::arange("seq", 2).unwrap();
    let k = NamedArray::arange("kv_seq", 2).unwrap();
    let mask = q.ge(&k).unwrap();
    assert_eq!(mask.to_bool_vec(), [true, false, true, true]);
    let scores = NamedArray::ones(&[("heads", 2), ("seq", 2), ("kv_seq", 2)]).unwrap();
    let masked =
        NamedArray::where_(&mask, &scores, &NamedArray::scalar(f32::NEG_INFINITY)).unwrap();
    assert_eq!(masked.named_shape(), scores.named_shape());
    let ninf = f32::NEG_INFINITY;
    let expected = [1., ninf, 1., 1., 1., ninf, 1., 1.];
    assert_eq!(
        masked
            .order_as(&["heads", "seq", "kv_seq"])
            .unwrap()
            .to_f32_vec(),
        expected
    );
}

#[test]
fn where_checks_dtypes_and_shapes() {
    let x = f(&[("a", 2)], &[1., 2.]);
    assert_eq!(
        NamedArray::where_(&x, &x, &x).unwrap_err().to_string(),
        "where_ does not accept f32 arrays (it needs a bool mask)"
    );
    let m = b(&[("a", 3)], &[true, false, true]);
    assert_eq!(
        NamedArray::where_(&m, &x, &x).unwrap_err().to_string(),
        "inconsistent named axes in where_ for [\"a\"]: args[0] is {a: 3}, args[1] is {a: 2}, args[2] is {a: 2}"
    );
    let m2 = b(&[("a", 2)], &[true, false]);
    let mixed = NamedArray::where_(&m2, &x, &i(&[("a", 2)], &[7, 8])).unwrap();
    assert_eq!(
        (mixed.dtype(), mixed.to_f32_vec()),
        (DType::F32, vec![1., 8.])
    );
}

#[test]
fn logic_works_on_masks_only() {
    let p = b(&[("a", 2)], &[true, false]);
    let q = b(&[("b", 2)], &[true, false]);
    assert_eq!(
        p.logical_and(&q).unwrap().to_bool_vec(),
        [true, false, false, false]
    );
    assert_eq!(
        p.logical_or(&q).unwrap().to_bool_vec(),
        [true, true, true, false]
    );
    assert_eq!((!&p).unwrap().to_bool_vec(), [false, true]);
    let x = f(&[("a", 2)], &[1., 0.]);
    assert_eq!(
        x.logical_not().unwrap_err().to_string(),
        "logical_not does not accept f32 arrays (it needs bool)"
    );
    assert!(matches!(
        p.logical_and(&x).unwrap_err(),
        AxisError::DType {
            op: "logical_and",
            ..
        }
    ));
}

#[test]
fn cast_converts_between_dtypes() {
    let x = f(&[("a", 3)], &[-1.9, 0.0, 2.5]);
    assert_eq!(x.cast(DType::I64).unwrap().to_i64_vec(), [-1, 0, 2]);
    assert_eq!(
        x.cast(DType::Bool).unwrap().to_bool_vec(),
        [true, false, true]
    );
    assert_eq!(
        x.cast(DType::Bool)
            .unwrap()
            .cast(DType::F32)
            .unwrap()
            .to_f32_vec(),
        [1., 0., 1.]
    );
    assert_eq!(x.cast(DType::F32).unwrap(), x);
}

#[test]
fn cast_to_a_file_only_dtype_is_an_error() {
    let x = f(&[("a", 1)], &[1.0]);
    assert_eq!(
        x.cast(DType::U8).unwrap_err().to_string(),
        "cast does not accept u8 arrays (it needs a dtype arrays hold (f32, f16, bf16, i64 or bool))"
    );
}

#[test]
fn arithmetic_on_sixteen_bit_arrays_gives_f32() {
    let w = x16(&[1.5, -2.0]);
    for result in [
        (&w + &w).unwrap(),
        (&w * 2.0).unwrap(),
        w.exp().unwrap(),
        w.abs().unwrap(),
        w.sum(&["a"]).unwrap(),
    ] {
        assert_eq!(result.dtype(), DType::F32);
    }
    assert_eq!((&w + &w).unwrap().to_f32_vec(), [3.0, -4.0]);
    assert_eq!(w.abs().unwrap().to_f32_vec(), [1.5, 2.0]);
    // Selection does not compute: two bf16 branches stay bf16.
    let m = NamedArray::from_bool(&[("a", 2)], vec![true, false]).unwrap();
    assert_eq!(NamedArray::where_(&m, &w, &w).unwrap().dtype(), DType::BF16);
}

fn x16(values: &[f32]) -> NamedArray {
    let data = values
        .iter()
        .map(|&v| crate::nx::bf16::from_f32(v))
        .collect();
    NamedArray::from_bf16(&[("a", values.len())], data).unwrap()
}

/// JAX (and so Penzai) promotes `int32 array - 100.0` to float32: a float scalar makes the
/// result a float; an integer scalar array keeps it integer.
#[test]
fn integer_minus_float_scalar_is_a_float_like_jax() {
    let ids = i(&[("a", 2)], &[1, 200]);
    let shifted = (&ids - 100.0).unwrap();
    assert_eq!(
        (shifted.dtype(), shifted.to_f32_vec()),
        (DType::F32, vec![-99.0, 100.0])
    );
    let kept = (&ids - &NamedArray::scalar_i64(100)).unwrap();
    assert_eq!(
        (kept.dtype(), kept.to_i64_vec()),
        (DType::I64, vec![-99, 100])
    );
}
