//! Finite-difference checks of every built-in layer's gradient, with respect to its input
//! and to each of its parameters, and of whole models built from them (GPT-2 and the
//! Llama-like variants: grouped-query and multi-query attention, RoPE on a subset and
//! with scaling, sliding windows, soft caps, Gemma's norms). A layer whose computation
//! has no gradient rule reports an error naming the operation.

use penzai::grad::{GradError, Trainable, next_token_loss, value_and_grad};
use penzai::interpret::LowRankAdapter;
use penzai::models::{Gpt2Config, LlamaConfig, TransformerLm};
use penzai::nn::*;
use penzai::nx::{DType, NamedArray, Tape};
use penzai::tree::Tree;

/// A forward: the model and its input to the output whose weighted sum is the loss.
type Forward<'f, M> = dyn Fn(&M, NamedArray) -> penzai::Result<NamedArray> + 'f;

/// A scalar from `out`: its elements weighted by fixed pseudo-random weights, so every
/// element of the output's gradient differs.
fn weigh(out: &NamedArray) -> penzai::Result<NamedArray> {
    let shape = out.named_shape();
    let w = NamedArray::uniform(7, &shape, -1.0, 1.0)?;
    Ok((&out.cast(DType::F32)? * &w)?.sum_all()?)
}

fn scalar(x: &NamedArray) -> f64 {
    f64::from(x.scalar_f32().unwrap())
}

/// Up to `n` element indices spread over `len`.
fn sample(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    (0..n).map(|i| (i * 7919 + 3) % len).collect()
}

/// The same values as `x`, with element `k` (in `to_f32_vec` order) moved by `delta`.
fn nudged(x: &NamedArray, k: usize, delta: f32) -> NamedArray {
    let names: Vec<String> = x.axis_names().iter().map(|n| n.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let shape = x.named_shape();
    let mut v = x.order_as(&names).unwrap().to_f32_vec();
    v[k] += delta;
    NamedArray::from_f32(&shape, v)
        .unwrap()
        .cast(x.dtype())
        .unwrap()
}

/// Compares an analytic gradient with central differences of `at`, on sampled elements.
fn compare(what: &str, grad: &NamedArray, like: &NamedArray, at: impl Fn(usize, f32) -> f64) {
    assert_eq!(grad.named_shape(), like.named_shape(), "{what}: axes");
    let names: Vec<String> = like.axis_names().iter().map(|n| n.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let got = grad.order_as(&names).unwrap().to_f32_vec();
    let scale = got.iter().fold(0f32, |m, v| m.max(v.abs()));
    // Small enough for the truncation error of randomized models, large enough for f32
    // rounding of a loss of order one.
    let eps = 3e-3f32;
    for k in sample(got.len(), 12) {
        let fd = ((at(k, eps) - at(k, -eps)) / (2.0 * f64::from(eps))) as f32;
        let err = (got[k] - fd).abs();
        assert!(
            err <= 2e-2 * fd.abs().max(got[k].abs()) + 2e-3 * scale.max(1e-2),
            "{what}: element {k}: gradient {} vs finite difference {fd} (largest {scale})",
            got[k]
        );
    }
}

/// Checks the gradient of `weigh(forward(model, x))` with respect to `x` (when float) and
/// to every parameter of `model` against finite differences.
fn check<M: Tree + Clone>(name: &str, model: &M, x: &NamedArray, forward: &Forward<'_, M>) {
    let loss = |m: &M, x: &NamedArray| weigh(&forward(m, x.clone())?);
    if x.dtype().is_float() {
        let tape = Tape::start().unwrap();
        let xw = tape.watch(x).unwrap();
        let value = loss(model, &xw).unwrap();
        let g = tape.gradients(&value, &[&xw]).unwrap().remove(0);
        let g = g.unwrap_or_else(|| NamedArray::zeros(x.named_shape()).unwrap());
        compare(&format!("{name}: input"), &g, x, |k, d| {
            scalar(&loss(model, &nudged(x, k, d)).unwrap())
        });
    }
    let (value, grads) = value_and_grad(model, &Trainable::all(), |m| loss(m, x)).unwrap();
    assert!((f64::from(value) - scalar(&loss(model, x).unwrap())).abs() < 1e-4);
    let params: Vec<(String, NamedArray)> = parameters(model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), p.value.clone()))
        .collect();
    for (label, value) in &params {
        let g = grads.get(label).expect("every parameter is trainable");
        compare(&format!("{name}: {label}"), g, value, |k, d| {
            let mut copy = model.clone();
            set_parameter(&mut copy, label, &nudged(value, k, d));
            scalar(&loss(&copy, x).unwrap())
        });
    }
}

fn call<L: Layer>(layer: &L, x: NamedArray) -> penzai::Result<NamedArray> {
    layer.call(x, &mut Context::new())
}

fn input(seed: u64) -> NamedArray {
    NamedArray::uniform(
        seed,
        &[("batch", 2), ("seq", 3), ("embedding", 4)],
        -1.5,
        1.5,
    )
    .unwrap()
}

#[test]
fn linear_bias_and_norms() {
    let x = input(1);
    let init = Initializer::Normal { std: 0.5 };
    let linear = Linear::new(1, "w", &[("embedding", 4)], &[("hidden", 3)], &[], init).unwrap();
    check("Linear", &linear, &x, &call);
    // A parallel axis (one matrix per `seq` position).
    let per_seq = Linear::new(
        2,
        "w",
        &[("embedding", 4)],
        &[("hidden", 2)],
        &[("seq", 3)],
        init,
    )
    .unwrap();
    check("Linear (parallel)", &per_seq, &x, &call);
    let bias = AddBias::new(
        3,
        "b",
        &[("embedding", 4)],
        Initializer::Normal { std: 1.0 },
    )
    .unwrap();
    check("AddBias", &bias, &x, &call);
    let affine = Affine::new(4, "a", &[("embedding", 4)], &[("hidden", 3)], init).unwrap();
    check("Affine", &affine, &x, &call);
    let mut rms = RMSNorm::new(5, "rms", &[("embedding", 4)], 1e-6).unwrap();
    randomize(&mut rms);
    check("RMSNorm", &rms, &x, &call);
    let mut ln = LayerNorm::new(6, "ln", &[("embedding", 4)], 1e-5).unwrap();
    randomize(&mut ln);
    check("LayerNorm", &ln, &x, &call);
    // Over two axes at once.
    let both = Standardize {
        across: vec!["seq".into(), "embedding".into()],
        epsilon: 1e-5,
    };
    check("Standardize", &both, &x, &call);
}

/// Replaces every parameter by random values (norm scales start at one, biases at zero,
/// which would hide a wrong rule).
fn randomize<M: Tree>(model: &mut M) {
    let params: Vec<(String, NamedArray)> = parameters(&*model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), p.value.clone()))
        .collect();
    for (i, (label, value)) in params.iter().enumerate() {
        let v = NamedArray::uniform(100 + i as u64, value.named_shape(), 0.5, 1.5).unwrap();
        set_parameter(model, label, &v);
    }
}

#[test]
fn activations_and_simple_layers() {
    let x = input(2);
    let layers: Vec<(&str, AnyLayer)> = vec![
        ("Relu", AnyLayer::new(Relu)),
        ("Gelu", AnyLayer::new(Gelu)),
        ("GeluTanh", AnyLayer::new(GeluTanh)),
        ("Silu", AnyLayer::new(Silu)),
        ("Tanh", AnyLayer::new(Tanh)),
        ("Sigmoid", AnyLayer::new(Sigmoid)),
        ("Exp", AnyLayer::new(Exp)),
        ("Softplus", AnyLayer::new(Softplus)),
        ("Elementwise(GeluExact)", Activation::GeluExact.layer()),
        ("Softmax", AnyLayer::new(Softmax::over("embedding"))),
        (
            "ConstantRescale",
            AnyLayer::new(ConstantRescale { by: -1.7 }),
        ),
        ("TanhSoftCap", AnyLayer::new(TanhSoftCap { soft_cap: 1.2 })),
        (
            "CastToDType",
            AnyLayer::new(CastToDType { dtype: DType::F32 }),
        ),
        ("Dropout (eval)", AnyLayer::new(Dropout::new(0.5).unwrap())),
        ("RenameAxes", AnyLayer::new(RenameAxes::new("seq", "pos"))),
        ("Identity", AnyLayer::new(Identity)),
    ];
    for (name, layer) in &layers {
        check(name, layer, &x, &call);
    }
    // Dropout while training: with a fixed seed the mask is a constant, so the gradient is
    // the kept elements, rescaled.
    let drop = Dropout::new(0.4).unwrap();
    check("Dropout (train)", &drop, &x, &|m: &Dropout, x| {
        m.call(
            x,
            &mut Context::new().with_seed(3).with_mode(Mode::Stochastic),
        )
    });
}

#[test]
fn combinators() {
    let x = input(3);
    let init = Initializer::Normal { std: 0.5 };
    let lin = |seed, label: &str| {
        AnyLayer::new(
            Linear::new(seed, label, &[("embedding", 4)], &[("e2", 4)], &[], init).unwrap(),
        )
    };
    let back = |seed, label: &str| {
        AnyLayer::new(
            Linear::new(seed, label, &[("e2", 4)], &[("embedding", 4)], &[], init).unwrap(),
        )
    };
    let seq = Sequential::named([
        ("up", lin(1, "up")),
        ("act", AnyLayer::new(Silu)),
        ("down", back(2, "down")),
    ])
    .unwrap();
    check("Sequential", &seq, &x, &call);
    let residual = Residual::new(seq.clone());
    check("Residual", &residual, &x, &call);
    let add = BranchAndAdd::new(vec![lin(3, "a"), lin(4, "b")]).unwrap();
    check("BranchAndAdd", &add, &x, &call);
    let mul = BranchAndMultiply::new(vec![lin(5, "c"), lin(6, "d")]).unwrap();
    check("BranchAndMultiply", &mul, &x, &call);
    // A LoRA adapter: the frozen linear map plus a low-rank update.
    let base = Linear::new(7, "base", &[("embedding", 4)], &[("hidden", 3)], &[], init).unwrap();
    let mut lora = LowRankAdapter::new(base, 2, 8, "lora").unwrap();
    randomize(&mut lora);
    check("LowRankAdapter", &lora, &x, &call);
}

#[test]
fn einsum_rope_and_masks() {
    let x = input(4);
    let other = NamedArray::uniform(9, &[("embedding", 4), ("out", 2)], -1.0, 1.0).unwrap();
    let einsum = NamedEinsum::new(
        "other",
        &["embedding", "seq"],
        &["embedding", "out"],
        &["seq", "out"],
    );
    check("NamedEinsum", &einsum, &x, &|m: &NamedEinsum, x| {
        m.call(
            x,
            &mut Context::new().with_side_input("other", other.clone()),
        )
    });
    // RoPE, whole-axis and on a subset, plain and scaled, at default and given positions.
    let scaled = [
        RopeScaling::Default,
        RopeScaling::Linear { factor: 2.0 },
        RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8,
        },
    ];
    for scaling in scaled {
        let rope = ApplyRoPE::new("embedding", 100.0)
            .unwrap()
            .with_scaling(scaling.clone());
        check("ApplyRoPE", &rope, &x, &call);
        let subset = ApplyRoPEToSubset::new("embedding", 2, 100.0, scaling).unwrap();
        check("ApplyRoPEToSubset", &subset, &x, &call);
    }
    let positions = NamedArray::from_i64(&[("seq", 3)], vec![5, 9, 2]).unwrap();
    let rope = ApplyRoPE::new("embedding", 100.0).unwrap();
    check(
        "ApplyRoPE (given positions)",
        &rope,
        &x,
        &|m: &ApplyRoPE, x| {
            m.call(
                x,
                &mut Context::new().with_side_input("token_positions", positions.clone()),
            )
        },
    );
    // Masks, each followed by a softmax over the keys (masked scores are a large constant).
    let scores =
        NamedArray::uniform(5, &[("heads", 2), ("seq", 4), ("kv_seq", 4)], -2.0, 2.0).unwrap();
    let then_softmax = |masked: penzai::Result<NamedArray>| -> penzai::Result<NamedArray> {
        Ok(masked?.softmax(&["kv_seq"])?)
    };
    check(
        "ApplyCausalMask",
        &ApplyCausalMask::default(),
        &scores,
        &|m, x| then_softmax(call(m, x)),
    );
    let window = ApplyCausalSlidingWindowMask::new(2);
    check("ApplyCausalSlidingWindowMask", &window, &scores, &|m, x| {
        then_softmax(call(m, x))
    });
    let pattern = NamedArray::from_bool(&[("kv_seq", 4)], vec![true, false, true, true]).unwrap();
    let explicit = ApplyExplicitMask {
        mask_input: "pad".into(),
    };
    check(
        "ApplyExplicitMask",
        &explicit,
        &scores,
        &|m: &ApplyExplicitMask, x| {
            then_softmax(m.call(
                x,
                &mut Context::new().with_side_input("pad", pattern.clone()),
            ))
        },
    );
}

#[test]
fn embeddings_lookup_decode_and_positions() {
    let init = Initializer::Normal { std: 1.0 };
    let table = EmbeddingTable::new(1, "tok", 6, &[("embedding", 4)], init).unwrap();
    let ids = NamedArray::from_i64(&[("batch", 2), ("seq", 3)], vec![1, 5, 1, 0, 2, 5]).unwrap();
    let lookup = EmbeddingLookup {
        table: table.clone(),
    };
    check("EmbeddingLookup", &lookup, &ids, &call);
    let decode = EmbeddingDecode {
        table: table.clone(),
    };
    check("EmbeddingDecode", &decode, &input(6), &call);
    let pos_table = EmbeddingTable::new(2, "pos", 3, &[("embedding", 4)], init).unwrap();
    let positional = AddPositionalEmbedding::new(pos_table);
    check("AddPositionalEmbedding", &positional, &input(7), &call);
}

/// Checks every parameter of a language model on a short sequence.
fn check_lm(name: &str, model: &TransformerLm) {
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 5)], vec![3, 1, 4, 1, 5]).unwrap();
    check(name, model, &tokens, &|m: &TransformerLm, t| {
        // The loss itself is the scalar; `weigh` of a scalar multiplies it by a constant.
        next_token_loss(m, &t)
    });
}

fn small_llama() -> LlamaConfig {
    LlamaConfig {
        vocab_size: 8,
        d_model: 8,
        n_layers: 1,
        n_heads: 4,
        n_kv_heads: 2,
        head_dim: 4,
        mlp_hidden: 8,
        rms_eps: 1e-5,
        ..LlamaConfig::tiny()
    }
}

#[test]
fn gpt2_attention_layer_norm_and_tied_embeddings() {
    let cfg = Gpt2Config {
        vocab_size: 8,
        n_positions: 8,
        d_model: 8,
        n_layers: 1,
        n_heads: 2,
        mlp_hidden: Some(8),
        ..Gpt2Config::tiny()
    };
    let mut model = TransformerLm::gpt2(&cfg, 0).unwrap();
    randomize_around_init(&mut model);
    check_lm("GPT-2", &model);
    let exact = Gpt2Config {
        activation: Activation::GeluExact,
        tie_embeddings: false,
        ..cfg
    };
    let mut model = TransformerLm::gpt2(&exact, 1).unwrap();
    randomize_around_init(&mut model);
    check_lm("GPT-2 (exact GELU, untied)", &model);
}

/// Moves every parameter off its initial value (norm scales of exactly one and zero biases
/// would hide a rule that drops a term).
fn randomize_around_init<M: Tree>(model: &mut M) {
    let params: Vec<(String, NamedArray)> = parameters(&*model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), p.value.clone()))
        .collect();
    for (i, (label, value)) in params.iter().enumerate() {
        let noise = NamedArray::uniform(200 + i as u64, value.named_shape(), -0.3, 0.3).unwrap();
        let v = (&value.cast(DType::F32).unwrap() + &noise).unwrap();
        set_parameter(model, label, &v);
    }
}

#[test]
fn llama_grouped_and_multi_query_attention() {
    let mut model = TransformerLm::llama(&small_llama(), 0).unwrap();
    randomize_around_init(&mut model);
    check_lm("Llama (GQA)", &model);
    let mqa = LlamaConfig {
        n_kv_heads: 1,
        qkv_bias: true,
        output_bias: true,
        tie_embeddings: true,
        ..small_llama()
    };
    let mut model = TransformerLm::llama(&mqa, 1).unwrap();
    randomize_around_init(&mut model);
    check_lm("Llama (MQA, biases, tied)", &model);
}

#[test]
fn llama_variants_windows_soft_caps_and_gemma_norms() {
    let mut gemma2 = small_llama();
    gemma2.n_layers = 2;
    gemma2.variant = penzai::models::LlamaVariant {
        rope_scaling: RopeScaling::Linear { factor: 2.0 },
        rotary_dims: Some(2),
        local_rope: Some((100.0, RopeScaling::Default)),
        layer_windows: Some(vec![Some(2), None]),
        qk_norm: true,
        norm_plus_one: true,
        activation: Activation::GeluTanh,
        embed_scale: Some(2.0),
        post_norms: true,
        attn_softcap: Some(3.0),
        final_softcap: Some(4.0),
        query_scale: Some(0.3),
    };
    let mut model = TransformerLm::llama(&gemma2, 2).unwrap();
    randomize_around_init(&mut model);
    check_lm(
        "Gemma-like (windows, soft caps, (1 + w) norms, qk norms)",
        &model,
    );
    let mistral = LlamaConfig {
        sliding_window: Some(3),
        ..small_llama()
    };
    let mut model = TransformerLm::llama(&mistral, 3).unwrap();
    randomize_around_init(&mut model);
    check_lm("Mistral-like (sliding window)", &model);
}

#[test]
fn a_layer_without_a_rule_is_an_error_naming_the_operation() {
    let custom = Activation::custom("cube", |v| v * v * v).layer();
    let lin = Linear::new(
        1,
        "w",
        &[("embedding", 4)],
        &[("h", 2)],
        &[],
        Initializer::Ones,
    );
    let model =
        Sequential::named([("lin", AnyLayer::new(lin.unwrap())), ("cube", custom)]).unwrap();
    let x = input(8);
    let err =
        value_and_grad(&model, &Trainable::all(), |m| weigh(&call(m, x.clone())?)).unwrap_err();
    assert!(
        matches!(
            &err,
            penzai::Error::Grad(e) if matches!(**e, GradError::Tape(penzai::nx::GradError::NoRule { op: "map_f32" }))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("map_f32"), "{err}");
}
