//! Saving and loading whole models: every bad input is a typed error naming the file, the
//! tensor or type, and the byte offset in the structure; never a panic.

use std::collections::BTreeMap;

use penzai::io::{self, HostTensor, IoError, SafetensorsFile, SaveError, SavedModel};
use penzai::models::{LlamaConfig, TransformerLm};
use penzai::nn::{
    Activation, AddBias, Elementwise, Identity, Initializer, Linear, Parameter, Residual,
    Sequential,
};
use penzai::prelude::*;
use serde::{Deserialize, Serialize};

/// `Sequential[up: Linear(x: 2 -> y: 3), bias: AddBias(y: 3)]`, written compactly by hand so
/// offsets are easy to read; the tests edit it.
const STRUCTURE: &str = r#"{"format":"penzai-rs model","version":1,"root":{"type":"Sequential","steps":[{"name":"up","layer":{"type":"Linear","weights":{"label":"up.weights","tensor":"up.weights","dtype":"f32","axes":["x","y"],"shape":[2,3]},"in_axes":["x"],"out_axes":["y"]}},{"name":"bias","layer":{"type":"AddBias","bias":{"label":"up.bias","tensor":"bias.bias","dtype":"f32","axes":["y"],"shape":[3]}}}]}}"#;

fn small() -> Sequential {
    let init = Initializer::Normal { std: 1.0 };
    let up = Linear::new(0, "up", &[("x", 2)], &[("y", 3)], &[], init).unwrap();
    let bias = AddBias::new(0, "up", &[("y", 3)], init).unwrap();
    Sequential::new()
        .then_named("up", up)
        .unwrap()
        .then_named("bias", bias)
        .unwrap()
}

fn parameters() -> Vec<u8> {
    io::save_to_memory(&small()).unwrap().parameters
}

fn load(structure: &str, parameters: Vec<u8>) -> penzai::Result<Sequential> {
    io::load_from_memory(SavedModel {
        structure: structure.as_bytes().to_vec(),
        parameters,
    })
}

fn load_err(structure: &str, parameters: Vec<u8>) -> (penzai::Error, String) {
    let err = load(structure, parameters).expect_err("the model must be rejected");
    let message = err.to_string();
    (err, message)
}

fn save_error(err: &penzai::Error) -> &SaveError {
    match err {
        penzai::Error::Save(e) => e,
        other => panic!("expected a SaveError, got {other:?}"),
    }
}

/// Byte offset of the last byte of the first occurrence of `needle` in the structure: where
/// the parser stands after reading it.
fn end_of(text: &str, needle: &str) -> usize {
    text.find(needle).expect("needle in text") + needle.len() - 1
}

/// The parameters file with its tensors changed by `edit`.
fn edited_parameters(edit: impl FnOnce(&mut BTreeMap<String, HostTensor>)) -> Vec<u8> {
    let file = SafetensorsFile::from_bytes("p", parameters()).unwrap();
    let mut tensors: BTreeMap<String, HostTensor> = file
        .tensors()
        .map(|t| (t.name().to_owned(), t.to_host().unwrap()))
        .collect();
    edit(&mut tensors);
    io::serialize_tensors(tensors, &BTreeMap::new()).unwrap()
}

#[test]
fn the_hand_written_structure_is_what_save_writes() {
    let model = load(STRUCTURE, parameters()).unwrap();
    assert!(model.tree_eq(&small()));
}

// ---- the parameters file ----

#[test]
fn a_truncated_parameters_file_is_the_readers_error() {
    let (err, message) = load_err(STRUCTURE, parameters()[..4].to_vec());
    assert!(matches!(err, penzai::Error::Io(ref e) if matches!(**e, IoError::Truncated { .. })));
    assert_eq!(
        message,
        "parameters.safetensors: truncated: the file has 4 bytes, but a safetensors file starts with an 8-byte header length"
    );
}

#[test]
fn a_parameters_file_cut_in_its_data_names_the_tensor_and_offsets() {
    let mut bytes = parameters();
    bytes.truncate(bytes.len() - 4);
    let (_, message) = load_err(STRUCTURE, bytes);
    assert!(
        message.starts_with("parameters.safetensors: tensor \"up.weights\": data_offsets [12, 36] do not fit the data section of 32 bytes"),
        "{message}"
    );
}

#[test]
fn a_corrupted_header_length_is_the_readers_error() {
    let mut bytes = parameters();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let (_, message) = load_err(STRUCTURE, bytes);
    assert!(
        message.starts_with("parameters.safetensors: header length 18446744073709551615 (bytes 0..8) exceeds the limit"),
        "{message}"
    );
}

#[test]
fn a_missing_folder_names_the_structure_file() {
    let dir = std::env::temp_dir().join("penzai-io-save-errors-missing-folder");
    let message = io::load::<Sequential>(&dir).unwrap_err().to_string();
    assert!(
        message.contains("structure.json: cannot read:"),
        "{message}"
    );
}

// ---- the structure file ----

#[test]
fn malformed_json_names_the_byte_offset() {
    let text = r#"{"format":"penzai-rs model","version":1,"root":{"type":"Sequential","steps":[}"#;
    let (err, message) = load_err(text, parameters());
    let offset = text.len() - 1;
    assert!(
        matches!(save_error(&err), SaveError::InvalidStructure { offset: o, .. } if *o == offset as u64)
    );
    assert_eq!(
        message,
        format!("structure.json: invalid model structure at byte offset {offset}: expected value")
    );
    let (_, message) = load_err(&STRUCTURE[..100], parameters());
    assert_eq!(
        message,
        "structure.json: invalid model structure at byte offset 99: EOF while parsing a string"
    );
}

#[test]
fn a_structure_that_is_not_utf8_names_the_offset() {
    let mut bytes = STRUCTURE.as_bytes().to_vec();
    bytes[20] = 0xff;
    let err = io::load_from_memory::<Sequential>(SavedModel {
        structure: bytes,
        parameters: parameters(),
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "structure.json: invalid UTF-8 at byte offset 20"
    );
}

#[test]
fn another_format_or_version_is_refused() {
    let text = STRUCTURE.replace("penzai-rs model", "something else");
    let (_, message) = load_err(&text, parameters());
    assert_eq!(
        message,
        "structure.json: format \"something else\" is not a model structure this build reads (expected \"penzai-rs model\" version 1)"
    );
    let text = STRUCTURE.replace(r#""version":1"#, r#""version":7"#);
    let (_, message) = load_err(&text, parameters());
    assert_eq!(
        message,
        "structure.json: version 7 is not a model structure this build reads (expected \"penzai-rs model\" version 1)"
    );
}

#[test]
fn an_unregistered_layer_type_names_the_type_and_offset() {
    let text = STRUCTURE.replace(r#""type":"AddBias""#, r#""type":"Mystery""#);
    let (err, message) = load_err(&text, parameters());
    let offset = end_of(&text, r#""type":"Mystery""#);
    assert_eq!(
        save_error(&err),
        &SaveError::UnknownLayerType {
            file: "structure.json".into(),
            type_name: "Mystery".into(),
            offset: offset as u64,
        }
    );
    assert_eq!(
        message,
        format!(
            "structure.json: unknown layer type \"Mystery\" at byte offset {offset}; no layer type of this program has that name (see `penzai::io::register_layer`)"
        )
    );
}

#[test]
fn a_layer_without_a_type_is_malformed() {
    let text = STRUCTURE.replace(r#""type":"AddBias","#, "");
    let (_, message) = load_err(&text, parameters());
    assert!(message.ends_with("missing field `type`"), "{message}");
}

#[test]
fn the_root_type_must_be_the_one_asked_for() {
    let err = io::load_from_memory::<TransformerLm>(SavedModel {
        structure: STRUCTURE.as_bytes().to_vec(),
        parameters: parameters(),
    })
    .unwrap_err();
    let offset = end_of(STRUCTURE, r#""type":"Sequential""#);
    assert_eq!(
        err.to_string(),
        format!(
            "structure.json: the saved root at byte offset {offset} is a Sequential, not a TransformerLm"
        )
    );
}

#[test]
fn invalid_step_names_are_malformed_structure() {
    let text = STRUCTURE.replace(r#""name":"bias""#, r#""name":"a-b""#);
    let (_, message) = load_err(&text, parameters());
    assert!(
        message.ends_with("\"a-b\" cannot be a step name: use ASCII letters, digits and '_'"),
        "{message}"
    );
}

// ---- structure and tensors disagree ----

#[test]
fn a_tensor_the_structure_names_but_the_file_lacks() {
    let bytes = edited_parameters(|t| {
        t.remove("bias.bias");
    });
    let (err, message) = load_err(STRUCTURE, bytes);
    // The parser has also read the `}` closing the layer when it reports.
    let offset = end_of(STRUCTURE, r#""shape":[3]}}"#);
    assert!(matches!(save_error(&err), SaveError::MissingTensor { .. }));
    assert_eq!(
        message,
        format!(
            "structure.json: byte offset {offset}: tensor \"bias.bias\" is missing from parameters.safetensors"
        )
    );
}

#[test]
fn a_tensor_the_file_has_but_the_structure_never_names() {
    let bytes = edited_parameters(|t| {
        let extra = t["bias.bias"].clone();
        t.insert("leftover".into(), extra);
    });
    let (err, message) = load_err(STRUCTURE, bytes);
    assert!(matches!(save_error(&err), SaveError::UnusedTensor { .. }));
    assert_eq!(
        message,
        "parameters.safetensors: tensor \"leftover\" is not used by structure.json"
    );
}

#[test]
fn a_shape_other_than_declared() {
    let text = STRUCTURE.replace(r#""shape":[2,3]"#, r#""shape":[3,2]"#);
    let (_, message) = load_err(&text, parameters());
    let offset = end_of(&text, r#""shape":[3,2]}"#);
    assert_eq!(
        message,
        format!(
            "structure.json: byte offset {offset}: tensor \"up.weights\" in parameters.safetensors: declared f32 [\"x\", \"y\"] [3, 2], stored F32 [2, 3]"
        )
    );
}

#[test]
fn a_dtype_other_than_declared() {
    let text = STRUCTURE.replace(
        r#""dtype":"f32","axes":["y"]"#,
        r#""dtype":"i64","axes":["y"]"#,
    );
    let (_, message) = load_err(&text, parameters());
    assert!(
        message.ends_with(
            "tensor \"bias.bias\" in parameters.safetensors: declared i64 [\"y\"] [3], stored F32 [3]"
        ),
        "{message}"
    );
    // A float stored wider than declared takes the declared width.
    let text = STRUCTURE.replace(
        r#""dtype":"f32","axes":["y"]"#,
        r#""dtype":"f16","axes":["y"]"#,
    );
    assert!(load(&text, parameters()).is_ok());
    let text = STRUCTURE.replace(
        r#""dtype":"f32","axes":["y"]"#,
        r#""dtype":"f8","axes":["y"]"#,
    );
    let (_, message) = load_err(&text, parameters());
    assert!(message.contains("unknown variant `f8`"), "{message}");
}

#[test]
fn axis_names_that_do_not_fit_the_shape() {
    let text = STRUCTURE.replace(r#""axes":["x","y"]"#, r#""axes":["x"]"#);
    let (_, message) = load_err(&text, parameters());
    assert!(
        message.ends_with("the structure names 1 axes [\"x\"] for a shape of rank 2"),
        "{message}"
    );
    let text = STRUCTURE.replace(r#""axes":["x","y"]"#, r#""axes":["x","x"]"#);
    let (err, message) = load_err(&text, parameters());
    assert!(matches!(save_error(&err), SaveError::TensorMismatch { .. }));
    assert!(message.contains("tensor \"up.weights\""), "{message}");
    assert!(message.contains("\"x\""), "{message}");
}

#[test]
fn one_tensor_claimed_by_two_labels() {
    let text = STRUCTURE.replace(r#""tensor":"bias.bias""#, r#""tensor":"up.weights""#);
    let (_, message) = load_err(&text, parameters());
    assert!(
        message.ends_with(
            "tensor \"up.weights\" in parameters.safetensors: it is referenced as parameter \"up.bias\" here but as parameter \"up.weights\" before; one tensor holds one parameter"
        ),
        "{message}"
    );
}

#[test]
fn tied_slots_holding_different_values_are_refused_on_load() {
    // Both slots carry the label "up.weights" but point at different tensors.
    let bytes = edited_parameters(|t| {
        let w = t["up.weights"].clone();
        t.insert(
            "copy".into(),
            HostTensor::new(w.shape.clone(), penzai::io::TensorData::F32(vec![9.0; 6])).unwrap(),
        );
        t.remove("bias.bias");
    });
    let text = STRUCTURE.replace(
        r#"{"type":"AddBias","bias":{"label":"up.bias","tensor":"bias.bias","dtype":"f32","axes":["y"],"shape":[3]}}"#,
        r#"{"type":"Linear","weights":{"label":"up.weights","tensor":"copy","dtype":"f32","axes":["x","y"],"shape":[2,3]},"in_axes":["x"],"out_axes":["y"]}"#,
    );
    let (err, message) = load_err(&text, bytes);
    assert!(matches!(save_error(&err), SaveError::TieMismatch { .. }));
    assert_eq!(
        message,
        "structure.json: parameters at up.weights and bias.weights share the label \"up.weights\" but hold different values; tied parameters must be equal"
    );
}

// ---- nesting ----

#[test]
fn layers_nested_past_the_limit_are_refused_without_exhausting_the_stack() {
    let depth = io::MAX_LAYER_DEPTH + 1;
    let mut text = String::from(r#"{"format":"penzai-rs model","version":1,"root":"#);
    for _ in 0..depth {
        text.push_str(r#"{"type":"Residual","delta":"#);
    }
    text.push_str(r#"{"type":"Identity"}"#);
    text.push_str(&"}".repeat(depth + 1));
    let err = io::load_from_memory::<AnyLayer>(SavedModel {
        structure: text.clone().into_bytes(),
        parameters: io::save_to_memory(&Identity).unwrap().parameters,
    })
    .unwrap_err();
    let offset = end_of(
        &text,
        &r#"{"type":"Residual","delta":"#.repeat(io::MAX_LAYER_DEPTH),
    );
    assert_eq!(
        err.to_string(),
        format!("structure.json: layers nest deeper than 64 levels at byte offset {offset}")
    );
}

#[test]
fn deeply_nested_json_is_refused_by_the_parser() {
    // Entries before "type" are buffered as JSON values: the parser's depth limit applies.
    let prefix = r#"{"format":"penzai-rs model","version":1,"root":{"steps":"#;
    let text = format!("{prefix}{}", "[".repeat(100_000));
    let (_, message) = load_err(&text, parameters());
    // Two objects are open already; the 127th level is refused.
    let offset = prefix.len() + 125;
    assert_eq!(
        message,
        format!(
            "structure.json: invalid model structure at byte offset {offset}: recursion limit exceeded"
        )
    );
    // An unknown envelope key is skipped without recursing, to the end of the input.
    let text = format!(
        r#"{{"format":"penzai-rs model","version":1,"extra":{}"#,
        "[".repeat(100_000)
    );
    let (_, message) = load_err(&text, parameters());
    assert_eq!(
        message,
        format!(
            "structure.json: invalid model structure at byte offset {}: EOF while parsing a list",
            text.len() - 1
        )
    );
}

#[test]
fn a_model_nested_past_the_limit_cannot_be_saved() {
    let mut layer = AnyLayer::new(Identity);
    for _ in 0..io::MAX_LAYER_DEPTH {
        layer = AnyLayer::new(Residual { delta: layer });
    }
    let message = io::save_to_memory(&layer).unwrap_err().to_string();
    assert!(
        message.ends_with("(Identity): layers nest deeper than 64 levels, which loading refuses"),
        "{message}"
    );
}

// ---- models that cannot be saved ----

#[test]
fn tied_slots_holding_different_values_are_refused_on_save() {
    let a = Parameter::new("shared", NamedArray::zeros(&[("i", 2)]).unwrap());
    let b = a.with_value(NamedArray::ones(&[("i", 2)]).unwrap());
    let model = vec![a, b];
    let err = io::save_to_memory(&model).unwrap_err();
    assert_eq!(
        err.to_string(),
        "structure.json: parameters at [0] and [1] share the label \"shared\" but hold different values; tied parameters must be equal"
    );
}

/// A layer without serde impls: it has no saved form.
#[derive(Clone, Debug, Tree)]
struct Unregistered;

impl Layer for Unregistered {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

/// A generic layer: the derive records no instantiation of it.
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct Times<const N: usize>;

impl<const N: usize> Layer for Times<N> {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((x * N as f32)?)
    }
}

#[test]
fn a_layer_type_without_a_saved_form_cannot_be_saved() {
    let model = Sequential::new()
        .then(Identity)
        .then(Residual::new(Unregistered));
    let err = io::save_to_memory(&model).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot save the layer at [1].delta (Unregistered): its type has no saved form; derive `Serialize` and `Deserialize` for it beside `Tree` (with `#[serde(crate = \"penzai::serde\")]`), or, for a generic type, call `penzai::io::register_layer::<Unregistered<..>>(\"name\")` before saving"
    );
}

#[test]
fn a_generic_layer_type_saves_once_registered_by_hand() {
    let model = Sequential::new().then(Times::<3>);
    let err = io::save_to_memory(&model).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot save the layer at [0] (Times): its type has no saved form"),
        "{err}"
    );
    io::register_layer::<Times<3>>("io_save_errors::Times3").unwrap();
    let saved = io::save_to_memory(&model).unwrap();
    let structure = String::from_utf8(saved.structure.clone()).unwrap();
    assert!(
        structure.contains(r#""type": "io_save_errors::Times3""#),
        "{structure}"
    );
    let back: Sequential = io::load_from_memory(saved).unwrap();
    assert!(back.tree_eq(&model));
}

#[test]
fn a_custom_activation_cannot_be_saved() {
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let site: KeyPath = "blocks[1].mlp.delta.ffn.gate_up.branches[0].act"
        .parse()
        .unwrap();
    let mut model = model;
    model
        .replace_at(
            &site,
            Box::new(Elementwise::new(Activation::custom("cube", |x| x * x * x))),
        )
        .unwrap();
    let err = io::save_to_memory(&model).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot save blocks[1].mlp.delta.ffn.gate_up.branches[0].act (Elementwise): its custom activation \"cube\" is a closure, which cannot be saved; use a built-in activation, or a registered layer type that computes it"
    );
}

#[test]
fn an_array_with_positional_axes_cannot_be_saved() {
    let positional = NamedArray::zeros(&[("i", 2)])
        .unwrap()
        .untag(&["i"])
        .unwrap();
    let model = vec![Parameter::new("p", positional)];
    let err = io::save_to_memory(&model).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot save [0] (Parameter): the array has positional axes [2], which have no name to save them under; tag them first"
    );
}

#[test]
fn a_non_finite_number_cannot_be_saved() {
    let model = Sequential::new()
        .then(Identity)
        .then(penzai::nn::ConstantRescale { by: f32::NAN });
    assert_eq!(
        io::save_to_memory(&model).unwrap_err().to_string(),
        "cannot save [1].by (f32): the number NaN has no JSON form (JSON numbers are finite)"
    );
}

/// A layer hiding a parameter from the tree.
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct Hidden {
    #[tree(skip)]
    secret: Parameter,
}

impl Layer for Hidden {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

/// A layer with a field named like the type key.
#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct Typed {
    r#type: String,
}

impl Layer for Typed {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

#[test]
fn values_outside_the_tree_or_clashing_with_the_type_key_cannot_be_saved() {
    let secret = Parameter::new("s", NamedArray::zeros(&[("i", 1)]).unwrap());
    let model = Sequential::new().then(Hidden { secret });
    assert_eq!(
        io::save_to_memory(&model).unwrap_err().to_string(),
        "cannot save [0] (Hidden): a Parameter labelled \"s\" in it is not a child in the tree (a `#[tree(skip)]` field?); only tree children are saved"
    );
    let model = Sequential::new().then(Typed { r#type: "x".into() });
    assert_eq!(
        io::save_to_memory(&model).unwrap_err().to_string(),
        "cannot save [0] (Typed): its field \"type\" clashes with the key naming the layer type; rename the field (e.g. `#[serde(rename = \"kind\")]`)"
    );
}

#[test]
fn parameters_are_not_serialized_outside_a_save() {
    let p = Parameter::new("p", NamedArray::zeros(&[("i", 1)]).unwrap());
    let err = serde_json::to_string(&p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a Parameter is serialized by penzai::io::save (its values go to the parameters file), not on its own"
    );
    let err = serde_json::from_str::<Parameter>(
        r#"{"label":"p","tensor":"p","dtype":"f32","axes":["i"],"shape":[1]}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a Parameter or NamedArray is deserialized by penzai::io::load")
    );
}

// ---- the loaded model is validated ----

#[derive(Clone, Debug, Tree, Serialize, Deserialize)]
struct Scaled {
    #[axes(embedding = 4)]
    scale: Parameter,
}

#[test]
fn loading_validates_the_model() {
    let model = Scaled {
        scale: Parameter::new("scale", NamedArray::ones(&[("embedding", 5)]).unwrap()),
    };
    let saved = io::save_to_memory(&model).unwrap();
    let err = io::load_from_memory::<Scaled>(saved).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scale: axis \"embedding\" has size 5, expected 4 (its axes are {embedding: 5})"
    );
}

#[test]
fn a_huge_type_tag_is_quoted_in_part_whether_read_first_or_buffered() {
    // Issue 14: a 200 MB nested tag took 80 s and 1 GB to fail, and the message quoted it
    // whole. The message keeps a bounded prefix whatever the tag's size.
    for n in [1usize << 10, 1 << 24] {
        let tag = "A".repeat(n);
        let text = STRUCTURE.replace(r#""type":"AddBias""#, &format!(r#""type":"{tag}""#));
        let (_, message) = load_err(&text, parameters());
        assert!(
            message.starts_with(&format!(
                "structure.json: unknown layer type \"{}\"… ({n} bytes) at byte offset ",
                "A".repeat(200)
            )),
            "{}",
            &message[..message.len().min(1000)]
        );
        // Keys sorted, so every "type" comes after the entries that hold the nested layers.
        let sorted: serde_json::Value = serde_json::from_str(&text).unwrap();
        let text = sorted.to_string();
        assert!(text.find(r#""type":"Sequential""#) > text.find(r#""steps""#));
        let (_, message) = load_err(&text, parameters());
        assert!(
            message.len() < 400,
            "{}",
            &message[..message.len().min(1000)]
        );
    }
}

#[test]
fn a_huge_rejected_value_is_quoted_in_part() {
    // serde's own messages quote a rejected string whole ("unknown variant `...`").
    let dtype = "q".repeat(1 << 20);
    let text = STRUCTURE.replacen(r#""dtype":"f32""#, &format!(r#""dtype":"{dtype}""#), 1);
    let (_, message) = load_err(&text, parameters());
    assert!(message.len() < 1200, "{}", &message[..2000]);
    assert!(
        message.contains(&format!("unknown variant `{}…`", "q".repeat(200))),
        "{message}"
    );
}

#[test]
fn an_unknown_field_in_a_layer_is_an_error_at_its_byte_offset() {
    let text = STRUCTURE.replace(r#""in_axes":["x"]"#, r#""in_axes":["x"],"stride":2"#);
    let (err, message) = load_err(&text, parameters());
    let offset = end_of(&text, r#""stride""#);
    assert!(
        matches!(save_error(&err), SaveError::InvalidStructure { offset: o, .. } if *o == offset as u64),
        "{message}"
    );
    assert!(
        message.starts_with(&format!(
            "structure.json: invalid model structure at byte offset {offset}: unknown field `stride`, expected one of"
        )),
        "{message}"
    );
    // Also in a step of a Sequential.
    let text = STRUCTURE.replace(r#"{"name":"up","#, r#"{"name":"up","comment":"hi","#);
    let (_, message) = load_err(&text, parameters());
    assert!(message.contains("unknown field `comment`"), "{message}");
}

#[test]
fn a_repeated_type_is_an_error_in_either_order() {
    // Issue 14: "type":"Softmax","type":"Identity" loaded as Softmax; the reverse was refused.
    for (first, second) in [("AddBias", "Identity"), ("Identity", "AddBias")] {
        let text = STRUCTURE.replace(
            r#""type":"AddBias""#,
            &format!(r#""type":"{first}","type":"{second}""#),
        );
        let (err, message) = load_err(&text, parameters());
        assert!(
            matches!(save_error(&err), SaveError::InvalidStructure { .. }),
            "{message}"
        );
        assert!(
            message.contains("repeated entry \"type\" in this layer")
                || message.contains("unexpected entry \"type\" in this layer"),
            "{first}, {second}: {message}"
        );
    }
    // A repeated entry before the type (buffered) is refused too.
    let text = STRUCTURE.replace(
        r#"{"type":"Linear","weights""#,
        r#"{"in_axes":["x"],"in_axes":["x"],"type":"Linear","weights""#,
    );
    let (_, message) = load_err(&text, parameters());
    assert!(
        message.contains("repeated entry \"in_axes\" in this layer"),
        "{message}"
    );
}

/// A saved `Sequential` of layers with numeric options, as JSON text.
fn options_model() -> (String, Vec<u8>) {
    use penzai::nn::{ApplyRoPE, Dropout, RMSStandardize, TanhSoftCap};
    let model = Sequential::new()
        .then_named(
            "norm",
            RMSStandardize {
                across: vec!["x".into()],
                epsilon: 1e-6,
            },
        )
        .unwrap()
        .then_named("drop", Dropout::new(0.25).unwrap())
        .unwrap()
        .then_named("rope", ApplyRoPE::new("x", 10000.0).unwrap())
        .unwrap()
        .then_named("cap", TanhSoftCap { soft_cap: 30.0 })
        .unwrap();
    let saved = io::save_to_memory(&model).unwrap();
    (
        String::from_utf8(saved.structure).unwrap(),
        saved.parameters,
    )
}

#[test]
fn layer_options_out_of_range_are_refused_at_load_naming_the_layer() {
    // Issue 14: "epsilon": -1.0 and "max_wavelength": 0.0 loaded and gave all-NaN logits.
    let (text, parameters) = options_model();
    assert!(load(&text, parameters.clone()).is_ok());
    for (from, to, path, expected) in [
        (
            "0.000001",
            "-1.0",
            "norm",
            "option epsilon is -1, but must be a finite number greater than 0",
        ),
        (
            "0.25",
            "1.5",
            "drop",
            "option rate is 1.5, but must be a rate in [0, 1)",
        ),
        (
            "10000.0",
            "0.0",
            "rope",
            "option max_wavelength is 0, but must be a finite number greater than 0",
        ),
        (
            "30.0",
            "-30.0",
            "cap",
            "option soft_cap is -30, but must be a finite number greater than 0",
        ),
    ] {
        assert!(text.contains(from), "{from} in {text}");
        let edited = text.replacen(from, to, 1);
        let message = load(&edited, parameters.clone()).unwrap_err().to_string();
        assert!(message.contains(path), "{message}");
        assert!(message.ends_with(expected), "{message}");
    }
}
