//! LoRA, the logit lens and linear probes, checked numerically.

mod interpret_support;

use penzai::interpret::{LinearProbe, LowRankAdapter, capture, logit_lens, loraify, merge_lora};
use penzai::models::TransformerLm;
use penzai::nn::{Attention, Initializer, Linear, Parameter};
use penzai::prelude::*;

use interpret_support::{max_abs_diff, run, tiny, tokens};

/// The adapters with a random second factor, so that they change the model.
fn randomized(model: TransformerLm) -> TransformerLm {
    select(model)
        .at_instances_of::<LowRankAdapter>()
        .at_path("up.weights")
        .unwrap()
        .apply_indexed(|i, p: Parameter| {
            let shape = p.value.named_shape();
            p.with_value(NamedArray::normal(i as u64, &shape, 0.0, 0.1).unwrap())
        })
        .unwrap()
}

#[test]
fn a_fresh_adapter_changes_nothing() {
    let model = tiny();
    let x = tokens(&[1, 2, 3, 4]);
    let adapted = loraify(select(model.clone()), 2, 7).unwrap();
    assert_eq!(
        select(adapted.as_dyn())
            .at_instances_of::<LowRankAdapter>()
            .count(),
        20
    );
    assert_eq!(run(&adapted, x.clone()), run(&model, x));
}

#[test]
fn adapters_have_a_rank_axis_and_keep_parallel_axes() {
    let lin = Linear::new(
        0,
        "l",
        &[("embedding", 6)],
        &[("out", 5)],
        &[("heads", 3)],
        Initializer::XAVIER_NORMAL,
    )
    .unwrap();
    let a = LowRankAdapter::new(lin, 2, 0, "lora.l").unwrap();
    assert_eq!(a.rank(), 2);
    assert_eq!(
        a.down.weights.value.named_shape().to_string(),
        "{embedding: 6, lowrank: 2, heads: 3}"
    );
    assert_eq!(
        a.up.weights.value.named_shape().to_string(),
        "{lowrank: 2, out: 5, heads: 3}"
    );
    assert_eq!(&*a.up.weights.label, "lora.l.up.weights");
    assert!(a.up.weights.value.to_f32_vec().iter().all(|v| *v == 0.0));
}

#[test]
fn merging_equals_the_unmerged_adapters() {
    let model = tiny();
    let x = tokens(&[3, 1, 4, 1, 5]);
    let adapted =
        randomized(loraify(select(model.clone()).at_instances_of::<Attention>(), 3, 1).unwrap());
    let unmerged = run(&adapted, x.clone());
    assert!(
        max_abs_diff(&unmerged, &run(&model, x.clone())) > 1e-3,
        "the adapters matter"
    );
    let merged = merge_lora(adapted).unwrap();
    assert_eq!(
        select(merged.as_dyn())
            .at_instances_of::<LowRankAdapter>()
            .count(),
        0
    );
    assert_eq!(
        select(merged.as_dyn()).at_instances_of::<Linear>().count(),
        20
    );
    let diff = max_abs_diff(&run(&merged, x.clone()), &unmerged);
    assert!(diff < 1e-5, "{diff}");
    // Merged parameters keep their labels.
    let labels: Vec<String> = penzai::nn::parameters(&merged)
        .iter()
        .map(|(_, p)| p.label.to_string())
        .collect();
    let original: Vec<String> = penzai::nn::parameters(&model)
        .iter()
        .map(|(_, p)| p.label.to_string())
        .collect();
    assert_eq!(labels, original);
}

#[test]
fn a_linear_in_a_typed_slot_cannot_be_adapted() {
    #[derive(Clone, Debug, Tree)]
    struct Typed {
        proj: Linear,
    }
    impl Layer for Typed {
        fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
            self.proj.call(x, cx)
        }
    }
    let t = Typed {
        proj: Linear::new(0, "p", &[("a", 2)], &[("b", 2)], &[], Initializer::Zeros).unwrap(),
    };
    let err = loraify(select(t), 1, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a LowRankAdapter at proj: the slot expects Linear"
    );
}

#[test]
fn the_logit_lens_last_layer_is_the_model_output() {
    let model = tiny();
    let x = tokens(&[2, 7, 1, 8]);
    let lens = logit_lens(&model, x.clone(), &mut Context::new()).unwrap();
    assert_eq!(
        lens.named_shape().to_string(),
        "{layer: 2, batch: 1, seq: 4, vocabulary: 64}"
    );
    assert_eq!(lens.index_axis("layer", 1).unwrap(), run(&model, x.clone()));
    // Layer 0 decodes block 0's output through the final norm and unembedding.
    let caps = capture(
        select(model.clone()).at_path("blocks[0]").unwrap(),
        x,
        &mut Context::new(),
    )
    .unwrap();
    let resid = caps.activations.values().next().unwrap().clone();
    let norm = select(model.as_dyn())
        .at_path("final_norm")
        .unwrap()
        .get()
        .unwrap()
        .as_layer()
        .unwrap()
        .clone_layer();
    let unembed = select(model.as_dyn())
        .at_path("unembed")
        .unwrap()
        .get_as::<Linear>()
        .unwrap()
        .clone();
    let manual = run(&unembed, run(&*norm, resid));
    assert_eq!(lens.index_axis("layer", 0).unwrap(), manual);
}

/// Three Gaussian clusters in 8 dimensions, 60 samples each.
fn clusters() -> (NamedArray, NamedArray) {
    let centers = [[4.0f32; 8], [-4.0; 8], {
        let mut c = [0.0; 8];
        c[0] = 4.0;
        c[1] = -4.0;
        c
    }];
    let noise = NamedArray::normal(3, &[("sample", 180), ("feature", 8)], 0.0, 1.0)
        .unwrap()
        .to_f32_vec();
    let mut x = Vec::with_capacity(180 * 8);
    let mut y = Vec::with_capacity(180);
    for s in 0..180 {
        let class = s % 3;
        y.push(class as i64);
        for f in 0..8 {
            x.push(centers[class][f] + noise[s * 8 + f]);
        }
    }
    (
        NamedArray::from_f32(&[("sample", 180), ("feature", 8)], x).unwrap(),
        NamedArray::from_i64(&[("sample", 180)], y).unwrap(),
    )
}

#[test]
fn a_probe_on_linearly_separable_clusters_is_perfect() {
    let (x, y) = clusters();
    let probe = LinearProbe::fit(&x, &y, "feature", 1e-2).unwrap();
    assert_eq!(probe.classes, 3);
    assert_eq!(probe.accuracy(&x, &y).unwrap(), 1.0);
    let scores = probe.scores(&x).unwrap();
    assert_eq!(
        scores.named_shape().to_string(),
        "{sample: 180, classes: 3}"
    );
}

#[test]
fn a_probe_reads_captured_activations_with_several_sample_axes() {
    let model = tiny();
    let ids: Vec<i64> = (0..16).collect();
    let x = NamedArray::from_i64(&[("batch", 2), ("seq", 8)], ids.clone()).unwrap();
    let caps = capture(
        select(model).at_path("blocks[0]").unwrap(),
        x,
        &mut Context::new(),
    )
    .unwrap();
    let acts = caps.activations.values().next().unwrap();
    // Label: is the token id even? 16 samples in 32 dimensions are separable.
    let labels = NamedArray::from_i64(
        &[("batch", 2), ("seq", 8)],
        ids.iter().map(|i| i % 2).collect(),
    )
    .unwrap();
    let probe = LinearProbe::fit(acts, &labels, "embedding", 1e-6).unwrap();
    assert_eq!(probe.accuracy(acts, &labels).unwrap(), 1.0);
}

#[test]
fn probe_errors_name_the_axes_and_values() {
    let (x, y) = clusters();
    let err = LinearProbe::fit(&x, &y, "features", 0.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: the features {sample: 180, feature: 8} have no axis \"features\""
    );
    let wrong = NamedArray::from_i64(&[("item", 180)], vec![0; 180]).unwrap();
    let err = LinearProbe::fit(&x, &wrong, "feature", 0.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: the labels' axes {item: 180} must be the features' axes \
         {sample: 180, feature: 8} without \"feature\""
    );
    let constant = NamedArray::ones(&[("sample", 180), ("feature", 2)]).unwrap();
    let err = LinearProbe::fit(&constant, &y, "feature", 0.0).unwrap_err();
    assert!(err.to_string().contains("singular"), "{err}");
}
