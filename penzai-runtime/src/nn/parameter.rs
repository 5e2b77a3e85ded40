//! `Parameter`: a labelled array leaf; slots with the same label are one tied parameter.

use std::fmt;
use std::sync::Arc;

use crate::nx::NamedArray;
use crate::tree::{ChildError, HasTypedPath, KeyPath, KeyRef};
use crate::tree::{Leaf, LeafPath, Tree, TreeExt, Walk, childless_tree_methods};

/// A learned array with a label.
///
/// The label (by default the parameter's path when it was built, e.g.
/// `blocks.3.attn.query.weights`) identifies it: two slots holding parameters with the same
/// label are one **tied** parameter (the embedding table read by both the lookup and the
/// decode), stored once by `io`. Cloning shares the array storage.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::Parameter;
///
/// let p = Parameter::new("embed.table", NamedArray::zeros(&[("vocabulary", 4), ("embedding", 2)])?);
/// let tied = p.clone();
/// assert!(p.is_tied_to(&tied));
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Parameter {
    /// The parameter's identity.
    pub label: Arc<str>,
    /// Its value.
    pub value: NamedArray,
}

impl Parameter {
    /// A parameter with a label and a value.
    pub fn new(label: impl Into<Arc<str>>, value: NamedArray) -> Parameter {
        Parameter {
            label: label.into(),
            value,
        }
    }

    /// True when `other` has the same label (the two are one tied parameter).
    pub fn is_tied_to(&self, other: &Parameter) -> bool {
        self.label == other.label
    }

    /// The same parameter with another value (the label, and so the tie, is kept).
    pub fn with_value(&self, value: NamedArray) -> Parameter {
        Parameter {
            label: self.label.clone(),
            value,
        }
    }
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parameter({:?}, {:?})", self.label, self.value)
    }
}

impl Tree for Parameter {
    fn type_name(&self) -> &'static str {
        "Parameter"
    }
    childless_tree_methods!();
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<Parameter>() == Some(self)
    }
    fn leaf(&self) -> Option<Leaf<'_>> {
        Some(Leaf::Array {
            array: &self.value,
            label: Some(&self.label),
        })
    }
    fn array_mut(&mut self) -> Option<&mut NamedArray> {
        Some(&mut self.value)
    }
}

impl HasTypedPath for Parameter {
    type Path = LeafPath;
}

/// Every parameter in `tree` with its path, in pre-order (tied ones appear once per slot).
pub fn parameters(tree: &dyn Tree) -> Vec<(KeyPath, &Parameter)> {
    let mut out = Vec::new();
    tree.walk(&mut |frame, node| {
        if let Some(p) = node.downcast_ref::<Parameter>() {
            out.push((frame.to_key_path(), p));
        }
        Walk::Continue
    });
    out
}

/// The number of parameter values in `tree`, counting a tied parameter (one label in several
/// slots, such as an embedding table shared by lookup and decode) once.
///
/// ```
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::nn::{parameter_count, parameters};
///
/// let cfg = LlamaConfig { tie_embeddings: true, ..LlamaConfig::tiny() };
/// let model = TransformerLm::llama(&cfg, 0)?;
/// assert_eq!(parameter_count(&model) as u128, cfg.parameter_count());
/// let per_slot: usize = parameters(&model).iter().map(|(_, p)| p.value.len()).sum();
/// assert_eq!(per_slot - parameter_count(&model), 64 * 32); // the table, counted twice
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn parameter_count(tree: &dyn Tree) -> usize {
    let mut seen = std::collections::HashSet::new();
    parameters(tree)
        .into_iter()
        .filter(|(_, p)| seen.insert(p.label.clone()))
        .map(|(_, p)| p.value.len())
        .sum()
}

/// Sets the value of the parameter labelled `label` in every slot that holds it, keeping
/// tied parameters tied. Returns how many slots were updated.
pub fn set_parameter(tree: &mut dyn Tree, label: &str, value: &NamedArray) -> usize {
    let mut count = 0;
    tree.walk_mut(&mut |_, node| {
        if let Some(p) = node.downcast_mut::<Parameter>()
            && &*p.label == label
        {
            p.value = value.clone();
            count += 1;
        }
        Walk::Continue
    });
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole-tree array operations reach a parameter's value and keep its label.
    #[test]
    fn tree_array_operations_reach_parameter_values() {
        let value = NamedArray::zeros(&[("out", 2), ("in", 3)]).unwrap();
        let params = vec![Parameter::new("w", value.clone())];
        let like = vec![value.order_as(&["in", "out"]).unwrap()];
        let aligned = crate::tree::order_like(&params, &like).unwrap();
        assert_eq!(aligned[0].value.axis_names(), ["in", "out"]);
        assert_eq!(&*aligned[0].label, "w");
        let sorted = crate::tree::canonicalize(&params).unwrap();
        assert_eq!(sorted[0].value.axis_names(), ["in", "out"]);
    }
}
