//! Whole-tree operations on array leaves: Penzai's `order_like` and `canonicalize` for
//! trees.

use super::error::TreeError;
use super::node::{Leaf, Tree};
use super::path::KeyPath;
use super::walk::{Walk, get, walk_mut};
use crate::nx::{AxisError, NamedArray};

/// `tree` with every array leaf (a `NamedArray`, a parameter's value) laid out like the
/// array at the same path in `reference` (Penzai's `pz.nx.order_like(value_tree,
/// reference_tree)`): afterwards both trees flatten (`to_f32_vec`) in the same order, so
/// their leaves can be compared or combined element by element. Only strides change.
///
/// Every array leaf of `tree` needs an array with the same named axes at the same path of
/// `reference`; a missing path, a node that is not an array, or other axes is an error
/// naming the path. Nodes of `reference` that `tree` lacks are ignored: `tree` drives the
/// walk (Penzai requires equal structures; use `tree_eq` of the structures to check that).
///
/// ```
/// use penzai::nx::NamedArray;
/// use penzai::tree::order_like;
///
/// let grads = vec![NamedArray::zeros(&[("out", 2), ("in", 3)])?];
/// let params = vec![NamedArray::zeros(&[("in", 3), ("out", 2)])?];
/// let aligned = order_like(&grads, &params)?;
/// assert_eq!(aligned[0].named_shape().to_string(), "{in: 3, out: 2}");
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn order_like<T: Tree + Clone>(tree: &T, reference: &dyn Tree) -> Result<T, TreeError> {
    let mut out = tree.clone();
    map_arrays(&mut out, |path, array| {
        let like = match get(reference, path) {
            Ok(node) => node,
            Err(e) => return Err(e),
        };
        match like.leaf() {
            Some(Leaf::Array { array: like, .. }) => Ok(array.order_like(like)),
            _ => Err(TreeError::Mismatch {
                path: path.clone(),
                expected: like.type_name().to_owned(),
                found: "an array".to_owned(),
            }),
        }
    })?;
    Ok(out)
}

/// `tree` with every array leaf's named axes in sorted order (Penzai's `canonicalize`,
/// over a whole tree): two equal trees then flatten their arrays to the same lists.
///
/// ```
/// use penzai::nx::NamedArray;
/// use penzai::tree::canonicalize;
///
/// let tree = vec![NamedArray::zeros(&[("seq", 2), ("batch", 3)])?];
/// assert_eq!(canonicalize(&tree)?[0].axis_names(), ["batch", "seq"]);
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn canonicalize<T: Tree + Clone>(tree: &T) -> Result<T, TreeError> {
    let mut out = tree.clone();
    map_arrays(&mut out, |_, array| Ok(array.canonicalize()))?;
    Ok(out)
}

/// Replaces every array leaf of `tree` by `f(path, array)`; the first error stops the walk.
fn map_arrays(
    tree: &mut dyn Tree,
    mut f: impl FnMut(&KeyPath, &NamedArray) -> Result<Result<NamedArray, AxisError>, TreeError>,
) -> Result<(), TreeError> {
    let mut result = Ok(());
    walk_mut(tree, &mut |frame, node| {
        let Some(array) = node.array_mut() else {
            return Walk::Continue;
        };
        let path = frame.to_key_path();
        match f(&path, array) {
            Ok(Ok(new)) => {
                *array = new;
                Walk::SkipChildren
            }
            Ok(Err(source)) => {
                result = Err(TreeError::Array {
                    path,
                    source: Box::new(source),
                });
                Walk::Stop
            }
            Err(e) => {
                result = Err(e);
                Walk::Stop
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn arr(shape: &[(&str, usize)]) -> NamedArray {
        let n: usize = shape.iter().map(|s| s.1).product();
        NamedArray::from_f32(shape, (0..n).map(|i| i as f32).collect()).unwrap()
    }

    #[test]
    fn order_like_aligns_every_array_with_its_reference() {
        let mut tree = BTreeMap::new();
        tree.insert("w".to_owned(), vec![arr(&[("a", 2), ("b", 3)])]);
        tree.insert("v".to_owned(), vec![arr(&[("c", 4)])]);
        let mut reference = BTreeMap::new();
        reference.insert(
            "w".to_owned(),
            vec![arr(&[("a", 2), ("b", 3)]).order_as(&["b", "a"]).unwrap()],
        );
        reference.insert("v".to_owned(), vec![arr(&[("c", 4)])]);
        let aligned = order_like(&tree, &reference).unwrap();
        assert_eq!(aligned["w"][0].axis_names(), ["b", "a"]);
        assert_eq!(aligned["w"][0], tree["w"][0]);
        assert_eq!(aligned["w"][0].to_f32_vec(), reference["w"][0].to_f32_vec());
        assert_eq!(aligned["v"][0].axis_names(), ["c"]);
    }

    #[test]
    fn order_like_names_the_path_that_does_not_match() {
        let tree = vec![arr(&[("a", 2)]), arr(&[("b", 3)])];
        let short = vec![arr(&[("a", 2)])];
        assert_eq!(
            order_like(&tree, &short).unwrap_err().to_string(),
            "no child [1] under the root (Vec)"
        );
        let other_axes = vec![arr(&[("a", 2)]), arr(&[("c", 3)])];
        assert_eq!(
            order_like(&tree, &other_axes).unwrap_err().to_string(),
            "at [1]: order_like: no axis \"b\" in {c: 3}"
        );
        let numbers: Vec<i64> = vec![1, 2];
        let err = order_like(&tree, &numbers).unwrap_err();
        assert!(matches!(err, TreeError::Mismatch { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "the trees differ at [0]: an array where the reference has i64"
        );
    }

    #[test]
    fn wrappers_let_the_operations_reach_the_array() {
        let tree: Vec<Option<Box<NamedArray>>> =
            vec![Some(Box::new(arr(&[("b", 2), ("a", 2)]))), None];
        let any = vec![super::super::AnyTree::new(arr(&[("b", 2), ("a", 2)]))];
        assert_eq!(
            canonicalize(&tree).unwrap()[0]
                .as_ref()
                .unwrap()
                .axis_names(),
            ["a", "b"]
        );
        let c = canonicalize(&any).unwrap();
        assert_eq!(
            c[0].downcast_ref::<NamedArray>().unwrap().axis_names(),
            ["a", "b"]
        );
    }

    #[test]
    fn canonicalize_sorts_the_axes_of_every_array() {
        let tree = vec![
            vec![arr(&[("z", 2), ("a", 3)])],
            vec![arr(&[("m", 2), ("b", 2)]), arr(&[("c", 1)])],
        ];
        let c = canonicalize(&tree).unwrap();
        assert_eq!(c[0][0].axis_names(), ["a", "z"]);
        assert_eq!(c[1][0].axis_names(), ["b", "m"]);
        assert!(c.tree_eq(&tree));
        // Element (z, a) is 3z + a, read in (a, z) order.
        assert_eq!(c[0][0].to_f32_vec(), [0., 3., 1., 4., 2., 5.]);
    }
}
