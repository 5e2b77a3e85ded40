//! Selector verbs Penzai users reach for first: several types or positions at once,
//! relative-path predicates, path-driven edits, inlining, mixed-type slots, and symmetric
//! equality through wrapper slots.

mod select_fixture;

use penzai::nn::{Identity, Sequential};
use penzai::prelude::*;
use penzai::select::{SelectError, select_and_set_by_path};
use penzai::tree::AnyTree;
use select_fixture::{Scale, Shift, net, strs};

fn paths<R: penzai::select::SelectRoot>(s: &Selection<R>) -> Vec<String> {
    strs(s.paths())
}

#[test]
fn at_instances_of_any_matches_each_listed_type_outermost_first() {
    let s = select(net()).at_instances_of_any::<(Scale, Shift)>();
    let by_type = select(net())
        .at_subtrees_where(|_, n| n.is::<Scale>() || n.is::<Shift>())
        .paths()
        .to_vec();
    assert_eq!(s.paths(), by_type.as_slice());
    assert!(s.count() >= 4);
    // A one-type set is `at_instances_of`.
    assert_eq!(
        select(net()).at_instances_of_any::<(Shift,)>().paths(),
        select(net()).at_instances_of::<Shift>().paths()
    );
}

#[test]
fn pick_nth_keeps_several_positions_in_tree_order() {
    let all = select(net()).at_instances_of::<Scale>();
    let n = all.count() as isize;
    let every = paths(&all);
    let picked = all.clone().pick_nth(&[-1, 0]);
    assert_eq!(
        paths(&picked),
        [every[0].clone(), every[(n - 1) as usize].clone()]
    );
    assert_eq!(all.clone().pick_nth(&[n, -n - 1]).count(), 0);
    assert_eq!(all.clone().pick_nth(&[1, 1, 1]).count(), 1);
    assert_eq!(paths(&all.clone().pick_nth(&[-1])), paths(&all.nth(-1)));
}

#[test]
fn relative_predicates_see_paths_from_each_selected_node() {
    let blocks = select(net()).at_path("blocks").unwrap().at_children();
    let norms = blocks
        .clone()
        .at_subtrees_where_relative(|rel, _| rel.to_string() == "norm.factor");
    assert_eq!(
        paths(&norms),
        ["blocks[0].norm.factor", "blocks[1].norm.factor"]
    );
    // The selected node itself has the empty relative path.
    let themselves = blocks.at_subtrees_where_relative(|rel, _| rel.is_empty());
    assert_eq!(paths(&themselves), ["blocks[0]", "blocks[1]"]);
}

#[test]
fn set_by_path_computes_each_value_from_its_path() {
    let tree = vec![vec![0i64; 2], vec![0i64; 3]];
    let edited = select(tree)
        .at_children()
        .at_children()
        .set_by_path(|p| match p.keys() {
            [penzai::tree::Key::Index(i), penzai::tree::Key::Index(j)] => (10 * i + j) as i64,
            _ => -1,
        })
        .unwrap();
    assert_eq!(edited, [vec![0, 1], vec![10, 11, 12]]);
}

#[test]
fn select_and_set_by_path_accepts_penzai_spelled_paths() {
    let mut map = std::collections::BTreeMap::new();
    map.insert("c".to_owned(), vec![1i64, 2]);
    let edited = select_and_set_by_path(map, [("['c'][1]", 7i64)]).unwrap();
    assert_eq!(edited["c"], [1, 7]);
}

#[test]
fn select_and_set_by_path_refuses_nested_paths_and_wrong_slot_types() {
    let tree = vec![vec![1i64, 2]];
    let nested: Vec<(&str, Vec<i64>)> = vec![("[0]", vec![]), ("[0][1]", vec![])];
    let err = select_and_set_by_path(tree.clone(), nested).unwrap_err();
    assert!(matches!(
        err,
        SelectError::ValueCount {
            given: 2,
            selected: 1,
            ..
        }
    ));
    let err = select_and_set_by_path(tree, [("[0][0]", "x".to_owned())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a String at [0][0]: the slot expects i64"
    );
}

#[test]
fn apply_and_inline_replaces_one_element_with_several_or_none() {
    let tree = vec![vec![1i64, 2, 3], vec![4]];
    let edited = select(tree)
        .at_children()
        .at_children()
        .apply_and_inline(|x: i64| match x {
            2 => vec![],
            3 => vec![30, 31, 32],
            other => vec![other],
        })
        .unwrap();
    assert_eq!(edited, [vec![1, 30, 31, 32], vec![4]]);
}

#[test]
fn apply_and_inline_splices_layers_into_a_sequential() {
    let seq = Sequential::new().then(Scale { factor: 2.0 }).then(Identity);
    let edited = select(seq)
        .at_instances_of::<Scale>()
        .apply_and_inline(|s: Scale| {
            vec![
                AnyLayer::new(Shift { by: 1.0 }),
                AnyLayer::new(s),
                AnyLayer::new(Shift { by: -1.0 }),
            ]
        })
        .unwrap();
    let names: Vec<&str> = select(edited.as_dyn())
        .at_children()
        .get_all()
        .iter()
        .map(|n| n.type_name())
        .collect();
    assert_eq!(names, ["Shift", "Scale", "Shift", "Identity"]);
}

#[test]
fn apply_and_inline_outside_a_sequence_names_the_parent() {
    let err = select(net())
        .at_path("blocks[0].norm")
        .unwrap()
        .apply_and_inline(|s: Scale| vec![s])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot inline at blocks[0].norm: its parent Block is not a sequence, so the node \
         cannot be replaced by several; use `apply` to replace it by one"
    );
    let err = select(vec![1i64])
        .apply_and_inline(|v: Vec<i64>| vec![v])
        .unwrap_err();
    assert!(matches!(err, SelectError::Inline { parent: None, .. }));
}

#[test]
fn map_indexed_keeps_the_selection_and_numbers_the_nodes() {
    let s = select(vec![5i64, 5, 5])
        .at_children()
        .map_indexed(|i, x: i64| x + i as i64)
        .unwrap();
    assert_eq!(s.count(), 3);
    assert_eq!(s.deselect(), [5, 6, 7]);
}

#[test]
fn any_tree_slots_hold_values_of_any_type() {
    let tree = vec![AnyTree::new(1i64), AnyTree::new(2i64), AnyTree::new(3i64)];
    // A placeholder string in a list of ints, as Penzai's tests do.
    let marked = select(tree.clone())
        .at_equal(&2i64)
        .set("placeholder".to_owned())
        .unwrap();
    assert_eq!(
        select(marked.as_dyn()).at_instances_of::<String>().paths(),
        ["[1]".parse::<KeyPath>().unwrap()]
    );
    // Whole subtrees fit as well, and stay traversable.
    let nested = select(tree)
        .at_path("[0]")
        .unwrap()
        .set(vec![Scale { factor: 3.0 }])
        .unwrap();
    assert_eq!(
        paths(&select(nested.as_dyn()).at_instances_of::<Scale>()),
        ["[0][0]"]
    );
    // A typed slot still refuses, and says what would accept the value.
    let err = select(vec![1i64])
        .at_path("[0]")
        .unwrap()
        .set("x".to_owned());
    assert_eq!(
        err.unwrap_err().to_string(),
        "cannot put a String at [0]: the slot expects i64"
    );
}

#[test]
fn tree_eq_is_symmetric_through_wrapper_slots() {
    assert!(Some(1i64).tree_eq(&1i64));
    assert!(1i64.tree_eq(&Some(1i64)));
    assert!(Box::new(2i64).tree_eq(&2i64) && 2i64.tree_eq(&Box::new(2i64)));
    assert!(AnyTree::new(3i64).tree_eq(&3i64) && 3i64.tree_eq(&AnyTree::new(3i64)));
    assert!(!1i64.tree_eq(&None::<i64>));
    assert!(vec![1i64].tree_eq(&Some(vec![1i64])));
    let s = Scale { factor: 1.0 };
    assert!(s.tree_eq(&Some(s.clone())) && Some(s.clone()).tree_eq(&s));
    // So selecting by an equal template finds the plain value.
    let found = select(vec![1i64, 2]).at_equal(&Some(1i64));
    assert_eq!(paths(&found), ["[0]"]);
}

#[test]
fn penzai_spelled_key_paths_select() {
    let mut map = std::collections::BTreeMap::new();
    map.insert("value".to_owned(), vec![1i64, 2]);
    let tree = vec![map];
    let s = select(tree).at_path("[0]['value'][1]").unwrap();
    assert_eq!(s.get_as::<i64>().unwrap(), &2);
}
