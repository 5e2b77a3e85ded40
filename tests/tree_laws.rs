//! Property tests: key path text round trip, and replacing children with themselves.

use std::collections::BTreeMap;

use penzai::prelude::*;
use penzai::tree::Key;
use proptest::prelude::*;

fn arb_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        "[A-Za-z0-9_]{1,12}".prop_map(|s| Key::Field(s.into())),
        (0usize..10_000).prop_map(Key::Index),
        // Map keys may hold anything: dots, quotes, brackets, backslashes, control chars.
        any::<String>().prop_map(Key::Name),
        "[\\[\\]\\.\"\\\\ ]{0,6}".prop_map(Key::Name),
    ]
}

proptest! {
    #[test]
    fn key_path_text_round_trips(keys in prop::collection::vec(arb_key(), 0..8)) {
        let path = KeyPath::from_keys(keys);
        let text = path.to_string();
        let parsed: KeyPath = text.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(parsed, path);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        match text.parse::<KeyPath>() {
            Ok(p) => prop_assert_eq!(p.to_string().parse::<KeyPath>().ok(), Some(p)),
            Err(e) => prop_assert!(e.offset <= text.len()),
        }
    }
}

#[derive(Clone, Debug, Tree)]
struct Node {
    weight: f32,
    #[tree(skip)]
    label: String,
    children: Vec<Node>,
    extra: Option<Box<Leafy>>,
    table: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Tree)]
enum Leafy {
    Flag(bool),
    Pair { a: u8, b: String },
}

fn arb_leafy() -> impl Strategy<Value = Leafy> {
    prop_oneof![
        any::<bool>().prop_map(Leafy::Flag),
        (any::<u8>(), ".{0,4}").prop_map(|(a, b)| Leafy::Pair { a, b }),
    ]
}

fn arb_node() -> impl Strategy<Value = Node> {
    let leaf = (
        any::<f32>(),
        ".{0,3}",
        proptest::option::of(arb_leafy()),
        prop::collection::btree_map(".{0,3}", any::<i64>(), 0..3),
    )
        .prop_map(|(weight, label, extra, table)| Node {
            weight,
            label,
            children: Vec::new(),
            extra: extra.map(Box::new),
            table,
        });
    leaf.prop_recursive(4, 32, 4, |inner| {
        (any::<f32>(), prop::collection::vec(inner, 0..4)).prop_map(|(weight, children)| Node {
            weight,
            label: "inner".into(),
            children,
            extra: None,
            table: BTreeMap::new(),
        })
    })
}

proptest! {
    #[test]
    fn replacing_every_child_with_itself_gives_an_equal_tree(node in arb_node()) {
        let original = node.clone();
        let mut edited = node;
        for path in original.all_paths().into_iter().filter(|p| !p.is_empty()) {
            let same = original.get_at(&path).unwrap().clone_tree();
            edited.replace_at(&path, same).map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
            prop_assert!(edited.tree_eq(&original), "after replacing {}", path);
        }
    }

    #[test]
    fn every_visited_path_looks_up_to_the_visited_node(node in arb_node()) {
        let mut visited = Vec::new();
        node.walk(&mut |frame, n| {
            visited.push((frame.to_key_path(), n.clone_tree()));
            Walk::Continue
        });
        for (path, n) in visited {
            prop_assert!(node.get_at(&path).unwrap().tree_eq(&*n));
        }
    }
}
