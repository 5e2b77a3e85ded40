//! Selector edits that replace nodes: apply, map, set, partition; sharing of storage.

mod select_fixture;

use penzai::nn::{Identity, Layer, Linear, Parameter, Sequential};
use penzai::prelude::*;
use penzai::select::SelectError;
use select_fixture::{Scale, Shift, lists, multiples_of_4, net, strs};

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
}

#[test]
fn map_with_path_and_try_map_keep_the_selection() {
    let s = select(net())
        .at_instances_of::<Shift>()
        .map_with_path(|path, s: Shift| Shift {
            by: s.by + path.len() as f32,
        })
        .unwrap();
    assert_eq!(s.get_all_as::<Shift>().unwrap()[0], &Shift { by: 3.0 });
    let s = s
        .try_map(|_, s: Shift| -> penzai::Result<Shift> { Ok(Shift { by: -s.by }) })
        .unwrap();
    assert_eq!(s.get_all_as::<Shift>().unwrap()[0], &Shift { by: -3.0 });
    let (tree, paths) = s.into_parts();
    assert_eq!(paths.len(), 5);
    assert_eq!(
        tree.blocks[0].mlp.downcast_ref::<Shift>(),
        Some(&Shift { by: -3.0 })
    );
}

#[test]
fn a_failed_edit_changes_nothing_the_caller_kept() {
    let original = net();
    let err = select(original.clone())
        .at_instances_of::<Scale>()
        .apply(|_: Scale| Shift { by: 0.0 });
    assert!(err.is_err());
    assert!(original.tree_eq(&net()));
}

thread_local! {
    static CLONES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A layer that counts its clones (per thread: tests run in parallel).
#[derive(Debug, PartialEq, Tree)]
struct Counted {
    id: i64,
}

impl Clone for Counted {
    fn clone(&self) -> Counted {
        CLONES.with(|c| c.set(c.get() + 1));
        Counted { id: self.id }
    }
}

impl Layer for Counted {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

/// Counted layers in every kind of slot.
#[derive(Clone, Debug, Tree)]
struct Slots {
    any: AnyLayer,
    steps: Sequential,
    list: Vec<Counted>,
    typed: Counted,
}

fn slots() -> Slots {
    Slots {
        any: AnyLayer::new(Counted { id: 1 }),
        steps: Sequential::from_layers([AnyLayer::new(Counted { id: 2 })])
            .then_named("named", Counted { id: 3 })
            .unwrap(),
        list: vec![Counted { id: 4 }, Counted { id: 5 }],
        typed: Counted { id: 6 },
    }
}

fn clones_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = CLONES.with(|c| c.get());
    let out = f();
    (CLONES.with(|c| c.get()) - before, out)
}

#[test]
fn apply_moves_nodes_out_of_their_slots_without_copying_them() {
    let tree = slots();
    // Slots that take any layer, steps (named or not) and typed sequences: no copy.
    let (clones, edited) = clones_during(|| {
        select(tree)
            .at_paths(["any", "steps[0]", "steps.named", "list[0]", "list[1]"])
            .unwrap()
            .apply(|c: Counted| Counted { id: c.id * 10 })
            .unwrap()
    });
    assert_eq!(clones, 0);
    let ids: Vec<i64> = select(edited.as_dyn())
        .at_instances_of::<Counted>()
        .get_all_as::<Counted>()
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [10, 20, 30, 40, 50, 6]);
    // The named step keeps its name.
    assert!(select(edited.as_dyn()).at_path("steps.named").is_ok());
    // A field of a concrete type must hold a `Counted` at every moment: one copy.
    let (clones, edited) = clones_during(|| {
        select(edited)
            .at_path("typed")
            .unwrap()
            .apply(|c: Counted| Counted { id: c.id + 1 })
            .unwrap()
    });
    assert_eq!((clones, edited.typed.id), (1, 7));
}

#[test]
fn wrapping_a_node_in_an_any_layer_slot_does_not_copy_it() {
    let (clones, edited) = clones_during(|| {
        select(slots())
            .at_path("any")
            .unwrap()
            .insert_after(Identity)
            .unwrap()
    });
    assert_eq!(clones, 0);
    assert_eq!(edited.any.get().type_name(), "Sequential");
}

#[test]
fn a_refused_value_after_a_move_is_an_error_naming_the_path() {
    let err = select(slots())
        .at_paths(["list[1]", "typed"])
        .unwrap()
        .apply(|_: Counted| Identity)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put a Identity at list[1]: the slot expects Counted"
    );
}

#[test]
fn copies_share_layers_until_an_edit_reaches_them() {
    let tree = slots();
    // Copying copies only what is not behind an `AnyLayer` (the typed `list` and `typed`).
    let (clones, copy) = clones_during(|| tree.clone());
    assert_eq!(clones, 3);
    assert!(copy.any.shares_layer_with(&tree.any));
    // Editing the copy's `any` copies that one layer (the original still holds it) and
    // leaves the original unchanged; the steps the edit did not reach stay shared.
    let (clones, edited) = clones_during(|| {
        select(copy)
            .at_path("any")
            .unwrap()
            .apply(|c: Counted| Counted { id: c.id * 10 })
            .unwrap()
    });
    assert_eq!(clones, 1);
    assert!(!edited.any.shares_layer_with(&tree.any));
    assert_eq!(edited.any.downcast_ref::<Counted>().map(|c| c.id), Some(10));
    assert_eq!(tree.any.downcast_ref::<Counted>().map(|c| c.id), Some(1));
    let step = |t: &Slots, i: usize| t.steps.steps.iter().nth(i).unwrap().layer.clone();
    assert!(step(&edited, 0).shares_layer_with(&step(&tree, 0)));
    // Mutable access through a copy copies the node it reaches, and nothing else.
    let mut other = tree.clone();
    let (clones, _) = clones_during(|| {
        select(other.as_dyn())
            .at_path("steps.named")
            .unwrap()
            .get()
            .map(|n| n.type_name())
    });
    assert_eq!(clones, 0);
    let (clones, _) = clones_during(|| {
        for step in other.steps.steps.as_mut_slice() {
            step.layer.get_mut();
        }
    });
    assert_eq!(clones, 2);
    assert!(!step(&other, 0).shares_layer_with(&step(&tree, 0)));
}
