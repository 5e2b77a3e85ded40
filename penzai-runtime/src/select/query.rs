//! Queries: methods that narrow or move a selection without touching the tree.

use super::args::IntoSelectPath;
use super::error::SelectError;
use super::selection::{SelectRoot, Selection};
use super::trie::PathTrie;
use crate::tree::{Key, KeyPath, PathFrame, Tree, get};

impl<R: SelectRoot> Selection<R> {
    /// Selects, inside each selected subtree, the outermost nodes of type `T` (a match's
    /// descendants are not searched). Slots are transparent: a `Linear` held in an
    /// `AnyLayer` slot is a `Linear` here.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::Linear;
    /// use penzai::select::select;
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let linears = select(model.as_dyn()).at_instances_of::<Linear>();
    /// // Per block: query, key, value, output, gate, up, down and two norm scales; plus the
    /// // final norm's scale and the unembedding.
    /// assert_eq!(linears.count(), 2 * 9 + 2);
    /// assert_eq!(linears.paths()[0].to_string(), "blocks[0].attn.delta.norm.scale");
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn at_instances_of<T: Tree>(self) -> Selection<R> {
        self.search(false, &mut |_, node| node.is::<T>())
    }

    /// Like [`at_instances_of`](Selection::at_instances_of), but selects the innermost
    /// matches: nodes of type `T` with no `T` below them.
    pub fn at_innermost_instances_of<T: Tree>(self) -> Selection<R> {
        self.search(true, &mut |_, node| node.is::<T>())
    }

    /// Selects, inside each selected subtree, the outermost nodes for which `pred` holds.
    /// The predicate sees the node's absolute path (as a [`PathFrame`]: call
    /// `to_key_path()` for a [`KeyPath`]; walking does not allocate otherwise).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::select::select;
    ///
    /// #[derive(Clone, Debug, Tree)]
    /// struct Layer2 { scale: f32, shift: f32 }
    ///
    /// let two = vec![Layer2 { scale: 1.0, shift: 0.0 }, Layer2 { scale: 3.0, shift: 0.5 }];
    /// let big = select(two).at_subtrees_where(|frame, node| {
    ///     frame.depth() == 2 && node.downcast_ref::<f32>().is_some_and(|v| *v > 0.2)
    /// });
    /// let paths: Vec<String> = big.paths().iter().map(ToString::to_string).collect();
    /// assert_eq!(paths, ["[0].scale", "[1].scale", "[1].shift"]);
    /// ```
    pub fn at_subtrees_where(
        self,
        mut pred: impl FnMut(&PathFrame<'_>, &dyn Tree) -> bool,
    ) -> Selection<R> {
        self.search(false, &mut pred)
    }

    /// Like [`at_subtrees_where`](Selection::at_subtrees_where), but selects the innermost
    /// matches (matches with no match below them).
    pub fn at_innermost_subtrees_where(
        self,
        mut pred: impl FnMut(&PathFrame<'_>, &dyn Tree) -> bool,
    ) -> Selection<R> {
        self.search(true, &mut pred)
    }

    /// Selects the outermost subtrees equal to `template` ([`Tree::tree_eq`]: same types,
    /// static fields and children).
    pub fn at_equal(self, template: &dyn Tree) -> Selection<R> {
        self.search(false, &mut |_, node| node.tree_eq(template))
    }

    /// Selects every direct child of each selected node (childless nodes drop out).
    pub fn at_children(self) -> Selection<R> {
        let mut out = Vec::new();
        for path in &self.paths {
            if let Ok(node) = self.node(path) {
                node.visit_children(&mut |key, _| out.push(path.clone().child(key.to_owned_key())));
            }
        }
        self.with_paths(out)
    }

    /// Selects every leaf (number, string, array, parameter, opaque value) inside the
    /// selected subtrees.
    pub fn at_leaves(self) -> Selection<R> {
        self.search(false, &mut |_, node| node.leaf().is_some())
    }

    /// Selects every childless node inside the selected subtrees: the leaves, and also
    /// empty containers and layers without children (`Identity`).
    pub fn at_childless(self) -> Selection<R> {
        self.search(false, &mut |_, node| node.is_childless())
    }

    /// Selects the node at `path` below each selected node (relative to it; from
    /// [`select`](super::select) that is the root). `path` is a [`KeyPath`], its text or a
    /// typed path; malformed text or a path reaching no node is an error naming it.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::select::{SelectError, select};
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let attn = select(model.as_dyn()).at_path("blocks[1].attn.delta.attention")?;
    /// assert_eq!(attn.get()?.type_name(), "Attention");
    ///
    /// let err = select(model.as_dyn()).at_path("blocks[1].atn").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "no node at blocks[1].atn: no child .atn under blocks[1] (TransformerBlock)"
    /// );
    /// let err = select(model.as_dyn()).at_path("blocks[1.attn").unwrap_err();
    /// assert!(matches!(err, SelectError::Parse(e) if e.offset == 8));
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn at_path(self, path: impl IntoSelectPath) -> Result<Selection<R>, SelectError> {
        let relative = path.into_select_path()?;
        let mut out = Vec::with_capacity(self.paths.len());
        for base in &self.paths {
            let full = base.join(&relative);
            self.require(&full)?;
            out.push(full);
        }
        Ok(self.with_paths(out))
    }

    /// Selects the nodes at several paths below each selected node. Where one path is a
    /// prefix of another, the shorter wins (selected nodes never nest); the result is in
    /// tree order whatever the order given.
    pub fn at_paths<P: IntoSelectPath>(
        self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Selection<R>, SelectError> {
        let relative = paths
            .into_iter()
            .map(IntoSelectPath::into_select_path)
            .collect::<Result<Vec<_>, _>>()?;
        for base in &self.paths {
            for rel in &relative {
                self.require(&base.join(rel))?;
            }
        }
        let trie = PathTrie::from_paths(&relative);
        let mut out = Vec::new();
        if !trie.is_empty() {
            for base in &self.paths {
                let node = self.node(base)?;
                trie.collect_in_order(node, &mut base.clone(), &mut out);
            }
        }
        Ok(self.with_paths(out))
    }

    fn require(&self, path: &KeyPath) -> Result<(), SelectError> {
        match get(self.root_node(), path) {
            Ok(_) => Ok(()),
            Err(reason) => Err(SelectError::NoSuchNode {
                path: path.clone(),
                reason,
            }),
        }
    }

    /// Keeps the selected nodes for which `pred(path, node)` holds.
    pub fn where_(self, mut pred: impl FnMut(&KeyPath, &dyn Tree) -> bool) -> Selection<R> {
        let kept: Vec<KeyPath> = self
            .get_by_path()
            .into_iter()
            .filter(|(path, node)| pred(path, *node))
            .map(|(path, _)| path.clone())
            .collect();
        self.with_paths(kept)
    }

    /// Keeps only the `i`-th selected node, in tree order; negative `i` counts from the end
    /// (`-1` is the last). Out of range selects nothing.
    pub fn nth(self, i: isize) -> Selection<R> {
        let n = self.paths.len() as isize;
        let index = if i < 0 { n + i } else { i };
        let kept = if (0..n).contains(&index) {
            vec![self.paths[index as usize].clone()]
        } else {
            Vec::new()
        };
        self.with_paths(kept)
    }

    /// Selects the maximal subtrees that hold no selected node: every child of a strict
    /// ancestor of a selected node that is neither selected nor such an ancestor itself
    /// (the root when nothing is selected; nothing when the root is).
    ///
    /// **Candidates.** Call the *spine* of a selection the set of strict ancestors of its
    /// nodes. Its *candidates* are the children of spine nodes that are not on the spine
    /// themselves (the root alone when the spine is empty). The selected nodes are
    /// candidates, `invert` selects the other candidates, so
    /// `s.count() + s.invert().count()` is the number of candidates, which is
    /// `sum(children of spine nodes) - (|spine| - 1)` for a non-empty spine. Together the
    /// two selections cover every childless node (leaf) exactly once.
    ///
    /// An inversion remembers what it inverted, and inverting it again gives that back:
    /// `s.invert().invert()` selects exactly `s`. (Recomputing the complement of the
    /// inversion instead would not always: for an `x` whose only children `x.a` and `x.b`
    /// are both selected, the rest of the tree's own complement is `{x}`, which is what
    /// Penzai's `invert` returns there.) Any other query starts afresh.
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// #[derive(Clone, Debug, Tree)]
    /// struct Pair { a: f32, b: f32 }
    /// #[derive(Clone, Debug, Tree)]
    /// struct Root { x: Pair, y: f32 }
    ///
    /// let root = Root { x: Pair { a: 1.0, b: 2.0 }, y: 3.0 };
    /// let both = select(root.as_dyn()).at_paths(["x.a", "x.b"])?;
    /// let inverse = both.clone().invert();
    /// assert_eq!(inverse.paths(), ["y".parse::<KeyPath>()?]);
    /// assert_eq!(inverse.invert().paths(), both.paths());
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn invert(mut self) -> Selection<R> {
        if let Some(original) = self.complement_of.take() {
            let inverse = std::mem::take(&mut self.paths);
            let mut back = self.with_paths(original);
            back.complement_of = Some(inverse);
            return back;
        }
        let trie = PathTrie::from_paths(&self.paths);
        let mut out = Vec::new();
        if trie.is_empty() {
            out.push(KeyPath::root());
        } else if !trie.is_selected() {
            trie.collect_complement(self.root_node(), &mut KeyPath::root(), &mut out);
        }
        let original = std::mem::take(&mut self.paths);
        let mut inverse = self.with_paths(out);
        inverse.complement_of = Some(original);
        inverse
    }

    /// Replaces each selected node by a selection inside it, built by `f` from a selection
    /// of that node alone (paths inside `f` are relative to the node).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::select::select;
    ///
    /// #[derive(Clone, Debug, Tree)]
    /// struct Foo { a: i64, b: i64 }
    /// #[derive(Clone, Debug, Tree)]
    /// struct Bar { a: i64, b: i64 }
    /// #[derive(Clone, Debug, Tree)]
    /// struct Both { foo: Foo, bar: Bar }
    ///
    /// let both = Both { foo: Foo { a: 1, b: 2 }, bar: Bar { a: 3, b: 4 } };
    /// let picked = select(both)
    ///     .at_children()
    ///     .refine(|s| if s.get()?.is::<Foo>() { s.at_path("a") } else { s.at_path("b") })?;
    /// let paths: Vec<String> = picked.paths().iter().map(ToString::to_string).collect();
    /// assert_eq!(paths, ["foo.a", "bar.b"]);
    /// # Ok::<(), penzai::select::SelectError>(())
    /// ```
    pub fn refine(
        self,
        mut f: impl for<'a> FnMut(
            Selection<&'a dyn Tree>,
        ) -> Result<Selection<&'a dyn Tree>, SelectError>,
    ) -> Result<Selection<R>, SelectError> {
        let mut out = Vec::new();
        for base in &self.paths {
            let node = self.node(base)?;
            let inner = f(Selection::of_root(node))?;
            out.extend(inner.paths.iter().map(|rel| base.join(rel)));
        }
        Ok(self.with_paths(out))
    }

    /// Walks each selected subtree with absolute paths, collecting outermost (or innermost)
    /// matches of `pred`.
    fn search(
        self,
        innermost: bool,
        pred: &mut dyn FnMut(&PathFrame<'_>, &dyn Tree) -> bool,
    ) -> Selection<R> {
        let mut out = Vec::new();
        for base in &self.paths {
            let Ok(node) = self.node(base) else { continue };
            with_frame(base.keys(), &PathFrame::ROOT, &mut |frame| {
                search_node(node, frame, innermost, pred, &mut out)
            });
        }
        self.with_paths(out)
    }
}

/// Calls `f` with the frame of the node at `keys` below `frame` (frames live on the stack,
/// so this recurses once per key).
fn with_frame(keys: &[Key], frame: &PathFrame<'_>, f: &mut dyn FnMut(&PathFrame<'_>)) {
    match keys.split_first() {
        None => f(frame),
        Some((key, rest)) => with_frame(rest, &frame.child(key.as_ref()), f),
    }
}

fn search_node(
    node: &dyn Tree,
    frame: &PathFrame<'_>,
    innermost: bool,
    pred: &mut dyn FnMut(&PathFrame<'_>, &dyn Tree) -> bool,
    out: &mut Vec<KeyPath>,
) {
    if !innermost && pred(frame, node) {
        out.push(frame.to_key_path());
        return;
    }
    let before = out.len();
    node.visit_children(&mut |key, child| {
        search_node(child, &frame.child(key), innermost, pred, out)
    });
    if innermost && out.len() == before && pred(frame, node) {
        out.push(frame.to_key_path());
    }
}
