//! `Doc`: the render tree. Built once from any [`Tree`]; the HTML and text renderers read
//! only this, so both always show the same thing.

use serde::{Serialize, Serializer};

use super::array_data::ArrayData;
use super::arrayviz::{ArrayFigure, ArraySpec, Precision};
use super::color::type_hue;
use super::expand::{self, ExpandOptions};
use super::render;
use super::stats::{ArrayStats, summary_line};
use super::tokens::{self, SharedVocab, TokenSpec};
use crate::nn::AsLayer;
use crate::nx::{DType, NamedArray};
use crate::tree::{Key, KeyPath, KeyRef, Leaf, Tree};

/// The render tree of a whole tree.
#[derive(Clone, Debug, Serialize)]
pub struct Doc {
    /// The root node.
    pub root: DocNode,
}

/// What kind of node a [`DocNode`] is; decides its brackets and its collapsed summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A struct or layer: children are named fields.
    #[default]
    Struct,
    /// A sequence: children are indexed.
    Sequence,
    /// A string-keyed map.
    Map,
    /// A plain value (number, string, opaque value).
    Leaf,
    /// An array (or a parameter holding one).
    Array,
}

/// How a node is marked on a selection or diff page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// Selected (by `to_html_with_selection`).
    Selected,
    /// Only in the second tree of a diff.
    Inserted,
    /// Only in the first tree of a diff.
    Removed,
    /// In both trees of a diff, with different contents.
    Changed,
}

/// One node of a [`Doc`]: everything either renderer needs to draw it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DocNode {
    /// The key under which the parent holds this node (`None` for the root), serialized in
    /// its path form (`.mlp`, `[3]`, `["a.b"]`) so that paths are the concatenation of keys.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "key_text")]
    pub key: Option<Key>,
    /// The path from the root (not serialized: it is the concatenation of the keys).
    #[serde(skip)]
    pub path: KeyPath,
    /// The node's type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The kind of node.
    pub kind: NodeKind,
    /// True when the node is a layer.
    #[serde(skip_serializing_if = "is_false")]
    pub layer: bool,
    /// Header hue in degrees (struct nodes by default: a stable hash of the type name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hue: Option<u16>,
    /// Static configuration fields as `(name, Debug text)`, shown inline in the header.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
    /// The value of a plain leaf, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A one-line summary (array statistics, or what a custom renderer sets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Array details for array leaves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<ArrayDoc>,
    /// Child nodes, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<DocNode>,
    /// Children left out of `children` because the node had more than the limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
    /// Number of array elements in this subtree (parameters, for a model).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub params: u64,
    /// Selection or diff mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
    /// Whether the node starts expanded; `None` until the expansion is decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
}

/// The array part of a [`DocNode`].
#[derive(Clone, Debug, Serialize)]
pub struct ArrayDoc {
    /// Element type name (`f32`, `i64`, `bool`).
    pub dtype: String,
    /// The shape as text (`{batch: 2, seq: 8}`); not serialized, the summary starts with it.
    #[serde(skip)]
    pub shape: String,
    /// Parameter label, when the leaf is a parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Summary statistics.
    pub stats: ArrayStats,
    /// A small (possibly truncated) copy of the data for the on-demand heatmap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<ArraySpec>,
    /// Show the heatmap without waiting for a click (diff pages do, for changed arrays).
    #[serde(skip_serializing_if = "is_false")]
    pub heatmap_open: bool,
    /// The ids as token chips, for token-id arrays when the options carry a vocabulary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenSpec>,
}

fn key_text<S: Serializer>(key: &Option<Key>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(k) => s.collect_str(k),
        None => s.serialize_none(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// Options for building a [`Doc`].
#[derive(Clone, Debug)]
pub struct DocOptions {
    /// At most this many children are kept per node; the rest are counted in `omitted`.
    pub max_children: usize,
    /// Cells of the heatmap preview kept per array (0: no previews).
    pub preview_cells: usize,
    /// Longest value or static-field text kept, in characters; longer text is cut with `…`.
    pub max_text_len: usize,
    /// How the default expansion is chosen.
    pub expand: ExpandOptions,
    /// A vocabulary: token-id arrays (i64 with a `seq` axis, or one axis, every id in the
    /// vocabulary) are also shown as text chips.
    pub tokens: Option<SharedVocab>,
}

impl Default for DocOptions {
    fn default() -> Self {
        DocOptions {
            max_children: 10_000,
            preview_cells: 256,
            max_text_len: 200,
            expand: ExpandOptions::default(),
            tokens: None,
        }
    }
}

/// Nesting deeper than this is cut off, so a pathological tree cannot overflow the stack.
const MAX_DEPTH: usize = 256;

impl Doc {
    /// Builds the doc of `tree` with default options.
    pub fn new(tree: &dyn Tree) -> Doc {
        Doc::build(tree, &DocOptions::default())
    }

    /// Builds the doc of `tree`, applying custom [`Render`](super::Render)s, then decides
    /// which nodes start expanded.
    pub fn build(tree: &dyn Tree, options: &DocOptions) -> Doc {
        let mut root = build_node(tree, None, KeyPath::root(), options, 0);
        expand::decide(&mut root, &options.expand);
        Doc { root }
    }

    /// Marks the nodes at `paths` as selected and opens them and their ancestors.
    ///
    /// Returns the paths that named no node.
    pub fn select(&mut self, paths: &[KeyPath]) -> Vec<KeyPath> {
        let mut missing = Vec::new();
        for path in paths {
            if !mark_path(&mut self.root, path.keys(), Mark::Selected) {
                missing.push(path.clone());
            }
        }
        missing
    }

    /// The node at `path`, if the doc has it.
    pub fn get(&self, path: &KeyPath) -> Option<&DocNode> {
        let mut node = &self.root;
        for key in path.keys() {
            node = node.children.iter().find(|c| c.key.as_ref() == Some(key))?;
        }
        Some(node)
    }

    /// The doc as pretty-printed JSON (for golden files and tooling).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn mark_path(node: &mut DocNode, keys: &[Key], mark: Mark) -> bool {
    let Some((first, rest)) = keys.split_first() else {
        node.mark = Some(mark);
        node.open = Some(true);
        return true;
    };
    let Some(child) = node
        .children
        .iter_mut()
        .find(|c| c.key.as_ref() == Some(first))
    else {
        return false;
    };
    let found = mark_path(child, rest, mark);
    if found {
        node.open = Some(true);
    }
    found
}

/// A node without its children: type, kind, layer flag, static fields, hue.
pub(crate) fn shallow_node(
    tree: &dyn Tree,
    key: Option<KeyRef<'_>>,
    options: &DocOptions,
) -> DocNode {
    let mut node = DocNode {
        key: key.map(KeyRef::to_owned_key),
        type_name: tree.type_name().to_owned(),
        layer: tree.as_layer().is_some(),
        kind: if tree.sequence_len().is_some() {
            NodeKind::Sequence
        } else {
            NodeKind::Struct
        },
        ..DocNode::default()
    };
    tree.visit_static_fields(&mut |name, value| {
        node.fields.push((
            name.to_owned(),
            clip(format!("{value:?}"), options.max_text_len),
        ));
    });
    // Layers (sequential ones too) and plain structs are coloured by type; containers
    // such as `Vec` stay neutral so the model's own types stand out.
    if (node.kind == NodeKind::Struct || node.layer) && tree.leaf().is_none() {
        node.hue = Some(type_hue(&node.type_name));
    }
    node
}

/// The full node of `tree` at `path`, with custom renderers applied.
pub(crate) fn build_node(
    tree: &dyn Tree,
    key: Option<KeyRef<'_>>,
    path: KeyPath,
    options: &DocOptions,
    depth: usize,
) -> DocNode {
    let mut node = shallow_node(tree, key, options);
    if let Some(leaf) = tree.leaf() {
        fill_leaf(&mut node, leaf, options);
    } else if depth >= MAX_DEPTH {
        node.summary = Some("… nested too deeply to show".to_owned());
    } else {
        let mut first_key_is_name = None;
        tree.visit_children(&mut |child_key, child| {
            first_key_is_name.get_or_insert(matches!(child_key, KeyRef::Name(_)));
            if node.children.len() >= options.max_children {
                node.omitted += 1;
                return;
            }
            let child_path = path.clone().child(child_key.to_owned_key());
            node.children.push(build_node(
                child,
                Some(child_key),
                child_path,
                options,
                depth + 1,
            ));
        });
        if first_key_is_name == Some(true) && node.kind == NodeKind::Struct {
            node.kind = NodeKind::Map;
            if !node.layer {
                node.hue = None;
            }
        }
        node.params = distinct_params(&node);
    }
    node.path = path;
    render::apply_custom(tree, &mut node);
    node
}

/// Elements in `node`'s subtree, counting a labelled parameter once however many slots hold
/// it: a tied embedding is one parameter, as `nn::parameter_count` says.
pub(crate) fn distinct_params(node: &DocNode) -> u64 {
    fn go<'a>(node: &'a DocNode, seen: &mut std::collections::HashSet<&'a str>) -> u64 {
        if let Some(label) = node.array.as_ref().and_then(|a| a.label.as_deref()) {
            return if seen.insert(label) { node.params } else { 0 };
        }
        if node.array.is_some() {
            return node.params;
        }
        node.children.iter().map(|c| go(c, seen)).sum()
    }
    go(node, &mut std::collections::HashSet::new())
}

fn fill_leaf(node: &mut DocNode, leaf: Leaf<'_>, options: &DocOptions) {
    node.kind = NodeKind::Leaf;
    let text = match leaf {
        Leaf::Bool(b) => b.to_string(),
        Leaf::Int(i) => i.to_string(),
        Leaf::UInt(u) => u.to_string(),
        Leaf::Float(x) => format!("{x:?}"),
        Leaf::Float32(x) => format!("{x:?}"),
        Leaf::Str(s) => format!("{s:?}"),
        Leaf::Opaque(d) => format!("{d:?}"),
        Leaf::Array { array, label } => {
            let data = ArrayData::from_named(array);
            *node = array_node(std::mem::take(node), &data, label, options);
            if let (Some(vocab), Some(doc)) = (&options.tokens, node.array.as_mut()) {
                doc.tokens = token_chips(array, vocab);
            }
            return;
        }
    };
    node.value = Some(clip(text, options.max_text_len));
}

/// Fills `node` as an array leaf showing `data`.
pub(crate) fn array_node(
    mut node: DocNode,
    data: &ArrayData<'_>,
    label: Option<&str>,
    options: &DocOptions,
) -> DocNode {
    let stats = ArrayStats::of(data);
    let shape = data.shape_text();
    node.kind = NodeKind::Array;
    node.params = data.len() as u64;
    node.summary = Some(summary_line(data.dtype(), &shape, &stats));
    let preview = (options.preview_cells > 0 && data.len() > 1).then(|| {
        ArrayFigure::new(data.clone())
            .max_cells(options.preview_cells)
            .precision(Precision::Coarse)
            .spec()
    });
    node.array = Some(ArrayDoc {
        dtype: data.dtype().to_owned(),
        shape,
        label: label.map(str::to_owned),
        stats,
        preview,
        heatmap_open: false,
        tokens: None,
    });
    node
}

/// Most chips shown per token array in a tree (the figure of one array shows more).
const TREE_TOKEN_CHIPS: usize = 512;

/// The chips of `array` if it looks like token ids: i64, named axes only, a `seq` axis
/// (or a single axis), and every id in the vocabulary.
fn token_chips(array: &NamedArray, vocab: &SharedVocab) -> Option<TokenSpec> {
    let shape = array.named_shape();
    let looks_like_ids = array.dtype() == DType::I64
        && array.positional_shape().is_empty()
        && (shape.get("seq").is_some() || shape.len() == 1);
    if !looks_like_ids {
        return None;
    }
    let size = vocab.0.vocab_size();
    let in_vocab = array
        .to_i64_vec()
        .iter()
        .all(|&id| usize::try_from(id).is_ok_and(|id| id < size));
    if !in_vocab {
        return None;
    }
    let figure = tokens::render_tokens(array, vocab.0.as_ref()).ok()?;
    Some(figure.max_tokens(TREE_TOKEN_CHIPS).spec())
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub(crate) fn clip(mut text: String, max: usize) -> String {
    if let Some((byte, _)) = text.char_indices().nth(max) {
        text.truncate(byte);
        text.push('…');
    }
    text
}
