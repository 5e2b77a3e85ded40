//! Property tests: laws that hold for every shape and axis order.

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

use super::NamedArray;

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// Sizes (1..=3) for a random subset of `NAMES`, in a random order.
fn named_shape() -> impl Strategy<Value = Vec<(&'static str, usize)>> {
    proptest::sample::subsequence(NAMES.to_vec(), 0..=4)
        .prop_flat_map(|names| {
            let n = names.len();
            (
                Just(names).prop_shuffle(),
                proptest::collection::vec(1usize..=3, n),
            )
        })
        .prop_map(|(names, sizes)| names.into_iter().zip(sizes).collect())
}

fn random(seed: u64, shape: &[(&str, usize)]) -> NamedArray {
    NamedArray::uniform(seed, shape, -1.0, 1.0).unwrap()
}

fn names(x: &NamedArray) -> Vec<&str> {
    x.axis_names().iter().map(|n| n.as_str()).collect()
}

/// A naive contraction over `summed`, by explicit index loops over every axis.
fn naive_contract(a: &NamedArray, b: &NamedArray, summed: &[&str]) -> NamedArray {
    let mut out_names: Vec<&str> = names(a)
        .into_iter()
        .filter(|n| !summed.contains(n))
        .collect();
    out_names.extend(
        names(b)
            .into_iter()
            .filter(|n| !summed.contains(n) && !a.has_axis(n)),
    );
    let size = |n: &str| a.axis_size(n).or(b.axis_size(n)).unwrap();
    let out_dims: Vec<usize> = out_names.iter().map(|n| size(n)).collect();
    let sum_dims: Vec<usize> = summed.iter().map(|n| size(n)).collect();
    let (an, bn) = (names(a), names(b));
    let (ad, bd) = (
        a.to_ndarray_f32(&an).unwrap(),
        b.to_ndarray_f32(&bn).unwrap(),
    );
    let out = ArrayD::from_shape_fn(IxDyn(&out_dims), |o| {
        let mut total = 0.0f64;
        for s in ndarray::indices(IxDyn(&sum_dims)) {
            let at = |n: &str| match out_names.iter().position(|x| *x == n) {
                Some(i) => o[i],
                None => s[summed.iter().position(|x| *x == n).unwrap()],
            };
            let ai: Vec<usize> = an.iter().map(|n| at(n)).collect();
            let bi: Vec<usize> = bn.iter().map(|n| at(n)).collect();
            total += ad[IxDyn(&ai)] as f64 * bd[IxDyn(&bi)] as f64;
        }
        total as f32
    });
    NamedArray::from_ndarray(out, &out_names).unwrap()
}

fn assert_close(x: &NamedArray, y: &NamedArray) {
    assert_eq!(x.named_shape(), y.named_shape());
    let order = names(x);
    let (xv, yv) = (x.to_f32_vec(), y.order_as(&order).unwrap().to_f32_vec());
    for (p, q) in xv.iter().zip(&yv) {
        assert!((p - q).abs() < 1e-5, "{xv:?} vs {yv:?}");
    }
}

proptest! {
    #[test]
    fn equality_is_independent_of_axis_order(shape in named_shape(), seed in any::<u64>(), perm in any::<proptest::sample::Index>()) {
        let x = random(seed, &shape);
        let mut order: Vec<&str> = shape.iter().map(|s| s.0).collect();
        if !order.is_empty() {
            let k = perm.index(order.len());
            order.rotate_left(k);
        }
        let t = x.order_as(&order).unwrap();
        prop_assert_eq!(&t, &x);
        prop_assert_eq!(names(&t), order);
    }

    #[test]
    fn untag_then_tag_round_trips(shape in named_shape(), seed in any::<u64>(), k in any::<proptest::sample::Index>()) {
        let x = random(seed, &shape);
        let mut picked: Vec<&str> = shape.iter().map(|s| s.0).collect();
        picked.reverse();
        picked.truncate(k.index(picked.len() + 1));
        let v = x.untag(&picked).unwrap();
        prop_assert_eq!(v.positional_shape().len(), picked.len());
        let back = v.tag(&picked).unwrap();
        prop_assert_eq!(&back, &x);
        // As in Penzai, every axis goes back to its place: same order, same flattening.
        prop_assert_eq!(names(&back), names(&x));
        prop_assert_eq!(back.to_f32_vec(), x.to_f32_vec());
        // Retagging under new names renames in place.
        let fresh: Vec<String> = picked.iter().map(|n| format!("{n}_new")).collect();
        let fresh: Vec<&str> = fresh.iter().map(String::as_str).collect();
        let renamed = v.tag(&fresh).unwrap();
        let expected: Vec<String> = names(&x)
            .iter()
            .map(|n| if picked.contains(n) { format!("{n}_new") } else { n.to_string() })
            .collect();
        prop_assert_eq!(names(&renamed), expected.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn broadcasting_commutes(s1 in named_shape(), s2 in named_shape(), seed in any::<u64>()) {
        // Give shared names one size so the shapes are compatible.
        let s2: Vec<(&str, usize)> = s2.into_iter().map(|(n, s)| (n, s1.iter().find(|p| p.0 == n).map_or(s, |p| p.1))).collect();
        let (x, y) = (random(seed, &s1), random(seed.wrapping_add(1), &s2));
        prop_assert_eq!((&x + &y).unwrap(), (&y + &x).unwrap());
        prop_assert_eq!((&x * &y).unwrap(), (&y * &x).unwrap());
        // And a named broadcast equals the explicit one.
        let sum = (&x + &y).unwrap();
        let xb = x.broadcast_to(sum.named_shape()).unwrap();
        let yb = y.broadcast_to(sum.named_shape()).unwrap();
        prop_assert_eq!((&xb + &yb).unwrap(), sum);
    }

    #[test]
    fn contract_matches_a_naive_sum(
        roles in proptest::collection::vec(0u8..5, 5),
        sizes in proptest::collection::vec(1usize..=3, 5),
        seed in any::<u64>(),
        shuffle_a in any::<proptest::sample::Index>(),
        shuffle_b in any::<proptest::sample::Index>(),
    ) {
        // Role per name: 0 batch, 1 left only, 2 right only, 3 contracted, 4 absent.
        let mut left: Vec<(&str, usize)> = vec![];
        let mut right: Vec<(&str, usize)> = vec![];
        let mut summed = vec![];
        for ((&name, &role), &size) in NAMES.iter().zip(&roles).zip(&sizes) {
            if matches!(role, 0 | 1 | 3) { left.push((name, size)); }
            if matches!(role, 0 | 2 | 3) { right.push((name, size)); }
            if role == 3 { summed.push(name); }
        }
        if !left.is_empty() { let k = shuffle_a.index(left.len()); left.rotate_left(k); }
        if !right.is_empty() { let k = shuffle_b.index(right.len()); right.rotate_left(k); }
        let (a, b) = (random(seed, &left), random(seed.wrapping_add(7), &right));
        let got = a.contract(&b, &summed).unwrap();
        assert_close(&got, &naive_contract(&a, &b, &summed));
    }

    #[test]
    fn softmax_lanes_sum_to_one(shape in named_shape(), seed in any::<u64>(), pick in any::<proptest::sample::Index>()) {
        prop_assume!(!shape.is_empty());
        let axis = shape[pick.index(shape.len())].0;
        let p = (&random(seed, &shape) * 10.0).unwrap().softmax(&[axis]).unwrap();
        let total = p.sum(&[axis]).unwrap();
        prop_assert!(total.to_f32_vec().iter().all(|t| (t - 1.0).abs() < 1e-5));
    }

    #[test]
    fn take_matches_index_axis(seed in any::<u64>(), ids in proptest::collection::vec(0i64..4, 1..6)) {
        let table = random(seed, &[("e", 3), ("v", 4)]);
        let idx = NamedArray::from_i64(&[("t", ids.len())], ids.clone()).unwrap();
        let got = table.take("v", &idx).unwrap();
        let rows: Vec<NamedArray> = ids.iter().map(|&i| table.index_axis("v", i as usize).unwrap()).collect();
        prop_assert_eq!(got, NamedArray::stack(&rows, "t").unwrap());
    }

    #[test]
    fn setting_what_is_read_changes_nothing_and_reading_what_is_set_gives_it_back(
        shape in named_shape(),
        seed in any::<u64>(),
        pick in any::<proptest::sample::Index>(),
        bounds in (-4i64..4, -4i64..4, prop_oneof![Just(-2i64), Just(-1), Just(1), Just(2)]),
    ) {
        prop_assume!(!shape.is_empty());
        let axis = shape[pick.index(shape.len())].0;
        let x = random(seed, &shape);
        let (start, stop, step) = bounds;
        let ix = super::Indexer::new().with(axis, super::Slice::new(Some(start), Some(stop), step));
        let part = x.index(&ix).unwrap();
        prop_assert_eq!(x.at(&ix).set(&part).unwrap(), x.clone());
        let v = random(seed.wrapping_add(1), &part.named_shape().iter().map(|(n, s)| (n.as_str(), s)).collect::<Vec<_>>());
        let updated = x.at(&ix).set(&v).unwrap();
        prop_assert_eq!(updated.index(&ix).unwrap(), v.clone());
        // Adding zero is the identity; adding `v` twice equals adding `2 v` (distinct slots).
        let twice = x.at(&ix).add(&v).unwrap();
        let twice = twice.at(&ix).add(&v).unwrap();
        let doubled = x.at(&ix).add(&(&v * 2.0).unwrap()).unwrap();
        let diff = (&twice - &doubled).unwrap().abs().unwrap().to_f32_vec();
        prop_assert!(diff.iter().all(|d| *d < 1e-5));
    }
}
