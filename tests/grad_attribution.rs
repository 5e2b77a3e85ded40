//! Attribution patching against exact activation patching, and the gradient of an effect
//! with respect to a head-ablation mask against finite differences.

use penzai::interpret::{
    Replacement, ablate, ablation_mask_gradient, attribution_patching, capture, logit_difference,
    patch_sweep, resample,
};
use penzai::models::{LlamaConfig, TransformerBlock, TransformerLm};
use penzai::nn::Softmax;
use penzai::prelude::*;

fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

/// The attribution estimates of `sites` and the exact patching effects, flattened alike.
fn estimates_and_exact<M: penzai::Layer + Clone>(
    sites: impl Fn() -> penzai::Selection<M>,
    clean: &NamedArray,
    corrupted: &NamedArray,
) -> (NamedArray, Vec<f32>, Vec<f32>) {
    let metric = |logits: &NamedArray| logit_difference(logits, 8, 9);
    let estimates = attribution_patching(sites(), clean, corrupted, "seq", metric).unwrap();
    let exact = patch_sweep(
        sites(),
        clean,
        corrupted,
        "seq",
        metric,
        &mut Context::new(),
    )
    .unwrap()
    .effects;
    assert_eq!(estimates.named_shape(), exact.named_shape());
    let order = ["site", "seq", "batch"];
    let a = estimates.order_as(&order).unwrap().to_f32_vec();
    let b = exact.order_as(&order).unwrap().to_f32_vec();
    (estimates, a, b)
}

fn inputs() -> (NamedArray, NamedArray) {
    (
        NamedArray::from_i64(&[("batch", 1), ("seq", 5)], vec![5, 6, 7, 8, 2]).unwrap(),
        NamedArray::from_i64(&[("batch", 1), ("seq", 5)], vec![9, 6, 7, 8, 2]).unwrap(),
    )
}

#[test]
fn attribution_patching_is_the_first_order_effect_of_patching() {
    // Patching a fraction alpha of the clean-minus-corrupted difference at one site and
    // position changes the metric by alpha times the estimate, to first order.
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let (clean, corrupted) = inputs();
    let sites = || select(model.clone()).at_instances_of::<TransformerBlock>();
    let (estimates, _, _) = estimates_and_exact(sites, &clean, &corrupted);
    let clean_run = capture(sites(), clean.clone(), &mut Context::new()).unwrap();
    let metric = |m: &TransformerLm| {
        let logits = m.call(corrupted.clone(), &mut Context::new()).unwrap();
        logit_difference(&logits, 8, 9)
            .unwrap()
            .sum_all()
            .unwrap()
            .scalar_f32()
            .unwrap()
    };
    let base = metric(&model);
    let alpha = 1e-2f32;
    let paths = sites().paths().to_vec();
    for (s, path) in paths.iter().enumerate() {
        for p in 0..5 {
            let mut mask = vec![0.0f32; 5];
            mask[p] = alpha;
            let mask = NamedArray::from_f32(&[("seq", 5)], mask).unwrap();
            let one = select(model.clone()).at_path(path.to_string()).unwrap();
            let nudged = resample(one, &clean_run.activations, Some(mask)).unwrap();
            let fd = (metric(&nudged) - base) / alpha;
            let est = estimates
                .index_axis("site", s)
                .unwrap()
                .index_axis("seq", p)
                .unwrap()
                .sum_all()
                .unwrap()
                .scalar_f32()
                .unwrap();
            assert!(
                (fd - est).abs() <= 3e-2 * (1.0 + est.abs()),
                "{path} position {p}: estimate {est} vs finite difference {fd}"
            );
        }
    }
}

#[test]
fn attribution_patching_correlates_with_exact_patching() {
    // Sites inside the blocks (attention and feed-forward outputs): 4 sites x 5 positions.
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let (clean, corrupted) = inputs();
    let sites = || {
        select(model.clone())
            .at_paths([
                "blocks[0].attn.delta",
                "blocks[0].mlp.delta",
                "blocks[1].attn.delta",
                "blocks[1].mlp.delta",
            ])
            .unwrap()
    };
    let (_, a, b) = estimates_and_exact(sites, &clean, &corrupted);
    let r = pearson(&a, &b);
    eprintln!(
        "attribution patching vs activation patching: pearson r = {r:.4} over {} site x position pairs",
        a.len()
    );
    assert!(r > 0.5, "correlation {r}: estimates {a:?} exact {b:?}");
}

#[test]
fn head_mask_gradient_matches_finite_differences() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4]).unwrap();
    let sites = || {
        select(model.clone())
            .at_path("blocks[0].attn.delta.attention.scores")
            .unwrap()
            .at_instances_of::<Softmax>()
    };
    let loss = |m: &TransformerLm, t: &NamedArray| -> penzai::Result<NamedArray> {
        let logits = m.call(t.clone(), &mut Context::new())?;
        Ok(logit_difference(&logits, 8, 9)?.sum_all()?)
    };
    let zero = NamedArray::zeros(&[("kv_heads", 2)]).unwrap();
    let (value, grads) =
        ablation_mask_gradient(sites(), Replacement::Zero, &zero, |m| loss(m, &tokens)).unwrap();
    assert_eq!(grads.len(), 1);
    let g = grads[0].1.to_f32_vec();
    let eps = 1e-2f32;
    for h in 0..2 {
        let mut mask = vec![0.0; 2];
        mask[h] = eps;
        let mask = NamedArray::from_f32(&[("kv_heads", 2)], mask).unwrap();
        let nudged = ablate(sites(), Replacement::Zero, Some(mask)).unwrap();
        let moved = loss(&nudged, &tokens).unwrap().scalar_f32().unwrap();
        let fd = (moved - value) / eps;
        assert!(
            (fd - g[h]).abs() <= 2e-2 * (1.0 + g[h].abs()),
            "head {h}: gradient {} vs finite difference {fd}",
            g[h]
        );
    }
}
