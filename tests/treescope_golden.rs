//! Golden files for the text renderer (colour off) and the `Doc` JSON.
//!
//! Rewrite them with `UPDATE_GOLDEN=1 cargo test --test treescope_golden`, then read the
//! diff of `tests/golden/treescope/` before committing.

mod treescope_support;

use std::collections::BTreeMap;

use penzai::prelude::*;
use penzai::treescope::{self, Doc, DocOptions, TextOptions};
use treescope_support::{check_golden, hostile, transformer};

#[test]
fn text_of_a_small_transformer() {
    let model = transformer(2, 4, 6);
    check_golden("transformer.txt", &TextOptions::plain().render(&model));
}

#[test]
fn text_folded_at_depth_two() {
    let model = transformer(3, 4, 6);
    check_golden(
        "transformer_depth2.txt",
        &TextOptions::plain().fold_depth(2).render(&model),
    );
}

#[test]
fn text_of_long_sequences_ends_with_n_more() {
    let long: Vec<u32> = (0..20).collect();
    check_golden(
        "long_sequence.txt",
        &TextOptions::plain().max_items(5).render(&long),
    );
}

#[test]
fn text_of_special_values_and_hostile_names() {
    let arr = NamedArray::from_f32(
        &[("x", 6)],
        vec![1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -2.5],
    )
    .unwrap();
    let ids = NamedArray::from_i64(&[("seq", 4)], vec![3, 0, 12_000_000, 7]).unwrap();
    let mask = NamedArray::from_bool(&[("seq", 4)], vec![true, true, false, true]).unwrap();
    let mut arrays = BTreeMap::new();
    arrays.insert("specials".to_owned(), arr);
    arrays.insert("ids".to_owned(), ids);
    arrays.insert("mask".to_owned(), mask);
    let mut text = TextOptions::plain().render(&arrays);
    text.push_str(&TextOptions::plain().render(&hostile()));
    check_golden("specials_and_hostile.txt", &text);
}

#[test]
fn text_width_cuts_long_lines() {
    let model = transformer(1, 4, 6);
    check_golden(
        "transformer_width60.txt",
        &TextOptions::plain().width(60).fold_depth(2).render(&model),
    );
}

#[test]
fn doc_json_of_a_small_transformer() {
    let model = transformer(1, 3, 4);
    let doc = Doc::build(
        &model,
        &DocOptions {
            preview_cells: 16,
            ..DocOptions::default()
        },
    );
    check_golden("transformer_doc.json", &doc.to_json_pretty());
}

#[test]
fn doc_json_escapes_nothing_yet_keeps_hostile_text_verbatim() {
    // The Doc holds user text as-is; escaping is the renderers' job (tested elsewhere).
    check_golden(
        "hostile_doc.json",
        &treescope::to_doc(&hostile()).to_json_pretty(),
    );
}

#[test]
fn doc_json_of_a_selection() {
    let model = transformer(2, 2, 3);
    let mut doc = Doc::build(
        &model,
        &DocOptions {
            preview_cells: 0,
            ..DocOptions::default()
        },
    );
    let missing = doc.select(&["blocks[1].mlp.up".parse().unwrap(), "nope".parse().unwrap()]);
    assert_eq!(missing, vec!["nope".parse::<KeyPath>().unwrap()]);
    check_golden("selection_doc.json", &doc.to_json_pretty());
}

#[test]
fn text_of_a_diff() {
    let before = transformer(2, 3, 4);
    let mut after = before.clone();
    after.blocks[1].mlp.activation = "relu";
    after.blocks[0].attn.query.weights =
        treescope_support::array(&[("embedding", 3), ("q", 3)], 77);
    after.blocks.push(after.blocks[0].clone());
    after.final_norm.scale = NamedArray::from_f32(&[("embedding", 2)], vec![1.0, 1.0]).unwrap();
    let d = treescope::diff(&before, &after);
    let c = d.counts();
    assert_eq!((c.inserted, c.removed, c.changed), (1, 0, 3));
    check_golden("diff.txt", &d.to_text());
}
