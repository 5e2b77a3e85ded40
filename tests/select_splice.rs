//! Structural edits: inserting next to selected nodes and removing them.

mod select_fixture;

use penzai::nn::{Identity, Linear, Sequential};
use penzai::prelude::*;
use select_fixture::{Block, Scale, Shift, all, block, lists, multiples_of_4, net, strs};

#[test]
fn insert_before_and_after_add_siblings_in_sequences() {
    let before = multiples_of_4(lists()).insert_before(-1i64).unwrap();
    assert_eq!(before.a, [-1, 0, 1, 2, 3, -1, 4, 5, 6, 7, -1, 8, 9]);
    assert_eq!(before.b, [10, 11, -1, 12, 13, 14, 15, -1, 16, 17, 18, 19]);
    let after = multiples_of_4(lists()).insert_after(-1i64).unwrap();
    assert_eq!(after.a, [0, -1, 1, 2, 3, 4, -1, 5, 6, 7, 8, -1, 9]);
    assert_eq!(after.b, [10, 11, 12, -1, 13, 14, 15, 16, -1, 17, 18, 19]);
}

#[test]
fn insert_and_select_returns_the_inserted_nodes_in_the_new_tree() {
    let s = multiples_of_4(lists())
        .insert_after_and_select(-1i64)
        .unwrap();
    assert_eq!(strs(s.paths()), ["a[1]", "a[6]", "a[11]", "b[3]", "b[8]"]);
    assert!(s.get_all_as::<i64>().unwrap().iter().all(|v| **v == -1));
    let s = multiples_of_4(lists())
        .insert_before_and_select(-1i64)
        .unwrap();
    assert_eq!(strs(s.paths()), ["a[0]", "a[5]", "a[10]", "b[2]", "b[7]"]);
}

#[test]
fn inserting_a_value_the_sequence_refuses_names_the_slot() {
    // The first site in tree order (`a[0]`) is where the edit stops.
    let err = multiples_of_4(lists()).insert_after(Identity).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Identity at a[1]: the slot expects i64"
    );
}

#[test]
fn insert_in_named_steps_adds_an_unnamed_sibling_and_keeps_names() {
    let n = select(net())
        .at_path("blocks[0].steps.first")
        .unwrap()
        .insert_after(Identity)
        .unwrap();
    let steps: Vec<String> = strs(
        select(n.as_dyn())
            .at_path("blocks[0].steps")
            .unwrap()
            .at_children()
            .paths(),
    );
    assert_eq!(
        steps,
        [
            "blocks[0].steps.first",
            "blocks[0].steps[1]",
            "blocks[0].steps[2]"
        ]
    );
    assert!(
        n.blocks[0]
            .steps
            .steps
            .iter()
            .nth(1)
            .unwrap()
            .layer
            .downcast_ref::<Identity>()
            .is_some()
    );
    let s = select(net())
        .at_instances_of::<Sequential>()
        .at_children()
        .insert_before_and_select(Identity)
        .unwrap();
    assert_eq!(
        strs(s.paths()),
        [
            "blocks[0].steps[0]",
            "blocks[0].steps[2]",
            "blocks[1].steps[0]",
            "blocks[1].steps[2]",
            "head[0]",
            "head[2]"
        ]
    );
    assert!(s.get_all_as::<Identity>().is_ok());
}

#[test]
fn insert_next_to_a_layer_in_an_any_layer_slot_wraps_it_in_a_sequential() {
    let s = select(net())
        .at_path("blocks[1].mlp")
        .unwrap()
        .insert_before_and_select(Identity)
        .unwrap();
    assert_eq!(strs(s.paths()), ["blocks[1].mlp[0]"]);
    let n = s.deselect();
    let mut expected = block(1);
    expected.mlp = AnyLayer::new(Sequential::new().then(Identity).then(Shift { by: 1.0 }));
    assert!(n.blocks[1].as_dyn().tree_eq(&expected));
    assert!(n.blocks[0].as_dyn().tree_eq(&block(0)));
}

#[test]
fn insert_next_to_a_layer_in_a_typed_slot_says_why_not() {
    let err = select(net())
        .at_path("blocks[0].gate")
        .unwrap()
        .insert_after(Identity)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot insert next to blocks[0].gate: its parent Block is not a sequence, and the \
         slot only accepts Scale, so it cannot be wrapped in a Sequential"
    );
}

#[test]
fn insert_next_to_a_non_layer_or_with_a_non_layer_value_says_why_not() {
    let err = select(net())
        .at_path("temperature")
        .unwrap()
        .insert_after(Identity)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot insert next to temperature: it is a f32, not a layer, and its parent Net is \
         not a sequence"
    );
    let err = select(net())
        .at_path("head")
        .unwrap()
        .insert_after(2.0f32)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot insert next to head: its parent is not a sequence, and the inserted f32 is not \
         a layer, so the two cannot be wrapped in a Sequential"
    );
}

#[test]
fn insert_next_to_the_root_wraps_it_when_the_root_type_allows() {
    let wrapped = select(AnyLayer::new(Shift { by: 1.0 }))
        .insert_after_and_select(Identity)
        .unwrap();
    assert_eq!(strs(wrapped.paths()), ["[1]"]);
    assert_eq!(all(wrapped.tree()), ["", "[0]", "[0].by", "[1]"]);
    let err = select(net()).insert_after(Identity).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot insert next to the root: it is the root, and the root's type (Net) cannot hold \
         a Sequential"
    );
}

#[test]
fn insert_after_with_makes_a_fresh_value_per_site_from_the_original_path() {
    let n = select(net())
        .at_instances_of::<Block>()
        .at_path("norm")
        .unwrap()
        .insert_after_with(|path, _| Shift {
            by: path.to_string().len() as f32,
        });
    // `norm` is a typed slot: nothing changes, and the error names the first site.
    assert_eq!(
        n.unwrap_err().to_string(),
        "cannot insert next to blocks[0].norm: its parent Block is not a sequence, and the slot \
         only accepts Scale, so it cannot be wrapped in a Sequential"
    );
    let n = select(net())
        .at_instances_of::<Shift>()
        .insert_after_with(|path, _| Scale {
            factor: path.len() as f32,
        })
        .unwrap();
    let factors: Vec<(String, f32)> = select(n.as_dyn())
        .at_instances_of::<Scale>()
        .get_by_path()
        .into_iter()
        .map(|(p, s)| (p.to_string(), s.downcast_ref::<Scale>().unwrap().factor))
        .filter(|(p, _)| p.ends_with("[1]") || p.ends_with("[2]"))
        .collect();
    assert_eq!(
        factors,
        [
            ("blocks[0].mlp[1]".to_owned(), 3.0),
            ("blocks[0].steps[2]".to_owned(), 4.0),
            ("blocks[1].mlp[1]".to_owned(), 3.0),
            ("blocks[1].steps[2]".to_owned(), 4.0),
            ("head[2]".to_owned(), 2.0),
        ]
    );
}

#[test]
fn remove_takes_elements_out_of_their_sequences() {
    let n = multiples_of_4(lists()).remove().unwrap();
    assert_eq!(n.a, [1, 2, 3, 5, 6, 7, 9]);
    assert_eq!(n.b, [10, 11, 13, 14, 15, 17, 18, 19]);
    let n = select(net())
        .at_path("blocks")
        .unwrap()
        .at_children()
        .nth(0)
        .remove()
        .unwrap();
    assert_eq!(n.blocks.len(), 1);
    assert!(n.blocks[0].as_dyn().tree_eq(&block(1)));
}

#[test]
fn remove_keeps_the_names_of_the_remaining_steps() {
    let n = select(net())
        .at_path("blocks[0].steps[1]")
        .unwrap()
        .remove()
        .unwrap();
    assert_eq!(
        strs(&n.blocks[0].steps.all_paths()),
        ["", "first", "first.factor"]
    );
    let n = select(net())
        .at_path("blocks[0].steps.first")
        .unwrap()
        .remove()
        .unwrap();
    assert_eq!(strs(&n.blocks[0].steps.all_paths()), ["", "[0]", "[0].by"]);
}

#[test]
fn remove_outside_a_sequence_is_refused() {
    let err = select(net()).at_path("head").unwrap().remove().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot remove head: its parent Net is not a sequence; replace the node instead (e.g. \
         `.set(Identity)`)"
    );
    let err = select(net()).remove().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot remove the root: the root has no parent"
    );
}

#[test]
fn insert_after_every_linear_adds_a_branch_where_chain_after_wraps() {
    use penzai::models::{LlamaConfig, TransformerLm};
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let gate_up = "blocks[0].mlp.delta.ffn.gate_up.branches";
    // Like Penzai's lists, a `Vec` of branches gets a sibling: a third branch.
    let inserted = select(model.clone())
        .at_instances_of::<Linear>()
        .insert_after(Identity)
        .unwrap();
    let branches = select(inserted.as_dyn())
        .at_path(gate_up)
        .unwrap()
        .at_children();
    assert_eq!(branches.count(), 3);
    // `chain_after_with` wraps there instead, and keeps the model's function.
    let chained = select(model.clone())
        .at_instances_of::<Linear>()
        .chain_after_with(|_, _| Identity)
        .unwrap();
    let branches = select(chained.as_dyn())
        .at_path(gate_up)
        .unwrap()
        .at_children();
    assert_eq!(
        strs(branches.paths()),
        [format!("{gate_up}[0]"), format!("{gate_up}[1]")]
    );
    // In a pipeline (the query's Sequential) it adds a sibling.
    let query = select(chained.as_dyn())
        .at_path("blocks[0].attn.delta.attention.query")
        .unwrap()
        .at_children();
    assert_eq!(
        strs(query.paths()),
        [
            "blocks[0].attn.delta.attention.query.proj",
            "blocks[0].attn.delta.attention.query[1]",
            "blocks[0].attn.delta.attention.query.rope",
            "blocks[0].attn.delta.attention.query.scale"
        ]
    );
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3]).unwrap();
    let a = model.call(tokens.clone(), &mut Context::new()).unwrap();
    let b = chained.call(tokens, &mut Context::new()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn insert_before_with_makes_a_value_per_site_in_tree_order() {
    let mut calls = Vec::new();
    let n = multiples_of_4(lists())
        .insert_before_with(|path, node| {
            calls.push(path.to_string());
            -node.downcast_ref::<i64>().copied().unwrap_or(0) - 100
        })
        .unwrap();
    assert_eq!(calls, ["a[0]", "a[4]", "a[8]", "b[2]", "b[6]"]);
    assert_eq!(n.a, [-100, 0, 1, 2, 3, -104, 4, 5, 6, 7, -108, 8, 9]);
}

#[test]
fn chain_before_feeds_the_node_and_chain_after_reads_its_output() {
    let n = select(net())
        .at_path("blocks[0].mlp")
        .unwrap()
        .chain_before(Scale { factor: 10.0 })
        .unwrap();
    assert_eq!(
        all(&n.blocks[0].mlp),
        ["", "[0]", "[0].factor", "[1]", "[1].by"]
    );
    let n = select(net())
        .at_path("blocks[0].steps.first")
        .unwrap()
        .chain_after(Identity)
        .unwrap();
    assert_eq!(
        strs(&n.blocks[0].steps.all_paths()),
        ["", "first", "first.factor", "[1]", "[2]", "[2].by"]
    );
    let err = select(net())
        .at_path("blocks[0].norm")
        .unwrap()
        .chain_after(Identity)
        .unwrap_err();
    assert!(matches!(err, penzai::select::SelectError::Insert { .. }));
}
