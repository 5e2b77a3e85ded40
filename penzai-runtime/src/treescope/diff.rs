//! The diff view: two trees matched by key path and type, shown as one [`Doc`] whose
//! nodes are marked inserted, removed or changed.
//!
//! Children are matched by key (so a sequence is compared position by position); a key
//! whose node changed type counts as one removal and one insertion. Equal subtrees are
//! recognised with `tree_eq` and shown closed. A changed array of the same shape carries
//! the elementwise difference `after - before`, drawn as a heatmap.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::array_data::{ArrayData, Values};
use super::arrayviz::{ArrayFigure, Colormap, Precision};
use super::doc::{self, Doc, DocNode, DocOptions, Mark};
use super::expand;
use super::html::{self, page};
use super::stats::{ArrayStats, summary_line};
use super::text::TextOptions;
use crate::tree::{KeyPath, KeyRef, Leaf, Tree};

/// How many nodes of each kind a [`Diff`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffCounts {
    /// Nodes only in the second tree.
    pub inserted: usize,
    /// Nodes only in the first tree.
    pub removed: usize,
    /// Leaves whose value changed, and nodes whose static fields changed.
    pub changed: usize,
}

/// The differences between two trees; render with [`to_html`](Diff::to_html) or
/// [`to_text`](Diff::to_text).
#[derive(Clone, Debug)]
pub struct Diff {
    doc: Doc,
    counts: DiffCounts,
    options: DocOptions,
}

/// Compares `before` with `after`.
///
/// ```
/// use std::collections::BTreeMap;
/// use penzai::treescope;
/// let before = BTreeMap::from([("a".to_string(), 1.0f32), ("b".to_string(), 2.0)]);
/// let after = BTreeMap::from([("a".to_string(), 1.0f32), ("c".to_string(), 3.0)]);
/// let d = treescope::diff(&before, &after);
/// assert_eq!((d.counts().inserted, d.counts().removed, d.counts().changed), (1, 1, 0));
/// assert!(d.to_text().contains("[+ inserted]"));
/// ```
pub fn diff(before: &dyn Tree, after: &dyn Tree) -> Diff {
    Diff::with_options(before, after, DocOptions::default())
}

impl Diff {
    /// Compares two trees with the given doc options (preview size, limits).
    pub fn with_options(before: &dyn Tree, after: &dyn Tree, options: DocOptions) -> Diff {
        let mut counts = DiffCounts::default();
        let mut nodes = diff_node(before, after, None, KeyPath::root(), &options, &mut counts);
        // A root that changed type is shown as its two versions under a synthetic parent.
        let mut root = if nodes.len() == 1 {
            nodes.pop().unwrap_or_default()
        } else {
            DocNode {
                type_name: "(root replaced)".to_owned(),
                children: nodes,
                open: Some(true),
                ..DocNode::default()
            }
        };
        expand::decide(&mut root, &options.expand);
        Diff {
            doc: Doc { root },
            counts,
            options,
        }
    }

    /// The marked doc.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Counts of inserted, removed and changed nodes.
    pub fn counts(&self) -> DiffCounts {
        self.counts
    }

    /// True when the trees are equal.
    pub fn is_empty(&self) -> bool {
        self.counts == DiffCounts::default()
    }

    /// A self-contained page showing the differences.
    pub fn to_html(&self) -> String {
        let c = self.counts;
        let legend = format!(
            "<span>diff: {} inserted</span><span>{} removed</span><span>{} changed</span>",
            c.inserted, c.removed, c.changed
        );
        let body = html::tree_markup(&self.doc, &self.options.expand, Some(&legend));
        page::tree_page("treescope diff", &body, html::shows_tokens(&self.doc.root))
    }

    /// Writes [`to_html`](Diff::to_html) to `path`.
    pub fn save_html(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        html::write_page(path.as_ref(), &self.to_html())
    }

    /// The differences as plain text.
    pub fn to_text(&self) -> String {
        self.to_text_with(&TextOptions::plain())
    }

    /// The differences as text with the given options.
    pub fn to_text_with(&self, options: &TextOptions) -> String {
        options.render_doc(&self.doc)
    }
}

fn marked(mut node: DocNode, mark: Mark) -> DocNode {
    node.mark = Some(mark);
    node
}

fn diff_node(
    a: &dyn Tree,
    b: &dyn Tree,
    key: Option<KeyRef<'_>>,
    path: KeyPath,
    options: &DocOptions,
    counts: &mut DiffCounts,
) -> Vec<DocNode> {
    if a.type_name() != b.type_name() || a.as_any().type_id() != b.as_any().type_id() {
        counts.removed += 1;
        counts.inserted += 1;
        return vec![
            marked(
                doc::build_node(a, key, path.clone(), options, 0),
                Mark::Removed,
            ),
            marked(doc::build_node(b, key, path, options, 0), Mark::Inserted),
        ];
    }
    if a.tree_eq(b) {
        let mut same = doc::build_node(b, key, path, options, 0);
        if !same.children.is_empty() {
            same.open = Some(false);
        }
        return vec![same];
    }
    if a.leaf().is_some() && b.leaf().is_some() {
        counts.changed += 1;
        let node = doc::build_node(b, key, path, options, 0);
        return vec![marked(changed_leaf(node, a, b, options), Mark::Changed)];
    }
    let mut node = doc::shallow_node(b, key, options);
    let fields_a = doc::shallow_node(a, None, options).fields;
    if fields_a != node.fields {
        counts.changed += 1;
        node.mark = Some(Mark::Changed);
        for (i, (name, value)) in node.fields.iter_mut().enumerate() {
            if let Some((_, old)) = fields_a.get(i).filter(|(n, v)| n == name && v != value) {
                *value = format!("{old} → {value}");
            }
        }
    }
    node.children = diff_children(a, b, &path, options, counts);
    node.path = path;
    node.params = super::doc::distinct_params(&node);
    node.open = Some(true);
    vec![node]
}

/// Children of both nodes in `after`'s order, with removed ones placed where `before` had them.
fn diff_children(
    a: &dyn Tree,
    b: &dyn Tree,
    path: &KeyPath,
    options: &DocOptions,
    counts: &mut DiffCounts,
) -> Vec<DocNode> {
    let mut a_kids: Vec<(KeyRef<'_>, &dyn Tree)> = Vec::new();
    a.visit_children(&mut |k, c| a_kids.push((k, c)));
    let mut b_kids: Vec<(KeyRef<'_>, &dyn Tree)> = Vec::new();
    b.visit_children(&mut |k, c| b_kids.push((k, c)));
    // Key lookups by hash keep long sequences linear.
    let a_pos: HashMap<KeyRef<'_>, usize> = a_kids
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i))
        .collect();
    let b_keys: HashSet<KeyRef<'_>> = b_kids.iter().map(|(k, _)| *k).collect();
    let removed = |(ka, ca): (KeyRef<'_>, &dyn Tree), counts: &mut DiffCounts| {
        counts.removed += 1;
        let node = doc::build_node(
            ca,
            Some(ka),
            path.clone().child(ka.to_owned_key()),
            options,
            0,
        );
        marked(node, Mark::Removed)
    };
    let mut out = Vec::new();
    let mut next_a = 0;
    for &(kb, cb) in &b_kids {
        let child_path = path.clone().child(kb.to_owned_key());
        match a_pos.get(&kb) {
            Some(&pos) => {
                // Keys of `before` up to this match that `after` lacks were removed here.
                for &(ka, ca) in a_kids.iter().take(pos).skip(next_a) {
                    if !b_keys.contains(&ka) {
                        out.push(removed((ka, ca), counts));
                    }
                }
                next_a = next_a.max(pos + 1);
                out.extend(diff_node(
                    a_kids[pos].1,
                    cb,
                    Some(kb),
                    child_path,
                    options,
                    counts,
                ));
            }
            None => {
                counts.inserted += 1;
                out.push(marked(
                    doc::build_node(cb, Some(kb), child_path, options, 0),
                    Mark::Inserted,
                ));
            }
        }
    }
    for &(ka, ca) in a_kids.iter().skip(next_a) {
        if !b_keys.contains(&ka) {
            out.push(removed((ka, ca), counts));
        }
    }
    out
}

/// A changed leaf: `old → new` for values; for arrays of one shape, the difference.
fn changed_leaf(mut node: DocNode, a: &dyn Tree, b: &dyn Tree, options: &DocOptions) -> DocNode {
    let (Some(Leaf::Array { array: xa, .. }), Some(Leaf::Array { array: xb, .. })) =
        (a.leaf(), b.leaf())
    else {
        let old = doc::build_node(a, None, KeyPath::root(), options, 0);
        let before = old.value.or(old.summary).unwrap_or_default();
        let after = node
            .value
            .take()
            .or_else(|| node.summary.take())
            .unwrap_or_default();
        node.value = Some(format!("{before} → {after}"));
        return node;
    };
    let (da, db) = (ArrayData::from_named(xa), ArrayData::from_named(xb));
    if da.axes() != db.axes() {
        node.summary = Some(format!("shape {} → {}", da.shape_text(), db.shape_text()));
        return node;
    }
    let delta: Vec<f32> = (0..db.len())
        .map(|i| (db.values().get_f64(i) - da.values().get_f64(i)) as f32)
        .collect();
    let Ok(d) = ArrayData::new("f32", db.axes().to_vec(), Values::F32(Cow::Owned(delta))) else {
        return node;
    };
    let stats = ArrayStats::of(&d);
    let after = node.summary.take().unwrap_or_default();
    node.summary = Some(format!(
        "{after}   Δ(after − before){}",
        summary_line("", "", &stats)
    ));
    let preview = (options.preview_cells > 0 && d.len() > 1).then(|| {
        ArrayFigure::new(d)
            .max_cells(options.preview_cells)
            .precision(Precision::Compact)
            .colormap(Colormap::Diverging)
            .title("after − before")
            .spec()
    });
    if let Some(arr) = node.array.as_mut() {
        arr.heatmap_open = preview.is_some();
        arr.preview = preview;
    }
    node
}
