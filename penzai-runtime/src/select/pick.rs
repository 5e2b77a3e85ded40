//! Queries Penzai spells with tuples and flags: several types at once, several positions at
//! once, and predicates that see paths relative to the selected node.

use super::selection::{SelectRoot, Selection};
use crate::tree::{KeyPath, Tree};

/// A set of node types, written as a tuple: `(Linear,)`, `(Linear, Softmax)`, ... (up to
/// eight). What [`Selection::at_instances_of_any`] matches, like the tuple of types Penzai's
/// `at_instances_of` takes.
pub trait TypeSet {
    /// True when `node` is an instance of one of the types.
    fn contains(node: &dyn Tree) -> bool;
}

macro_rules! type_set {
    ($($t:ident),+) => {
        impl<$($t: Tree),+> TypeSet for ($($t,)+) {
            fn contains(node: &dyn Tree) -> bool {
                false $(|| node.is::<$t>())+
            }
        }
    };
}
type_set!(A);
type_set!(A, B);
type_set!(A, B, C);
type_set!(A, B, C, D);
type_set!(A, B, C, D, E);
type_set!(A, B, C, D, E, F);
type_set!(A, B, C, D, E, F, G);
type_set!(A, B, C, D, E, F, G, H);

impl<R: SelectRoot> Selection<R> {
    /// Selects the outermost nodes that are an instance of any type of the tuple `S`
    /// (Penzai's `at_instances_of((A, B))`). Slots are transparent, as in
    /// [`at_instances_of`](Selection::at_instances_of).
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// use penzai::tree::AnyTree;
    ///
    /// let tree = vec![
    ///     AnyTree::new(1i64),
    ///     AnyTree::new("two".to_owned()),
    ///     AnyTree::new(3.0f32),
    ///     AnyTree::new(vec![4i64]),
    /// ];
    /// let picked = select(tree.as_dyn()).at_instances_of_any::<(i64, String)>();
    /// let paths: Vec<String> = picked.paths().iter().map(ToString::to_string).collect();
    /// assert_eq!(paths, ["[0]", "[1]", "[3][0]"]);
    /// ```
    pub fn at_instances_of_any<S: TypeSet>(self) -> Selection<R> {
        self.at_subtrees_where(|_, node| S::contains(node))
    }

    /// Keeps the selected nodes at the given positions (in tree order; negative positions
    /// count from the end, `-1` is the last), like Penzai's `pick_nth_selected` with a
    /// sequence of indices. Positions out of range and repeats are ignored; the result stays
    /// in tree order.
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// let picked = select(vec![10i64, 11, 12, 13]).at_children().pick_nth(&[0, -1, 7, 0]);
    /// let paths: Vec<String> = picked.paths().iter().map(ToString::to_string).collect();
    /// assert_eq!(paths, ["[0]", "[3]"]);
    /// ```
    pub fn pick_nth(self, positions: &[isize]) -> Selection<R> {
        let n = self.paths.len();
        let mut keep = vec![false; n];
        for &i in positions {
            let from_end = i.checked_neg().and_then(|k| usize::try_from(k).ok());
            let index = match usize::try_from(i) {
                Ok(i) => Some(i),
                Err(_) => from_end.and_then(|k| n.checked_sub(k)),
            };
            if let Some(slot) = index.and_then(|i| keep.get_mut(i)) {
                *slot = true;
            }
        }
        let kept = self
            .paths
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p.clone())
            .collect();
        self.with_paths(kept)
    }

    /// Like [`at_subtrees_where`](Selection::at_subtrees_where), but the predicate sees each
    /// node's path relative to the selected node it is searched from (Penzai's
    /// `absolute_keypath=False`); the selected node itself has the empty path.
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// let tree = vec![vec![1i64, 2], vec![3, 4]];
    /// // The second element of each inner list, found by its relative path `[1]`.
    /// let second = select(tree.as_dyn())
    ///     .at_children()
    ///     .at_subtrees_where_relative(|rel, _| rel.to_string() == "[1]");
    /// let paths: Vec<String> = second.paths().iter().map(ToString::to_string).collect();
    /// assert_eq!(paths, ["[0][1]", "[1][1]"]);
    /// ```
    pub fn at_subtrees_where_relative(
        self,
        mut pred: impl FnMut(&KeyPath, &dyn Tree) -> bool,
    ) -> Selection<R> {
        let bases = self.paths.clone();
        let mut base_index = 0;
        self.at_subtrees_where(|frame, node| {
            let path = frame.to_key_path();
            // Searches run base by base, in order: advance to the base this node is under.
            while base_index < bases.len() && !path.starts_with(&bases[base_index]) {
                base_index += 1;
            }
            match bases.get(base_index).and_then(|b| path.strip_prefix(b)) {
                Some(rel) => pred(&rel, node),
                None => false,
            }
        })
    }
}
