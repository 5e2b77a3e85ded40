use std::collections::BTreeMap;

use super::*;
use crate::nn::{ConstantRescale, Dropout, Initializer, Linear, Mode, Sequential, Softmax};

/// A pass-through layer that captures its input and counts its calls in the context.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
struct CaptureAndCount;

impl Layer for CaptureAndCount {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        cx.capture(x.clone());
        let calls = cx.side_input("calls").map_or(0.0, |c| c.to_f32_vec()[0]);
        cx.set_side_input("calls", NamedArray::scalar(calls + 1.0));
        Ok(x)
    }
}

/// A layer that keeps a counter as state, like a KV cache.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
struct Stateful;

impl Layer for Stateful {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let n = cx.state::<u32>().copied().unwrap_or(0);
        cx.set_state(n + 1);
        Ok(x)
    }
}

/// Linear, softmax, dropout, linear: parameters, a nonlinearity and random draws.
fn body() -> Sequential {
    let init = Initializer::Normal { std: 0.5 };
    Sequential::new()
        .then_named(
            "up",
            Linear::new(1, "up", &[("e", 3)], &[("h", 5)], &[], init).unwrap(),
        )
        .unwrap()
        .then_named("softmax", Softmax::over("h"))
        .unwrap()
        .then_named("drop", Dropout::new(0.3).unwrap())
        .unwrap()
        .then_named(
            "down",
            Linear::new(2, "down", &[("h", 5)], &[("e", 3)], &[], init).unwrap(),
        )
        .unwrap()
}

fn input() -> NamedArray {
    NamedArray::from_f32(
        &[("b", 2), ("e", 3)],
        vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.75],
    )
    .unwrap()
}

/// The loss `sum(model(x)^2)` in stochastic mode, and its gradients with respect to the
/// parameters whose labels are in `trainable` (all when `None`), by label, and to `x`
/// (under the key `"input"`).
fn grads_of(model: &Sequential, trainable: Option<&[&str]>) -> (f32, BTreeMap<String, NamedArray>) {
    let tape = Tape::start().unwrap();
    let mut copy = model.clone();
    let mut watched: Vec<(String, NamedArray)> = vec![];
    walk_mut(&mut copy, &mut |_, node| {
        if let Some(p) = node.downcast_mut::<Parameter>()
            && trainable.is_none_or(|t| t.contains(&&*p.label))
        {
            p.value = tape.watch(&p.value).unwrap();
            watched.push((p.label.to_string(), p.value.clone()));
        }
        Walk::Continue
    });
    let x = tape.watch(&input()).unwrap();
    let mut cx = Context::new().with_seed(11).with_mode(Mode::Stochastic);
    let loss = cx
        .run(&copy, x.clone())
        .unwrap()
        .square()
        .unwrap()
        .sum_all()
        .unwrap();
    let mut wrt: Vec<&NamedArray> = vec![&x];
    wrt.extend(watched.iter().map(|(_, a)| a));
    let grads = tape.gradients(&loss, &wrt).unwrap();
    let mut names = vec!["input".to_owned()];
    names.extend(watched.iter().map(|(l, _)| l.clone()));
    let by_name = names
        .into_iter()
        .zip(grads)
        .filter_map(|(n, g)| Some((n, g?)))
        .collect();
    (loss.scalar_f32().unwrap(), by_name)
}

/// A dropout (so the random stream has moved when `layer` runs), then `layer`.
fn after_dropout(layer: impl Layer) -> Sequential {
    Sequential::new()
        .then_named("drop", Dropout::new(0.2).unwrap())
        .unwrap()
        .then_named("layer", layer)
        .unwrap()
}

fn assert_same_gradients(
    plain: &BTreeMap<String, NamedArray>,
    other: &BTreeMap<String, NamedArray>,
) {
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        other.keys().collect::<Vec<_>>()
    );
    for (name, g) in plain {
        assert_close(g, &other[name], name);
    }
}

fn assert_close(a: &NamedArray, b: &NamedArray, what: &str) {
    let (a, b) = (a.to_f32_vec(), b.to_f32_vec());
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-5 * scale, "{what}: {x} vs {y}");
    }
}

#[test]
fn without_a_tape_it_is_its_body() {
    let mut a = Context::new().with_seed(5).with_mode(Mode::Stochastic);
    let mut b = Context::new().with_seed(5).with_mode(Mode::Stochastic);
    let plain = body().call(input(), &mut a).unwrap();
    let wrapped = Checkpointed::new(body()).call(input(), &mut b).unwrap();
    assert_eq!(plain, wrapped);
}

#[test]
fn gradients_equal_the_uncheckpointed_ones_for_parameters_and_input() {
    let (loss, plain) = grads_of(&after_dropout(body()), None);
    let (loss_c, checkpointed) = grads_of(&after_dropout(Checkpointed::new(body())), None);
    assert!((loss - loss_c).abs() <= 1e-6 * loss.abs());
    assert_eq!(plain.len(), 3, "the input and two weights");
    assert_same_gradients(&plain, &checkpointed);
}

#[test]
fn nested_checkpoints_give_the_same_gradients() {
    let inner = Sequential::new()
        .then_named("body", Checkpointed::new(body()))
        .unwrap()
        .then_named("scale", ConstantRescale { by: 2.0 })
        .unwrap();
    let plain_inner = Sequential::new()
        .then_named("body", body())
        .unwrap()
        .then_named("scale", ConstantRescale { by: 2.0 })
        .unwrap();
    let (_, plain) = grads_of(&after_dropout(plain_inner), None);
    let (_, nested) = grads_of(&after_dropout(Checkpointed::new(inner)), None);
    assert_same_gradients(&plain, &nested);
}

#[test]
fn frozen_parameters_get_the_same_gradients_as_without_checkpointing() {
    let only_up: &[&str] = &["up.weights"];
    let (_, plain) = grads_of(&after_dropout(body()), Some(only_up));
    let (_, checkpointed) = grads_of(&after_dropout(Checkpointed::new(body())), Some(only_up));
    assert_eq!(
        checkpointed.keys().collect::<Vec<_>>(),
        ["input", "up.weights"]
    );
    assert_same_gradients(&plain, &checkpointed);
}

#[test]
fn the_re_run_writes_nothing_into_the_run_context() {
    let model = Checkpointed::new(
        Sequential::new()
            .then_named("capture", CaptureAndCount)
            .unwrap()
            .then_named("down", body())
            .unwrap(),
    );
    let tape = Tape::start().unwrap();
    let x = tape.watch(&input()).unwrap();
    let mut cx = Context::new();
    let y = cx.run(&model, x.clone()).unwrap();
    let loss = y.square().unwrap().sum_all().unwrap();
    let grads = tape.gradients(&loss, &[&x]).unwrap();
    assert!(grads[0].is_some());
    // One call, one capture: the backward's re-run used a context of its own.
    assert_eq!(cx.side_input("calls").unwrap().to_f32_vec(), [1.0]);
    let captured: Vec<String> = cx.captures().keys().map(ToString::to_string).collect();
    assert_eq!(captured, ["body.capture"]);
}

#[test]
fn state_left_behind_under_a_tape_is_an_error_naming_the_layer() {
    let model = Sequential::new()
        .then_named("cached", Checkpointed::new(Stateful))
        .unwrap();
    let tape = Tape::start().unwrap();
    let x = tape.watch(&input()).unwrap();
    let err = Context::new().run(&model, x).unwrap_err().to_string();
    assert!(err.starts_with("at cached (Checkpointed)"), "{err}");
    assert!(err.contains("cannot keep state"), "{err}");
    drop(tape);
    // Without a tape the state is kept as usual.
    let mut cx = Context::new();
    cx.run(&model, input()).unwrap();
    assert_eq!(cx.state_paths().count(), 1);
}

#[test]
fn the_re_run_sees_the_side_inputs_of_the_first_run() {
    #[derive(
        Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize,
    )]
    struct ScaleBySideInput;
    impl Layer for ScaleBySideInput {
        fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
            let by = cx.require_side_input("scale")?.clone();
            Ok((&x * &by)?)
        }
    }
    let model = Sequential::new()
        .then_named("blocks", Checkpointed::new(ScaleBySideInput))
        .unwrap();
    let tape = Tape::start().unwrap();
    let x = tape.watch(&input()).unwrap();
    let mut cx = Context::new().with_side_input("scale", NamedArray::scalar(3.0));
    let y = cx.run(&model, x.clone()).unwrap();
    // Changing the run's context afterwards does not change what the backward re-runs.
    cx.remove_side_input("scale");
    let loss = y.sum_all().unwrap();
    let g = tape.gradients(&loss, &[&x]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f32_vec(), [3.0; 6]);
}

#[test]
fn a_failing_re_run_is_a_gradient_error_naming_the_path() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    #[derive(
        Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize,
    )]
    struct FailsOnSecondCall;
    impl Layer for FailsOnSecondCall {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            if CALLS.fetch_add(1, Ordering::SeqCst) > 0 {
                return Err(LayerError::Check("second call".to_owned()).into());
            }
            Ok((&x * 2.0)?)
        }
    }
    let model = Sequential::new()
        .then_named("blocks", Checkpointed::new(FailsOnSecondCall))
        .unwrap();
    let tape = Tape::start().unwrap();
    let x = tape.watch(&input()).unwrap();
    let y = Context::new().run(&model, x.clone()).unwrap();
    let loss = y.sum_all().unwrap();
    let err = tape.gradients(&loss, &[&x]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "re-running the checkpointed layer at blocks for its gradient failed: \
         at blocks.body (FailsOnSecondCall): second call"
    );
}

#[test]
fn the_flow_is_the_body_flow() {
    let spec = "[b: 2, e: 3]".parse().unwrap();
    let plain = crate::nn::check_flow(&body(), &spec).unwrap();
    let wrapped = crate::nn::check_flow(&Checkpointed::new(body()), &spec).unwrap();
    assert_eq!(format!("{plain:?}"), format!("{wrapped:?}"));
    let bad = crate::nn::check_flow(&Checkpointed::new(body()), &"[b: 2, f: 3]".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(bad.contains("body.up"), "{bad}");
}

#[test]
fn under_a_tape_the_body_runs_again_in_the_backward_only() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    #[derive(
        Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize,
    )]
    struct Counted;
    impl Layer for Counted {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            CALLS.fetch_add(1, Ordering::SeqCst);
            Ok((&x * &x)?)
        }
    }
    let model = Checkpointed::new(Counted);
    model.call(input(), &mut Context::new()).unwrap();
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "no tape: one run");
    let tape = Tape::start().unwrap();
    let x = tape.watch(&input()).unwrap();
    let y = model.call(x.clone(), &mut Context::new()).unwrap();
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        2,
        "the forward runs the body once"
    );
    let loss = y.sum_all().unwrap();
    let g = tape.gradients(&loss, &[&x]).unwrap();
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "the backward re-runs it once"
    );
    let expected: Vec<f32> = input().to_f32_vec().iter().map(|v| 2.0 * v).collect();
    assert_eq!(g[0].as_ref().unwrap().to_f32_vec(), expected);
}

#[test]
fn plain_arrays_watched_in_the_body_get_their_gradients() {
    /// `x * scale`, with `scale` a plain array (like an ablation mask), not a parameter.
    #[derive(
        Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize,
    )]
    struct Scale {
        scale: NamedArray,
    }
    impl Layer for Scale {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            Ok((&x * &self.scale)?)
        }
    }
    let scale = NamedArray::from_f32(&[("e", 3)], vec![1.0, -2.0, 0.5]).unwrap();
    let run = |checkpointed: bool| {
        let tape = Tape::start().unwrap();
        let layer = Scale {
            scale: tape.watch(&scale).unwrap(),
        };
        let watched = layer.scale.clone();
        // Found as an input of the checkpoint node (not merely run as a plain layer).
        assert_eq!(traced_arrays(&layer).len(), 1);
        let y = if checkpointed {
            Checkpointed::new(layer).call(input(), &mut Context::new())
        } else {
            layer.call(input(), &mut Context::new())
        };
        let loss = y.unwrap().square().unwrap().sum_all().unwrap();
        tape.gradients(&loss, &[&watched]).unwrap()[0]
            .clone()
            .unwrap()
    };
    let plain = run(false);
    assert_close(&plain, &run(true), "scale");
    // d/ds sum_b (x s)^2 = 2 s sum_b x^2
    let x = input().to_f32_vec();
    let expected: Vec<f32> = (0..3)
        .map(|e| 2.0 * [1.0, -2.0, 0.5][e] * (x[e] * x[e] + x[3 + e] * x[3 + e]))
        .collect();
    assert_close(
        &plain,
        &NamedArray::from_f32(&[("e", 3)], expected).unwrap(),
        "formula",
    );
}
