//! The optimizers against `torch.optim` (`tools/gen_grad_fixtures.py`): fed torch's gradient
//! at every step, the parameters after each of 10 steps agree within 1e-6.

use penzai::grad::{Adam, AdamW, Optimizer, Sgd};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/optim/expected.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn run(name: &str, opt: &mut dyn Optimizer) {
    let fx = fixture();
    let mut param = floats(&fx["start"]);
    let run = &fx["runs"][name];
    let grads = run["grads"].as_array().unwrap();
    let params = run["params"].as_array().unwrap();
    assert_eq!(grads.len(), 10);
    for (step, (g, expected)) in grads.iter().zip(params).enumerate() {
        opt.update("p", &mut param, &floats(g));
        let expected = floats(expected);
        for (i, (a, b)) in param.iter().zip(&expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6,
                "{name} step {step} element {i}: {a} vs torch {b}"
            );
        }
        // Continue from torch's values, so each step is checked on its own.
        param = expected;
    }
}

#[test]
fn sgd_with_momentum_and_weight_decay_matches_torch() {
    run("sgd", &mut Sgd::new(0.05).momentum(0.9).weight_decay(0.01));
}

#[test]
fn plain_sgd_matches_torch() {
    run("sgd_plain", &mut Sgd::new(0.05));
}

#[test]
fn adam_matches_torch() {
    run(
        "adam",
        &mut Adam::new(0.1)
            .betas(0.9, 0.999)
            .eps(1e-8)
            .weight_decay(0.01),
    );
}

#[test]
fn adamw_matches_torch() {
    run(
        "adamw",
        &mut AdamW::new(0.1).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1),
    );
}
