//! Wrong inputs to every layer give an error naming the layer's path and type (no panics).

use penzai::models::{LlamaConfig, llama::llama_attention};
use penzai::nn::side_inputs::TOKEN_POSITIONS;
use penzai::nn::*;
use penzai::prelude::*;

#[derive(Clone, Tree)]
struct Model {
    blocks: Vec<Sequential>,
}

impl Layer for Model {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        cx.call_descendant([Key::field("blocks"), Key::Index(3)], &self.blocks[3], x)
    }
}

/// Runs `layer` as `blocks[3].mlp.up` of a model and returns the error message.
fn error_at_up(layer: AnyLayer, x: NamedArray) -> String {
    let up = Sequential::new()
        .then_named("up", AnyLayerStep(layer))
        .unwrap();
    let block = Sequential::new().then_named("mlp", up).unwrap();
    let model = Model {
        blocks: vec![
            Sequential::new(),
            Sequential::new(),
            Sequential::new(),
            block,
        ],
    };
    match Context::new().run(&model, x) {
        Ok(y) => panic!("expected an error, got {:?}", y.named_shape()),
        Err(e) => e.to_string(),
    }
}

/// Lets an `AnyLayer` be passed where `impl Layer` is expected while keeping it transparent.
#[derive(Clone, Tree)]
struct AnyLayerStep(AnyLayer);

impl Layer for AnyLayerStep {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        cx.call_child(Key::field("0"), self.0.get(), x)
    }
}

fn zeros(shape: &[(&str, usize)]) -> NamedArray {
    NamedArray::zeros(shape).unwrap()
}

#[test]
fn every_layer_reports_wrong_input_with_its_path_and_type() {
    let wrong = || zeros(&[("batch", 2), ("seq", 8), ("hidden", 256)]);
    let linear = Linear::new(
        0,
        "up",
        &[("embedding", 64)],
        &[("neurons", 8)],
        &[],
        Initializer::Zeros,
    )
    .unwrap();
    let cfg = LlamaConfig::tiny();
    let attention = llama_attention(0, "attn", &cfg).unwrap();
    let cases: Vec<(AnyLayer, NamedArray, &str, &str)> = vec![
        (
            AnyLayer::new(linear.clone()),
            wrong(),
            "Linear",
            r#"needs input axis "embedding" (64); got {batch: 2, seq: 8, hidden: 256}"#,
        ),
        (
            AnyLayer::new(linear),
            zeros(&[("embedding", 64), ("neurons", 3)]),
            "Linear",
            r#"input already has axis "neurons", which this layer produces; got {embedding: 64, neurons: 3}"#,
        ),
        (
            AnyLayer::new(AddBias::new(0, "b", &[("embedding", 64)], Initializer::Zeros).unwrap()),
            wrong(),
            "AddBias",
            r#"needs input axis "embedding" (64)"#,
        ),
        (
            AnyLayer::new(
                Affine::new(
                    0,
                    "a",
                    &[("embedding", 64)],
                    &[("out", 2)],
                    Initializer::Zeros,
                )
                .unwrap(),
            ),
            wrong(),
            "up.0.linear (Linear)",
            r#"needs input axis "embedding" (64)"#,
        ),
        (
            AnyLayer::new(Standardize {
                across: vec!["embedding".into()],
                epsilon: 1e-5,
            }),
            wrong(),
            "Standardize",
            r#"needs input axis "embedding""#,
        ),
        (
            AnyLayer::new(RMSStandardize {
                across: vec!["embedding".into()],
                epsilon: 1e-5,
            }),
            wrong(),
            "RMSStandardize",
            r#"needs input axis "embedding""#,
        ),
        (
            AnyLayer::new(LayerNorm::new(0, "ln", &[("embedding", 64)], 1e-5).unwrap()),
            wrong(),
            "up.0.standardize (Standardize)",
            r#"needs input axis "embedding""#,
        ),
        (
            AnyLayer::new(RMSNorm::new(0, "rms", &[("embedding", 64)], 1e-5).unwrap()),
            wrong(),
            "up.0.standardize (RMSStandardize)",
            r#"needs input axis "embedding""#,
        ),
        (
            AnyLayer::new(Softmax::over("kv_seq")),
            wrong(),
            "Softmax",
            r#"needs input axis "kv_seq""#,
        ),
        (
            AnyLayer::new(Elementwise::new(Activation::Relu)),
            NamedArray::from_bool(&[("seq", 1)], vec![true]).unwrap(),
            "Elementwise",
            "relu does not accept bool arrays",
        ),
        (
            AnyLayer::new(EmbeddingLookup {
                table: EmbeddingTable::new(0, "e", 10, &[("embedding", 4)], Initializer::Zeros)
                    .unwrap(),
            }),
            wrong(),
            "EmbeddingLookup",
            "EmbeddingLookup needs i64 token ids",
        ),
        (
            AnyLayer::new(EmbeddingDecode {
                table: EmbeddingTable::new(0, "e", 10, &[("embedding", 4)], Initializer::Zeros)
                    .unwrap(),
            }),
            wrong(),
            "EmbeddingDecode",
            r#"needs input axis "embedding" (4)"#,
        ),
        (
            AnyLayer::new(ApplyRoPE::new("projection", 10_000.0).unwrap()),
            wrong(),
            "ApplyRoPE",
            r#"needs input axis "projection""#,
        ),
        (
            AnyLayer::new(ApplyRoPEToSubset {
                embedding_axis: "hidden".into(),
                rope_subset_size: 512,
                max_wavelength: 10_000.0,
                positions_input: TOKEN_POSITIONS.into(),
                scaling: Default::default(),
            }),
            wrong(),
            "ApplyRoPEToSubset",
            "RoPE subset 512 is larger than axis \"hidden\" (256)",
        ),
        (
            AnyLayer::new(ApplyCausalMask::default()),
            wrong(),
            "ApplyCausalMask",
            r#"needs input axis "kv_seq""#,
        ),
        (
            AnyLayer::new(ApplyCausalSlidingWindowMask::new(4)),
            wrong(),
            "ApplyCausalSlidingWindowMask",
            r#"needs input axis "kv_seq""#,
        ),
        (
            AnyLayer::new(ApplyExplicitMask {
                mask_input: "attn_mask".into(),
            }),
            wrong(),
            "ApplyExplicitMask",
            r#"needs side input "attn_mask"; the context has none"#,
        ),
        (
            AnyLayer::new(attention.clone()),
            wrong(),
            "up.0.query.proj (Linear)",
            r#"needs input axis "embedding" (32)"#,
        ),
        (
            AnyLayer::new(KVCachingAttention::from_uncached(attention)),
            wrong(),
            "up.0.query.proj (Linear)",
            r#"needs input axis "embedding" (32)"#,
        ),
        (
            AnyLayer::new(NamedEinsum::new(
                "keys",
                &["seq"],
                &["kv_seq"],
                &["seq", "kv_seq"],
            )),
            wrong(),
            "NamedEinsum",
            r#"needs side input "keys""#,
        ),
        (
            AnyLayer::new(CheckAxes::parse("[embedding]").unwrap()),
            wrong(),
            "CheckAxes",
            "axis \"embedding\" is missing",
        ),
        (
            AnyLayer::new(RenameAxes::new("embedding", "x")),
            wrong(),
            "RenameAxes",
            r#"needs input axis "embedding""#,
        ),
        (
            AnyLayer::new(Residual::new(Softmax::over("kv_seq"))),
            wrong(),
            "up.0.delta (Softmax)",
            r#"needs input axis "kv_seq""#,
        ),
        (
            AnyLayer::new(
                BranchAndAdd::new(vec![
                    AnyLayer::new(Identity),
                    AnyLayer::new(Softmax::over("kv_seq")),
                ])
                .unwrap(),
            ),
            wrong(),
            "up.0.branches[1] (Softmax)",
            r#"needs input axis "kv_seq""#,
        ),
        (
            AnyLayer::new(Mlp::new(0, "mlp", "features", &[4, 8, 2], Activation::Relu).unwrap()),
            wrong(),
            "up.0.layer0.affine.linear (Linear)",
            r#"needs input axis "features" (4)"#,
        ),
    ];
    for (layer, x, located, message) in cases {
        let err = error_at_up(layer, x);
        let location = if located.contains(' ') {
            format!("at blocks[3].mlp.{located}: ")
        } else {
            format!("at blocks[3].mlp.up.0 ({located}): ")
        };
        assert!(
            err.starts_with(&location),
            "{err}\n  should start with {location}"
        );
        assert!(err.contains(message), "{err}\n  should contain {message}");
    }
}
