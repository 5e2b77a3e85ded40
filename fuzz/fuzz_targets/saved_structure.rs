//! Structure-aware saved models: the reference model's structure JSON (every built-in layer
//! type) edited by a generated list of changes: numbers set to edge values (0, 2^63, -1,
//! 3e38, ...), shapes set to edge dimensions, strings made long or hostile, type tags
//! swapped, fields added or dropped. The parameters file is rebuilt to agree with every
//! shape the edited structure declares (when its data is small), so loading gets past the
//! tensor checks and into the layers' own validation. Loading must fail with an error or
//! give a model that saves again, reloads equal, and runs (or refuses to) without a panic.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use penzai_fuzz::extreme::{Dim, Number, Text};
use penzai_fuzz::reference_model;
use penzai_runtime::io::{self, SavedModel};
use penzai_runtime::nn::{AnyLayer, Context};
use penzai_runtime::nx::NamedArray;
use penzai_runtime::tree::Tree;
use serde_json::Value;

static REFERENCE: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_slice(&reference_model().structure).expect("the reference structure is JSON")
});
static TYPE_NAMES: LazyLock<Vec<String>> = LazyLock::new(io::registered_layers);

#[derive(Arbitrary, Debug)]
struct Input {
    edits: Vec<Edit>,
    run_tokens: bool,
}

#[derive(Arbitrary, Debug)]
struct Edit {
    /// Which node, in depth-first order (modulo the node count).
    at: u16,
    change: Change,
}

#[derive(Arbitrary, Debug)]
enum Change {
    Number(Number),
    Shape(Vec<Dim>),
    Text(Text),
    TypeName(u8),
    UnknownField(Text),
    DropField(u8),
    Null,
}

/// JSON pointers to every node, depth-first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(root: &mut Value, edit: &Edit) {
    let mut all = Vec::new();
    pointers(root, String::new(), &mut all);
    let at = &all[usize::from(edit.at) % all.len()];
    let Some(node) = root.pointer_mut(at) else {
        return;
    };
    match &edit.change {
        Change::Number(n) => {
            if node.is_number() {
                if let Ok(v) = serde_json::from_str(&n.json()) {
                    *node = v;
                }
            }
        }
        Change::Shape(dims) => {
            if let Some(shape) = node.get_mut("shape") {
                *shape = dims.iter().take(6).map(|d| Value::from(d.value())).collect();
            }
        }
        Change::Text(t) => {
            if node.is_string() {
                *node = Value::String(t.value());
            }
        }
        Change::TypeName(k) => {
            if let Some(ty) = node.get_mut("type") {
                *ty = Value::String(TYPE_NAMES[usize::from(*k) % TYPE_NAMES.len()].clone());
            }
        }
        Change::UnknownField(t) => {
            if let Some(m) = node.as_object_mut() {
                m.insert(t.value(), Value::from(1));
            }
        }
        Change::DropField(k) => {
            if let Some(m) = node.as_object_mut()
                && !m.is_empty()
            {
                let key = m.keys().nth(usize::from(*k) % m.len()).cloned();
                if let Some(key) = key {
                    m.remove(&key);
                }
            }
        }
        Change::Null => *node = Value::Null,
    }
}

/// Every tensor reference in the structure: name -> (dtype, shape), first one wins.
fn references(v: &Value, out: &mut BTreeMap<String, (String, Vec<u64>)>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(t)), Some(Value::String(d)), Some(Value::Array(s))) =
                (m.get("tensor"), m.get("dtype"), m.get("shape"))
            {
                let shape = s.iter().filter_map(Value::as_u64).collect();
                out.entry(t.clone()).or_insert((d.clone(), shape));
            }
            m.values().for_each(|c| references(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| references(c, out)),
        _ => {}
    }
}

/// A parameters file holding every referenced tensor with its declared shape (data of small
/// values when at most 64 KiB, else no data, which the header refuses).
fn parameters(refs: &BTreeMap<String, (String, Vec<u64>)>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    for (name, (dtype, shape)) in refs {
        let (st, size) = match dtype.as_str() {
            "i64" => ("I64", 8u64),
            "bool" => ("BOOL", 1),
            _ => ("F32", 4),
        };
        let bytes = shape.iter().try_fold(size, |a, &b| a.checked_mul(b));
        let begin = data.len() as u64;
        if let Some(n) = bytes.filter(|&n| n <= 1 << 16) {
            // Small positive values are valid as floats, ids (0) and bools (0).
            let fill: &[u8] = match st {
                "F32" => &0.25f32.to_le_bytes(),
                _ => &[0],
            };
            data.extend(fill.iter().cycle().take(n as usize));
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": st, "shape": shape, "data_offsets": [begin, data.len()]}),
        );
    }
    let text = Value::Object(header).to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&data);
    out
}

fuzz_target!(|input: Input| {
    let mut structure = REFERENCE.clone();
    for edit in input.edits.iter().take(8) {
        apply(&mut structure, edit);
    }
    let mut refs = BTreeMap::new();
    references(&structure, &mut refs);
    let saved = SavedModel {
        structure: structure.to_string().into_bytes(),
        parameters: parameters(&refs),
    };
    let Ok(model) = io::load_from_memory::<AnyLayer>(saved) else {
        return;
    };
    let again = io::save_to_memory(&model).expect("a loaded model saves again");
    let back = io::load_from_memory::<AnyLayer>(again).expect("a re-saved model loads");
    assert!(back.tree_eq(&model), "a re-saved model reloads equal");
    let input = if input.run_tokens {
        NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![0, 1, 2])
    } else {
        NamedArray::full(&[("batch", 1), ("seq", 3), ("embedding", 4)], 0.5)
    };
    let _ = Context::new().run(model.get(), input.expect("a small input"));
});
