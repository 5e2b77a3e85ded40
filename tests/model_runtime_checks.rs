//! The run-time flow checks (`Sequential::checked`, `check_flow_to`) on models built by
//! hand, mirroring the compile-fail cases of `model!` in `tests/ui/model/`: each test
//! builds the same pipeline with plain constructors and asserts that the run-time message
//! is, word for word, the one in that case's reviewed `.stderr` snapshot.

use penzai::nn::{
    Activation, AnyLayer, BranchAndMultiply, CheckAxes, Elementwise, Initializer, Linear, RMSNorm,
    Residual, Sequential, Steps, check_flow, check_flow_to,
};
use penzai::prelude::*;

fn linear(label: &str, input: &[(&str, usize)], output: &[(&str, usize)]) -> AnyLayer {
    AnyLayer::new(Linear::new(0, label, input, output, &[], Initializer::Zeros).unwrap())
}

fn steps(named: Vec<(&str, AnyLayer)>) -> Steps {
    let mut steps = Steps::new();
    for (name, layer) in named {
        steps.push_named(name, layer).unwrap();
    }
    steps
}

/// Asserts that the compile-fail case `case` reports `message`, and returns it.
fn compile_time_message(case: &str, message: &str) {
    let path = format!(
        "{}/tests/ui/model/{case}.stderr",
        env!("CARGO_MANIFEST_DIR")
    );
    let snapshot = std::fs::read_to_string(&path).unwrap();
    assert!(
        snapshot
            .lines()
            .any(|l| l.starts_with("error") && l.ends_with(&format!(": {message}"))),
        "{path} does not report:\n{message}\nit reads:\n{snapshot}"
    );
}

fn run_time_message(err: penzai::Error) -> String {
    err.root_cause().to_string()
}

#[test]
fn missing_axis_reads_as_at_compile_time() {
    let model = Sequential::checked(
        "[batch, seq, embedding: 64]",
        steps(vec![
            (
                "norm",
                AnyLayer::new(RMSNorm::new(0, "norm", &[("embedding", 64)], 1e-6).unwrap()),
            ),
            (
                "up",
                linear("up", &[("embedding", 64)], &[("neurons", 256)]),
            ),
            (
                "down",
                linear("down", &[("hidden", 256)], &[("embedding", 64)]),
            ),
        ]),
    );
    let err = model.unwrap_err();
    assert_eq!(
        err.layer_path().map(ToString::to_string).as_deref(),
        Some("down")
    );
    let message = run_time_message(err);
    assert_eq!(
        message,
        "Linear needs input axis 'hidden' of size 256, but the axes here are [batch, seq, neurons: 256] (after step 1 'up')"
    );
    compile_time_message("missing_axis", &message);
}

#[test]
fn size_mismatch_reads_as_at_compile_time() {
    let err = Sequential::checked(
        "[batch, embedding: 64]",
        steps(vec![
            ("up", linear("up", &[("embedding", 64)], &[("hidden", 256)])),
            (
                "act",
                AnyLayer::new(Elementwise::new(Activation::GeluExact)),
            ),
            (
                "down",
                linear("down", &[("hidden", 128)], &[("embedding", 64)]),
            ),
        ]),
    )
    .unwrap_err();
    compile_time_message("size_mismatch", &run_time_message(err));
}

#[test]
fn surplus_axis_reads_as_at_compile_time() {
    let model = Sequential {
        steps: steps(vec![(
            "heads",
            linear(
                "heads",
                &[("embedding", 64)],
                &[("heads", 4), ("vocabulary", 100)],
            ),
        )]),
    };
    let err = check_flow_to(
        &model,
        &"[batch, seq, embedding: 64]".parse().unwrap(),
        &"[batch, seq, vocabulary: 100]".parse().unwrap(),
    )
    .unwrap_err();
    compile_time_message("surplus_axis", &run_time_message(err));
}

#[test]
fn adding_an_existing_axis_reads_as_at_compile_time() {
    let err = Sequential::checked(
        "[batch, seq, embedding: 64]",
        steps(vec![(
            "proj",
            linear("proj", &[("embedding", 64)], &[("seq", 16)]),
        )]),
    )
    .unwrap_err();
    compile_time_message("adds_existing_axis", &run_time_message(err));
}

#[test]
fn a_residual_that_changes_axes_reads_as_at_compile_time() {
    let body = Sequential {
        steps: steps(vec![
            (
                "up",
                linear("mlp.delta.up", &[("embedding", 64)], &[("hidden", 256)]),
            ),
            ("act", AnyLayer::new(Elementwise::new(Activation::Relu))),
        ]),
    };
    let err = Sequential::checked(
        "[batch, seq, embedding: 64]",
        steps(vec![("mlp", AnyLayer::new(Residual::new(body)))]),
    )
    .unwrap_err();
    assert_eq!(
        err.layer_path().map(ToString::to_string).as_deref(),
        Some("mlp")
    );
    compile_time_message("residual_changes_axes", &run_time_message(err));
}

#[test]
fn branches_that_disagree_read_as_at_compile_time() {
    let branches = BranchAndMultiply::new(vec![
        linear(
            "gate_up.branches.0",
            &[("embedding", 64)],
            &[("neurons", 256)],
        ),
        linear(
            "gate_up.branches.1",
            &[("embedding", 64)],
            &[("neurons", 128)],
        ),
    ])
    .unwrap();
    let err = Sequential::checked(
        "[batch, embedding: 64]",
        steps(vec![("gate_up", AnyLayer::new(branches))]),
    )
    .unwrap_err();
    compile_time_message("branch_mismatch", &run_time_message(err));
}

/// `repeat 12 as blocks { .. }` is a `Sequential` of 12 blocks, and the mistake is found
/// in block 0, with the wording of the compile-time error.
#[test]
fn a_mistake_inside_repeated_blocks_reads_as_at_compile_time() {
    let block = |i: usize| {
        let mlp = Sequential {
            steps: steps(vec![
                (
                    "up",
                    linear(
                        &format!("blocks.{i}.mlp.delta.up"),
                        &[("embedding", 64)],
                        &[("neurons", 256)],
                    ),
                ),
                (
                    "down",
                    linear(
                        &format!("blocks.{i}.mlp.delta.down"),
                        &[("hidden", 256)],
                        &[("embedding", 64)],
                    ),
                ),
            ]),
        };
        AnyLayer::new(Sequential {
            steps: steps(vec![
                (
                    "norm",
                    AnyLayer::new(
                        RMSNorm::new(0, &format!("blocks.{i}.norm"), &[("embedding", 64)], 1e-6)
                            .unwrap(),
                    ),
                ),
                ("mlp", AnyLayer::new(Residual::new(mlp))),
            ]),
        })
    };
    let blocks = Sequential::from_layers((0..12).map(block));
    let err = Sequential::checked(
        "[batch, seq, embedding: 64]",
        steps(vec![("blocks", AnyLayer::new(blocks))]),
    )
    .unwrap_err();
    assert_eq!(
        err.layer_path().map(ToString::to_string).as_deref(),
        Some("blocks[0].mlp.delta.down")
    );
    compile_time_message("mistake_inside_repeat", &run_time_message(err));
}

/// The run-time check does not know a sequence of blocks was a `repeat`: a body that
/// changes the axes is found where the second block cannot take the first one's output.
#[test]
fn repeated_blocks_that_change_axes_fail_at_the_second_block() {
    let blocks = Sequential::from_layers((0..3).map(|i| {
        linear(
            &format!("blocks.{i}.up"),
            &[("embedding", 64)],
            &[("hidden", 64)],
        )
    }));
    let err = Sequential::checked(
        "[batch, embedding: 64]",
        steps(vec![("blocks", AnyLayer::new(blocks))]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "at blocks[1] (Linear): Linear needs input axis 'embedding' of size 64, but the axes here are [batch, hidden: 64] (after step 0 in 'blocks')"
    );
}

#[test]
fn check_axes_reads_as_at_compile_time() {
    let err = Sequential::checked("[batch, seq, embedding: 64]", {
        let mut s = steps(vec![(
            "up",
            linear("up", &[("embedding", 64)], &[("hidden", 256)]),
        )]);
        s.push(AnyLayer::new(
            CheckAxes::parse("[batch, seq, hidden: 128]").unwrap(),
        ));
        s
    })
    .unwrap_err();
    compile_time_message("check_axes_mismatch", &run_time_message(err));
}

/// A custom layer's `#[layer]` signature is what run-time checks use, with the same words
/// as the compile-time check evaluated from it.
mod custom {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Tree)]
    pub struct Gate {
        width: f32,
    }

    #[layer(requires = [hidden: 256], removes = [hidden], adds = [gate: 2])]
    impl Layer for Gate {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            Ok(x)
        }
    }

    #[test]
    fn a_custom_signature_mismatch_reads_as_at_compile_time() {
        let err = Sequential::checked(
            "[batch, embedding: 64]",
            steps(vec![
                (
                    "up",
                    linear("up", &[("embedding", 64)], &[("neurons", 256)]),
                ),
                ("gate", AnyLayer::new(Gate { width: 0.5 })),
            ]),
        )
        .unwrap_err();
        compile_time_message("custom_signature_mismatch", &run_time_message(err));
    }

    #[test]
    fn steps_after_a_custom_layer_read_as_at_compile_time() {
        #[derive(Clone, Debug, PartialEq, Tree)]
        struct Gate;

        #[layer(requires = [hidden], removes = [hidden], adds = [gate: 2])]
        impl Layer for Gate {
            fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
                Ok(x)
            }
        }

        let err = Sequential::checked(
            "[batch, embedding: 64]",
            steps(vec![
                ("up", linear("up", &[("embedding", 64)], &[("hidden", 256)])),
                ("gate", AnyLayer::new(Gate)),
                ("out", linear("out", &[("gate", 3)], &[("logits", 10)])),
            ]),
        )
        .unwrap_err();
        compile_time_message("after_custom_layer", &run_time_message(err));
    }
}

#[test]
fn a_layer_without_a_signature_stops_the_check_until_axes_are_stated_again() {
    #[derive(Clone, Debug, PartialEq, Tree)]
    struct Opaque;
    impl Layer for Opaque {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            Ok(x)
        }
    }
    let mut s = steps(vec![
        ("opaque", AnyLayer::new(Opaque)),
        // Unchecked: the axes are unknown here.
        (
            "anything",
            linear("anything", &[("nowhere", 3)], &[("x", 1)]),
        ),
    ]);
    s.push(AnyLayer::new(CheckAxes::parse("[batch, x: 1]").unwrap()));
    s.push_named("bad", linear("bad", &[("y", 2)], &[("z", 1)]))
        .unwrap();
    let err = Sequential::checked("[batch, embedding: 4]", s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at bad (Linear): Linear needs input axis 'y' of size 2, but the axes here are [batch, x: 1] (after step 2)"
    );
}

#[test]
fn library_models_pass_the_run_time_check() {
    use penzai::models::{Gpt2Config, LlamaConfig, TransformerLm};
    // Token ids in, logits out: the embedding lookup adds `embedding`, and the blocks'
    // attention is followed through its slots.
    for model in [
        TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap(),
        TransformerLm::gpt2(&Gpt2Config::tiny(), 0).unwrap(),
    ] {
        let end = check_flow(&model, &"[batch, seq]".parse().unwrap()).unwrap();
        assert_eq!(
            end.map(|a| a.to_string()).as_deref(),
            Some("[batch, seq, vocabulary: 64]")
        );
    }
}

/// Without `model!`, the three attention mistakes `model!` rejects at compile time are
/// Attention's own errors at the attention's path, in the same words.
mod attention {
    use super::*;

    fn attention_model() -> Sequential {
        model! {
            input: [batch, seq, embedding: 64];
            attention: Attention(embedding -> heads: 4, projection: 16, mask = causal),
        }
        .unwrap()
    }

    fn flow_error(input: &str) -> penzai::Error {
        check_flow(&attention_model(), &input.parse().unwrap()).unwrap_err()
    }

    #[test]
    fn a_missing_seq_is_reported_as_attention_not_at_an_inner_step() {
        let err = flow_error("[batch, tokens, embedding: 64]");
        assert_eq!(
            err.layer_path().map(ToString::to_string).as_deref(),
            Some("attention")
        );
        assert!(
            err.to_string().starts_with("at attention (Attention): "),
            "{err}"
        );
        compile_time_message("attention_without_seq", &run_time_message(err));
    }

    #[test]
    fn an_input_with_kv_seq_is_reported_as_attention() {
        let err = flow_error("[batch, seq, kv_seq, embedding: 64]");
        assert!(
            err.to_string().starts_with("at attention (Attention): "),
            "{err}"
        );
        compile_time_message("attention_input_has_kv_seq", &run_time_message(err));
    }

    #[test]
    fn an_input_with_a_head_axis_is_reported_as_attention() {
        let err = flow_error("[batch, seq, heads: 4, embedding: 64]");
        assert!(
            err.to_string().starts_with("at attention (Attention): "),
            "{err}"
        );
        compile_time_message("attention_head_axis_in_input", &run_time_message(err));
    }

    #[test]
    fn an_odd_rope_axis_is_found_at_the_rotation() {
        let model = model! {
            input: [batch, seq, embedding: 64];
            attention: Attention(embedding -> heads: 4, projection: 8, rope = 10_000.0),
        }
        .unwrap();
        let odd = select(model)
            .at_path("attention.query.proj")
            .unwrap()
            .set(
                Linear::new(
                    0,
                    "q",
                    &[("embedding", 64)],
                    &[("heads", 4), ("projection", 7)],
                    &[],
                    Initializer::Zeros,
                )
                .unwrap(),
            )
            .unwrap();
        let err = check_flow(&odd, &"[batch, seq, embedding: 64]".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at attention.query.rope (ApplyRoPE): ApplyRoPE rotates pairs of entries along 'projection' (RoPE), which needs an even size, but 'projection' has size 7"
        );
    }
}

/// A layer's signature is a promise every run checks.
mod signatures_hold_at_run_time {
    use super::*;

    /// Says it removes `seq`, but keeps it.
    #[derive(Clone, Debug, PartialEq, Tree)]
    struct Liar;

    #[layer(requires = [seq], removes = [seq])]
    impl Layer for Liar {
        fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
            Ok(x)
        }
    }

    #[test]
    fn a_layer_that_breaks_its_signature_is_an_error_at_its_path() {
        let model = model! {
            input: [batch, seq, embedding: 4];
            body: Residual [
                norm: RMSNorm(over embedding),
            ],
            pool: { Liar } as [batch, embedding: 4],
        }
        .unwrap();
        let x = NamedArray::ones(&[("batch", 2), ("seq", 3), ("embedding", 4)]).unwrap();
        let err = Context::new().run(&model, x).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at pool (Liar): its output {batch: 2, seq: 3, embedding: 4} breaks its signature (requires [seq], removes [seq], adds []): from the input {batch: 2, seq: 3, embedding: 4} it must give [batch: 2, embedding: 4]"
        );
    }

    #[test]
    fn layers_that_keep_their_signatures_run_unchanged() {
        use penzai::models::{Gpt2Config, TransformerLm};
        let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0).unwrap();
        let ids = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4]).unwrap();
        let logits = Context::new().run(&model, ids).unwrap();
        assert_eq!(
            logits.named_shape().to_string(),
            "{batch: 1, seq: 4, vocabulary: 64}"
        );
    }
}

/// Sizes and values written as Rust expressions are checked when `model!` builds the
/// model, in the words of the compile-time checks.
mod checked_when_built {
    use super::*;

    #[test]
    fn a_size_mismatch_through_an_expression_is_a_build_error() {
        let width = 128;
        let err = model! {
            input: [batch, embedding: 64];
            up: Linear(embedding -> hidden: width),
            down: Linear(hidden: 256 -> out: 2),
        }
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Linear needs input axis 'hidden' of size 256, but the axes here are [batch, hidden: 128] (after step 0 'up')"
        );
    }

    #[test]
    fn a_dropout_rate_out_of_range_is_a_build_error() {
        let rate = 1.5;
        let err = model! {
            input: [batch, embedding: 64];
            drop: Dropout({rate}),
        }
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: Dropout's rate must be in [0, 1); it is 1.5"
        );
        let fine = 0.25;
        assert!(model! { input: [batch]; Dropout({fine}) }.is_ok());
    }
}
