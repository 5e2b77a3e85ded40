//! Numerical parity with transformers: for every fixture (tests/fixtures, made by
//! tools/gen_fixtures.py with torch on CPU), the loaded model's logits are within 1e-5 of
//! transformers' relative to max(1, max |logit|), and batched greedy generation gives exactly
//! transformers' tokens.
//!
//! The bar is deliberate: 1e-4 would not tell tanh-GELU from exact GELU.

mod hf_common;

use hf_common::{Expected, FIXTURES, fixture};
use penzai::io::hf;
use penzai::models::{GenerateOptions, generate};
use penzai::prelude::*;

const TOLERANCE: f32 = 1e-5;

/// The largest |ours - theirs| over one prompt's logits, relative to max(1, max |theirs|).
fn relative_error(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = ours
        .iter()
        .zip(theirs)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    worst / scale
}

fn logits_error(name: &str) -> f32 {
    let expected = Expected::read(name);
    let loaded = hf::load(fixture(name)).unwrap();
    let tokens = expected.prompts_array();
    let logits = loaded.model.call(tokens, &mut Context::new()).unwrap();
    let ours = logits
        .order_as(&["batch", "seq", "vocabulary"])
        .unwrap()
        .to_f32_vec();
    let per_prompt = ours.len() / expected.prompts.len();
    expected
        .logits
        .iter()
        .enumerate()
        .map(|(i, theirs)| relative_error(&ours[i * per_prompt..(i + 1) * per_prompt], theirs))
        .fold(0.0, f32::max)
}

fn assert_logits_match(name: &str) {
    let err = logits_error(name);
    eprintln!("{name}: max relative logit error {err:.3e}");
    assert!(
        err <= TOLERANCE,
        "{name}: relative error {err:e} > {TOLERANCE:e}"
    );
}

fn assert_greedy_matches(name: &str) {
    let expected = Expected::read(name);
    let loaded = hf::load(fixture(name)).unwrap();
    let options = GenerateOptions {
        max_new_tokens: 8,
        ..GenerateOptions::default()
    };
    let out = generate(&loaded.model, &expected.prompts_array(), &options).unwrap();
    let rows = out.order_as(&["batch", "seq"]).unwrap().to_i64_vec();
    let width = rows.len() / expected.prompts.len();
    for (i, (prompt, new)) in expected.prompts.iter().zip(&expected.greedy).enumerate() {
        let row = &rows[i * width..(i + 1) * width];
        assert_eq!(
            &row[..prompt.len()],
            prompt.as_slice(),
            "{name}: prompt {i}"
        );
        assert_eq!(
            &row[prompt.len()..],
            new.as_slice(),
            "{name}: prompt {i} generation"
        );
    }
}

macro_rules! parity {
    ($($test:ident => $fixture:literal),* $(,)?) => {$(
        mod $test {
            #[test]
            fn logits_match_transformers() {
                super::assert_logits_match($fixture);
            }

            #[test]
            fn greedy_generation_matches_transformers() {
                super::assert_greedy_matches($fixture);
            }
        }
    )*};
}

parity! {
    gpt2 => "gpt2",
    gpt2_legacy => "gpt2-legacy",
    gpt2_bf16 => "gpt2-bf16",
    llama_mha => "llama-mha",
    llama_gqa_tied => "llama-gqa-tied",
    llama_sharded => "llama-sharded",
    llama_f16 => "llama-f16",
    mistral_sliding => "mistral-sliding",
    qwen2_mqa => "qwen2-mqa",
    qwen2_sliding => "qwen2-sliding",
    llama3_rope => "llama3-rope",
    llama_linear => "llama-linear",
    llama_dynamic => "llama-dynamic",
    llama_yarn => "llama-yarn",
    llama_longrope => "llama-longrope",
    qwen3_qknorm => "qwen3-qknorm",
    gemma_mqa => "gemma-mqa",
    gemma2_softcap => "gemma2-softcap",
    gemma3_text => "gemma3-text",
    phi3_longrope => "phi3-longrope",
    phi3_gqa => "phi3-gqa",
    neox_parallel => "neox-parallel",
    neox_sequential => "neox-sequential",
}

#[test]
fn every_fixture_is_covered() {
    assert_eq!(FIXTURES.len(), 23);
}

/// The largest relative error of `model` on fixture `name`'s prompts.
fn model_error(name: &str, model: &penzai::models::TransformerLm) -> f32 {
    let expected = Expected::read(name);
    let logits = model
        .call(expected.prompts_array(), &mut Context::new())
        .unwrap()
        .order_as(&["batch", "seq", "vocabulary"])
        .unwrap()
        .to_f32_vec();
    let n = logits.len() / expected.prompts.len();
    expected
        .logits
        .iter()
        .enumerate()
        .map(|(i, theirs)| relative_error(&logits[i * n..(i + 1) * n], theirs))
        .fold(0.0, f32::max)
}

#[test]
fn the_bar_tells_tanh_gelu_from_exact_gelu() {
    use penzai::nn::{Activation, Elementwise};
    let mut model = hf::load(fixture("gpt2")).unwrap().model;
    let mut swapped = 0;
    model.walk_mut(&mut |_, node| {
        if let Some(e) = node.downcast_mut::<Elementwise>() {
            e.activation = Activation::GeluExact;
            swapped += 1;
        }
        Walk::Continue
    });
    assert_eq!(swapped, 2);
    let err = model_error("gpt2", &model);
    assert!(err > TOLERANCE, "exact GELU passes the bar: {err:e}");
}

#[test]
fn the_bar_tells_a_sliding_window_from_full_attention() {
    use penzai::nn::{ApplyCausalMask, ApplyCausalSlidingWindowMask};
    let mut model = hf::load(fixture("mistral-sliding")).unwrap().model;
    let mut paths = Vec::new();
    model.walk(&mut |frame, node| {
        if node.is::<ApplyCausalSlidingWindowMask>() {
            paths.push(frame.to_key_path());
        }
        Walk::Continue
    });
    assert_eq!(paths.len(), 2);
    for path in paths {
        model
            .replace_at(&path, Box::new(ApplyCausalMask::default()))
            .unwrap();
    }
    let err = model_error("mistral-sliding", &model);
    assert!(err > TOLERANCE, "full attention passes the bar: {err:e}");
}

/// The largest relative error on fixture `name` once `edit` has changed every node it
/// accepts (it returns whether it changed one); the edit must change at least one.
fn error_without(name: &str, edit: &mut dyn FnMut(&mut dyn Tree) -> bool) -> f32 {
    let mut model = hf::load(fixture(name)).unwrap().model;
    let mut changed = 0;
    model.walk_mut(&mut |_, node| {
        if edit(node) {
            changed += 1;
        }
        Walk::Continue
    });
    assert!(changed > 0, "{name}: nothing to change");
    model_error(name, &model)
}

/// Each family's numerical difference binds on its fixture: undoing it breaks the bar.
#[test]
fn the_bar_tells_each_rope_scheme_from_plain_rope() {
    use penzai::nn::{ApplyRoPE, RopeScaling};
    for name in [
        "llama3-rope",
        "llama-linear",
        "llama-dynamic",
        "llama-yarn",
        "llama-longrope",
        "gemma3-text",
    ] {
        let err = error_without(name, &mut |node| match node.downcast_mut::<ApplyRoPE>() {
            Some(r) if r.scaling != RopeScaling::Default => {
                r.scaling = RopeScaling::Default;
                true
            }
            _ => false,
        });
        assert!(
            err > TOLERANCE,
            "{name}: plain RoPE passes the bar: {err:e}"
        );
    }
}

#[test]
fn the_bar_tells_soft_caps_and_windows_from_their_absence() {
    use penzai::nn::{ApplyCausalSlidingWindowMask, TanhSoftCap};
    // A soft cap of f32::MAX is the identity to within rounding.
    let err = error_without(
        "gemma2-softcap",
        &mut |node| match node.downcast_mut::<TanhSoftCap>() {
            Some(cap) => {
                cap.soft_cap = 1e30;
                true
            }
            None => false,
        },
    );
    assert!(err > TOLERANCE, "no soft caps passes the bar: {err:e}");
    for name in [
        "qwen2-sliding",
        "qwen3-qknorm",
        "gemma2-softcap",
        "gemma3-text",
    ] {
        let err = error_without(name, &mut |node| match node
            .downcast_mut::<ApplyCausalSlidingWindowMask>()
        {
            Some(mask) => {
                mask.window = 1000;
                true
            }
            None => false,
        });
        assert!(err > TOLERANCE, "{name}: no window passes the bar: {err:e}");
    }
}

#[test]
fn the_bar_tells_partial_rotary_longrope_from_plain_rope() {
    use penzai::nn::{ApplyRoPEToSubset, RopeScaling};
    let err = error_without("phi3-longrope", &mut |node| match node
        .downcast_mut::<ApplyRoPEToSubset>()
    {
        Some(r) => {
            r.scaling = RopeScaling::Default;
            true
        }
        None => false,
    });
    assert!(err > TOLERANCE, "plain RoPE passes the bar: {err:e}");
    let err = error_without("phi3-longrope", &mut |node| {
        match node.downcast_mut::<ApplyRoPEToSubset>() {
            Some(r) => {
                // Whole heads, at the frequencies the short factors give the first pairs.
                r.rope_subset_size = 8;
                r.scaling = RopeScaling::Default;
                true
            }
            None => false,
        }
    });
    assert!(
        err > TOLERANCE,
        "whole-head plain RoPE passes the bar: {err:e}"
    );
}

#[test]
fn the_bar_tells_neox_partial_rotary_from_whole_heads() {
    use penzai::nn::ApplyRoPEToSubset;
    for name in ["neox-parallel", "neox-sequential"] {
        let err = error_without(
            name,
            &mut |node| match node.downcast_mut::<ApplyRoPEToSubset>() {
                Some(r) => {
                    r.rope_subset_size = 16;
                    true
                }
                None => false,
            },
        );
        assert!(
            err > TOLERANCE,
            "{name}: whole-head RoPE passes the bar: {err:e}"
        );
    }
}

/// Rewiring Pythia's parallel blocks into sequential residuals, with the same branches and
/// weights, breaks the bar: the fixture checks the parallel residual.
#[test]
fn the_bar_tells_a_parallel_residual_from_a_sequential_one() {
    use penzai::nn::{AnyLayer, ParallelResidual, Residual, Steps};
    let mut model = hf::load(fixture("neox-parallel")).unwrap().model;
    let mut rewired = 0;
    model.walk_mut(&mut |_, node| {
        if let Some(block) = node.downcast_mut::<penzai::models::TransformerBlock>() {
            let parallel = block
                .steps
                .get_named("parallel")
                .and_then(|l| l.downcast_ref::<ParallelResidual>())
                .cloned()
                .unwrap();
            let branch = |name: &str| parallel.steps.get_named(name).unwrap().clone();
            block.steps = Steps::named([
                (
                    "attn",
                    AnyLayer::new(Residual {
                        delta: branch("attn"),
                    }),
                ),
                (
                    "mlp",
                    AnyLayer::new(Residual {
                        delta: branch("mlp"),
                    }),
                ),
            ])
            .unwrap();
            rewired += 1;
            return Walk::SkipChildren;
        }
        Walk::Continue
    });
    assert_eq!(rewired, 2);
    let err = model_error("neox-parallel", &model);
    assert!(
        err > TOLERANCE,
        "sequential residuals pass the bar: {err:e}"
    );
}
