//! Selector laws on random trees: get/set round trip, insert then remove, inversion and
//! the partition count, tree order of path sets, outermost search.

use std::collections::HashSet;

use penzai::nn::{Identity, Sequential, Steps};
use penzai::prelude::*;
use penzai::tree::Key;
use proptest::prelude::*;

/// Multiplies by `factor`.
#[derive(Clone, Debug, PartialEq, Tree)]
struct Scale {
    factor: f32,
}

impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((&x * self.factor)?)
    }
}

/// A layer with an any-layer slot, an optional typed slot and a typed slot.
#[derive(Clone, Debug, Tree)]
struct Wrap {
    inner: AnyLayer,
    extra: Option<Scale>,
    typed: Scale,
}

impl Layer for Wrap {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        cx.call_child(Key::field("inner"), self.inner.get(), x)
    }
}

/// A marker inserted by the insertion law.
#[derive(Clone, Debug, PartialEq, Tree)]
struct Marker;

impl Layer for Marker {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok(x)
    }
}

/// A non-layer node with a list of layers, an any-layer slot, an option and children.
#[derive(Clone, Debug, Tree)]
struct Node {
    weight: f32,
    layers: Vec<AnyLayer>,
    slot: AnyLayer,
    maybe: Option<Scale>,
    children: Vec<Node>,
}

fn scale(f: i8) -> Scale {
    Scale { factor: f as f32 }
}

fn arb_layer() -> impl Strategy<Value = AnyLayer> {
    let leaf = prop_oneof![
        (-4i8..4).prop_map(|f| AnyLayer::new(scale(f))),
        Just(AnyLayer::new(Identity)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), proptest::option::of(-4i8..4), -4i8..4).prop_map(
                |(inner, extra, typed)| {
                    AnyLayer::new(Wrap {
                        inner,
                        extra: extra.map(scale),
                        typed: scale(typed),
                    })
                }
            ),
            prop::collection::vec((inner, any::<bool>()), 0..4).prop_map(|steps| {
                let mut seq = Steps::new();
                for (i, (layer, named)) in steps.into_iter().enumerate() {
                    if named {
                        seq.push_named(format!("s{i}"), layer).unwrap();
                    } else {
                        seq.push(layer);
                    }
                }
                AnyLayer::new(Sequential { steps: seq })
            }),
        ]
    })
}

fn arb_node() -> impl Strategy<Value = Node> {
    let fields = || {
        (
            -4i8..4,
            prop::collection::vec(arb_layer(), 0..3),
            arb_layer(),
            proptest::option::of(-4i8..4),
        )
    };
    let leaf = fields().prop_map(|(w, layers, slot, maybe)| Node {
        weight: w as f32,
        layers,
        slot,
        maybe: maybe.map(scale),
        children: Vec::new(),
    });
    leaf.prop_recursive(2, 8, 3, move |inner| {
        (fields(), prop::collection::vec(inner, 0..3)).prop_map(
            |((w, layers, slot, maybe), children)| Node {
                weight: w as f32,
                layers,
                slot,
                maybe: maybe.map(scale),
                children,
            },
        )
    })
}

/// A random set of paths of `tree` (some nesting, in random order).
fn pick(tree: &Node, mask: &[bool]) -> Vec<KeyPath> {
    tree.all_paths()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask[i % mask.len()])
        .map(|(_, p)| p)
        .rev()
        .collect()
}

fn childless(tree: &Node) -> Vec<KeyPath> {
    tree.all_paths()
        .into_iter()
        .filter(|p| tree.get_at(p).unwrap().is_childless())
        .collect()
}

/// The childless nodes below the selected ones, each once per selected ancestor.
fn covered(tree: &Node, selected: &[KeyPath]) -> Vec<KeyPath> {
    childless(tree)
        .into_iter()
        .flat_map(|leaf| {
            let n = selected.iter().filter(|s| leaf.starts_with(s)).count();
            std::iter::repeat_n(leaf, n)
        })
        .collect()
}

/// The candidates of a selection: the children of its spine (the strict ancestors of the
/// selected nodes) that are not on the spine; the root alone when the spine is empty.
/// Counted from the spine only: `sum(children of spine nodes) - (spine size - 1)`, since
/// every spine node but the root is itself a child of a spine node.
fn candidate_count(tree: &Node, selected: &[KeyPath]) -> usize {
    let mut spine = HashSet::new();
    for s in selected {
        let mut p = s.clone();
        while let Some(parent) = p.parent() {
            spine.insert(parent.clone());
            p = parent;
        }
    }
    if spine.is_empty() {
        return 1;
    }
    let children: usize = spine
        .iter()
        .map(|p| tree.get_at(p).unwrap().child_count())
        .sum();
    children - (spine.len() - 1)
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn setting_a_path_to_its_own_value_is_the_identity(tree in arb_node()) {
        for path in tree.all_paths() {
            let value = select(tree.as_dyn()).at_path(&path).map_err(fail)?.get().map_err(fail)?.clone_tree();
            let same = select(tree.clone()).at_path(&path).map_err(fail)?.set(value).map_err(fail)?;
            prop_assert!(same.tree_eq(&tree), "after setting {}", path);
        }
    }

    #[test]
    fn at_paths_is_in_tree_order_and_never_nests(tree in arb_node(), mask in prop::collection::vec(prop::bool::weighted(0.3), 1..40)) {
        let picked = pick(&tree, &mask);
        let selected = select(tree.as_dyn()).at_paths(&picked).map_err(fail)?;
        let order = tree.all_paths();
        let position = |p: &KeyPath| order.iter().position(|q| q == p).unwrap();
        let positions: Vec<usize> = selected.paths().iter().map(position).collect();
        prop_assert!(positions.windows(2).all(|w| w[0] < w[1]));
        for a in selected.paths() {
            for b in selected.paths() {
                prop_assert!(a == b || !b.starts_with(a), "{} contains {}", a, b);
            }
        }
        // Every picked path is selected or below a selected one.
        for p in &picked {
            prop_assert!(selected.paths().iter().any(|s| p.starts_with(s)));
        }
    }

    #[test]
    fn at_subtrees_where_selects_the_outermost_matches(tree in arb_node()) {
        let is_seq = |n: &dyn Tree| n.is::<Sequential>();
        let selected = select(tree.as_dyn()).at_subtrees_where(|_, n| is_seq(n));
        let expected: Vec<KeyPath> = tree
            .all_paths()
            .into_iter()
            .filter(|p| is_seq(tree.get_at(p).unwrap()))
            .filter(|p| {
                let mut q = p.clone();
                while let Some(parent) = q.parent() {
                    if is_seq(tree.get_at(&parent).unwrap()) {
                        return false;
                    }
                    q = parent;
                }
                true
            })
            .collect();
        prop_assert_eq!(selected.paths(), expected.as_slice());
    }

    #[test]
    fn selected_and_inverted_nodes_cover_every_leaf_once(tree in arb_node(), mask in prop::collection::vec(prop::bool::weighted(0.2), 1..40)) {
        let s = select(tree.as_dyn()).at_paths(pick(&tree, &mask)).map_err(fail)?;
        let inv = s.clone().invert();
        let mut both: Vec<KeyPath> = s.paths().to_vec();
        both.extend(inv.paths().iter().cloned());
        let mut cover = covered(&tree, &both);
        cover.sort();
        let mut leaves = childless(&tree);
        leaves.sort();
        prop_assert_eq!(cover, leaves);
    }

    #[test]
    fn selected_plus_inverted_counts_the_candidates(tree in arb_node(), mask in prop::collection::vec(prop::bool::weighted(0.2), 1..40)) {
        let s = select(tree.as_dyn()).at_paths(pick(&tree, &mask)).map_err(fail)?;
        let expected = candidate_count(&tree, s.paths());
        prop_assert_eq!(s.count() + s.clone().invert().count(), expected);
    }

    #[test]
    fn inverting_twice_selects_the_same_nodes(tree in arb_node(), mask in prop::collection::vec(prop::bool::weighted(0.2), 1..40)) {
        let s = select(tree.as_dyn()).at_paths(pick(&tree, &mask)).map_err(fail)?;
        let once = s.clone().invert();
        let twice = once.clone().invert();
        prop_assert_eq!(twice.paths(), s.paths());
        prop_assert_eq!(covered(&tree, twice.paths()), covered(&tree, s.paths()));
        let thrice = twice.invert();
        prop_assert_eq!(thrice.paths(), once.paths());
    }

    #[test]
    fn inserting_then_removing_the_inserted_nodes_is_the_identity(tree in arb_node(), mask in prop::collection::vec(prop::bool::weighted(0.3), 1..40), after in any::<bool>()) {
        // Layers outside typed slots, where insertion is possible.
        let sites: Vec<KeyPath> = pick(&tree, &mask)
            .into_iter()
            .filter(|p| tree.get_at(p).unwrap().as_layer().is_some())
            .filter(|p| !matches!(p.last(), Some(Key::Field(f)) if ["typed", "extra", "maybe"].contains(&f.as_ref())))
            .collect();
        let s = select(tree.clone()).at_paths(&sites).map_err(fail)?;
        let selected = s.paths().to_vec();
        let inserted = if after {
            s.insert_after_and_select(Marker)
        } else {
            s.insert_before_and_select(Marker)
        }
        .map_err(fail)?;
        prop_assert_eq!(inserted.count(), selected.len());
        prop_assert!(inserted.get_all_as::<Marker>().is_ok());
        let markers = select(inserted.tree().as_dyn()).at_instances_of::<Marker>();
        prop_assert_eq!(markers.paths(), inserted.paths());
        let removed = inserted.remove().map_err(fail)?;
        // Where a node was wrapped (its parent is no sequence), a one-step Sequential is left.
        let wrapped: Vec<&KeyPath> = selected
            .iter()
            .filter(|p| {
                let parent = tree.get_at(&p.parent().unwrap()).unwrap();
                parent.sequence_position(p.last().unwrap().as_ref()).is_none()
            })
            .collect();
        let unwrapped = select(removed)
            .at_paths(wrapped)
            .map_err(fail)?
            .apply(|s: Sequential| s.steps.iter().next().unwrap().layer.clone())
            .map_err(fail)?;
        prop_assert!(unwrapped.tree_eq(&tree));
    }
}
