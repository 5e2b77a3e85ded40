//! Activation patching, single and batched over worlds, checked numerically.

mod interpret_support;

use penzai::interpret::{PatchFromWorld, capture, logit_difference, patch, patch_sweep};
use penzai::models::TransformerBlock;
use penzai::prelude::*;

use interpret_support::{run, tiny, tokens};

fn max_abs(a: &NamedArray) -> f32 {
    a.abs()
        .unwrap()
        .to_f32_vec()
        .into_iter()
        .fold(0.0, f32::max)
}

fn metric(logits: &NamedArray) -> penzai::Result<NamedArray> {
    logit_difference(logits, 10, 20)
}

#[test]
fn patching_clean_into_clean_changes_nothing() {
    let model = tiny();
    let clean = tokens(&[5, 6, 7, 8]);
    let blocks = select(model.clone()).at_instances_of::<TransformerBlock>();
    let caps = capture(blocks.clone(), clean.clone(), &mut Context::new()).unwrap();
    let patched = patch(blocks, &caps, None).unwrap();
    assert_eq!(run(&patched, clean.clone()), run(&model, clean));
}

#[test]
fn a_sweep_of_clean_into_clean_has_no_effect() {
    let clean = tokens(&[5, 6, 7, 8]);
    let sweep = patch_sweep(
        select(tiny()).at_instances_of::<TransformerBlock>(),
        &clean,
        &clean,
        "seq",
        metric,
        &mut Context::new(),
    )
    .unwrap();
    assert_eq!(
        sweep.effects.named_shape().to_string(),
        "{site: 2, seq: 4, batch: 1}"
    );
    assert!(max_abs(&sweep.effects) < 1e-5, "{:?}", sweep.effects);
    assert!(max_abs(&(&sweep.clean - &sweep.corrupted).unwrap()) < 1e-5);
}

#[test]
fn the_sweep_baselines_are_the_clean_and_corrupted_runs() {
    let model = tiny();
    let clean = tokens(&[5, 6, 7, 8]);
    let corrupted = tokens(&[9, 6, 7, 8]);
    let sweep = patch_sweep(
        select(model.clone()).at_instances_of::<TransformerBlock>(),
        &clean,
        &corrupted,
        "seq",
        metric,
        &mut Context::new(),
    )
    .unwrap();
    let clean_metric = metric(&run(&model, clean)).unwrap();
    let corrupted_metric = metric(&run(&model, corrupted)).unwrap();
    assert!(max_abs(&(&sweep.clean - &clean_metric).unwrap()) < 1e-5);
    assert!(max_abs(&(&sweep.corrupted - &corrupted_metric).unwrap()) < 1e-5);
}

#[test]
fn each_sweep_entry_equals_the_single_patch_at_that_site_and_position() {
    let model = tiny();
    let clean = tokens(&[5, 6, 7, 8]);
    let corrupted = tokens(&[9, 6, 2, 8]);
    let blocks = || select(model.clone()).at_instances_of::<TransformerBlock>();
    let sweep = patch_sweep(
        blocks(),
        &clean,
        &corrupted,
        "seq",
        metric,
        &mut Context::new(),
    )
    .unwrap();
    let corrupted_metric = metric(&run(&model, corrupted.clone())).unwrap();
    let clean_caps = capture(blocks(), clean, &mut Context::new()).unwrap();
    for site in 0..2 {
        for p in 0..4 {
            let mut one_hot = vec![0.0; 4];
            one_hot[p] = 1.0;
            let mask = NamedArray::from_f32(&[("seq", 4)], one_hot).unwrap();
            let patched = patch(blocks().nth(site as isize), &clean_caps, Some(mask)).unwrap();
            let effect =
                (&metric(&run(&patched, corrupted.clone())).unwrap() - &corrupted_metric).unwrap();
            let swept = sweep
                .effects
                .index_axis("site", site)
                .unwrap()
                .index_axis("seq", p)
                .unwrap();
            let diff = max_abs(&(&effect - &swept).unwrap());
            assert!(diff < 1e-4, "site {site} position {p}: {diff}");
        }
    }
    // Patching block 1 at every position restores the clean run, so the last position's
    // entry of the last block carries the whole clean-corrupted difference.
    let full = (&sweep.clean - &sweep.corrupted).unwrap();
    let last = sweep
        .effects
        .index_axis("site", 1)
        .unwrap()
        .index_axis("seq", 3)
        .unwrap();
    assert!(max_abs(&(&full - &last).unwrap()) < 1e-4);
}

#[test]
fn sweep_inputs_must_agree_and_the_metric_must_keep_the_worlds_axis() {
    let model = tiny();
    let err = patch_sweep(
        select(model.clone()).at_instances_of::<TransformerBlock>(),
        &tokens(&[1, 2]),
        &tokens(&[1, 2, 3]),
        "seq",
        metric,
        &mut Context::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: clean and corrupted inputs differ in shape: {batch: 1, seq: 2} \
         and {batch: 1, seq: 3}"
    );
    let err = patch_sweep(
        select(model).at_instances_of::<TransformerBlock>(),
        &tokens(&[1, 2]),
        &tokens(&[2, 2]),
        "seq",
        |logits| Ok(logits.mean_all()?),
        &mut Context::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: the metric must keep the \"worlds\" axis (6); it returned {}"
    );
}

#[test]
fn patch_from_world_copies_the_source_world_where_the_mask_is_one() {
    let x = NamedArray::from_f32(
        &[("worlds", 3), ("seq", 2)],
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )
    .unwrap();
    let mask = NamedArray::from_f32(
        &[("worlds", 3), ("seq", 2)],
        vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let layer = PatchFromWorld {
        worlds_axis: "worlds".into(),
        source: 0,
        mask,
    };
    let y = run(&layer, x);
    assert_eq!(
        y.order_as(&["worlds", "seq"]).unwrap().to_f32_vec(),
        [1.0, 2.0, 1.0, 4.0, 5.0, 2.0]
    );
}
