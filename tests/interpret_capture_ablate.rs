//! Capture and ablation, checked numerically on small models.

mod interpret_support;

use penzai::interpret::{Ablate, Replacement, ablate, capture, resample, with_captures};
use penzai::models::TransformerBlock;
use penzai::nn::{Affine, Attention, Initializer, Linear, Sequential, Softmax};
use penzai::prelude::*;

use interpret_support::{max_abs_diff, run, tiny, tokens};

fn affine() -> Affine {
    let mut a = Affine::new(
        3,
        "a",
        &[("in", 4)],
        &[("out", 3)],
        Initializer::XAVIER_UNIFORM,
    )
    .unwrap();
    // A non-zero bias, so that "only the bias" is visible.
    a = select(a)
        .at_path("bias.bias")
        .unwrap()
        .apply(|p: penzai::nn::Parameter| {
            p.with_value(NamedArray::from_f32(&[("out", 3)], vec![0.5, -1.0, 2.0]).unwrap())
        })
        .unwrap();
    a
}

#[test]
fn capture_records_every_selected_layer_by_its_original_path() {
    let model = tiny();
    let x = tokens(&[1, 2, 3]);
    let run_ = capture(
        select(model.clone()).at_instances_of::<Linear>(),
        x.clone(),
        &mut Context::new(),
    )
    .unwrap();
    assert_eq!(run_.activations.len(), 20);
    assert_eq!(run_.output, run(&model, x));
    let q: KeyPath = "blocks[1].attn.delta.attention.query.proj".parse().unwrap();
    assert_eq!(
        run_.activations[&q].named_shape().to_string(),
        "{batch: 1, seq: 3, kv_heads: 2, q_per_kv: 2, projection: 8}"
    );
    let unembed: KeyPath = "unembed".parse().unwrap();
    assert_eq!(run_.activations[&unembed], run_.output);
}

#[test]
fn captured_block_outputs_are_the_residual_stream() {
    let model = tiny();
    let x = tokens(&[4, 5, 6, 7]);
    let caps = capture(
        select(model.clone()).at_instances_of::<TransformerBlock>(),
        x.clone(),
        &mut Context::new(),
    )
    .unwrap();
    let paths: Vec<String> = caps.activations.keys().map(ToString::to_string).collect();
    assert_eq!(paths, ["blocks[0]", "blocks[1]"]);
    // Block 1 applied to block 0's output gives block 1's output.
    let block1 = select(model.as_dyn())
        .at_path("blocks[1]")
        .unwrap()
        .get_as::<TransformerBlock>()
        .unwrap()
        .clone();
    let b0: KeyPath = "blocks[0]".parse().unwrap();
    let b1: KeyPath = "blocks[1]".parse().unwrap();
    assert_eq!(
        run(&block1, caps.activations[&b0].clone()),
        caps.activations[&b1]
    );
}

#[test]
fn with_captures_inserts_pass_through_layers() {
    let model = tiny();
    let tapped = with_captures(select(model.clone()).at_instances_of::<Softmax>()).unwrap();
    let mut cx = Context::new();
    let out = cx.run(&tapped, tokens(&[1, 2])).unwrap();
    // The untapped model takes the fused attention path, the tapped one the general path
    // (a layer sits in the scores slot): equal up to float rounding, not bit for bit.
    let plain = run(&model, tokens(&[1, 2]));
    assert_eq!(out.named_shape(), plain.named_shape());
    let worst = out
        .to_f32_vec()
        .iter()
        .zip(plain.to_f32_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "tapped and plain runs differ by {worst}");
    let keys: Vec<String> = cx.captures().keys().map(ToString::to_string).collect();
    assert_eq!(
        keys,
        [
            "blocks[0].attn.delta.attention.scores.softmax",
            "blocks[1].attn.delta.attention.scores.softmax"
        ]
    );
}

#[test]
fn zero_ablating_the_linear_part_of_an_affine_leaves_the_bias() {
    let a = affine();
    let x = NamedArray::normal(1, &[("batch", 2), ("in", 4)], 0.0, 1.0).unwrap();
    let ablated = ablate(
        select(a.clone()).at_path("linear").unwrap(),
        Replacement::Zero,
        None,
    )
    .unwrap();
    let bias = NamedArray::from_f32(&[("out", 3)], vec![0.5, -1.0, 2.0]).unwrap();
    assert_eq!(
        run(&ablated, x.clone()),
        bias.broadcast_to(&[("batch", 2), ("out", 3)]).unwrap()
    );
    // Zeroing the Affine's input gives the same: W 0 + b = b.
    let zero_input = select(Sequential::new().then(a))
        .at_path("[0]")
        .unwrap()
        .chain_before_with(|_, _| Ablate {
            with: Replacement::Zero,
            mask: None,
        })
        .unwrap();
    assert_eq!(
        run(&zero_input, x),
        bias.broadcast_to(&[("batch", 2), ("out", 3)]).unwrap()
    );
}

#[test]
fn mean_ablation_replaces_by_the_mean_over_an_axis() {
    let x = NamedArray::from_f32(&[("batch", 2), ("f", 2)], vec![1.0, 2.0, 3.0, 6.0]).unwrap();
    let layer = Ablate {
        with: Replacement::mean(&["batch"]),
        mask: None,
    };
    let y = run(&layer, x);
    assert_eq!(
        y.order_as(&["batch", "f"]).unwrap().to_f32_vec(),
        [2.0, 4.0, 2.0, 4.0]
    );
}

#[test]
fn a_mask_ablates_only_where_it_is_one() {
    let x = NamedArray::from_f32(
        &[("heads", 3), ("seq", 2)],
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )
    .unwrap();
    let head1 = NamedArray::from_f32(&[("heads", 3)], vec![0.0, 1.0, 0.0]).unwrap();
    let layer = Ablate {
        with: Replacement::Zero,
        mask: Some(head1),
    };
    assert_eq!(run(&layer, x).to_f32_vec(), [1.0, 2.0, 0.0, 0.0, 5.0, 6.0]);
}

#[test]
fn a_mask_with_an_axis_the_activation_lacks_is_an_error_naming_it() {
    let x = NamedArray::ones(&[("seq", 2)]).unwrap();
    let layer = Ablate {
        with: Replacement::Zero,
        mask: Some(NamedArray::ones(&[("heads", 3)]).unwrap()),
    };
    let err = Context::new().run(&layer, x).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at the root (Ablate): the ablation mask {heads: 3} has axis \"heads\", which the \
         activation {seq: 2} lacks"
    );
}

#[test]
fn ablating_heads_before_the_output_equals_zeroing_their_output_weights() {
    let model = tiny();
    let x = tokens(&[3, 1, 4, 1, 5]);
    // Head group 1 (of `kv_heads`) in every attention layer, before the output projection.
    let group1 = NamedArray::from_f32(&[("kv_heads", 2)], vec![0.0, 1.0]).unwrap();
    let before_output = select(model.clone())
        .at_instances_of::<Attention>()
        .at_path("output")
        .unwrap();
    let ablated = before_output
        .clone()
        .chain_before_with(|_, _| Ablate {
            with: Replacement::Zero,
            mask: Some(group1.clone()),
        })
        .unwrap();
    let keep = (&NamedArray::ones(&[("kv_heads", 2)]).unwrap() - &group1).unwrap();
    let zeroed_weights = before_output
        .apply(|mut l: Linear| {
            l.weights.value = (&l.weights.value * &keep).unwrap();
            l
        })
        .unwrap();
    let diff = max_abs_diff(&run(&ablated, x.clone()), &run(&zeroed_weights, x.clone()));
    assert!(diff < 1e-5, "{diff}");
    assert!(max_abs_diff(&run(&ablated, x.clone()), &run(&model, x)) > 1e-4);
}

#[test]
fn head_ablation_on_the_attention_weights_zeroes_those_heads() {
    let model = tiny();
    let group0 = NamedArray::from_f32(&[("kv_heads", 2)], vec![1.0, 0.0]).unwrap();
    let softmaxes = select(model).at_instances_of::<Softmax>();
    let ablated = ablate(softmaxes, Replacement::Zero, Some(group0)).unwrap();
    // Capture the ablated weights: the layer after each Softmax is the Ablate.
    let weights = capture(
        select(ablated).at_instances_of::<Ablate>(),
        tokens(&[1, 2, 3]),
        &mut Context::new(),
    )
    .unwrap();
    for w in weights.activations.values() {
        let g0 = w.index_axis("kv_heads", 0).unwrap();
        let g1 = w.index_axis("kv_heads", 1).unwrap();
        assert!(g0.to_f32_vec().iter().all(|v| *v == 0.0));
        // The other heads still sum to 1 over the keys.
        let sums = g1.sum(&["kv_seq"]).unwrap().to_f32_vec();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    }
}

#[test]
fn resampling_the_whole_residual_stream_gives_the_other_runs_output() {
    let model = tiny();
    let a = tokens(&[1, 2, 3, 4]);
    let b = tokens(&[9, 8, 7, 6]);
    let block0 = select(model.clone()).at_path("blocks[0]").unwrap();
    let from_b = capture(block0.clone(), b.clone(), &mut Context::new()).unwrap();
    let resampled = resample(block0, &from_b.activations, None).unwrap();
    assert_eq!(run(&resampled, a), from_b.output);
}

#[test]
fn resample_without_a_recorded_activation_names_the_site() {
    let model = tiny();
    let err = resample(
        select(model).at_path("blocks[1]").unwrap(),
        &Default::default(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: no activation recorded for blocks[1] (recorded: )"
    );
}
