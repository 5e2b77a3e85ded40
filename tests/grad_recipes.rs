//! Recipes that train: LoRA fine-tuning and a probe fitted by gradient.

use penzai::grad::{Adam, Trainable, next_token_loss, train, value_and_grad};
use penzai::interpret::{LinearProbe, LowRankAdapter, lora_trainable, loraify, merge_lora};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::{Attention, parameters};
use penzai::prelude::*;

#[test]
fn lora_fine_tuning_lowers_the_loss_and_merges_exactly() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let mut adapted = loraify(select(model.clone()).at_instances_of::<Attention>(), 4, 1).unwrap();
    assert!(
        select(adapted.as_dyn())
            .at_instances_of::<LowRankAdapter>()
            .count()
            > 0
    );
    // A small task: memorize one repeating sequence.
    let tokens = NamedArray::from_i64(
        &[("batch", 2), ("seq", 8)],
        (0..16).map(|i| (i % 5) + 1).collect(),
    )
    .unwrap();
    let log = train(
        &mut adapted,
        &lora_trainable(),
        &mut Adam::new(2e-2),
        12,
        |m, _| next_token_loss(m, &tokens),
    )
    .unwrap();
    let (first, last) = (log.losses[0], log.losses[11]);
    assert!(last < 0.9 * first, "the loss falls: {:?}", log.losses);
    // Only the adapters moved: every original parameter is bit-identical.
    let before: Vec<_> = parameters(&model)
        .into_iter()
        .map(|(_, p)| p.clone())
        .collect();
    for p in before {
        let now = parameters(&adapted)
            .into_iter()
            .find(|(_, q)| q.label == p.label)
            .map(|(_, q)| q.clone())
            .unwrap();
        assert_eq!(now.value, p.value, "{} is frozen", p.label);
    }
    // Merged and unmerged adapters compute the same function.
    let merged = merge_lora(adapted.clone()).unwrap();
    let a = adapted.call(tokens.clone(), &mut Context::new()).unwrap();
    let b = merged.call(tokens.clone(), &mut Context::new()).unwrap();
    let worst = (&a - &b)
        .unwrap()
        .abs()
        .unwrap()
        .to_f32_vec()
        .into_iter()
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "merged vs unmerged logits differ by {worst}");
    // And the trained adapters changed the model's function.
    let original = model.call(tokens, &mut Context::new()).unwrap();
    assert_ne!(original, a);
}

#[test]
fn frozen_parameters_get_no_gradient_and_a_bad_selection_is_named() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let tokens = NamedArray::from_i64(&[("seq", 4)], vec![1, 2, 3, 4]).unwrap();
    let label = parameters(&model)[0].1.label.to_string();
    let (_, grads) = value_and_grad(&model, &Trainable::labels([label.clone()]), |m| {
        next_token_loss(m, &tokens)
    })
    .unwrap();
    assert_eq!(grads.len(), 1);
    assert!(grads.get(&label).is_some());
    let err = value_and_grad(&model, &Trainable::labels(["nope"]), |m| {
        next_token_loss(m, &tokens)
    })
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_probe_trained_by_gradient_agrees_with_the_closed_form() {
    // Three noisy clusters in 4 dimensions.
    let (n, d) = (48, 4);
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for s in 0..n {
        let class = s % 3;
        y.push(class as i64);
        for j in 0..d {
            let centre = if j == class { 1.5 } else { -0.5 };
            let noise = (((s * 31 + j * 17) % 23) as f32 / 23.0 - 0.5) * 0.8;
            x.push(centre + noise);
        }
    }
    let x = NamedArray::from_f32(&[("sample", n), ("embedding", d)], x).unwrap();
    let y = NamedArray::from_i64(&[("sample", n)], y).unwrap();
    let ridge = 0.5;
    let closed = LinearProbe::fit(&x, &y, "embedding", ridge).unwrap();
    let (trained, log) =
        LinearProbe::fit_by_gradient(&x, &y, "embedding", ridge, 400, &mut Adam::new(0.05))
            .unwrap();
    assert!(log.losses[399] < log.losses[0]);
    let a = closed.scores(&x).unwrap();
    let b = trained.scores(&x).unwrap();
    let worst = (&a - &b)
        .unwrap()
        .abs()
        .unwrap()
        .to_f32_vec()
        .into_iter()
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-2, "scores differ by {worst}");
    assert_eq!(closed.predict(&x).unwrap(), trained.predict(&x).unwrap());
}
