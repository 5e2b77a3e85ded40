//! A trie of key paths, for walking a tree toward a set of paths in one pass.

use crate::tree::{Key, KeyPath, KeyRef, Tree};

/// A set of paths stored as a trie. A path that is a prefix of another absorbs it
/// (selected nodes never nest, and a shorter path wins).
#[derive(Default)]
pub(crate) struct PathTrie {
    selected: bool,
    /// Sorted by key, for binary search with a borrowed key.
    children: Vec<(Key, PathTrie)>,
}

impl PathTrie {
    /// The trie of `paths`.
    pub(crate) fn from_paths<'a>(paths: impl IntoIterator<Item = &'a KeyPath>) -> PathTrie {
        let mut trie = PathTrie::default();
        for path in paths {
            trie.insert(path.keys());
        }
        trie
    }

    fn insert(&mut self, keys: &[Key]) {
        if self.selected {
            return;
        }
        let Some((first, rest)) = keys.split_first() else {
            self.selected = true;
            self.children.clear();
            return;
        };
        let i = match self.search(first.as_ref()) {
            Ok(i) => i,
            Err(i) => {
                self.children
                    .insert(i, (first.clone(), PathTrie::default()));
                i
            }
        };
        self.children[i].1.insert(rest);
    }

    fn search(&self, key: KeyRef<'_>) -> Result<usize, usize> {
        self.children
            .binary_search_by(|(k, _)| k.as_ref().cmp(&key))
    }

    fn child(&self, key: KeyRef<'_>) -> Option<&PathTrie> {
        self.search(key).ok().map(|i| &self.children[i].1)
    }

    /// True when the trie holds the empty path (the node it is applied to).
    pub(crate) fn is_selected(&self) -> bool {
        self.selected
    }

    /// True when the trie holds no path at all.
    pub(crate) fn is_empty(&self) -> bool {
        !self.selected && self.children.is_empty()
    }

    /// Pushes, in pre-order, the paths of the trie that exist below `node` (whose own path
    /// is `path`), each prefixed by `path`.
    pub(crate) fn collect_in_order(
        &self,
        node: &dyn Tree,
        path: &mut KeyPath,
        out: &mut Vec<KeyPath>,
    ) {
        if self.selected {
            out.push(path.clone());
            return;
        }
        node.visit_children(&mut |key, child| {
            if let Some(sub) = self.child(key) {
                path.push(key.to_owned_key());
                sub.collect_in_order(child, path, out);
                path.pop();
            }
        });
    }

    /// Pushes the children of the trie's spine (the strict ancestors of its paths) that are
    /// neither on the spine nor in the trie: the maximal subtrees holding no path.
    pub(crate) fn collect_complement(
        &self,
        node: &dyn Tree,
        path: &mut KeyPath,
        out: &mut Vec<KeyPath>,
    ) {
        node.visit_children(&mut |key, child| match self.child(key) {
            Some(sub) if sub.selected => {}
            Some(sub) => {
                path.push(key.to_owned_key());
                sub.collect_complement(child, path, out);
                path.pop();
            }
            None => out.push(path.clone().child(key.to_owned_key())),
        });
    }
}
