use super::*;

fn iota(shape: &[(&str, usize)]) -> NamedArray {
    let n: usize = shape.iter().map(|s| s.1).product();
    NamedArray::from_f32(shape, (0..n).map(|i| i as f32).collect()).unwrap()
}

fn ids(shape: &[(&str, usize)], data: &[i64]) -> NamedArray {
    NamedArray::from_i64(shape, data.to_vec()).unwrap()
}

#[test]
fn take_looks_up_embeddings() {
    let table = iota(&[("vocabulary", 4), ("embedding", 3)]);
    let tokens = ids(&[("batch", 2), ("seq", 2)], &[3, 0, 1, 1]);
    let x = table.take("vocabulary", &tokens).unwrap();
    assert_eq!(
        x.named_shape().to_string(),
        "{embedding: 3, batch: 2, seq: 2}"
    );
    let x = x.move_to_front(&["batch", "seq"]).unwrap();
    assert_eq!(
        x.to_f32_vec(),
        [9., 10., 11., 0., 1., 2., 3., 4., 5., 3., 4., 5.]
    );
}

#[test]
fn take_works_whatever_the_table_layout() {
    let table = iota(&[("vocabulary", 4), ("embedding", 3)]);
    let tokens = ids(&[("seq", 2)], &[2, 1]);
    let a = table.take("vocabulary", &tokens).unwrap();
    let b = table
        .move_to_front(&["embedding"])
        .unwrap()
        .take("vocabulary", &tokens)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn take_matches_shared_axes_instead_of_crossing_them() {
    // The log-probability of each next token: logp{batch, seq, vocab}[next{batch, seq}].
    let logp = iota(&[("batch", 2), ("seq", 2), ("vocab", 3)]);
    let next = ids(&[("batch", 2), ("seq", 2)], &[0, 2, 1, 1]);
    let picked = logp.take("vocab", &next).unwrap();
    assert_eq!(picked.named_shape().to_string(), "{batch: 2, seq: 2}");
    assert_eq!(picked.to_f32_vec(), [0., 5., 7., 10.]);
}

#[test]
fn take_keeps_other_dtypes() {
    let table = NamedArray::from_bool(&[("v", 2)], vec![true, false]).unwrap();
    assert_eq!(
        table
            .take("v", &ids(&[("i", 3)], &[1, 0, 1]))
            .unwrap()
            .to_bool_vec(),
        [false, true, false]
    );
}

#[test]
fn take_rejects_bad_indices() {
    let table = iota(&[("vocabulary", 4), ("embedding", 3)]);
    assert_eq!(
        table
            .take_checked("vocabulary", &ids(&[("seq", 2)], &[0, -1]))
            .unwrap_err()
            .to_string(),
        "take: index -1 is out of range for axis \"vocabulary\" of size 4"
    );
    assert_eq!(
        table
            .take("vocabulary", &iota(&[("seq", 2)]))
            .unwrap_err()
            .to_string(),
        "take does not accept f32 arrays (it needs i64 indices)"
    );
    assert_eq!(
        table
            .take("vocab", &ids(&[("seq", 1)], &[0]))
            .unwrap_err()
            .to_string(),
        "take: no axis \"vocab\" in {vocabulary: 4, embedding: 3}"
    );
    assert_eq!(
        table
            .take("vocabulary", &ids(&[("embedding", 2)], &[0, 1]))
            .unwrap_err()
            .to_string(),
        "cannot take: axis \"embedding\" has size 3 on the left but 2 on the right: left is {vocabulary: 4, embedding: 3}, right is {embedding: 2}"
    );
}

#[test]
fn index_axis_removes_the_axis_without_copying() {
    let x = iota(&[("a", 2), ("b", 3)]);
    let row = x.index_axis("a", 1).unwrap();
    assert_eq!(row.named_shape().to_string(), "{b: 3}");
    assert_eq!(row.to_f32_vec(), [3., 4., 5.]);
    assert_eq!(x.index_axis("b", 2).unwrap().to_f32_vec(), [2., 5.]);
    assert_eq!(
        x.index_axis("a", 2).unwrap_err().to_string(),
        "index_axis: index 2 is out of range for axis \"a\" of size 2"
    );
}

#[test]
fn slice_axis_keeps_the_axis_smaller() {
    let x = iota(&[("a", 2), ("b", 5)]);
    let s = x.slice_axis("b", 1..3).unwrap();
    assert_eq!(s.named_shape().to_string(), "{a: 2, b: 2}");
    assert_eq!(s.to_f32_vec(), [1., 2., 6., 7.]);
    assert_eq!(
        x.slice_axis_step("b", .., 2).unwrap().to_f32_vec(),
        [0., 2., 4., 5., 7., 9.]
    );
    assert_eq!(x.slice_axis("b", 5..).unwrap().len(), 0);
    assert_eq!(
        x.slice_axis("b", 3..7).unwrap_err().to_string(),
        "slice_axis: 3..7 step 1 is not a valid slice of axis \"b\" of size 5"
    );
    assert!(x.slice_axis_step("b", .., 0).is_err());
}

#[test]
fn concat_joins_along_a_named_axis() {
    let x = iota(&[("a", 2), ("b", 2)]);
    let y = iota(&[("b", 2), ("a", 1)]);
    let c = NamedArray::concat(&[x.clone(), y], "a").unwrap();
    assert_eq!(c.named_shape().to_string(), "{a: 3, b: 2}");
    assert_eq!(c.to_f32_vec(), [0., 1., 2., 3., 0., 1.]);
    let z = iota(&[("a", 2), ("b", 3)]);
    assert_eq!(
        NamedArray::concat(&[x.clone(), z], "a")
            .unwrap_err()
            .to_string(),
        "concat needs arrays of one shape apart from axis \"a\": args[0] is {a: 2, b: 2}, args[1] is {a: 2, b: 3}"
    );
    assert_eq!(
        NamedArray::concat(&[], "a").unwrap_err().to_string(),
        "concat needs at least one array"
    );
    assert!(matches!(
        NamedArray::concat(&[x.clone(), x.cast(DType::I64).unwrap()], "a").unwrap_err(),
        AxisError::DType { op: "concat", .. }
    ));
}

#[test]
fn stack_and_unstack_round_trip() {
    let x = iota(&[("a", 2), ("b", 3)]);
    let parts = x.unstack("a").unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].to_f32_vec(), [3., 4., 5.]);
    let back = NamedArray::stack(&parts, "a").unwrap();
    assert_eq!(back, x);
    assert_eq!(
        NamedArray::stack(std::slice::from_ref(&x), "b")
            .unwrap_err()
            .to_string(),
        "stack: axis \"b\" already exists in {a: 2, b: 3}"
    );
}

#[test]
fn broadcast_to_adds_missing_axes() {
    let x = NamedArray::arange_f32("a", 2).unwrap();
    let y = x.broadcast_to(&[("b", 3), ("a", 2)]).unwrap();
    assert_eq!(y.named_shape().to_string(), "{a: 2, b: 3}");
    assert_eq!(y.to_f32_vec(), [0., 0., 0., 1., 1., 1.]);
    assert_eq!(
        x.broadcast_to(&[("a", 1)]).unwrap_err().to_string(),
        "cannot broadcast_to: axis \"a\" has size 2 on the left but 1 on the right: left is {a: 2}, right is {a: 1}"
    );
}

#[test]
fn take_counts_negatives_from_the_end_and_clamps_like_jax() {
    let x = NamedArray::arange("v", 4).unwrap();
    let got = x
        .take("v", &ids(&[("i", 6)], &[-1, -4, -5, 3, 4, 100]))
        .unwrap();
    assert_eq!(got.to_i64_vec(), [3, 0, 0, 3, 3, 3]);
    let empty = NamedArray::arange("v", 0).unwrap();
    assert_eq!(
        empty
            .take("v", &ids(&[("i", 1)], &[0]))
            .unwrap_err()
            .to_string(),
        "take: index 0 is out of range for axis \"v\" of size 0"
    );
}

#[test]
fn take_puts_the_new_axes_after_the_remaining_ones() {
    let table = iota(&[("vocabulary", 4), ("embedding", 3)]);
    let got = table
        .take("vocabulary", &ids(&[("seq", 2)], &[1, 2]))
        .unwrap();
    let names: Vec<&str> = got.axis_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["embedding", "seq"]);
    assert_eq!(got.to_f32_vec(), [3., 6., 4., 7., 5., 8.]);
}

/// The result's axis order is Penzai's: the array's other axes, then the indices' new
/// ones, shared axes matched (values read off Penzai 0.2.5's `x[{"b": idx}]`).
#[test]
fn take_orders_its_result_like_penzai() {
    let x = iota(&[("a", 2), ("b", 3), ("c", 4)]);
    let idx = ids(&[("i", 3), ("a", 2)], &[0, 2, 1, 1, 2, 0]);
    let y = x.take("b", &idx).unwrap();
    assert_eq!(y.named_shape().to_string(), "{a: 2, c: 4, i: 3}");
    assert_eq!(
        y.to_i64_vec(),
        [
            0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 20, 16, 12, 21, 17, 13, 22, 18, 14, 23, 19, 15
        ]
    );
}

/// The contiguous fast path of concat and stack gives what ndarray's element-wise joins give,
/// at every axis, and declines non-contiguous views.
#[test]
fn contiguous_join_matches_ndarray() {
    use ndarray::{ArrayD, IxDyn};
    let a = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| {
        (i[0] * 100 + i[1] * 10 + i[2]) as f32
    });
    let b = a.mapv(|x| -x);
    for ax in 0..=3 {
        let got = super::join_contiguous(&[a.view(), b.view(), a.view()], Axis(ax), true).unwrap();
        let want = ndarray::stack(Axis(ax), &[a.view(), b.view(), a.view()]).unwrap();
        assert_eq!(got, want, "stack at {ax}");
    }
    for ax in 0..3 {
        let mut shape = vec![2, 3, 4];
        shape[ax] = 5;
        let c = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i[0] + i[1] + i[2]) as f32 + 0.5);
        let got = super::join_contiguous(&[a.view(), c.view()], Axis(ax), false).unwrap();
        let want = ndarray::concatenate(Axis(ax), &[a.view(), c.view()]).unwrap();
        assert_eq!(got, want, "concat along {ax}");
    }
    assert!(super::join_contiguous(&[a.view(), a.view()], Axis(3), false).is_none());
    let t = a.view().reversed_axes();
    assert!(super::join_contiguous(&[t.clone(), t], Axis(0), false).is_none());
    let scalar = ArrayD::from_elem(IxDyn(&[]), 2.0f32);
    let got = super::join_contiguous(&[scalar.view(), scalar.view()], Axis(0), true).unwrap();
    assert_eq!(got.into_raw_vec_and_offset().0, vec![2.0, 2.0]);
}
