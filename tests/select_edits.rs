//! Selector edits: exact resulting trees, and how refused edits read.

mod select_fixture;

use penzai::nn::{Identity, Layer, Linear, Parameter, Sequential};
use penzai::prelude::*;
use penzai::select::SelectError;
use select_fixture::{Block, Net, Scale, Shift, all, block, net, strs};

#[derive(Clone, Debug, PartialEq, Tree)]
struct Lists {
    a: Vec<i64>,
    b: Vec<i64>,
}

fn lists() -> Lists {
    Lists {
        a: (0..10).collect(),
        b: (10..20).collect(),
    }
}

fn multiples_of_4(l: Lists) -> Selection<Lists> {
    select(l)
        .at_instances_of::<i64>()
        .where_(|_, n| n.downcast_ref::<i64>().is_some_and(|v| v % 4 == 0))
}

#[test]
fn apply_replaces_each_node_with_the_closure_result() {
    let n = select(net())
        .at_instances_of::<Scale>()
        .apply(|s: Scale| Scale {
            factor: s.factor * 10.0,
        })
        .unwrap();
    assert_eq!(n.blocks[0].norm.factor, 10.0);
    assert_eq!(n.blocks[0].gate.as_ref().unwrap().factor, 5.0);
    assert_eq!(
        n.blocks[1]
            .steps
            .steps
            .iter()
            .next()
            .unwrap()
            .layer
            .downcast_ref::<Scale>(),
        Some(&Scale { factor: 20.0 })
    );
    // Everything else is untouched.
    assert_eq!(
        n.blocks[1].mlp.downcast_ref::<Shift>(),
        Some(&Shift { by: 1.0 })
    );
}

#[test]
fn apply_may_return_another_layer_type_where_the_slot_takes_any_layer() {
    let n = select(net())
        .at_instances_of::<Shift>()
        .apply(|s: Shift| Sequential::new().then(s).then(Identity))
        .unwrap();
    assert_eq!(n.head.get().type_name(), "Sequential");
    let wrapped = select(n.as_dyn()).at_path("head[1][1]").unwrap();
    assert!(wrapped.get().unwrap().is::<Identity>());
    assert_eq!(select(n.as_dyn()).at_instances_of::<Identity>().count(), 5);
}

#[test]
fn apply_into_a_typed_slot_names_the_slot_and_its_type() {
    let err = select(net())
        .at_path("blocks[1].norm")
        .unwrap()
        .apply(|s: Scale| Shift { by: s.factor })
        .unwrap_err();
    assert_eq!(
        err,
        SelectError::SlotType {
            path: "blocks[1].norm".parse().unwrap(),
            expected: "Scale".into(),
            given: "Shift",
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot put a Shift at blocks[1].norm: the slot expects Scale"
    );
}

#[test]
fn apply_with_a_closure_of_the_wrong_type_names_the_node() {
    let err = select(net())
        .at_path("head")
        .unwrap()
        .at_children()
        .apply(|s: Scale| s)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the node at head[1] is a Shift, but Scale was expected"
    );
}

#[test]
fn apply_takes_any_node_or_any_layer() {
    let n = select(net())
        .at_path("head")
        .unwrap()
        .at_children()
        .apply(|l: Box<dyn Layer>| Sequential::from_layers([AnyLayer::from_box(l)]))
        .unwrap();
    let wrapped = select(n.as_dyn())
        .at_path("head")
        .unwrap()
        .at_children()
        .at_path("[0]")
        .unwrap();
    assert_eq!(strs(wrapped.paths()), ["head[0][0]", "head[1][0]"]);
    let same = select(net())
        .at_instances_of::<f32>()
        .apply(|node: Box<dyn Tree>| node)
        .unwrap();
    assert!(same.tree_eq(&net()));
}

#[test]
fn apply_with_path_and_apply_indexed_see_paths_and_positions() {
    let mut seen = Vec::new();
    select(net())
        .at_instances_of::<Shift>()
        .apply_with_path(|path, s: Shift| {
            seen.push(path.to_string());
            s
        })
        .unwrap();
    assert_eq!(
        seen,
        [
            "blocks[0].mlp",
            "blocks[0].steps[1]",
            "blocks[1].mlp",
            "blocks[1].steps[1]",
            "head[1]"
        ]
    );
    let n = select(net())
        .at_instances_of::<Shift>()
        .apply_indexed(|i, _: Shift| Shift {
            by: i as f32 * 100.0,
        })
        .unwrap();
    let values: Vec<f32> = select(n.as_dyn())
        .at_instances_of::<Shift>()
        .get_all_as::<Shift>()
        .unwrap()
        .iter()
        .map(|s| s.by)
        .collect();
    assert_eq!(values, [0.0, 100.0, 200.0, 300.0, 400.0]);
}

#[test]
fn try_apply_reports_the_closure_error_with_the_path() {
    let err = select(net())
        .at_instances_of::<Shift>()
        .try_apply(|_, s: Shift| {
            if s.by < 0.0 {
                Err(penzai::nn::LayerError::Config("negative shift".into()))
            } else {
                Ok(s)
            }
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the closure failed at head[1]: invalid configuration: negative shift"
    );
}

#[test]
fn map_keeps_the_same_nodes_selected() {
    let s = select(net())
        .at_instances_of::<Scale>()
        .map(|s: Scale| Scale {
            factor: s.factor + 1.0,
        })
        .unwrap();
    assert_eq!(s.count(), 6);
    let n = s
        .apply(|s: Scale| Scale {
            factor: s.factor * 2.0,
        })
        .unwrap();
    assert_eq!(n.blocks[0].norm.factor, 4.0);
}

#[test]
fn set_puts_a_copy_everywhere_and_set_all_one_value_each() {
    let n = select(net())
        .at_instances_of::<Shift>()
        .set(Identity)
        .unwrap();
    assert_eq!(select(n.as_dyn()).at_instances_of::<Identity>().count(), 5);
    let n = select(lists())
        .at_path("b")
        .unwrap()
        .at_children()
        .nth(0)
        .set(-1i64)
        .unwrap();
    assert_eq!(n.b[..2], [-1, 11]);

    let n = multiples_of_4(lists())
        .set_all([100i64, 101, 102, 103, 104])
        .unwrap();
    assert_eq!(n.a, [100, 1, 2, 3, 101, 5, 6, 7, 102, 9]);
    assert_eq!(n.b[2], 103);
    let err = multiples_of_4(lists()).set_all([1i64, 2]).unwrap_err();
    assert_eq!(err.to_string(), "set_all got 2 values for 5 selected nodes");
}

#[test]
fn the_root_can_be_replaced_by_its_own_type_only() {
    let root = select(Shift { by: 1.0 })
        .apply(|s: Shift| Shift { by: s.by + 1.0 })
        .unwrap();
    assert_eq!(root, Shift { by: 2.0 });
    let err = select(Shift { by: 1.0 }).set(Identity).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Identity at the root: the slot expects Shift"
    );
    let any = select(AnyLayer::new(Shift { by: 1.0 }))
        .set(Identity)
        .unwrap();
    assert!(any.downcast_ref::<Identity>().is_some());
}

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
    let err = multiples_of_4(lists()).insert_after(Identity).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Identity at b[7]: the slot expects i64"
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
        "cannot insert next to blocks[1].norm: its parent Block is not a sequence, and the slot \
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
fn partition_and_combine_round_trip_and_carry_edits() {
    let parts = select(net()).at_instances_of::<Shift>().partition();
    assert_eq!(parts.selected.len(), 5);
    assert_eq!(
        strs(
            &parts
                .rest
                .iter()
                .map(|(p, _)| p.clone())
                .collect::<Vec<_>>()
        ),
        [
            "blocks[0].norm",
            "blocks[0].gate",
            "blocks[0].steps.first",
            "blocks[1].norm",
            "blocks[1].steps.first",
            "head[0]",
            "temperature"
        ]
    );
    assert!(parts.combine().unwrap().tree_eq(&net()));

    let mut parts = select(net()).at_instances_of::<Shift>().partition();
    for (_, node) in &mut parts.selected {
        *node = Box::new(Identity);
    }
    let n = parts.combine().unwrap();
    assert_eq!(select(n.as_dyn()).at_instances_of::<Identity>().count(), 5);
}

#[test]
fn edits_of_a_clone_leave_the_original_alone() {
    let original = net();
    let edited = select(original.clone())
        .at_instances_of::<Scale>()
        .set(Scale { factor: 0.0 })
        .unwrap();
    assert!(original.tree_eq(&net()));
    assert!(!edited.tree_eq(&original));
}

fn storage_ptr(a: &NamedArray) -> *const f32 {
    match a.storage() {
        penzai::nx::Storage::F32(x) => x.as_ptr(),
        _ => std::ptr::null(),
    }
}

#[test]
fn edits_share_parameter_storage_with_the_original() {
    use penzai::models::{LlamaConfig, TransformerLm};
    let model = TransformerLm::llama(&LlamaConfig::tiny(), 0).unwrap();
    let original: Vec<(String, *const f32)> = penzai::nn::parameters(&model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), storage_ptr(&p.value)))
        .collect();
    let inserted = select(model.clone())
        .at_instances_of::<Linear>()
        .insert_after(Identity)
        .unwrap();
    let applied = select(model.clone())
        .at_instances_of::<Linear>()
        .apply(|l: Linear| l)
        .unwrap();
    for edited in [inserted.as_dyn(), applied.as_dyn()] {
        let after: Vec<(String, *const f32)> = penzai::nn::parameters(edited)
            .into_iter()
            .map(|(_, p)| (p.label.to_string(), storage_ptr(&p.value)))
            .collect();
        assert_eq!(after, original, "same parameters, same buffers, same order");
    }
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
fn a_parameter_can_be_replaced_through_its_typed_slot() {
    let n = select(
        Linear::new(
            0,
            "l",
            &[("a", 2)],
            &[("b", 2)],
            &[],
            penzai::nn::Initializer::Zeros,
        )
        .unwrap(),
    )
    .at_path("weights")
    .unwrap()
    .apply(|p: Parameter| p.with_value(NamedArray::ones(&[("a", 2), ("b", 2)]).unwrap()))
    .unwrap();
    assert_eq!(n.weights.value.to_f32_vec(), [1.0; 4]);
    let _ = (Net::path(), Block::path());
}
