//! Attention's fused path: it runs only while the scores slot holds the standard layers, it
//! equals the general path, and a layer put in the slot still sees the scores.

use penzai::interpret::capture;
use penzai::models::{GenerateOptions, Gpt2Config, LlamaConfig, TransformerLm, generate};
use penzai::nn::{Attention, Identity, Layer};
use penzai::prelude::*;

fn tokens(batch: usize, ids: &[i64]) -> NamedArray {
    let all: Vec<i64> = (0..batch)
        .flat_map(|b| ids.iter().map(move |i| (i + b as i64) % 64))
        .collect();
    NamedArray::from_i64(&[("batch", batch), ("seq", ids.len())], all).unwrap()
}

/// The model with an `Identity` after every attention's scores slot: the same function, but
/// the slot no longer holds only the standard layers, so every attention takes the general
/// path.
fn general(model: &TransformerLm) -> TransformerLm {
    select(model.clone())
        .at_instances_of::<Attention>()
        .at_path("scores")
        .unwrap()
        .insert_after(Identity)
        .unwrap()
}

fn attentions(model: &TransformerLm) -> Vec<Attention> {
    let mut out = Vec::new();
    model.walk(&mut |_, node| {
        if let Some(a) = node.downcast_ref::<Attention>() {
            out.push(a.clone());
        }
        Walk::Continue
    });
    out
}

fn max_abs_diff(a: &NamedArray, b: &NamedArray) -> f32 {
    assert_eq!(a.named_shape(), b.named_shape());
    let names: Vec<&str> = a.axis_names().iter().map(|n| n.as_str()).collect();
    let b = b.order_as(&names).unwrap();
    a.to_f32_vec()
        .iter()
        .zip(b.to_f32_vec())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every attention's output, on the fused and on the general path, within 1e-6.
fn assert_paths_agree(model: &TransformerLm, x: &NamedArray) {
    let cx = Context::new();
    assert!(attentions(model).iter().all(|a| a.uses_fused_path(&cx)));
    let slow = general(model);
    assert!(attentions(&slow).iter().all(|a| !a.uses_fused_path(&cx)));
    let run = |m: &TransformerLm| {
        capture(
            select(m.clone()).at_instances_of::<Attention>(),
            x.clone(),
            &mut Context::new(),
        )
        .unwrap()
    };
    let (fast, slow) = (run(model), run(&slow));
    assert_eq!(fast.activations.len(), slow.activations.len());
    assert!(!fast.activations.is_empty());
    for ((path, a), (_, b)) in fast.activations.iter().zip(&slow.activations) {
        let d = max_abs_diff(a, b);
        // Float rounding: a millionth of the activation's scale (at least 1).
        let scale = b.to_f32_vec().iter().fold(1.0f32, |m, v| m.max(v.abs()));
        assert!(
            d <= 1e-6 * scale,
            "{path}: fused and general differ by {d} (scale {scale})"
        );
    }
    let d = max_abs_diff(&fast.output, &slow.output);
    assert!(d <= 1e-5, "logits differ by {d}");
}

#[test]
fn fused_equals_general_for_grouped_query_attention() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    assert_paths_agree(&model, &tokens(2, &[3, 9, 1, 40, 7, 7, 22, 5, 60, 2, 11]));
}

#[test]
fn fused_equals_general_for_gpt2_and_for_a_sliding_window() {
    let gpt2 = TransformerLm::gpt2(&Gpt2Config::tiny(), 1).unwrap();
    assert_paths_agree(&gpt2, &tokens(1, &[5, 1, 30, 2, 8, 13, 21]));
    let window = LlamaConfig {
        sliding_window: Some(3),
        n_kv_heads: 4,
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&window, 2).unwrap();
    assert_paths_agree(&model, &tokens(1, &[5, 1, 30, 2, 8, 13, 21, 4, 4]));
}

#[test]
fn fused_equals_general_through_cached_decoding() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 3).unwrap();
    let prompt = tokens(2, &[1, 2, 3, 4, 5]);
    let options = GenerateOptions {
        max_new_tokens: 6,
        ..GenerateOptions::default()
    };
    let fast = generate(&model, &prompt, &options).unwrap();
    let slow = generate(&general(&model), &prompt, &options).unwrap();
    assert_eq!(fast.to_i64_vec(), slow.to_i64_vec());
}

#[test]
fn a_layer_in_the_scores_slot_sees_the_scores_and_the_weights() {
    let cfg = LlamaConfig::tiny();
    let model = TransformerLm::llama(&cfg, 0).unwrap();
    let x = tokens(1, &[3, 9, 1, 40, 7]);
    // Capturing inside the slot puts layers there: the general path runs and shows them.
    let captured = capture(
        select(model.clone())
            .at_instances_of::<Attention>()
            .at_path("scores")
            .unwrap()
            .at_children(),
        x.clone(),
        &mut Context::new(),
    )
    .unwrap();
    // Two blocks, each with a mask and a softmax step in the slot.
    assert_eq!(captured.activations.len(), 2 * cfg.n_layers);
    for (path, value) in &captured.activations {
        let shape = value.named_shape();
        assert_eq!(shape.get("seq"), Some(5), "{path}: {shape}");
        assert_eq!(shape.get("kv_seq"), Some(5), "{path}: {shape}");
        if path.to_string().ends_with("softmax") {
            let sums = value.sum(&["kv_seq"]).unwrap().to_f32_vec();
            assert!(
                sums.iter().all(|s| (s - 1.0).abs() < 1e-5),
                "{path}: {sums:?}"
            );
        }
    }
    let plain = model.call(x.clone(), &mut Context::new()).unwrap();
    assert!(max_abs_diff(&plain, &captured.output) <= 1e-5);

    // An edit in the slot changes the result: uniform weights over the kept keys.
    let uniform = select(model.clone())
        .at_instances_of::<Attention>()
        .at_path("scores.softmax")
        .unwrap()
        .apply(|_: penzai::nn::Softmax| penzai::nn::Sequential {
            steps: penzai::nn::Steps::named([
                (
                    "flat",
                    penzai::nn::AnyLayer::new(penzai::nn::ConstantRescale { by: 0.0 }),
                ),
                (
                    "softmax",
                    penzai::nn::AnyLayer::new(penzai::nn::Softmax::over("kv_seq")),
                ),
            ])
            .unwrap(),
        })
        .unwrap();
    assert!(
        attentions(&uniform)
            .iter()
            .all(|a| !a.uses_fused_path(&Context::new()))
    );
    let edited = uniform.call(x, &mut Context::new()).unwrap();
    assert!(max_abs_diff(&plain, &edited) > 1e-3);
}

/// A sequence longer than one block of queries (the fused path computes scores 64 query rows
/// at a time), so the mask's row offsets between blocks are exercised.
#[test]
fn fused_equals_general_over_several_query_blocks() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let ids: Vec<i64> = (0..150).map(|i| (i * 7 + 3) % 64).collect();
    assert_paths_agree(&model, &tokens(2, &ids));
    // A sliding window: each block of queries sees a band of keys that moves with it.
    let window = LlamaConfig {
        sliding_window: Some(20),
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&window, 4).unwrap();
    assert_paths_agree(&model, &tokens(1, &ids));
}

/// The gradients of every trainable parameter, through the fused path's backward
/// (probabilities recomputed block by block) and through the general path's recorded ops,
/// agree to float rounding: for every parameter, and for steps where only the value, key or
/// query projections are trainable (the backward then makes only some of the three input
/// gradients).
fn assert_gradients_agree(model: &TransformerLm, x: &NamedArray) {
    use penzai::grad::{Trainable, next_token_loss, value_and_grad};
    let slow = general(model);
    let labels = Trainable::all().labels_in(model);
    let only = |part: &str| {
        Trainable::labels(
            labels
                .iter()
                .filter(|l| l.contains(&format!(".{part}.")))
                .map(|l| l.to_string()),
        )
    };
    let largest = |g: &NamedArray| g.to_f32_vec().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    // The largest gradient of the first step, where every parameter is trainable.
    let mut global: Option<f32> = None;
    for trainable in [Trainable::all(), only("value"), only("key"), only("query")] {
        let (fast_loss, fast) =
            value_and_grad(model, &trainable, |m| next_token_loss(m, x)).unwrap();
        let (slow_loss, slow) =
            value_and_grad(&slow, &trainable, |m| next_token_loss(m, x)).unwrap();
        assert!((fast_loss - slow_loss).abs() <= 1e-5 * slow_loss.abs());
        assert!(!fast.is_empty());
        assert_eq!(fast.len(), slow.len());
        // A key bias's gradient is zero up to rounding (softmax ignores a shift shared by a
        // row's scores), so each parameter is compared at its own scale plus an absolute
        // allowance of a ten-millionth of the largest gradient of the model.
        let floor = 1e-7
            * *global
                .get_or_insert_with(|| slow.iter().map(|(_, g)| largest(g)).fold(0.0, f32::max));
        assert!(floor > 0.0);
        for (label, g) in fast.iter() {
            let want = slow.get(label).unwrap();
            let scale = largest(want);
            let d = max_abs_diff(g, want);
            assert!(
                d <= 1e-4 * scale + floor,
                "{label}: fused and general gradients differ by {d} (scale {scale})"
            );
        }
    }
}

#[test]
fn fused_backward_equals_general_backward() {
    // Grouped-query attention over several query blocks.
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let ids: Vec<i64> = (0..150).map(|i| (i * 7 + 3) % 64).collect();
    assert_gradients_agree(&model, &tokens(2, &ids));
    // GPT-2 (no grouped heads), and a sliding window.
    let gpt2 = TransformerLm::gpt2(&Gpt2Config::tiny(), 1).unwrap();
    assert_gradients_agree(&gpt2, &tokens(1, &[5, 1, 30, 2, 8, 13, 21]));
    let window = LlamaConfig {
        sliding_window: Some(3),
        n_kv_heads: 4,
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&window, 2).unwrap();
    assert_gradients_agree(&model, &tokens(1, &[5, 1, 30, 2, 8, 13, 21, 4, 4]));
    // A window over several query blocks.
    let window = LlamaConfig {
        sliding_window: Some(20),
        ..LlamaConfig::tiny()
    };
    let model = TransformerLm::llama(&window, 4).unwrap();
    assert_gradients_agree(&model, &tokens(1, &ids));
}
