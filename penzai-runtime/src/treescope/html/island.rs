//! The tree page's JSON island: the [`DocNode`] tree in a compact form that stays
//! readable (names, keys, summaries and values appear as text) but says nothing twice.
//!
//! Compared with the doc's own JSON ([`Doc::to_json_pretty`](crate::treescope::Doc::to_json_pretty)):
//! - a type's kind, layer flag and hue are written once, in `types`, keyed by the type
//!   name; a node repeats them only where it differs (a custom renderer's hue);
//! - static-field lists are written once each, in `fieldsets`; a node names its list by
//!   position (`"fields":3`);
//! - `open` is left out unless true, `params` on arrays (the summary has the count), and
//!   an array's `stats` and `dtype` (its summary line shows them).
//!
//! `tree.js` puts the defaults back when it reads the island.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::treescope::doc::{ArrayDoc, DocNode, NodeKind};

/// What the island holds: the viewer's settings, the shared tables and the root.
pub(crate) struct Island<'a> {
    shown: usize,
    tables: Tables<'a>,
    root: &'a DocNode,
}

/// Things written once and referred to from the nodes.
/// What a node of a given type is unless it says otherwise.
#[derive(Clone, Copy, PartialEq, Serialize)]
struct TypeDefaults {
    #[serde(skip_serializing_if = "is_struct")]
    kind: NodeKind,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    layer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    hue: Option<u16>,
}

fn is_struct(kind: &NodeKind) -> bool {
    *kind == NodeKind::Struct
}

impl TypeDefaults {
    fn of(node: &DocNode) -> TypeDefaults {
        TypeDefaults {
            kind: node.kind,
            layer: node.layer,
            hue: node.hue,
        }
    }
}

#[derive(Default)]
struct Tables<'a> {
    /// Type name -> (kind, layer, hue) of its first node, in first-seen order.
    types: Vec<(&'a str, TypeDefaults)>,
    type_index: HashMap<&'a str, usize>,
    /// Distinct static-field lists, in first-seen order.
    fieldsets: Vec<&'a [(String, String)]>,
    fieldset_index: HashMap<&'a [(String, String)], usize>,
}

impl<'a> Tables<'a> {
    fn collect(&mut self, node: &'a DocNode) {
        let name = node.type_name.as_str();
        if !self.type_index.contains_key(name) {
            self.type_index.insert(name, self.types.len());
            self.types.push((name, TypeDefaults::of(node)));
        }
        if !node.fields.is_empty() && !self.fieldset_index.contains_key(node.fields.as_slice()) {
            self.fieldset_index
                .insert(node.fields.as_slice(), self.fieldsets.len());
            self.fieldsets.push(&node.fields);
        }
        for child in &node.children {
            self.collect(child);
        }
    }

    /// What a node of this type is when it says nothing.
    fn type_defaults(&self, name: &str) -> TypeDefaults {
        self.type_index.get(name).map_or(
            TypeDefaults {
                kind: NodeKind::Struct,
                layer: false,
                hue: None,
            },
            |&i| self.types[i].1,
        )
    }
}

impl<'a> Island<'a> {
    /// The island of the tree under `root`, whose nodes show `shown` children before "N more".
    pub(crate) fn new(root: &'a DocNode, shown: usize) -> Island<'a> {
        let mut tables = Tables::default();
        tables.collect(root);
        Island {
            shown,
            tables,
            root,
        }
    }
}

/// The `types` table: `{"Linear":{"layer":true,"hue":155},"Parameter":{"kind":"array"}}`;
/// plain structs without a hue are left out.
struct TypeTable<'t, 'a>(&'t Tables<'a>);

impl Serialize for TypeTable<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (name, defaults) in &self.0.types {
            if *defaults != TypeDefaults::of(&DocNode::default()) {
                map.serialize_entry(name, defaults)?;
            }
        }
        map.end()
    }
}

impl Serialize for Island<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("shown", &self.shown)?;
        map.serialize_entry("types", &TypeTable(&self.tables))?;
        if !self.tables.fieldsets.is_empty() {
            map.serialize_entry("fieldsets", &self.tables.fieldsets)?;
        }
        map.serialize_entry(
            "root",
            &PageNode {
                node: self.root,
                tables: &self.tables,
            },
        )?;
        map.end()
    }
}

/// One node as the island writes it.
struct PageNode<'t, 'a> {
    node: &'a DocNode,
    tables: &'t Tables<'a>,
}

impl Serialize for PageNode<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.node;
        let mut map = s.serialize_map(None)?;
        if let Some(key) = &n.key {
            map.serialize_entry("key", &key.to_string())?;
        }
        map.serialize_entry("type", &n.type_name)?;
        let defaults = self.tables.type_defaults(&n.type_name);
        if n.kind != defaults.kind {
            map.serialize_entry("kind", &n.kind)?;
        }
        if n.layer != defaults.layer {
            map.serialize_entry("layer", &n.layer)?;
        }
        if n.hue != defaults.hue {
            // `null` when the type has a hue and this node has none.
            map.serialize_entry("hue", &n.hue)?;
        }
        if let Some(&i) = self.tables.fieldset_index.get(n.fields.as_slice()) {
            map.serialize_entry("fields", &i)?;
        }
        if let Some(value) = &n.value {
            map.serialize_entry("value", value)?;
        }
        if let Some(summary) = &n.summary {
            map.serialize_entry("summary", summary)?;
        }
        if let Some(array) = &n.array {
            map.serialize_entry("array", &PageArray(array))?;
        }
        if !n.children.is_empty() {
            map.serialize_entry("children", &Children(&n.children, self.tables))?;
        }
        if n.omitted > 0 {
            map.serialize_entry("omitted", &n.omitted)?;
        }
        if n.params > 0 && n.array.is_none() {
            map.serialize_entry("params", &n.params)?;
        }
        if let Some(mark) = &n.mark {
            map.serialize_entry("mark", mark)?;
        }
        if n.open == Some(true) {
            map.serialize_entry("open", &true)?;
        }
        map.end()
    }
}

/// A node's children as the island writes them.
struct Children<'t, 'a>(&'a [DocNode], &'t Tables<'a>);

impl Serialize for Children<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|node| PageNode {
            node,
            tables: self.1,
        }))
    }
}

/// An array's part as the island writes it: what the summary line does not already say.
struct PageArray<'a>(&'a ArrayDoc);

impl Serialize for PageArray<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(label) = &a.label {
            map.serialize_entry("label", label)?;
        }
        if let Some(preview) = &a.preview {
            map.serialize_entry("preview", preview)?;
        }
        if a.heatmap_open {
            map.serialize_entry("heatmap_open", &true)?;
        }
        if let Some(tokens) = &a.tokens {
            map.serialize_entry("tokens", tokens)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::treescope::doc::{Doc, DocOptions};

    fn island_json(tree: &dyn crate::tree::Tree) -> serde_json::Value {
        let doc = Doc::build(tree, &DocOptions::default());
        serde_json::to_value(Island::new(&doc.root, 20)).unwrap()
    }

    #[test]
    fn repeated_field_lists_and_type_attributes_are_written_once() {
        use crate::nn::Softmax;
        let layers = vec![
            Softmax::over("kv_seq"),
            Softmax::over("kv_seq"),
            Softmax::over("seq"),
        ];
        let json = island_json(&layers);
        let entry = &json["types"]["Softmax"];
        assert!(entry["layer"] == true && entry["hue"].is_u64());
        assert_eq!(json["fieldsets"].as_array().unwrap().len(), 2);
        let kids = json["root"]["children"].as_array().unwrap();
        let fields: Vec<_> = kids.iter().map(|k| k["fields"].as_u64().unwrap()).collect();
        assert_eq!(fields, [0, 0, 1]);
        assert!(
            kids.iter()
                .all(|k| k.get("layer").is_none() && k.get("hue").is_none())
        );
        assert_eq!(json["fieldsets"][1][0][0], "axes");
        assert!(json["fieldsets"][1][0][1].as_str().unwrap().contains("seq"));
    }

    #[test]
    fn arrays_keep_their_summary_and_preview_but_not_the_repeated_statistics() {
        let x = crate::nx::NamedArray::from_f32(&[("seq", 3)], vec![1.0, 2.0, 3.0]).unwrap();
        let json = island_json(&x);
        let root = &json["root"];
        assert!(root["summary"].as_str().unwrap().starts_with("f32{seq: 3}"));
        assert!(root["array"]["preview"].is_object());
        assert!(root["array"].get("stats").is_none() && root.get("params").is_none());
        assert_eq!(json["types"]["NamedArray"]["kind"], "array");
    }
}
