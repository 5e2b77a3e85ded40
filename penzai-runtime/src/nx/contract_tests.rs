use super::*;

fn f(shape: &[(&str, usize)], data: &[f32]) -> NamedArray {
    NamedArray::from_f32(shape, data.to_vec()).unwrap()
}

fn iota(shape: &[(&str, usize)]) -> NamedArray {
    let n: usize = shape.iter().map(|s| s.1).product();
    NamedArray::from_f32(shape, (0..n).map(|i| i as f32).collect()).unwrap()
}

#[test]
fn contracts_a_matrix_product_by_name() {
    let a = f(&[("m", 2), ("k", 3)], &[1., 2., 3., 4., 5., 6.]);
    let b = f(&[("k", 3), ("n", 2)], &[1., 0., 0., 1., 1., 1.]);
    let c = a.contract(&b, &["k"]).unwrap();
    assert_eq!(c.named_shape().to_string(), "{m: 2, n: 2}");
    assert_eq!(c.to_f32_vec(), [4., 5., 10., 11.]);
}

#[test]
fn axis_order_of_the_operands_does_not_matter() {
    let a = iota(&[("m", 3), ("k", 4)]);
    let b = iota(&[("n", 2), ("k", 4)]);
    let c = a.contract(&b, &["k"]).unwrap();
    let ct = a
        .move_to_front(&["k"])
        .unwrap()
        .contract(&b.move_to_front(&["k"]).unwrap(), &["k"])
        .unwrap();
    assert_eq!(c, ct);
    assert_eq!(
        c.order_as(&["m", "n"]).unwrap().to_f32_vec(),
        [14., 38., 38., 126., 62., 214.]
    );
}

#[test]
fn shared_uncontracted_axes_are_batch_axes() {
    // Attention scores: {seq, heads, head_dim} x {kv_seq, heads, head_dim}.
    let q = iota(&[("seq", 2), ("heads", 2), ("head_dim", 3)]);
    let k = (&iota(&[("kv_seq", 2), ("heads", 2), ("head_dim", 3)]) * 0.5).unwrap();
    let s = q.contract(&k, &["head_dim"]).unwrap();
    assert_eq!(s.named_shape().to_string(), "{heads: 2, seq: 2, kv_seq: 2}");
    let got = s
        .order_as(&["seq", "kv_seq", "heads"])
        .unwrap()
        .to_f32_vec();
    let (qv, kv) = (q.to_f32_vec(), k.to_f32_vec());
    let mut want = vec![];
    for i in 0..2 {
        for j in 0..2 {
            for h in 0..2 {
                want.push(
                    (0..3)
                        .map(|d| qv[i * 6 + h * 3 + d] * kv[j * 6 + h * 3 + d])
                        .sum::<f32>(),
                );
            }
        }
    }
    assert_eq!(got, want);
}

#[test]
fn contracting_nothing_is_an_outer_product() {
    let a = f(&[("a", 2)], &[1., 2.]);
    let b = f(&[("b", 3)], &[1., 10., 100.]);
    assert_eq!(
        a.contract(&b, &[]).unwrap().to_f32_vec(),
        [1., 10., 100., 2., 20., 200.]
    );
}

#[test]
fn contracting_everything_gives_a_scalar() {
    let a = iota(&[("a", 2), ("b", 3)]);
    let dot = a
        .contract(&a.move_to_front(&["b"]).unwrap(), &["a", "b"])
        .unwrap();
    assert_eq!(dot.scalar_f32().unwrap(), 55.0);
}

#[test]
fn empty_axes_give_zeros() {
    let a = NamedArray::zeros(&[("m", 2), ("k", 0)]).unwrap();
    let b = NamedArray::ones(&[("k", 0), ("n", 3)]).unwrap();
    assert_eq!(
        a.contract(&b, &["k"]).unwrap(),
        NamedArray::zeros(&[("m", 2), ("n", 3)]).unwrap()
    );
}

#[test]
fn a_missing_axis_names_both_shapes() {
    let x = NamedArray::zeros(&[("batch", 2), ("seq", 8), ("embedding", 64)]).unwrap();
    let w = NamedArray::zeros(&[("hidden", 256), ("embed", 64)]).unwrap();
    assert_eq!(
        x.contract(&w, &["embedding"]).unwrap_err().to_string(),
        "cannot contract over \"embedding\": left is {batch: 2, seq: 8, embedding: 64}, right is {hidden: 256, embed: 64}"
    );
}

#[test]
fn a_size_mismatch_names_both_sizes() {
    let x = NamedArray::zeros(&[("seq", 8), ("embedding", 64)]).unwrap();
    let w = NamedArray::zeros(&[("embedding", 32), ("hidden", 4)]).unwrap();
    assert_eq!(
        x.contract(&w, &["embedding"]).unwrap_err().to_string(),
        "cannot contract over \"embedding\": its size is 64 on the left but 32 on the right: left is {seq: 8, embedding: 64}, right is {embedding: 32, hidden: 4}"
    );
    let y = NamedArray::zeros(&[("seq", 5), ("embedding", 32)]).unwrap();
    assert_eq!(
        x.contract(&y, &[]).unwrap_err().to_string(),
        "cannot contract: axis \"seq\" has size 8 on the left but 5 on the right; axis \"embedding\" has size 64 on the left but 32 on the right: left is {seq: 8, embedding: 64}, right is {seq: 5, embedding: 32}"
    );
}

#[test]
fn contract_rejects_other_dtypes_and_positional_axes() {
    let x = NamedArray::zeros(&[("a", 2)]).unwrap();
    let ids = NamedArray::arange("a", 2).unwrap();
    assert_eq!(
        x.contract(&ids, &["a"]).unwrap_err().to_string(),
        "contract does not accept f32 and i64 arrays (it needs floats (f32, f16 or bf16))"
    );
    let v = NamedArray::zeros(&[("a", 2), ("b", 2)])
        .unwrap()
        .untag(&["b"])
        .unwrap();
    assert_eq!(
        v.contract(&x, &["a"]).unwrap_err().to_string(),
        "contract needs an array without positional axes, got {a: 2} + positional [2]"
    );
    assert!(matches!(
        x.contract(&x, &["a", "a"]).unwrap_err(),
        AxisError::RepeatedAxis { .. }
    ));
}

#[test]
fn large_contraction_matches_a_naive_sum() {
    // Big enough for matrixmultiply's packed (and threaded) path.
    let a = NamedArray::uniform(1, &[("m", 70), ("k", 130)], -1.0, 1.0).unwrap();
    let b = NamedArray::uniform(2, &[("n", 90), ("k", 130)], -1.0, 1.0).unwrap();
    let c = a.contract(&b, &["k"]).unwrap().to_f32_vec();
    let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
    for (idx, &got) in c.iter().enumerate() {
        let (i, j) = (idx / 90, idx % 90);
        let want: f64 = (0..130)
            .map(|k| av[i * 130 + k] as f64 * bv[j * 130 + k] as f64)
            .sum();
        assert!(
            (got as f64 - want).abs() < 1e-4,
            "({i}, {j}): {got} vs {want}"
        );
    }
}

#[test]
fn einsum_builds_attention_scores_with_renamed_keys() {
    let q = iota(&[("seq", 3), ("heads", 2), ("head_dim", 4)]);
    let k = iota(&[("seq", 3), ("heads", 2), ("head_dim", 4)])
        .rename("seq", "kv_seq")
        .unwrap();
    let s = q.einsum(&k, &["seq", "kv_seq", "heads"]).unwrap();
    assert_eq!(s.named_shape().to_string(), "{seq: 3, kv_seq: 3, heads: 2}");
    assert_eq!(s, q.contract(&k, &["head_dim"]).unwrap());
}

#[test]
fn einsum_sums_axes_missing_from_the_output() {
    let a = iota(&[("i", 2), ("j", 3)]);
    let b = iota(&[("j", 3), ("l", 2)]);
    // "ij,jl->i": j is contracted, l is summed on its own side.
    let r = a.einsum(&b, &["i"]).unwrap();
    let full = a.contract(&b, &["j"]).unwrap().sum(&["l"]).unwrap();
    assert_eq!(r, full);
    assert_eq!(
        a.einsum(&b, &["z"]).unwrap_err().to_string(),
        "einsum: output axis \"z\" is on neither side: left is {i: 2, j: 3}, right is {j: 3, l: 2}"
    );
}
