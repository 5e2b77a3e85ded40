//! Layers against plain-ndarray reference computations written here, and an end-to-end
//! Llama-style forward against a hand-written reference.
// Index loops mirror the formulas the references implement.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayD, Axis, Ix2};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::side_inputs::TOKEN_POSITIONS;
use penzai::nn::*;
use penzai::prelude::*;

/// The array in `order`, in standard (row-major) layout so raw slices read logically.
fn arr(x: &NamedArray, order: &[&str]) -> ArrayD<f32> {
    x.to_ndarray_f32(order)
        .unwrap()
        .as_standard_layout()
        .into_owned()
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "element {i}: {x} vs {y}");
    }
}

fn random(seed: u64, shape: &[(&str, usize)]) -> NamedArray {
    NamedArray::normal(seed, shape, 0.0, 1.0).unwrap()
}

fn run(layer: &dyn Layer, x: NamedArray) -> NamedArray {
    Context::new().run(layer, x).unwrap()
}

#[test]
fn linear_with_a_parallel_axis_matches_per_head_matmuls() {
    let lin = Linear::new(
        3,
        "proj",
        &[("embedding", 5)],
        &[("out", 4)],
        &[("heads", 2)],
        Initializer::XAVIER_NORMAL,
    )
    .unwrap();
    let x = random(1, &[("batch", 3), ("heads", 2), ("embedding", 5)]);
    let y = run(&lin, x.clone());
    let w = arr(&lin.weights.value, &["heads", "embedding", "out"]);
    let xs = arr(&x, &["batch", "heads", "embedding"]);
    let mut expected = Vec::new();
    for b in 0..3 {
        for h in 0..2 {
            for o in 0..4 {
                expected.push((0..5).map(|e| xs[[b, h, e]] * w[[h, e, o]]).sum::<f32>());
            }
        }
    }
    assert_close(
        arr(&y, &["batch", "heads", "out"]).as_slice().unwrap(),
        &expected,
        1e-6,
    );
}

#[test]
fn affine_adds_the_bias_after_the_map() {
    let mut affine = Affine::new(
        0,
        "a",
        &[("x", 3)],
        &[("y", 2)],
        Initializer::XAVIER_UNIFORM,
    )
    .unwrap();
    let bias = NamedArray::from_f32(&[("y", 2)], vec![0.5, -1.0]).unwrap();
    let bias_path: KeyPath = "bias.bias".parse().unwrap();
    affine
        .replace_at(&bias_path, Box::new(Parameter::new("a.bias", bias)))
        .unwrap();
    let x = random(2, &[("x", 3)]);
    let y = run(&affine, x.clone());
    let lin: &Linear = affine
        .get_at(&"linear".parse().unwrap())
        .unwrap()
        .downcast_ref()
        .unwrap();
    let w = arr(&lin.weights.value, &["x", "y"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let xv = arr(&x, &["x"]);
    let expected: Vec<f32> = (0..2)
        .map(|j| (0..3).map(|i| xv[[i]] * w[[i, j]]).sum::<f32>() + [0.5, -1.0][j])
        .collect();
    assert_close(&y.to_f32_vec(), &expected, 1e-6);
}

#[test]
fn layer_norm_and_rms_norm_match_their_formulas() {
    let x = random(4, &[("seq", 3), ("embedding", 6)]);
    let xs = arr(&x, &["seq", "embedding"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let ln = LayerNorm::new(0, "ln", &[("embedding", 6)], 1e-5).unwrap();
    let rms = RMSNorm::new(0, "rms", &[("embedding", 6)], 1e-6).unwrap();
    let mut expected_ln = Vec::new();
    let mut expected_rms = Vec::new();
    for row in xs.axis_iter(Axis(0)) {
        let mean = row.sum() / 6.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 6.0;
        let ms = row.iter().map(|v| v * v).sum::<f32>() / 6.0;
        for v in row {
            expected_ln.push((v - mean) / (var + 1e-5).sqrt());
            expected_rms.push(v / (ms + 1e-6).sqrt());
        }
    }
    assert_close(
        &arr(&run(&ln, x.clone()), &["seq", "embedding"])
            .into_raw_vec_and_offset()
            .0,
        &expected_ln,
        1e-5,
    );
    assert_close(
        &arr(&run(&rms, x), &["seq", "embedding"])
            .into_raw_vec_and_offset()
            .0,
        &expected_rms,
        1e-5,
    );
}

#[test]
fn activations_match_scalar_formulas() {
    let x = NamedArray::from_f32(&[("n", 5)], vec![-2.0, -0.5, 0.0, 0.7, 3.0]).unwrap();
    let xs = x.to_f32_vec();
    let erf_gelu = |v: f32| 0.5 * v * (1.0 + libm_erf(v / 2f32.sqrt()));
    let tanh_gelu = |v: f32| {
        0.5 * v * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh())
    };
    type Formula = Box<dyn Fn(f32) -> f32>;
    let cases: Vec<(Activation, Formula)> = vec![
        (Activation::Relu, Box::new(|v: f32| v.max(0.0))),
        (Activation::GeluExact, Box::new(erf_gelu)),
        (Activation::GeluTanh, Box::new(tanh_gelu)),
        (Activation::Silu, Box::new(|v: f32| v / (1.0 + (-v).exp()))),
        (
            Activation::Sigmoid,
            Box::new(|v: f32| 1.0 / (1.0 + (-v).exp())),
        ),
        (Activation::Tanh, Box::new(|v: f32| v.tanh())),
        (Activation::Exp, Box::new(|v: f32| v.exp())),
        (
            Activation::custom("cube", |v| v * v * v),
            Box::new(|v: f32| v * v * v),
        ),
    ];
    for (act, f) in cases {
        let y = run(&Elementwise::new(act.clone()), x.clone());
        let expected: Vec<f32> = xs.iter().map(|&v| f(v)).collect();
        assert_close(&y.to_f32_vec(), &expected, 2e-6);
    }
    // Exact and tanh GELU differ measurably: the parity tests rely on telling them apart.
    let g1 = run(&Elementwise::new(Activation::GeluExact), x.clone()).to_f32_vec();
    let g2 = run(&Elementwise::new(Activation::GeluTanh), x).to_f32_vec();
    assert!(g1.iter().zip(&g2).any(|(a, b)| (a - b).abs() > 1e-4));
}

fn libm_erf(x: f32) -> f32 {
    // Abramowitz-Stegun would be too coarse; integrate the Gaussian numerically instead.
    let n = 20_000;
    let h = x as f64 / n as f64;
    let f = |t: f64| (-t * t).exp();
    let mut s = f(0.0) + f(x as f64);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    (s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()) as f32
}

#[test]
fn softmax_rescale_and_soft_cap() {
    let x = random(5, &[("seq", 2), ("kv_seq", 4)]);
    let y = run(&Softmax::over("kv_seq"), x.clone());
    let xs = arr(&x, &["seq", "kv_seq"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let mut expected = Vec::new();
    for row in xs.axis_iter(Axis(0)) {
        let m = row.fold(f32::MIN, |a, &b| a.max(b));
        let z: f32 = row.iter().map(|v| (v - m).exp()).sum();
        expected.extend(row.iter().map(|v| (v - m).exp() / z));
    }
    assert_close(
        &arr(&y, &["seq", "kv_seq"]).into_raw_vec_and_offset().0,
        &expected,
        1e-6,
    );
    let r = run(&ConstantRescale { by: 0.5 }, x.clone());
    assert_close(
        &r.to_f32_vec(),
        &x.to_f32_vec().iter().map(|v| v * 0.5).collect::<Vec<_>>(),
        0.0,
    );
    let c = run(&TanhSoftCap { soft_cap: 2.0 }, x.clone());
    let expected: Vec<f32> = x
        .to_f32_vec()
        .iter()
        .map(|v| (v / 2.0).tanh() * 2.0)
        .collect();
    assert_close(&c.to_f32_vec(), &expected, 1e-6);
}

#[test]
fn embeddings_look_up_rows_and_decode_with_the_same_table() {
    let table = EmbeddingTable::new(
        0,
        "embed",
        7,
        &[("embedding", 3)],
        Initializer::Normal { std: 1.0 },
    )
    .unwrap();
    let lookup = EmbeddingLookup {
        table: table.clone(),
    };
    let decode = EmbeddingDecode {
        table: table.clone(),
    };
    let ids = NamedArray::from_i64(&[("seq", 3)], vec![6, 0, 2]).unwrap();
    let e = run(&lookup, ids);
    let w = arr(&table.embeddings.value, &["vocabulary", "embedding"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let expected: Vec<f32> = [6, 0, 2].iter().flat_map(|&i| w.row(i).to_vec()).collect();
    assert_close(
        &arr(&e, &["seq", "embedding"]).into_raw_vec_and_offset().0,
        &expected,
        0.0,
    );
    let logits = run(&decode, e.clone());
    let es = arr(&e, &["seq", "embedding"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let expected = es.dot(&w.t());
    assert_close(
        &arr(&logits, &["seq", "vocabulary"])
            .into_raw_vec_and_offset()
            .0,
        expected.as_slice().unwrap(),
        1e-6,
    );
    // An out-of-range id is an error, not a panic.
    let bad = NamedArray::from_i64(&[("seq", 1)], vec![7]).unwrap();
    assert!(Context::new().run(&lookup, bad).is_err());
}

fn rope_reference(x: &Array2<f32>, positions: &[i64], theta: f32, rotated: usize) -> Array2<f32> {
    let half = rotated / 2;
    let mut out = x.clone();
    for (t, &p) in positions.iter().enumerate() {
        for i in 0..half {
            let inv = 1.0 / theta.powf(2.0 * i as f32 / rotated as f32);
            let (s, c) = ((p as f32) * inv).sin_cos();
            let (a, b) = (x[[t, i]], x[[t, i + half]]);
            out[[t, i]] = a * c - b * s;
            out[[t, i + half]] = b * c + a * s;
        }
    }
    out
}

#[test]
fn rope_matches_the_rotate_half_formula() {
    let x = random(6, &[("seq", 5), ("projection", 8)]);
    let positions = vec![3i64, 4, 5, 6, 7];
    let pos = NamedArray::from_i64(&[("seq", 5)], positions.clone()).unwrap();
    let mut cx = Context::new().with_side_input(TOKEN_POSITIONS, pos);
    let y = cx
        .run(&ApplyRoPE::new("projection", 10_000.0).unwrap(), x.clone())
        .unwrap();
    let xs = arr(&x, &["seq", "projection"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let expected = rope_reference(&xs, &positions, 10_000.0, 8);
    assert_close(
        &arr(&y, &["seq", "projection"]).into_raw_vec_and_offset().0,
        expected.as_slice().unwrap(),
        1e-5,
    );
    // Subset: only the first 4 entries rotate.
    let sub = ApplyRoPEToSubset {
        embedding_axis: "projection".into(),
        rope_subset_size: 4,
        max_wavelength: 100.0,
        positions_input: TOKEN_POSITIONS.into(),
        scaling: Default::default(),
    };
    let y = cx.run(&sub, x.clone()).unwrap();
    let rotated = rope_reference(
        &xs.slice(ndarray::s![.., 0..4]).to_owned(),
        &positions,
        100.0,
        4,
    );
    let ys = arr(&y, &["seq", "projection"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    assert_close(
        &ys.slice(ndarray::s![.., 0..4])
            .to_owned()
            .into_raw_vec_and_offset()
            .0,
        rotated.as_slice().unwrap(),
        1e-5,
    );
    assert_eq!(
        ys.slice(ndarray::s![.., 4..]),
        xs.slice(ndarray::s![.., 4..])
    );
}

#[test]
fn masks_hide_future_far_and_explicitly_masked_keys() {
    let scores = NamedArray::zeros(&[("seq", 4), ("kv_seq", 4)]).unwrap();
    let kept =
        |y: &NamedArray| -> Vec<bool> { y.to_f32_vec().iter().map(|v| *v > -1e30).collect() };
    let causal = run(&ApplyCausalMask::default(), scores.clone());
    let expect: Vec<bool> = (0..4).flat_map(|q| (0..4).map(move |k| k <= q)).collect();
    assert_eq!(kept(&arr_named(&causal)), expect);
    let window = run(&ApplyCausalSlidingWindowMask::new(2), scores.clone());
    let expect: Vec<bool> = (0..4)
        .flat_map(|q| (0..4).map(move |k| k <= q && q - k < 2))
        .collect();
    assert_eq!(kept(&arr_named(&window)), expect);
    let mask = NamedArray::from_bool(&[("kv_seq", 4)], vec![true, false, true, true]).unwrap();
    let mut cx = Context::new().with_side_input("attn_mask", mask);
    let explicit = cx
        .run(
            &ApplyExplicitMask {
                mask_input: "attn_mask".into(),
            },
            scores,
        )
        .unwrap();
    let expect: Vec<bool> = (0..4).flat_map(|_| [true, false, true, true]).collect();
    assert_eq!(kept(&arr_named(&explicit)), expect);
}

fn arr_named(x: &NamedArray) -> NamedArray {
    x.order_as(&["seq", "kv_seq"]).unwrap()
}

#[test]
fn named_einsum_and_rename_and_check() {
    let q = random(7, &[("seq", 2), ("projection", 3)]);
    let k = random(8, &[("kv_seq", 4), ("projection", 3)]);
    let layer = NamedEinsum::new(
        "keys",
        &["seq", "projection"],
        &["kv_seq", "projection"],
        &["seq", "kv_seq"],
    );
    let mut cx = Context::new().with_side_input("keys", k.clone());
    let s = cx.run(&layer, q.clone()).unwrap();
    let expected = arr(&q, &["seq", "projection"])
        .into_dimensionality::<Ix2>()
        .unwrap()
        .dot(
            &arr(&k, &["kv_seq", "projection"])
                .into_dimensionality::<Ix2>()
                .unwrap()
                .t(),
        );
    assert_close(
        &arr(&s, &["seq", "kv_seq"]).into_raw_vec_and_offset().0,
        expected.as_slice().unwrap(),
        1e-6,
    );
    let renamed = run(&RenameAxes::new("seq", "kv_seq"), q.clone());
    assert_eq!(
        renamed.named_shape().to_string(),
        "{kv_seq: 2, projection: 3}"
    );
    let check = CheckAxes::parse("[seq: S, projection: 3]").unwrap();
    assert_eq!(run(&check, q.clone()), q);
    let err = Context::new()
        .run(&CheckAxes::parse("[seq, projection: 4]").unwrap(), q)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "at the root (CheckAxes): expected axes [seq, projection: 4]: axis \"projection\" has size 3, not 4; got {seq: 2, projection: 3}"
    );
}

#[test]
fn residual_and_branch_combinators() {
    let x = random(9, &[("features", 3)]);
    let double = Residual::new(Identity);
    assert_close(
        &run(&double, x.clone()).to_f32_vec(),
        &x.to_f32_vec().iter().map(|v| 2.0 * v).collect::<Vec<_>>(),
        0.0,
    );
    let add = BranchAndAdd::new(vec![
        AnyLayer::new(Identity),
        AnyLayer::new(ConstantRescale { by: 3.0 }),
    ])
    .unwrap();
    assert_close(
        &run(&add, x.clone()).to_f32_vec(),
        &x.to_f32_vec().iter().map(|v| 4.0 * v).collect::<Vec<_>>(),
        1e-6,
    );
    let mul =
        BranchAndMultiply::new(vec![AnyLayer::new(Identity), AnyLayer::new(Identity)]).unwrap();
    assert_close(
        &run(&mul, x.clone()).to_f32_vec(),
        &x.to_f32_vec().iter().map(|v| v * v).collect::<Vec<_>>(),
        0.0,
    );
    assert!(BranchAndAdd::new(vec![]).is_err());
    // A residual body must end with the axes it started with.
    let widen = Residual::new(
        Linear::new(
            0,
            "w",
            &[("features", 3)],
            &[("wide", 5)],
            &[],
            Initializer::Ones,
        )
        .unwrap(),
    );
    let err = Context::new().run(&widen, x).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at the root (Residual): the residual branch must end with the axes it started with: it got {features: 3} and returned {wide: 5}"
    );
}

/// Plain attention over one sequence: q{seq, heads, hd}, k/v{kv_seq, kv_heads, hd}.
fn attention_reference(
    q: &ArrayD<f32>,
    k: &ArrayD<f32>,
    v: &ArrayD<f32>,
    causal: bool,
) -> ArrayD<f32> {
    let (n, heads, hd) = (q.shape()[0], q.shape()[1], q.shape()[2]);
    let (m, kv_heads) = (k.shape()[0], k.shape()[1]);
    let group = heads / kv_heads;
    let mut out = ArrayD::zeros(vec![n, heads, hd]);
    for h in 0..heads {
        let kh = h / group;
        for t in 0..n {
            let mut scores: Vec<f32> = (0..m)
                .map(|s| (0..hd).map(|j| q[[t, h, j]] * k[[s, kh, j]]).sum::<f32>())
                .collect();
            if causal {
                for (s, sc) in scores.iter_mut().enumerate() {
                    if s > t {
                        *sc = f32::NEG_INFINITY;
                    }
                }
            }
            let mx = scores.iter().fold(f32::MIN, |a, &b| a.max(b));
            let z: f32 = scores.iter().map(|s| (s - mx).exp()).sum();
            for j in 0..hd {
                out[[t, h, j]] = (0..m)
                    .map(|s| (scores[s] - mx).exp() / z * v[[s, kh, j]])
                    .sum();
            }
        }
    }
    out
}

/// Attention without projections: queries are the input, keys and values are fed in.
fn simple_attention() -> Attention {
    let seq = |steps: Vec<(&str, AnyLayer)>| {
        let mut s = Steps::new();
        for (n, l) in steps {
            s.push_named(n, l).unwrap();
        }
        AnyLayer::new(Sequential { steps: s })
    };
    Attention {
        query: AnyLayer::new(Identity),
        key: seq(vec![(
            "rename",
            AnyLayer::new(RenameAxes::new("seq", "kv_seq")),
        )]),
        value: seq(vec![(
            "rename",
            AnyLayer::new(RenameAxes::new("seq", "kv_seq")),
        )]),
        scores: seq(vec![
            ("mask", AnyLayer::new(ApplyCausalMask::default())),
            ("softmax", AnyLayer::new(Softmax::over("kv_seq"))),
        ]),
        output: AnyLayer::new(Identity),
        head_axis: "projection".into(),
        kv_axis: "kv_seq".into(),
    }
}

#[test]
fn attention_matches_reference_for_multi_head_grouped_and_multi_query() {
    // The input already carries query heads; keys/values are the same tensor restricted
    // to the kv heads, which exercises broadcasting by name for GQA and MQA.
    let n = 5;
    let hd = 4;
    for (heads, kv) in [(4usize, 4usize), (4, 2), (4, 1)] {
        let attn = simple_attention();
        // Queries {seq, kv_heads, q_per_kv, projection}; keys {seq, kv_heads, projection}.
        let q = random(
            10,
            &[
                ("seq", n),
                ("kv_heads", kv),
                ("q_per_kv", heads / kv),
                ("projection", hd),
            ],
        );
        let kvt = random(11, &[("seq", n), ("kv_heads", kv), ("projection", hd)]);
        let mut a = attn.clone();
        let key_seq = a.key.clone();
        a.key = AnyLayer::new(
            Sequential::new()
                .then(ConstantInput(kvt.clone()))
                .then(AnyLayerWrap(key_seq)),
        );
        a.value = a.key.clone();
        let y = run(&a, q.clone());
        let qa = arr(&q, &["seq", "kv_heads", "q_per_kv", "projection"])
            .into_shape_with_order(vec![n, heads, hd])
            .unwrap();
        let ka = arr(&kvt, &["seq", "kv_heads", "projection"]);
        let expected = attention_reference(&qa, &ka, &ka, true);
        let ya = arr(&y, &["seq", "kv_heads", "q_per_kv", "projection"]);
        assert_close(ya.as_slice().unwrap(), expected.as_slice().unwrap(), 1e-5);
    }
}

/// Ignores its input and returns a fixed array (feeds keys/values in the test above).
#[derive(Clone, Debug, PartialEq, Tree)]
struct ConstantInput(NamedArray);

impl Layer for ConstantInput {
    fn call(&self, _x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(self.0.clone())
    }
}

#[derive(Clone, Debug, Tree)]
struct AnyLayerWrap(AnyLayer);

impl Layer for AnyLayerWrap {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        self.0.call(x, cx)
    }
}

#[test]
fn dropout_is_identity_when_deterministic_and_reproducible_when_stochastic() {
    let x = NamedArray::ones(&[("batch", 4), ("features", 64)]).unwrap();
    let drop = Dropout::new(0.25).unwrap();
    assert_eq!(run(&drop, x.clone()), x);
    let sample = |seed| {
        drop.call(
            x.clone(),
            &mut Context::new().with_seed(seed).with_mode(Mode::Stochastic),
        )
        .unwrap()
    };
    assert_eq!(sample(3), sample(3));
    assert_ne!(sample(3), sample(4));
    let values = sample(3).to_f32_vec();
    assert!(
        values
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6)
    );
    let zeros = values.iter().filter(|&&v| v == 0.0).count();
    assert!(
        (32..=100).contains(&zeros),
        "{zeros} of 256 dropped at rate 0.25"
    );
    // Shared axes get one mask.
    let shared = Dropout {
        rate: 0.5,
        share_across: vec!["batch".into()],
    };
    let y = shared
        .call(
            x,
            &mut Context::new().with_seed(1).with_mode(Mode::Stochastic),
        )
        .unwrap();
    let ys = arr(&y, &["batch", "features"])
        .into_dimensionality::<Ix2>()
        .unwrap();
    for b in 1..4 {
        assert_eq!(ys.row(b), ys.row(0));
    }
}

#[test]
fn tied_embeddings_are_one_parameter_with_two_users() {
    let cfg = LlamaConfig {
        tie_embeddings: true,
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&cfg, 0).unwrap();
    let params = penzai::nn::parameters(&model);
    let embed: Vec<_> = params
        .iter()
        .filter(|(_, p)| &*p.label == "embed.embeddings")
        .collect();
    assert_eq!(embed.len(), 2, "lookup and decode both hold the table");
    assert_eq!(embed[0].0.to_string(), "embed.table.embeddings");
    assert_eq!(embed[1].0.to_string(), "unembed.table.embeddings");
    assert!(embed[0].1.is_tied_to(embed[1].1));
    assert!(same_storage(&embed[0].1.value, &embed[1].1.value));
    // Updating by label keeps them tied.
    let mut edited = model.clone();
    let new = NamedArray::zeros(&[("vocabulary", 64), ("embedding", 32)]).unwrap();
    assert_eq!(
        penzai::nn::set_parameter(&mut edited, "embed.embeddings", &new),
        2
    );
}

/// Every parameter by label, as ndarrays in the given axis order.
fn params_by_label(model: &TransformerLm) -> BTreeMap<String, NamedArray> {
    penzai::nn::parameters(model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), p.value.clone()))
        .collect()
}

fn rms(x: &[f32], scale: &[f32], eps: f32) -> Vec<f32> {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    x.iter().zip(scale).map(|(v, s)| v * inv * s).collect()
}

fn matvec(x: &[f32], w: &ArrayD<f32>, out: usize) -> Vec<f32> {
    let w = w.view().into_shape_with_order((x.len(), out)).unwrap();
    (0..out)
        .map(|o| x.iter().enumerate().map(|(i, v)| v * w[[i, o]]).sum())
        .collect()
}

/// A hand-written Llama forward over one sequence, reading the model's parameters.
fn llama_reference(
    cfg: &LlamaConfig,
    p: &BTreeMap<String, NamedArray>,
    tokens: &[i64],
) -> Vec<Vec<f32>> {
    let (d, hd, nh, nkv) = (cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads);
    let q_axes: Vec<&str> = cfg.query_head_axes().iter().map(|(n, _)| *n).collect();
    let kv_axes: Vec<&str> = cfg.kv_head_axes().iter().map(|(n, _)| *n).collect();
    let order = |lead: &[&str], heads: &[&str], tail: &[&str]| -> Vec<String> {
        lead.iter()
            .chain(heads)
            .chain(tail)
            .map(|s| s.to_string())
            .collect()
    };
    let get = |label: &str, ord: Vec<String>| -> ArrayD<f32> {
        let refs: Vec<&str> = ord.iter().map(String::as_str).collect();
        p[label].to_ndarray_f32(&refs).unwrap()
    };
    let table = get(
        "embed.embeddings",
        order(&["vocabulary"], &[], &["embedding"]),
    );
    let n = tokens.len();
    let mut h: Vec<Vec<f32>> = tokens
        .iter()
        .map(|&t| {
            table
                .index_axis(Axis(0), t as usize)
                .to_owned()
                .into_raw_vec_and_offset()
                .0
        })
        .collect();
    for b in 0..cfg.n_layers {
        let l = |s: &str| format!("blocks.{b}.{s}");
        let attn_scale = p[&l("attn.norm.scale.weights")].to_f32_vec();
        let wq = get(
            &l("attn.query.weights"),
            order(&["embedding"], &q_axes, &["projection"]),
        );
        let wk = get(
            &l("attn.key.weights"),
            order(&["embedding"], &kv_axes, &["projection"]),
        );
        let wv = get(
            &l("attn.value.weights"),
            order(&["embedding"], &kv_axes, &["projection"]),
        );
        let wo = get(
            &l("attn.output.weights"),
            order(&[], &q_axes, &["projection", "embedding"]),
        );
        let a: Vec<Vec<f32>> = h.iter().map(|x| rms(x, &attn_scale, cfg.rms_eps)).collect();
        let mut q = ArrayD::zeros(vec![n, nh, hd]);
        let mut k = ArrayD::zeros(vec![n, nkv, hd]);
        let mut v = ArrayD::zeros(vec![n, nkv, hd]);
        for t in 0..n {
            let qt = matvec(&a[t], &wq, nh * hd);
            let kt = matvec(&a[t], &wk, nkv * hd);
            let vt = matvec(&a[t], &wv, nkv * hd);
            for i in 0..nh * hd {
                q[[t, i / hd, i % hd]] = qt[i];
            }
            for i in 0..nkv * hd {
                k[[t, i / hd, i % hd]] = kt[i];
                v[[t, i / hd, i % hd]] = vt[i];
            }
        }
        let positions: Vec<i64> = (0..n as i64).collect();
        for hh in 0..nh {
            let qh = q
                .index_axis(Axis(1), hh)
                .to_owned()
                .into_dimensionality::<Ix2>()
                .unwrap();
            let r = rope_reference(&qh, &positions, cfg.rope_theta, hd);
            q.index_axis_mut(Axis(1), hh)
                .assign(&r.mapv(|x| x / (hd as f32).sqrt()));
        }
        for hh in 0..nkv {
            let kh = k
                .index_axis(Axis(1), hh)
                .to_owned()
                .into_dimensionality::<Ix2>()
                .unwrap();
            k.index_axis_mut(Axis(1), hh).assign(&rope_reference(
                &kh,
                &positions,
                cfg.rope_theta,
                hd,
            ));
        }
        let o = attention_reference(&q, &k, &v, true);
        for t in 0..n {
            let ot = o
                .index_axis(Axis(0), t)
                .iter()
                .copied()
                .collect::<Vec<f32>>();
            let out = matvec(&ot, &wo, d);
            for i in 0..d {
                h[t][i] += out[i];
            }
        }
        let mlp_scale = p[&l("mlp.norm.scale.weights")].to_f32_vec();
        let wg = get(
            &l("mlp.gate.weights"),
            order(&["embedding"], &[], &["neurons"]),
        );
        let wu = get(
            &l("mlp.up.weights"),
            order(&["embedding"], &[], &["neurons"]),
        );
        let wd = get(
            &l("mlp.down.weights"),
            order(&["neurons"], &[], &["embedding"]),
        );
        for x in h.iter_mut() {
            let m = rms(x, &mlp_scale, cfg.rms_eps);
            let g = matvec(&m, &wg, cfg.mlp_hidden);
            let u = matvec(&m, &wu, cfg.mlp_hidden);
            let act: Vec<f32> = g
                .iter()
                .zip(&u)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let out = matvec(&act, &wd, d);
            for i in 0..d {
                x[i] += out[i];
            }
        }
    }
    let final_scale = p["final_norm.scale.weights"].to_f32_vec();
    let unembed = get(
        "unembed.weights",
        order(&["embedding"], &[], &["vocabulary"]),
    );
    h.iter()
        .map(|x| matvec(&rms(x, &final_scale, cfg.rms_eps), &unembed, cfg.vocab_size))
        .collect()
}

#[test]
fn two_block_llama_forward_matches_a_hand_written_reference() {
    for (heads, kv) in [(4, 4), (4, 2), (4, 1)] {
        let cfg = LlamaConfig {
            n_heads: heads,
            n_kv_heads: kv,
            ..LlamaConfig::tiny()
        };
        let model = TransformerLm::llama(&cfg, 1).unwrap();
        let tokens = vec![3i64, 14, 15, 9, 2, 6];
        let ids = NamedArray::from_i64(&[("batch", 1), ("seq", 6)], tokens.clone()).unwrap();
        let logits = run(&model, ids);
        let ours = arr(&logits, &["batch", "seq", "vocabulary"])
            .into_raw_vec_and_offset()
            .0;
        let expected: Vec<f32> = llama_reference(&cfg, &params_by_label(&model), &tokens).concat();
        assert_close(&ours, &expected, 2e-5);
    }
}

#[test]
fn kv_cached_decoding_token_by_token_equals_the_full_forward() {
    let cfg = LlamaConfig {
        n_kv_heads: 2,
        sliding_window: None,
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&cfg, 2).unwrap();
    let tokens = vec![5i64, 1, 4, 1, 5, 9, 2];
    let full = run(
        &model,
        NamedArray::from_i64(
            &[("batch", 2), ("seq", 7)],
            [tokens.clone(), tokens.clone()].concat(),
        )
        .unwrap(),
    );
    let cached = penzai_cache(&model);
    let mut cx = Context::new();
    let mut rows = Vec::new();
    // A prompt of 3 tokens, then one token at a time.
    let mut start = 0;
    for end in [3usize, 4, 5, 6, 7] {
        let chunk: Vec<i64> = tokens[start..end].to_vec();
        let n = chunk.len();
        let ids =
            NamedArray::from_i64(&[("batch", 2), ("seq", n)], [chunk.clone(), chunk].concat())
                .unwrap();
        let positions =
            NamedArray::from_i64(&[("seq", n)], (start as i64..end as i64).collect()).unwrap();
        cx.set_side_input(TOKEN_POSITIONS, positions);
        rows.push(cx.run(&cached, ids).unwrap());
        start = end;
    }
    let stitched = NamedArray::concat(&rows, "seq").unwrap();
    assert_close(
        &arr(&stitched, &["batch", "seq", "vocabulary"])
            .into_raw_vec_and_offset()
            .0,
        &arr(&full, &["batch", "seq", "vocabulary"])
            .into_raw_vec_and_offset()
            .0,
        1e-5,
    );
}

/// Swaps every `Attention` for its KV-caching form, by walking the tree.
fn penzai_cache(model: &TransformerLm) -> TransformerLm {
    let mut cached = model.clone();
    let paths: Vec<KeyPath> = {
        let mut v = Vec::new();
        cached.walk(&mut |frame, node| {
            if node.is::<Attention>() {
                v.push(frame.to_key_path());
                return Walk::SkipChildren;
            }
            Walk::Continue
        });
        v
    };
    assert_eq!(paths.len(), 2);
    for path in paths {
        let attn = cached
            .get_at(&path)
            .unwrap()
            .downcast_ref::<Attention>()
            .unwrap()
            .clone();
        cached
            .replace_at(&path, Box::new(KVCachingAttention::from_uncached(attn)))
            .unwrap();
    }
    cached
}

fn same_storage(a: &NamedArray, b: &NamedArray) -> bool {
    use penzai::nx::Storage;
    match (a.storage(), b.storage()) {
        (Storage::F32(x), Storage::F32(y)) => x.as_ptr() == y.as_ptr(),
        _ => false,
    }
}
