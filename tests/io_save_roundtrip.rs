//! Saving and loading whole models: built models, models edited by path, custom layer types
//! and tied parameters come back equal and compute the same outputs.

use std::path::PathBuf;

use penzai::io::{self, SafetensorsFile, SavedModel};
use penzai::models::{Gpt2Config, LlamaConfig, TransformerLm, with_kv_cache};
use penzai::nn::side_inputs::TOKEN_POSITIONS;
use penzai::nn::{
    Activation, AddBias, ConstantRescale, Elementwise, Identity, Initializer, Linear, NamedGroup,
    Parameter, Residual, Sequential, Softmax,
};
use penzai::prelude::*;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A folder of its own per test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("penzai-io-save-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Saves to a folder and loads back.
fn through_disk<T: Tree + Serialize + DeserializeOwned>(model: &T, name: &str) -> T {
    let dir = TempDir::new(name);
    io::save(model, &dir.0).unwrap();
    io::load(&dir.0).unwrap()
}

fn tokens() -> NamedArray {
    NamedArray::from_i64(
        &[("batch", 2), ("seq", 5)],
        vec![1, 5, 9, 3, 0, 7, 2, 2, 8, 4],
    )
    .unwrap()
}

fn logits(model: &dyn Layer) -> NamedArray {
    model.call(tokens(), &mut Context::new()).unwrap()
}

fn llama() -> TransformerLm {
    TransformerLm::llama(&LlamaConfig::tiny(), 7).unwrap()
}

fn gpt2() -> TransformerLm {
    TransformerLm::gpt2(&Gpt2Config::tiny(), 7).unwrap()
}

fn path(text: &str) -> KeyPath {
    text.parse().unwrap()
}

#[test]
fn llama_round_trips_to_an_equal_model_with_identical_logits() {
    let model = llama();
    let back = through_disk(&model, "llama");
    assert!(back.tree_eq(&model));
    assert_eq!(logits(&back), logits(&model));
}

#[test]
fn gpt2_round_trips_to_an_equal_model_with_identical_logits() {
    let model = gpt2();
    let back = through_disk(&model, "gpt2");
    assert!(back.tree_eq(&model));
    assert_eq!(logits(&back), logits(&model));
}

#[test]
fn load_any_rebuilds_a_registered_root_type() {
    let model = gpt2();
    let dir = TempDir::new("load-any");
    io::save(&model, &dir.0).unwrap();
    let any = io::load_any(&dir.0).unwrap();
    assert_eq!(any.type_name(), "TransformerLm");
    assert!(any.tree_eq(&model));
    assert_eq!(logits(&any), logits(&model));
}

#[test]
fn a_tied_table_is_stored_once_and_every_slot_refers_to_it() {
    let model = gpt2();
    let saved = io::save_to_memory(&model).unwrap();
    let file = SafetensorsFile::from_bytes("parameters", saved.parameters.clone()).unwrap();
    let names: Vec<&str> = file.names().collect();
    assert!(names.contains(&"embed.table.embeddings"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("unembed")), "{names:?}");
    // One tensor per label, not per slot.
    let slots = penzai::nn::parameters(&model);
    let mut labels: Vec<&str> = slots.iter().map(|(_, p)| &*p.label).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(file.len(), labels.len());
    assert_eq!(slots.len(), labels.len() + 1);

    let json: serde_json::Value = serde_json::from_slice(&saved.structure).unwrap();
    let steps = &json["root"]["steps"];
    let unembed = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "unembed")
        .unwrap();
    let table = &unembed["layer"]["table"]["embeddings"];
    assert_eq!(table["tensor"], "embed.table.embeddings");
    assert_eq!(table["label"], "embed.embeddings");
    assert_eq!(
        table["axes"],
        serde_json::json!(["vocabulary", "embedding"])
    );

    // The loaded slots share one array, and stay tied.
    let back: TransformerLm = io::load_from_memory(saved).unwrap();
    let lookup = back.get_at(&path("embed.table.embeddings")).unwrap();
    let decode = back.get_at(&path("unembed.table.embeddings")).unwrap();
    let (a, b) = (
        lookup.downcast_ref::<Parameter>().unwrap(),
        decode.downcast_ref::<Parameter>().unwrap(),
    );
    assert!(a.is_tied_to(b));
    assert_eq!(a.value, b.value);
}

#[test]
fn the_structure_names_layer_types_and_keys_tensors_by_path() {
    let model = Sequential::new()
        .then_named(
            "up",
            Linear::new(0, "up", &[("x", 2)], &[("y", 3)], &[], Initializer::Ones).unwrap(),
        )
        .unwrap()
        .then(Identity);
    let saved = io::save_to_memory(&model).unwrap();
    let text = String::from_utf8(saved.structure).unwrap();
    let expected = r#"{
  "format": "penzai-rs model",
  "version": 1,
  "root": {
    "type": "Sequential",
    "steps": [
      {
        "name": "up",
        "layer": {
          "type": "Linear",
          "weights": {
            "label": "up.weights",
            "tensor": "up.weights",
            "dtype": "f32",
            "axes": [
              "x",
              "y"
            ],
            "shape": [
              2,
              3
            ]
          },
          "in_axes": [
            "x"
          ],
          "out_axes": [
            "y"
          ]
        }
      },
      {
        "layer": {
          "type": "Identity"
        }
      }
    ]
  }
}
"#;
    assert_eq!(text, expected);
}

#[test]
fn memory_and_disk_saves_write_the_same_bytes_every_time() {
    let model = llama();
    let dir = TempDir::new("bytes");
    io::save(&model, &dir.0).unwrap();
    let saved = io::save_to_memory(&model).unwrap();
    assert_eq!(saved, io::save_to_memory(&model).unwrap());
    assert_eq!(
        std::fs::read(dir.0.join(io::STRUCTURE_FILE)).unwrap(),
        saved.structure
    );
    assert_eq!(
        std::fs::read(dir.0.join(io::PARAMETERS_FILE)).unwrap(),
        saved.parameters
    );
}

#[test]
fn a_layer_inserted_into_a_sequential_round_trips() {
    let mut model = llama();
    model
        .insert_at(&path("blocks"), 1, Box::new(ConstantRescale { by: 0.5 }))
        .unwrap();
    model
        .insert_at(
            &path("blocks[0].mlp.delta"),
            0,
            Box::new(Softmax::over("embedding")),
        )
        .unwrap();
    let back = through_disk(&model, "inserted");
    assert!(back.tree_eq(&model));
    assert!(
        back.get_at(&path("blocks[1]"))
            .unwrap()
            .is::<ConstantRescale>()
    );
    assert_eq!(logits(&back), logits(&model));
    assert_ne!(logits(&back), logits(&llama()));
}

#[test]
fn kv_caching_attention_round_trips_and_decodes_the_same() {
    let model = with_kv_cache(&llama()).unwrap();
    let back = through_disk(&model, "kv-cache");
    assert!(back.tree_eq(&model));
    assert_eq!(
        back.get_at(&path("blocks[0].attn.delta.attention"))
            .unwrap()
            .type_name(),
        "KVCachingAttention"
    );
    // Two decoding steps through the cache.
    let (mut a, mut b) = (Context::new(), Context::new());
    let first = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3]).unwrap();
    assert_eq!(
        back.call(first.clone(), &mut b).unwrap(),
        model.call(first, &mut a).unwrap()
    );
    let next = NamedArray::from_i64(&[("batch", 1), ("seq", 1)], vec![4]).unwrap();
    let positions = NamedArray::from_i64(&[("seq", 1)], vec![3]).unwrap();
    a.set_side_input(TOKEN_POSITIONS, positions.clone());
    b.set_side_input(TOKEN_POSITIONS, positions);
    assert_eq!(
        back.call(next.clone(), &mut b).unwrap(),
        model.call(next, &mut a).unwrap()
    );
}

/// A low-rank adapter around a `Linear`, defined by "the user" (this test).
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct LoraLinear {
    base: Linear,
    down: Linear,
    up: Linear,
    scale: f32,
}

impl Layer for LoraLinear {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        let base = self.base.call(x.clone(), cx)?;
        let low = self.down.call(x, cx)?;
        let delta = (self.up.call(low, cx)? * self.scale)?;
        Ok((&base + &delta)?)
    }
}

fn refs(v: &[(String, usize)]) -> Vec<(&str, usize)> {
    v.iter().map(|(n, s)| (n.as_str(), *s)).collect()
}

fn adapt(linear: &Linear, label: &str) -> LoraLinear {
    let input: Vec<(String, usize)> = linear
        .input_axes()
        .iter()
        .map(|(n, s)| (n.to_string(), *s))
        .collect();
    let output: Vec<(String, usize)> = linear
        .output_axes()
        .iter()
        .map(|(n, s)| (n.to_string(), *s))
        .collect();
    let init = Initializer::Normal { std: 0.1 };
    LoraLinear {
        base: linear.clone(),
        down: Linear::new(
            1,
            &format!("{label}.down"),
            &refs(&input),
            &[("rank", 2)],
            &[],
            init,
        )
        .unwrap(),
        up: Linear::new(
            2,
            &format!("{label}.up"),
            &[("rank", 2)],
            &refs(&output),
            &[],
            init,
        )
        .unwrap(),
        scale: 0.5,
    }
}

#[test]
fn a_user_layer_replacing_a_linear_round_trips_without_registration() {
    let mut model = llama();
    for site in [
        "blocks[0].attn.delta.attention.query.proj",
        "blocks[1].mlp.delta.ffn.down",
    ] {
        let linear = model
            .get_at(&path(site))
            .unwrap()
            .downcast_ref::<Linear>()
            .unwrap()
            .clone();
        model
            .replace_at(&path(site), Box::new(adapt(&linear, site)))
            .unwrap();
    }
    let back = through_disk(&model, "lora");
    assert!(back.tree_eq(&model));
    assert_eq!(logits(&back), logits(&model));
    assert_ne!(logits(&back), logits(&llama()));
    let saved = io::save_to_memory(&model).unwrap();
    let file = SafetensorsFile::from_bytes("p", saved.parameters).unwrap();
    assert!(file.contains("blocks[0].attn.delta.attention.query.proj.down.weights"));
}

#[test]
fn lora_adapters_captures_and_ablations_round_trip() {
    use penzai::interpret::{Ablate, Capture, LowRankAdapter, Replacement, ablate, loraify};
    use penzai::models::TransformerBlock;

    let model = llama();
    let model = loraify(
        select(model).at_instances_of::<TransformerBlock>().nth(1),
        2,
        5,
    )
    .unwrap();
    // A fresh adapter's `up` is zero; give it values so the adapter changes the logits.
    let mut model = model;
    model.walk_mut(&mut |_, node| {
        if let Some(p) = node.downcast_mut::<Parameter>()
            && p.label.ends_with(".up.weights")
        {
            p.value = NamedArray::full(p.value.named_shape(), 0.25).unwrap();
        }
        Walk::Continue
    });
    let model =
        penzai::interpret::with_captures(select(model).at_instances_of::<TransformerBlock>())
            .unwrap();
    let values =
        NamedArray::from_f32(&[("embedding", 32)], (0..32).map(|i| i as f32).collect()).unwrap();
    let mask = NamedArray::from_f32(&[("seq", 5)], vec![0.0, 1.0, 0.0, 0.0, 0.5]).unwrap();
    let model = ablate(
        select(model).at_instances_of::<TransformerBlock>().nth(0),
        Replacement::Values(values),
        Some(mask),
    )
    .unwrap();
    let count = |m: &TransformerLm, f: &dyn Fn(&dyn Tree) -> bool| {
        let mut n = 0;
        m.walk(&mut |_, node| {
            n += usize::from(f(node));
            Walk::Continue
        });
        n
    };
    assert!(count(&model, &|n| n.is::<LowRankAdapter>()) > 0);
    assert_eq!(count(&model, &|n| n.is::<Capture>()), 2);
    assert_eq!(count(&model, &|n| n.is::<Ablate>()), 1);

    let back = through_disk(&model, "interpret");
    assert!(back.tree_eq(&model));
    let (mut a, mut b) = (Context::new(), Context::new());
    assert_eq!(
        back.call(tokens(), &mut b).unwrap(),
        model.call(tokens(), &mut a).unwrap()
    );
    assert_eq!(a.captures(), b.captures());
    assert_ne!(logits(&back), logits(&llama()));
}

/// A layer holding a plain array child (not a parameter).
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct AddConstant(NamedArray);

impl Layer for AddConstant {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((&x + &self.0)?)
    }
}

/// A layer whose serde form is a number, not a struct.
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct Scale(f32);

impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((x * self.0)?)
    }
}

/// A layer that is an enum.
#[derive(Clone, Debug, PartialEq, Tree, Serialize, Deserialize)]
enum Gate {
    Open,
    Scaled { by: f32 },
}

impl Layer for Gate {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        match self {
            Gate::Open => Ok(x),
            Gate::Scaled { by } => Ok((x * *by)?),
        }
    }
}

#[test]
fn layers_of_every_serde_shape_round_trip() {
    let constant = NamedArray::from_f32(&[("features", 3)], vec![1.0, -2.0, f32::NAN]).unwrap();
    let model = Sequential::new()
        .then(AddConstant(constant))
        .then(Scale(2.5))
        .then(Gate::Open)
        .then(Gate::Scaled { by: -1.0 })
        .then(Residual::new(Scale(0.0)))
        .then(NamedGroup::new("group").then(Identity));
    let saved = io::save_to_memory(&model).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&saved.structure).unwrap();
    let layers: Vec<&serde_json::Value> = json["root"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["layer"])
        .collect();
    assert_eq!(layers[0]["tensor"], "[0].0");
    assert_eq!(
        layers[1],
        &serde_json::json!({"type": "io_save_roundtrip::Scale", "value": 2.5})
    );
    assert_eq!(
        layers[2],
        &serde_json::json!({"type": "io_save_roundtrip::Gate", "value": "Open"})
    );
    let back: Sequential = io::load_from_memory(saved).unwrap();
    assert!(back.tree_eq(&model));
    let x = NamedArray::ones(&[("features", 3)]).unwrap();
    assert_eq!(
        back.call(x.clone(), &mut Context::new()).unwrap(),
        model.call(x, &mut Context::new()).unwrap()
    );
}

#[test]
fn a_structure_with_keys_in_another_order_still_loads() {
    let model = gpt2();
    let saved = io::save_to_memory(&model).unwrap();
    // serde_json's map sorts keys, so "type" no longer comes first in most layers.
    let value: serde_json::Value = serde_json::from_slice(&saved.structure).unwrap();
    let sorted = serde_json::to_vec(&value).unwrap();
    assert!(String::from_utf8_lossy(&sorted).contains(r#"{"steps":[{"layer":{"#));
    let back: TransformerLm = io::load_from_memory(SavedModel {
        structure: sorted,
        parameters: saved.parameters,
    })
    .unwrap();
    assert!(back.tree_eq(&model));
}

#[test]
fn a_plain_tree_of_parameters_round_trips() {
    #[derive(Clone, Debug, Tree, Serialize, Deserialize)]
    struct Weights {
        a: Parameter,
        b: Vec<Parameter>,
        note: String,
    }
    let p = |label: &str, v: f32| {
        Parameter::new(
            label,
            NamedArray::from_f32(&[("i", 2)], vec![v, -v]).unwrap(),
        )
    };
    let tied = p("shared", 1.0);
    let model = Weights {
        a: tied.clone(),
        b: vec![p("b0", 2.0), tied],
        note: "hello".into(),
    };
    let back: Weights = io::load_from_memory(io::save_to_memory(&model).unwrap()).unwrap();
    assert!(back.tree_eq(&model));
}

// ---- random trees of registered layers ----

fn any_layer(depth: u32) -> BoxedStrategy<AnyLayer> {
    let leaf = prop_oneof![
        Just(AnyLayer::new(Identity)),
        "[a-c]".prop_map(|axis| AnyLayer::new(Softmax::over(&axis))),
        // Any finite f32 comes back bit for bit (the JSON text is the shortest exact form).
        any::<f32>()
            .prop_filter("JSON numbers are finite", |by| by.is_finite())
            .prop_map(|by| AnyLayer::new(ConstantRescale { by })),
        prop_oneof![
            Just(Activation::Relu),
            Just(Activation::Silu),
            Just(Activation::GeluTanh)
        ]
        .prop_map(|a| AnyLayer::new(Elementwise::new(a))),
        (1usize..4, 1usize..4, 0u64..3).prop_map(|(i, o, seed)| {
            let init = Initializer::Normal { std: 1.0 };
            // Labels name everything that shapes the values: equal labels are equal (tied).
            let label = format!("lin{seed}_{i}_{o}");
            AnyLayer::new(Linear::new(seed, &label, &[("a", i)], &[("b", o)], &[], init).unwrap())
        }),
        (1usize..4, 0u64..3).prop_map(|(n, seed)| {
            let init = Initializer::Uniform {
                low: -1.0,
                high: 1.0,
            };
            AnyLayer::new(
                AddBias::new(seed, &format!("bias{seed}_{n}"), &[("a", n)], init).unwrap(),
            )
        }),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let inner = any_layer(depth - 1);
    prop_oneof![
        2 => leaf,
        1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|layers| AnyLayer::new(Sequential::from_layers(layers))),
        1 => ("[a-z]{0,5}", prop::collection::vec(inner.clone(), 0..3))
            .prop_map(|(name, layers)| AnyLayer::new(NamedGroup::from_layers(name, layers))),
        1 => inner.prop_map(|delta| AnyLayer::new(Residual { delta })),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_trees_of_registered_layers_round_trip(layer in any_layer(3)) {
        let saved = io::save_to_memory(&layer).unwrap();
        let back: AnyLayer = io::load_from_memory(saved.clone()).unwrap();
        prop_assert!(back.tree_eq(&layer));
        prop_assert_eq!(io::save_to_memory(&back).unwrap(), saved);
    }
}
