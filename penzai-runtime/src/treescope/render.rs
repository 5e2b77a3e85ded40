//! Custom rendering: how a type opts into its own look (Treescope's `__treescope_repr__`).
//!
//! A type implements [`Render`] and is registered once with [`register_render`]. While a
//! [`Doc`](super::Doc) is built, each node's concrete type is looked up by `TypeId`; a
//! registered type gets its default [`DocNode`] handed to its `render` method to edit.
//! The registry is process-wide so that a library can opt its types in once and every
//! page, text dump and diff then shows them the same way.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, RwLock};

use super::doc::DocNode;
use crate::tree::Tree;

/// A type that adjusts how it is shown by Treescope.
///
/// `render` receives the node exactly as it would be shown (type, static fields,
/// children, array summary, colour) and may change any of it: set a `value` line, replace
/// the summary, drop or reorder children, choose a hue, or decide the default expansion.
/// Both the HTML and the text renderer show the edited node.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::treescope::{self, DocNode, Render};
///
/// #[derive(Clone, PartialEq, Debug)]
/// struct Vocab(Vec<String>);
/// # impl Tree for Vocab {
/// #     fn type_name(&self) -> &'static str { "Vocab" }
/// #     fn visit_children<'a>(&'a self, _: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {}
/// #     fn visit_children_mut(&mut self, _: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {}
/// #     fn child(&self, _: KeyRef<'_>) -> Option<&dyn Tree> { None }
/// #     fn child_mut(&mut self, _: KeyRef<'_>) -> Option<&mut dyn Tree> { None }
/// #     fn replace_child(&mut self, k: KeyRef<'_>, v: Box<dyn Tree>)
/// #         -> Result<Box<dyn Tree>, penzai::tree::ChildError> {
/// #         Err(penzai::tree::ChildError::NoSuchChild { key: k.to_owned_key(), type_name: "Vocab", value: Some(v) })
/// #     }
/// #     fn tree_eq(&self, o: &dyn Tree) -> bool { o.downcast_ref::<Vocab>() == Some(self) }
/// # }
/// impl Render for Vocab {
///     fn render(&self, node: &mut DocNode) {
///         node.value = Some(format!("{} tokens, first {:?}", self.0.len(), self.0.first()));
///     }
/// }
///
/// treescope::register_render::<Vocab>();
/// let text = treescope::to_text_plain(&Vocab(vec!["<s>".into(), "a".into()]));
/// assert_eq!(text, "Vocab = 2 tokens, first Some(\"<s>\")\n");
/// ```
pub trait Render: Tree {
    /// Edits the default rendering of this node.
    fn render(&self, node: &mut DocNode);
}

type RenderFn = fn(&dyn Tree, &mut DocNode);

fn registry() -> &'static RwLock<HashMap<TypeId, RenderFn>> {
    static REGISTRY: OnceLock<RwLock<HashMap<TypeId, RenderFn>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Set once anything is registered, so unregistered programs skip the lock per node.
static ANY_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Registers `T`'s [`Render`] implementation for every later rendering in this process.
///
/// Registering the same type again is harmless.
pub fn register_render<T: Render>() {
    let mut map = registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.insert(TypeId::of::<T>(), apply::<T>);
    ANY_REGISTERED.store(true, Ordering::Release);
}

fn apply<T: Render>(node: &dyn Tree, doc: &mut DocNode) {
    if let Some(value) = node.downcast_ref::<T>() {
        value.render(doc);
    }
}

/// Applies the registered [`Render`] of `node`'s concrete type, if any.
pub(crate) fn apply_custom(node: &dyn Tree, doc: &mut DocNode) {
    if !ANY_REGISTERED.load(Ordering::Acquire) {
        return;
    }
    let found = {
        let map = registry()
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(&node.as_any().type_id()).copied()
    };
    if let Some(render) = found {
        render(node, doc);
    }
}
