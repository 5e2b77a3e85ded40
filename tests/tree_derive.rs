//! Behaviour of `#[derive(Tree)]`: children, keys, replacement, equality, typed paths.

use std::collections::BTreeMap;

use penzai::prelude::*;
use penzai::tree::{Key, KeyRef};

#[derive(Clone, Debug, PartialEq, Tree)]
struct Scale {
    factor: f32,
    #[tree(skip)]
    note: String,
}

impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

#[derive(Clone, Debug, PartialEq, Tree)]
struct Shift(f32);

impl Layer for Shift {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

#[derive(Clone, Debug, Tree)]
struct Block {
    #[tree(rename = "attention")]
    attn: Scale,
    mlp: AnyLayer,
    norm: Option<Scale>,
    #[tree(leaf)]
    window: [usize; 2],
}

#[derive(Clone, Debug, Tree)]
struct Model {
    blocks: Vec<Block>,
    params: BTreeMap<String, f32>,
    #[tree(skip)]
    name: &'static str,
}

#[derive(Clone, Debug, PartialEq, Tree)]
struct Unit;

#[derive(Clone, Debug, PartialEq, Tree)]
enum Activation {
    Relu,
    Leaky { slope: f32 },
    Custom(Scale, #[tree(skip)] u8),
}

#[derive(Clone, Debug, PartialEq, Tree)]
struct Pair<A, B> {
    left: A,
    right: B,
    #[tree(skip)]
    tag: u32,
}

fn block(i: usize) -> Block {
    Block {
        attn: Scale {
            factor: i as f32,
            note: "attn".into(),
        },
        mlp: AnyLayer::new(Shift(i as f32)),
        norm: if i.is_multiple_of(2) {
            Some(Scale {
                factor: 1.0,
                note: "norm".into(),
            })
        } else {
            None
        },
        window: [i, i + 1],
    }
}

fn model() -> Model {
    Model {
        blocks: (0..3).map(block).collect(),
        params: [("a.b".to_owned(), 1.0), ("c".to_owned(), 2.0)]
            .into_iter()
            .collect(),
        name: "test",
    }
}

fn keys(node: &dyn Tree) -> Vec<String> {
    let mut out = Vec::new();
    node.visit_children(&mut |k, _| out.push(k.to_string()));
    out
}

#[test]
fn children_are_visited_in_field_order_with_their_keys() {
    let m = model();
    assert_eq!(keys(&m), [".blocks", ".params"]);
    assert_eq!(
        keys(&m.blocks[0]),
        [".attention", ".mlp", ".norm", ".window"]
    );
    // An absent Option has no child.
    assert_eq!(keys(&m.blocks[1]), [".attention", ".mlp", ".window"]);
    assert_eq!(keys(&m.params), ["[\"a.b\"]", "[\"c\"]"]);
}

#[test]
fn type_names_are_short_and_slots_are_transparent() {
    let m = model();
    let mlp = m.get_at(&"blocks[0].mlp".parse().unwrap()).unwrap();
    assert_eq!(mlp.type_name(), "Shift");
    assert!(mlp.is::<Shift>());
    let norm = m.get_at(&"blocks[0].norm".parse().unwrap()).unwrap();
    assert_eq!(norm.downcast_ref::<Scale>().unwrap().note, "norm");
    assert_eq!(m.type_name(), "Model");
}

#[test]
fn all_paths_in_pre_order() {
    let m = Model {
        blocks: vec![block(1)],
        params: BTreeMap::new(),
        name: "x",
    };
    let paths: Vec<String> = m.all_paths().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        paths,
        [
            "",
            "blocks",
            "blocks[0]",
            "blocks[0].attention",
            "blocks[0].attention.factor",
            "blocks[0].mlp",
            "blocks[0].mlp.0",
            "blocks[0].window",
            "params",
        ]
    );
}

#[test]
fn replacement_is_type_checked_and_names_the_path() {
    let mut m = model();
    let path: KeyPath = "blocks[2].attention".parse().unwrap();
    let err = m.replace_at(&path, Box::new(Shift(3.0))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Shift at blocks[2].attention: the slot expects Scale"
    );
    // An AnyLayer slot takes any layer, but not a non-layer.
    let mlp: KeyPath = "blocks[2].mlp".parse().unwrap();
    m.replace_at(
        &mlp,
        Box::new(Scale {
            factor: 9.0,
            note: String::new(),
        }),
    )
    .unwrap();
    assert_eq!(m.get_at(&mlp).unwrap().type_name(), "Scale");
    let err = m.replace_at(&mlp, Box::new(5.0f32)).unwrap_err();
    assert_eq!(
        err,
        TreeError::TypeMismatch {
            path: mlp.clone(),
            expected: "any layer".into(),
            given: "f32"
        }
    );
    // Option slots take the bare value.
    let norm: KeyPath = "blocks[1].norm".parse().unwrap();
    assert!(m.get_at(&norm).is_err());
    let mut direct = m.blocks[1].clone();
    direct
        .replace_child(
            KeyRef::Field("norm"),
            Box::new(Scale {
                factor: 2.0,
                note: String::new(),
            }),
        )
        .unwrap();
    assert_eq!(direct.norm.as_ref().unwrap().factor, 2.0);
    // Opaque leaves accept their own type.
    let window: KeyPath = "blocks[0].window".parse().unwrap();
    m.replace_at(&window, Box::new(penzai::tree::OpaqueLeaf([7usize, 8])))
        .unwrap();
    assert_eq!(m.blocks[0].window, [7, 8]);
    let err = m.replace_at(&window, Box::new(1usize)).unwrap_err();
    assert!(
        err.to_string().contains("the slot expects [usize; 2]"),
        "{err}"
    );
}

#[test]
fn lookups_of_missing_children_name_the_node() {
    let m = model();
    let err = m
        .get_at(&"blocks[1].norm.factor".parse().unwrap())
        .unwrap_err();
    assert_eq!(err.to_string(), "no child .norm under blocks[1] (Block)");
    let err = m.get_at(&"blocks[7]".parse().unwrap()).unwrap_err();
    assert_eq!(err.to_string(), "no child [7] under blocks (Vec)");
    let err = m.get_at(&"nope".parse().unwrap()).unwrap_err();
    assert_eq!(err.to_string(), "no child .nope under the root (Model)");
}

#[test]
fn sequences_support_insert_and_remove_with_type_checks() {
    let mut m = model();
    let seq: KeyPath = "blocks".parse().unwrap();
    m.insert_at(&seq, 1, Box::new(block(9))).unwrap();
    assert_eq!(m.blocks.len(), 4);
    assert_eq!(m.blocks[1].attn.factor, 9.0);
    let removed = m.remove_at(&"blocks[1]".parse().unwrap()).unwrap();
    assert_eq!(removed.downcast_ref::<Block>().unwrap().attn.factor, 9.0);
    let err = m.insert_at(&seq, 0, Box::new(Unit)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Unit at blocks[0]: the slot expects Block"
    );
    let err = m.insert_at(&seq, 10, Box::new(block(0))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "position 10 is out of range for the sequence at blocks (length 3)"
    );
    let err = m
        .remove_at(&"blocks[0].attention".parse().unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "blocks[0] (Block) is not a sequence: elements can only be inserted into or removed from sequences"
    );
}

#[test]
fn equality_covers_children_static_fields_and_leaves() {
    let a = model();
    let b = model();
    assert!(a.tree_eq(&b));
    let mut c = model();
    c.blocks[0].attn.note = "changed".into();
    assert!(!a.tree_eq(&c), "static fields take part in equality");
    let mut d = model();
    d.blocks[2].window = [0, 0];
    assert!(!a.tree_eq(&d));
    let mut e = model();
    e.name = "other";
    assert!(!a.tree_eq(&e));
    assert!(!a.tree_eq(&Unit));
}

#[test]
fn clone_as_trait_object_and_downcast() {
    let m = model();
    let boxed: Box<dyn Tree> = m.clone_tree();
    assert!(boxed.tree_eq(&m));
    let back = boxed.downcast::<Model>().ok().unwrap();
    assert_eq!(back.blocks.len(), 3);
    let as_dyn: &dyn Tree = &m;
    assert!(as_dyn.downcast_ref::<Block>().is_none());
}

#[test]
fn layers_are_detected_through_their_layer_impl() {
    let s = Scale {
        factor: 1.0,
        note: String::new(),
    };
    assert!(s.as_layer().is_some());
    assert!(model().as_layer().is_none());
    let boxed: Box<dyn Tree> = Box::new(Shift(1.0));
    assert!(boxed.into_layer().is_ok());
    let boxed: Box<dyn Tree> = Box::new(Unit);
    assert!(boxed.into_layer().is_err());
}

#[test]
fn enums_expose_the_fields_of_their_current_variant() {
    let a = Activation::Leaky { slope: 0.1 };
    assert_eq!(a.type_name(), "Activation::Leaky");
    assert_eq!(keys(&a), [".slope"]);
    let c = Activation::Custom(
        Scale {
            factor: 2.0,
            note: String::new(),
        },
        7,
    );
    assert_eq!(keys(&c), [".0"]);
    let mut statics = Vec::new();
    c.visit_static_fields(&mut |name, v| statics.push(format!("{name}={v:?}")));
    assert_eq!(statics, ["1=7"]);
    assert_eq!(keys(&Activation::Relu), Vec::<String>::new());
    let mut r = Activation::Relu;
    let err = r
        .replace_child(KeyRef::Field("slope"), Box::new(1.0f32))
        .unwrap_err();
    assert!(format!("{err:?}").contains("Activation::Relu has no child .slope"));
    let mut l = a.clone();
    l.replace_child(KeyRef::Field("slope"), Box::new(0.5f32))
        .unwrap();
    assert_eq!(l, Activation::Leaky { slope: 0.5 });
    assert!(!a.tree_eq(&Activation::Relu));
}

#[test]
fn generic_types_derive_with_inferred_bounds() {
    let p = Pair {
        left: 1.0f32,
        right: Shift(2.0),
        tag: 1,
    };
    assert_eq!(keys(&p), [".left", ".right"]);
    let path = Pair::<f32, Shift>::path().right();
    assert_eq!(path.to_string(), "right");
    assert!(p.tree_eq(&p.clone()));
}

#[test]
fn typed_paths_are_built_by_the_compiler() {
    let p: KeyPath = Model::path().blocks().at(2).attention().factor().into();
    assert_eq!(p.to_string(), "blocks[2].attention.factor");
    let q: KeyPath = Model::path().params().key("a.b").into();
    assert_eq!(q.to_string(), r#"params["a.b"]"#);
    // Option fields path straight into the value; AnyLayer slots take any key.
    let r: KeyPath = Model::path().blocks().at(0).norm().factor().into();
    assert_eq!(r.to_string(), "blocks[0].norm.factor");
    let s: KeyPath = Model::path().blocks().at(0).mlp().field("0").into();
    assert_eq!(s.to_string(), "blocks[0].mlp.0");
    let t: KeyPath = Shift::path()._0().into();
    assert_eq!(t.to_string(), "0");
    let u: KeyPath = Activation::path().leaky_slope().into();
    assert_eq!(u.to_string(), "slope");
    let m = model();
    assert_eq!(
        m.get_at(&Model::path().blocks().at(2).attention().factor().into())
            .unwrap()
            .downcast_ref::<f32>(),
        Some(&2.0)
    );
    let _ = Key::field("unused");
}

#[test]
fn mutable_traversal_reaches_every_node() {
    let mut m = model();
    m.walk_mut(&mut |_, node| {
        if let Some(x) = node.downcast_mut::<f32>() {
            *x += 100.0;
        }
        Walk::Continue
    });
    assert_eq!(m.blocks[2].attn.factor, 102.0);
    assert_eq!(m.params["c"], 102.0);
    let shift = m.blocks[1].mlp.downcast_ref::<Shift>().unwrap();
    assert_eq!(shift.0, 101.0);
}

#[test]
fn derived_types_display_as_treescope_text() {
    let text = model().to_string();
    assert!(text.starts_with("Model"), "{text}");
    assert!(text.contains("blocks"), "{text}");
    assert_eq!(text, penzai::treescope::to_text_plain(&model()));
}

#[derive(Clone, Tree)]
#[tree(no_display)]
struct OwnDisplay(f32);

impl std::fmt::Display for OwnDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "own {}", self.0)
    }
}

#[test]
fn no_display_leaves_display_to_the_type() {
    assert_eq!(OwnDisplay(1.5).to_string(), "own 1.5");
}
