//! Shapes: the named shape of an array, its full shape, and shape arguments.

use std::fmt;

use super::axis::AxisName;

/// The named axes of an array with their sizes, in the array's logical order.
///
/// Displays as `{batch: 2, seq: 8, embedding: 64}`. Equality ignores order, like
/// [`NamedArray`](super::NamedArray)'s: the order of named axes is a storage detail.
#[derive(Clone, Default, Debug)]
pub struct NamedShape(Box<[(AxisName, usize)]>);

impl NamedShape {
    /// Makes a shape from `(name, size)` pairs; names are not checked for repeats here
    /// (the array constructors check them).
    pub fn new(pairs: impl IntoIterator<Item = (AxisName, usize)>) -> NamedShape {
        NamedShape(pairs.into_iter().collect())
    }

    /// The size of the axis `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, s)| s)
    }

    /// True when there is an axis `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// The `(name, size)` pairs in logical order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&AxisName, usize)> + '_ {
        self.0.iter().map(|(n, s)| (n, *s))
    }

    /// The axis names in logical order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &AxisName> + '_ {
        self.0.iter().map(|(n, _)| n)
    }

    /// The number of named axes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no named axes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of elements the named axes span (1 for no axes).
    pub fn size(&self) -> usize {
        self.0.iter().map(|&(_, s)| s).product()
    }

    /// The pairs, for use as a shape argument: `NamedArray::zeros(x.named_shape().as_pairs())`.
    pub fn as_pairs(&self) -> &[(AxisName, usize)] {
        &self.0
    }
}

impl PartialEq for NamedShape {
    fn eq(&self, other: &NamedShape) -> bool {
        self.len() == other.len() && self.iter().all(|(n, s)| other.get(n) == Some(s))
    }
}

impl Eq for NamedShape {}

impl fmt::Display for NamedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, size)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}: {size}")?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a NamedShape {
    type Item = (&'a AxisName, usize);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (AxisName, usize)>,
        fn(&'a (AxisName, usize)) -> (&'a AxisName, usize),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, s)| (n, *s))
    }
}

/// The whole shape of an array: positional axes and named axes. Used in error messages.
///
/// Displays as the named shape, followed by ` + positional [3, 4]` when there are
/// positional axes: `{batch: 2} + positional [3]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ArrayShape {
    /// Sizes of the positional axes, in order.
    pub positional: Box<[usize]>,
    /// The named axes.
    pub named: NamedShape,
}

impl fmt::Display for ArrayShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.named)?;
        if !self.positional.is_empty() {
            write!(f, " + positional {:?}", self.positional)?;
        }
        Ok(())
    }
}

/// Anything that can describe a named shape: `&[("batch", 2), ("seq", 3)]`, a `Vec` of
/// such pairs, or a [`NamedShape`].
pub trait IntoNamedShape {
    /// The `(name, size)` pairs, in order, not yet checked for repeated names.
    fn into_pairs(self) -> Vec<(AxisName, usize)>;
}

impl IntoNamedShape for &[(&str, usize)] {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.iter().map(|&(n, s)| (AxisName::from(n), s)).collect()
    }
}

impl<const N: usize> IntoNamedShape for &[(&str, usize); N] {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.as_slice().into_pairs()
    }
}

impl IntoNamedShape for &Vec<(&str, usize)> {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.as_slice().into_pairs()
    }
}

impl IntoNamedShape for &[(AxisName, usize)] {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.to_vec()
    }
}

impl IntoNamedShape for &NamedShape {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.0.to_vec()
    }
}

impl IntoNamedShape for NamedShape {
    fn into_pairs(self) -> Vec<(AxisName, usize)> {
        self.0.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(pairs: &[(&str, usize)]) -> NamedShape {
        NamedShape::new(pairs.into_pairs())
    }

    #[test]
    fn displays_as_a_brace_list() {
        let s = shape(&[("batch", 2), ("seq", 8), ("embedding", 64)]);
        assert_eq!(s.to_string(), "{batch: 2, seq: 8, embedding: 64}");
        assert_eq!(NamedShape::default().to_string(), "{}");
    }

    #[test]
    fn looks_up_sizes_by_name() {
        let s = shape(&[("a", 2), ("b", 3)]);
        assert_eq!(s.get("b"), Some(3));
        assert_eq!(s.get("c"), None);
        assert_eq!(s.len(), 2);
        assert_eq!(s.size(), 6);
        assert_eq!(
            s.names().map(|n| n.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn equality_ignores_order() {
        assert_eq!(shape(&[("a", 2), ("b", 3)]), shape(&[("b", 3), ("a", 2)]));
        assert_ne!(shape(&[("a", 2), ("b", 3)]), shape(&[("a", 2), ("b", 4)]));
        assert_ne!(shape(&[("a", 2)]), shape(&[("a", 2), ("b", 3)]));
    }

    #[test]
    fn full_shape_mentions_positional_axes_only_when_present() {
        let named = shape(&[("a", 2)]);
        let plain = ArrayShape {
            positional: Box::default(),
            named: named.clone(),
        };
        assert_eq!(plain.to_string(), "{a: 2}");
        let mixed = ArrayShape {
            positional: vec![3, 4].into(),
            named,
        };
        assert_eq!(mixed.to_string(), "{a: 2} + positional [3, 4]");
    }
}
