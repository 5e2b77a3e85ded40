//! Selector queries: what each one selects, in which order, and how errors read.

mod select_fixture;

use penzai::nn::{Identity, Sequential};
use penzai::prelude::*;
use penzai::select::SelectError;
use select_fixture::{Block, Net, Scale, Shift, all, net, strs};

fn paths<R: penzai::select::SelectRoot>(s: &Selection<R>) -> Vec<String> {
    strs(s.paths())
}

#[test]
fn select_selects_the_root() {
    let s = select(net());
    assert_eq!(paths(&s), [""]);
    assert_eq!(s.get().unwrap().type_name(), "Net");
}

#[test]
fn deselect_gives_the_tree_back_unchanged() {
    let n = select(net()).at_instances_of::<Scale>().deselect();
    assert!(n.tree_eq(&net()));
}

#[test]
fn the_fixture_has_the_expected_shape() {
    assert_eq!(
        all(&net()),
        [
            "",
            "blocks",
            "blocks[0]",
            "blocks[0].norm",
            "blocks[0].norm.factor",
            "blocks[0].mlp",
            "blocks[0].mlp.by",
            "blocks[0].gate",
            "blocks[0].gate.factor",
            "blocks[0].steps",
            "blocks[0].steps.first",
            "blocks[0].steps.first.factor",
            "blocks[0].steps[1]",
            "blocks[0].steps[1].by",
            "blocks[1]",
            "blocks[1].norm",
            "blocks[1].norm.factor",
            "blocks[1].mlp",
            "blocks[1].mlp.by",
            "blocks[1].steps",
            "blocks[1].steps.first",
            "blocks[1].steps.first.factor",
            "blocks[1].steps[1]",
            "blocks[1].steps[1].by",
            "head",
            "head[0]",
            "head[0].factor",
            "head[1]",
            "head[1].by",
            "temperature",
        ]
    );
}

#[test]
fn at_instances_of_sees_through_any_layer_and_option_slots_in_tree_order() {
    let s = select(net()).at_instances_of::<Scale>();
    assert_eq!(
        paths(&s),
        [
            "blocks[0].norm",
            "blocks[0].gate",
            "blocks[0].steps.first",
            "blocks[1].norm",
            "blocks[1].steps.first",
            "head[0]",
        ]
    );
    let shifts = select(net()).at_instances_of::<Shift>();
    assert_eq!(shifts.count(), 5);
    assert_eq!(strs(&shifts.paths()[..1]), ["blocks[0].mlp"]);
}

#[test]
fn at_instances_of_stops_at_the_outermost_match_and_innermost_goes_deepest() {
    let nested = Sequential::new()
        .then(Sequential::new().then(Scale { factor: 1.0 }))
        .then(Scale { factor: 2.0 });
    let outer = select(nested.clone()).at_instances_of::<Sequential>();
    assert_eq!(paths(&outer), [""]);
    let inner = select(nested).at_innermost_instances_of::<Sequential>();
    assert_eq!(paths(&inner), ["[0]"]);
}

#[test]
fn at_instances_of_searches_inside_each_selected_node_only() {
    let s = select(net())
        .at_path("blocks[1]")
        .unwrap()
        .at_instances_of::<Scale>();
    assert_eq!(paths(&s), ["blocks[1].norm", "blocks[1].steps.first"]);
}

#[test]
fn at_instances_of_f32_finds_every_number() {
    let s = select(net()).at_instances_of::<f32>();
    assert_eq!(s.count(), 12);
    assert_eq!(strs(&s.paths()[11..]), ["temperature"]);
}

#[test]
fn at_subtrees_where_sees_absolute_paths() {
    let mut seen = Vec::new();
    let s = select(net())
        .at_path("head")
        .unwrap()
        .at_subtrees_where(|frame, node| {
            seen.push(frame.to_key_path().to_string());
            node.is::<Shift>()
        });
    assert_eq!(paths(&s), ["head[1]"]);
    assert_eq!(seen, ["head", "head[0]", "head[0].factor", "head[1]"]);
}

#[test]
fn at_subtrees_where_can_use_depth_and_values() {
    let s = select(net()).at_subtrees_where(|frame, node| {
        frame.depth() == 4 && node.downcast_ref::<f32>().is_some_and(|v| *v >= 1.0)
    });
    assert_eq!(
        paths(&s),
        [
            "blocks[0].norm.factor",
            "blocks[1].norm.factor",
            "blocks[1].mlp.by"
        ]
    );
}

#[test]
fn at_innermost_subtrees_where_picks_matches_with_no_match_below() {
    let s = select(net()).at_innermost_subtrees_where(|_, node| node.as_layer().is_some());
    assert_eq!(
        paths(&s),
        [
            "blocks[0].norm",
            "blocks[0].mlp",
            "blocks[0].gate",
            "blocks[0].steps.first",
            "blocks[0].steps[1]",
            "blocks[1].norm",
            "blocks[1].mlp",
            "blocks[1].steps.first",
            "blocks[1].steps[1]",
            "head[0]",
            "head[1]",
        ]
    );
}

#[test]
fn at_equal_selects_equal_subtrees() {
    let s = select(net()).at_equal(&Shift { by: 1.0 });
    assert_eq!(
        paths(&s),
        ["blocks[0].steps[1]", "blocks[1].mlp", "blocks[1].steps[1]"]
    );
    let list = select(vec![vec![1i64, 2], vec![3], vec![1, 2]]).at_equal(&vec![1i64, 2]);
    assert_eq!(paths(&list), ["[0]", "[2]"]);
}

#[test]
fn at_path_accepts_text_key_paths_and_typed_paths() {
    let by_text = select(net()).at_path("blocks[1].mlp").unwrap();
    let key: KeyPath = "blocks[1].mlp".parse().unwrap();
    let by_key = select(net()).at_path(&key).unwrap();
    let by_typed = select(net())
        .at_path(Net::path().blocks().at(1).mlp())
        .unwrap();
    for s in [&by_text, &by_key, &by_typed] {
        assert_eq!(paths(s), ["blocks[1].mlp"]);
    }
    assert_eq!(by_typed.get_as::<Shift>().unwrap(), &Shift { by: 1.0 });
}

#[test]
fn at_path_is_relative_to_each_selected_node() {
    let s = select(net())
        .at_instances_of::<Block>()
        .at_path("steps.first")
        .unwrap();
    assert_eq!(
        paths(&s),
        ["blocks[0].steps.first", "blocks[1].steps.first"]
    );
}

#[test]
fn at_path_reports_malformed_text_with_its_byte_offset() {
    let err = select(net()).at_path("blocks[1.mlp").unwrap_err();
    let SelectError::Parse(parse) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(parse.offset, 8);
    assert_eq!(
        err.to_string(),
        "malformed key path \"blocks[1.mlp\" at byte 8: expected ']', found '.'"
    );
}

#[test]
fn at_path_to_a_missing_node_names_where_the_lookup_stopped() {
    let err = select(net())
        .at_instances_of::<Block>()
        .at_path("gate.factor")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no node at blocks[1].gate.factor: no child .gate under blocks[1] (Block)"
    );
}

#[test]
fn at_paths_puts_results_in_tree_order_and_lets_a_shorter_prefix_win() {
    let s = select(net())
        .at_paths([
            "head[1]",
            "blocks[0].steps.first.factor",
            "blocks[0].steps",
            "head[0]",
        ])
        .unwrap();
    assert_eq!(paths(&s), ["blocks[0].steps", "head[0]", "head[1]"]);
    let err = select(net()).at_paths(["head", "tail"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no node at tail: no child .tail under the root (Net)"
    );
}

#[test]
fn at_children_selects_direct_children_and_drops_childless_nodes() {
    let s = select(net()).at_path("blocks").unwrap().at_children();
    assert_eq!(paths(&s), ["blocks[0]", "blocks[1]"]);
    let s = select(net())
        .at_paths(["head[0].factor", "head[1]"])
        .unwrap()
        .at_children();
    assert_eq!(paths(&s), ["head[1].by"]);
}

#[test]
fn at_leaves_selects_values_and_at_childless_also_empty_nodes() {
    let tree = Sequential::new()
        .then(Identity)
        .then(Sequential::new())
        .then(Shift { by: 2.0 });
    assert_eq!(paths(&select(tree.clone()).at_leaves()), ["[2].by"]);
    assert_eq!(
        paths(&select(tree).at_childless()),
        ["[0]", "[1]", "[2].by"]
    );
}

#[test]
fn where_filters_by_node_and_by_path() {
    let evens = select((0..10i64).collect::<Vec<_>>())
        .at_instances_of::<i64>()
        .where_(|_, n| n.downcast_ref::<i64>().is_some_and(|v| v % 2 == 0));
    assert_eq!(paths(&evens), ["[0]", "[2]", "[4]", "[6]", "[8]"]);
    let first_block = select(net())
        .at_instances_of::<Scale>()
        .where_(|path, _| path.to_string().starts_with("blocks[0]"));
    assert_eq!(first_block.count(), 3);
}

#[test]
fn nth_counts_from_the_start_or_from_the_end() {
    let ints = || select((0..10i64).collect::<Vec<_>>()).at_instances_of::<i64>();
    assert_eq!(paths(&ints().nth(2)), ["[2]"]);
    assert_eq!(paths(&ints().nth(-1)), ["[9]"]);
    assert_eq!(paths(&ints().nth(-2)), ["[8]"]);
    assert!(ints().nth(10).is_empty());
    assert!(ints().nth(-11).is_empty());
}

#[test]
fn invert_selects_the_maximal_subtrees_without_a_selected_node() {
    let s = select(net()).at_path("blocks[0].mlp").unwrap().invert();
    assert_eq!(
        paths(&s),
        [
            "blocks[0].norm",
            "blocks[0].gate",
            "blocks[0].steps",
            "blocks[1]",
            "head",
            "temperature"
        ]
    );
    // Penzai's second example: every element but the selected one.
    let mixed = select(vec![1i64, 2, 3, 4])
        .at_instances_of::<i64>()
        .nth(2)
        .invert();
    assert_eq!(paths(&mixed), ["[0]", "[1]", "[3]"]);
}

#[test]
fn invert_of_nothing_is_the_root_and_of_the_root_is_nothing() {
    let none = select(net()).at_instances_of::<Identity>();
    assert_eq!(paths(&none.invert()), [""]);
    assert!(select(net()).invert().is_empty());
}

#[test]
fn refine_selects_inside_each_selected_node_with_relative_paths() {
    let s = select(net())
        .at_instances_of::<Block>()
        .refine(|block| {
            let has_gate = block
                .get()?
                .child(penzai::tree::KeyRef::Field("gate"))
                .is_some();
            if has_gate {
                block.at_path("gate")
            } else {
                block.at_path("mlp")
            }
        })
        .unwrap();
    assert_eq!(paths(&s), ["blocks[0].gate", "blocks[1].mlp"]);
}

#[test]
fn refine_passes_errors_through() {
    let err = select(net())
        .at_instances_of::<Block>()
        .refine(|b| b.at_path("gate"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no node at gate: no child .gate under the root (Block)"
    );
}

#[test]
fn sizes_and_count_assertions() {
    let scales = select(net()).at_instances_of::<Scale>();
    assert_eq!(scales.count(), 6);
    assert!(!scales.is_empty());
    assert!(select(net()).at_instances_of::<Identity>().is_empty());
    let scales = scales.assert_count(6).unwrap();
    let err = scales.assert_count(2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected exactly 2 selected nodes, found 6: blocks[0].norm, blocks[0].gate, \
         blocks[0].steps.first, blocks[1].norm, blocks[1].steps.first, ..."
    );
}

#[test]
fn get_needs_exactly_one_node() {
    let err = select(net())
        .at_instances_of::<Identity>()
        .get()
        .unwrap_err();
    assert_eq!(err.to_string(), "expected exactly 1 selected node, found 0");
    let err = select(net())
        .at_path("head")
        .unwrap()
        .at_children()
        .get()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected exactly 1 selected node, found 2: head[0], head[1]"
    );
}

#[test]
fn typed_getters_name_the_node_of_the_wrong_type() {
    let s = select(net()).at_path("head[1]").unwrap();
    assert_eq!(s.get_as::<Shift>().unwrap(), &Shift { by: -1.0 });
    let err = s.get_as::<Scale>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the node at head[1] is a Shift, but Scale was expected"
    );
    let all = select(net()).at_path("head").unwrap().at_children();
    let err = all.get_all_as::<Scale>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the node at head[1] is a Shift, but Scale was expected"
    );
}

#[test]
fn get_all_and_get_by_path_return_nodes_in_tree_order() {
    let s = select(net())
        .at_instances_of::<Scale>()
        .at_path("factor")
        .unwrap();
    let values: Vec<f32> = s
        .get_all_as::<f32>()
        .unwrap()
        .into_iter()
        .copied()
        .collect();
    assert_eq!(values, [1.0, 0.5, 2.0, 2.0, 2.0, 3.0]);
    assert_eq!(s.get_all().len(), 6);
    let by_path = s.get_by_path();
    assert_eq!(by_path[1].0.to_string(), "blocks[0].gate.factor");
    assert_eq!(by_path[1].1.downcast_ref::<f32>(), Some(&0.5));
}

#[test]
fn a_borrowed_tree_can_be_queried_without_a_copy() {
    let n = net();
    let s = select(n.as_dyn()).at_instances_of::<Shift>();
    assert_eq!(s.count(), 5);
    assert!(std::ptr::eq(
        *s.tree() as *const dyn Tree as *const u8,
        &n as *const Net as *const u8
    ));
}

#[test]
fn debug_shows_the_root_type_and_paths() {
    let s = select(net()).at_path("head").unwrap();
    assert_eq!(
        format!("{s:?}"),
        "Selection { root: \"Net\", paths: [\"head\"] }"
    );
}
