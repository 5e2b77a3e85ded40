//! HF config.json parsing: defaults, harmless keys ignored, unsupported numerics named, wrong
//! types and malformed JSON located.

use penzai::io::{Architecture, AttentionBias, HfConfig, IoError, LlamaFamily};
use penzai::nn::Activation;
use serde_json::{Value, json};

const FILE: &str = "config.json";

fn gpt2() -> Value {
    json!({"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64, "vocab_size": 97})
}

fn llama(model_type: &str) -> Value {
    json!({"model_type": model_type, "hidden_size": 32, "intermediate_size": 64,
           "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 101})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn parse(v: &Value) -> Result<HfConfig, IoError> {
    HfConfig::from_json_bytes(FILE, v.to_string().as_bytes())
}

fn err(v: &Value) -> String {
    let e = parse(v).expect_err("config must be rejected");
    let msg = e.to_string();
    assert!(msg.starts_with(FILE), "{msg}");
    msg
}

#[test]
fn gpt2_defaults_follow_transformers() {
    let Architecture::Gpt2(c) = parse(&gpt2()).unwrap().architecture else {
        panic!()
    };
    assert_eq!(c.n_inner, 128);
    assert_eq!(c.activation, Activation::GeluTanh);
    assert!(c.tie_word_embeddings && c.scale_attn_weights);
    assert_eq!(c.layer_norm_epsilon, 1e-5);
}

#[test]
fn gpt2_activation_names() {
    for (name, act) in [
        ("gelu_new", Activation::GeluTanh),
        ("gelu", Activation::GeluExact),
        ("relu", Activation::Relu),
    ] {
        let Architecture::Gpt2(c) = parse(&with(gpt2(), "activation_function", json!(name)))
            .unwrap()
            .architecture
        else {
            panic!()
        };
        assert_eq!(c.activation, act);
    }
    let msg = err(&with(gpt2(), "activation_function", json!("quick_gelu")));
    assert!(
        msg.contains("unsupported \"activation_function\" = \"quick_gelu\""),
        "{msg}"
    );
}

#[test]
fn gpt2_unsupported_numerics_are_named() {
    for key in [
        "scale_attn_by_inverse_layer_idx",
        "reorder_and_upcast_attn",
        "add_cross_attention",
    ] {
        let msg = err(&with(gpt2(), key, json!(true)));
        assert!(
            msg.starts_with(&format!("{FILE}: unsupported \"{key}\" = true")),
            "{msg}"
        );
        assert!(
            parse(&with(gpt2(), key, json!(false))).is_ok(),
            "{key}: false is the default"
        );
    }
}

#[test]
fn harmless_keys_are_ignored_and_unknown_ones_reported() {
    let mut v = gpt2();
    for (k, val) in [
        ("_name_or_path", json!("x")),
        ("architectures", json!(["GPT2LMHeadModel"])),
        ("torch_dtype", json!("float32")),
        ("dtype", json!("bfloat16")),
        ("bos_token_id", json!(0)),
        ("eos_token_id", json!([1, 2])),
        ("pad_token_id", json!(null)),
        ("transformers_version", json!("4.46")),
        ("use_cache", json!(true)),
        ("initializer_range", json!(0.02)),
        ("attn_pdrop", json!(0.1)),
        ("resid_pdrop", json!(0.1)),
        ("task_specific_params", json!({})),
        ("summary_type", json!("cls_index")),
        ("n_ctx", json!(64)),
        ("my_new_knob", json!(3)),
    ] {
        v[k] = val;
    }
    let c = parse(&v).unwrap();
    assert_eq!(c.unrecognized_keys, ["my_new_knob"]);
}

#[test]
fn llama_family_defaults() {
    let Architecture::Llama(c) = parse(&llama("llama")).unwrap().architecture else {
        panic!()
    };
    assert_eq!(
        (
            c.family,
            c.num_key_value_heads,
            c.head_dim,
            c.rope_theta,
            c.rms_norm_eps
        ),
        (LlamaFamily::Llama, 4, 8, 10_000.0, 1e-6)
    );
    assert!(!c.tie_word_embeddings);
    assert_eq!(c.attention_bias, AttentionBias::default());
    assert_eq!(c.sliding_window, None);

    let Architecture::Llama(m) = parse(&llama("mistral")).unwrap().architecture else {
        panic!()
    };
    assert_eq!(m.sliding_window, Some(4096), "MistralConfig's default");
    let Architecture::Llama(m) = parse(&with(llama("mistral"), "sliding_window", json!(null)))
        .unwrap()
        .architecture
    else {
        panic!()
    };
    assert_eq!(m.sliding_window, None);

    let Architecture::Llama(q) = parse(&with(llama("qwen2"), "sliding_window", json!(32768)))
        .unwrap()
        .architecture
    else {
        panic!()
    };
    assert_eq!(
        q.attention_bias,
        AttentionBias {
            qkv: true,
            output: false
        }
    );
    assert_eq!(q.sliding_window, None);
}

#[test]
fn rope_theta_top_level_or_in_rope_parameters() {
    let top = with(llama("llama"), "rope_theta", json!(500000.0));
    let Architecture::Llama(c) = parse(&top).unwrap().architecture else {
        panic!()
    };
    assert_eq!(c.rope_theta, 500000.0);
    let nested = with(
        llama("llama"),
        "rope_parameters",
        json!({"rope_type": "default", "rope_theta": 1e6}),
    );
    let Architecture::Llama(c) = parse(&nested).unwrap().architecture else {
        panic!()
    };
    assert_eq!(c.rope_theta, 1e6);
    let both = with(nested.clone(), "rope_theta", json!(5.0));
    assert!(
        err(&both)
            .contains("key \"rope_theta\": expected the same value as rope_parameters.rope_theta")
    );
    let scaled = with(
        llama("llama"),
        "rope_parameters",
        json!({"rope_type": "su", "rope_theta": 1e6}),
    );
    assert!(err(&scaled).contains("unsupported \"rope_parameters.rope_type\" = \"su\""));
}

#[test]
fn llama_unsupported_numerics_are_named() {
    let msg = err(&with(
        llama("llama"),
        "rope_scaling",
        json!({"rope_type": "su", "factor": 2.0}),
    ));
    assert!(
        msg.starts_with(&format!("{FILE}: unsupported \"rope_scaling.rope_type\"")),
        "{msg}"
    );
    let cases = [
        ("mlp_bias", json!(true)),
        ("hidden_act", json!("gelu")),
        ("partial_rotary_factor", json!(0.5)),
    ];
    for (key, value) in cases {
        let msg = err(&with(llama("llama"), key, value));
        assert!(
            msg.starts_with(&format!("{FILE}: unsupported \"{key}\"")),
            "{msg}"
        );
    }
    let msg = err(&with(
        llama("qwen2"),
        "layer_types",
        json!(["sliding_attention", "full_attention"]),
    ));
    assert!(msg.contains("unsupported \"layer_types\""), "{msg}");
    // Harmless forms of the same keys.
    for (key, value) in [
        ("rope_scaling", json!(null)),
        ("mlp_bias", json!(false)),
        ("hidden_act", json!("silu")),
        ("partial_rotary_factor", json!(1.0)),
    ] {
        assert!(parse(&with(llama("llama"), key, value)).is_ok(), "{key}");
    }
}

#[test]
fn llama_attention_bias_is_supported() {
    let Architecture::Llama(c) = parse(&with(llama("llama"), "attention_bias", json!(true)))
        .unwrap()
        .architecture
    else {
        panic!()
    };
    assert_eq!(
        c.attention_bias,
        AttentionBias {
            qkv: true,
            output: true
        }
    );
}

#[test]
fn inconsistent_head_counts_are_errors() {
    let msg = err(&with(llama("llama"), "num_key_value_heads", json!(3)));
    assert_eq!(
        msg,
        format!(
            "{FILE}: key \"num_key_value_heads\": expected a divisor of num_attention_heads = 4, found number 3"
        )
    );
    let msg = err(&with(gpt2(), "n_head", json!(5)));
    assert!(
        msg.contains("key \"n_head\": expected a divisor of n_embd = 32"),
        "{msg}"
    );
    let msg = err(&with(llama("llama"), "head_dim", json!(7)));
    assert!(
        msg.contains("key \"head_dim\": expected an even number"),
        "{msg}"
    );
}

#[test]
fn wrong_types_name_the_key() {
    let msg = err(&with(gpt2(), "n_embd", json!("32")));
    assert_eq!(
        msg,
        format!(
            "{FILE}: key \"n_embd\": expected a positive integer below 2^32, found string \"32\""
        )
    );
    let msg = err(&with(gpt2(), "n_layer", json!(-1)));
    assert!(msg.contains("key \"n_layer\""), "{msg}");
    let msg = err(&with(gpt2(), "vocab_size", json!(1u64 << 40)));
    assert!(msg.contains("key \"vocab_size\""), "{msg}");
    let msg = err(&with(llama("llama"), "tie_word_embeddings", json!("yes")));
    assert!(
        msg.contains("key \"tie_word_embeddings\": expected a boolean"),
        "{msg}"
    );
    let msg = err(&with(llama("llama"), "rms_norm_eps", json!(0)));
    assert!(
        msg.contains("key \"rms_norm_eps\": expected a finite positive number"),
        "{msg}"
    );
}

#[test]
fn missing_keys_and_model_types() {
    let mut v = gpt2();
    v.as_object_mut().unwrap().remove("n_layer");
    assert_eq!(err(&v), format!("{FILE}: missing key \"n_layer\""));
    assert_eq!(
        err(&json!({"n_embd": 3})),
        format!("{FILE}: missing key \"model_type\"")
    );
    let msg = err(&json!({"model_type": "bert"}));
    assert!(msg.contains("unsupported model_type \"bert\""), "{msg}");
}

#[test]
fn malformed_json_names_the_offset() {
    let e = HfConfig::from_json_bytes(FILE, b"{\n  \"model_type\": \"gpt2\",\n  \"n_embd\": ,\n}")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{FILE}: invalid JSON at byte offset 38: expected value")
    );
    let e = HfConfig::from_json_bytes(FILE, b"  [1]").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{FILE}: invalid JSON at byte offset 2: a config must be a JSON object")
    );
    let e = HfConfig::from_json_bytes(FILE, b"{\"a\xff\": 1}").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{FILE}: invalid UTF-8 at byte offset 3")
    );
}
