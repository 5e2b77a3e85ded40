//! The default expansion: which nodes start open.
//!
//! Breadth-first over the tree, a node opens when the lines it adds still fit a budget
//! and it is not too deep; nodes that do not fit stay closed and the walk goes on, so
//! small siblings further on can still open. The result: shallow levels and small nodes
//! open, large subtrees closed, and the first screen stays about `max_lines` high.
//! Nodes whose `open` was already decided (by a custom renderer) keep that decision.

use std::collections::VecDeque;

use super::doc::DocNode;

/// Options of the default expansion.
#[derive(Clone, Debug)]
pub struct ExpandOptions {
    /// Budget of visible lines for the initial view.
    pub max_lines: usize,
    /// Nodes at this depth or deeper start closed (the root is depth 0).
    pub max_depth: usize,
    /// Children shown of a long node before an "N more" line.
    pub shown_children: usize,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            max_lines: 40,
            max_depth: 6,
            shown_children: 20,
        }
    }
}

/// Lines a node adds when opened: its shown children plus one "N more" line if cut.
fn open_cost(node: &DocNode, shown_children: usize) -> usize {
    let total = node.children.len() + node.omitted;
    total.min(shown_children) + usize::from(total > shown_children)
}

/// Sets `open` on every node with children that has no decision yet.
pub(crate) fn decide(root: &mut DocNode, options: &ExpandOptions) {
    let mut lines = 1usize;
    let mut queue: VecDeque<(&mut DocNode, usize)> = VecDeque::new();
    queue.push_back((root, 0));
    while let Some((node, depth)) = queue.pop_front() {
        if node.children.is_empty() {
            continue;
        }
        let cost = open_cost(node, options.shown_children);
        let open = match node.open {
            Some(decided) => decided,
            // The root always opens: a closed root shows nothing.
            None => depth == 0 || (depth < options.max_depth && lines + cost <= options.max_lines),
        };
        node.open = Some(open);
        if open {
            lines += cost;
            let shown = options.shown_children;
            for child in node.children.iter_mut().take(shown) {
                queue.push_back((child, depth + 1));
            }
        } else {
            close_all(node);
        }
    }
}

/// Marks a closed node's undecided descendants closed too.
fn close_all(node: &mut DocNode) {
    for child in &mut node.children {
        if !child.children.is_empty() && child.open.is_none() {
            child.open = Some(false);
            close_all(child);
        }
    }
}

/// Opens exactly the nodes shallower than `depth`.
pub(crate) fn to_depth(node: &mut DocNode, depth: usize) {
    if node.children.is_empty() {
        return;
    }
    node.open = Some(depth > 0);
    for child in &mut node.children {
        to_depth(child, depth.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(children: Vec<DocNode>) -> DocNode {
        DocNode {
            children,
            ..DocNode::default()
        }
    }

    fn leaves(n: usize) -> Vec<DocNode> {
        (0..n).map(|_| node(vec![])).collect()
    }

    #[test]
    fn small_nodes_open_and_big_subtrees_stay_closed() {
        let mut root = node(vec![node(leaves(3)), node(leaves(50)), node(leaves(2))]);
        decide(
            &mut root,
            &ExpandOptions {
                max_lines: 12,
                ..Default::default()
            },
        );
        assert_eq!(root.open, Some(true));
        assert_eq!(root.children[0].open, Some(true));
        assert_eq!(
            root.children[1].open,
            Some(false),
            "50 children do not fit 12 lines"
        );
        assert_eq!(
            root.children[2].open,
            Some(true),
            "a later small sibling still opens"
        );
    }

    #[test]
    fn depth_limit_closes_deep_nodes() {
        let mut root = node(vec![node(vec![node(leaves(1))])]);
        decide(
            &mut root,
            &ExpandOptions {
                max_depth: 1,
                ..Default::default()
            },
        );
        assert_eq!(root.open, Some(true));
        assert_eq!(root.children[0].open, Some(false));
        assert_eq!(root.children[0].children[0].open, Some(false));
    }
}
