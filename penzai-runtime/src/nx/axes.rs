//! Naming and ordering axes: `tag`, `untag`, `order_as`, `rename`, `insert_axis`.
//!
//! None of these copy data: they permute strides or relabel axes of the shared storage.

use super::array::NamedArray;
use super::axis::AxisName;
use super::dtype::map_storage;
use super::error::AxisError;
use super::tape;

/// Checks that `names` has no repeats, returning them as `AxisName`s.
pub(crate) fn unique_names(op: &'static str, names: &[&str]) -> Result<Vec<AxisName>, AxisError> {
    let mut out: Vec<AxisName> = Vec::with_capacity(names.len());
    for &name in names {
        if out.iter().any(|n| n == name) {
            return Err(AxisError::RepeatedAxis {
                op,
                axis: name.into(),
            });
        }
        out.push(name.into());
    }
    Ok(out)
}

impl NamedArray {
    /// Permutes the data axes (no copy) and sets the names of the trailing named axes.
    pub(crate) fn permuted(
        &self,
        perm: &[usize],
        names: Vec<AxisName>,
    ) -> Result<NamedArray, AxisError> {
        let data = map_storage!(&self.data, a => a.permuted_axes(perm));
        let out = Ok(NamedArray::from_parts(data, names));
        tape::record("permute", &[self], out, tape::permutation(self, perm))
    }

    /// Names all positional axes, in order. There must be exactly one name per positional
    /// axis, and the names must be new.
    ///
    /// The logical order of the result is Penzai's: every axis goes back to the place it
    /// had before [`untag`](NamedArray::untag) made it positional, so untagging and
    /// retagging under new names renames in place. Axes that a positional operation made
    /// come after the named ones, as in the layout of a Penzai `nmap` result. The order only
    /// shows in display and flattening (`to_f32_vec`); equality ignores it.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    /// use ndarray::ArrayD;
    ///
    /// let x = NamedArray::wrap(ArrayD::zeros(vec![2, 3])).tag(&["batch", "seq"])?;
    /// assert_eq!(x.named_shape().to_string(), "{batch: 2, seq: 3}");
    ///
    /// let y = NamedArray::zeros(&[("foo", 2), ("bar", 3), ("baz", 4)])?;
    /// let renamed = y.untag(&["bar", "foo"])?.tag(&["bar2", "foo2"])?;
    /// assert_eq!(renamed.named_shape().to_string(), "{foo2: 2, bar2: 3, baz: 4}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn tag(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        if names.len() != self.n_pos() {
            return Err(AxisError::PositionalCount {
                op: "tag",
                expected: self.n_pos(),
                got: names.len(),
                shape: self.full_shape(),
            });
        }
        self.tag_prefix_checked("tag", names)
    }

    /// Names the first `names.len()` positional axes, leaving the rest positional. The named
    /// axes are ordered as [`tag`](NamedArray::tag) orders them.
    pub fn tag_prefix(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        if names.len() > self.n_pos() {
            return Err(AxisError::PositionalCount {
                op: "tag_prefix",
                expected: self.n_pos(),
                got: names.len(),
                shape: self.full_shape(),
            });
        }
        self.tag_prefix_checked("tag_prefix", names)
    }

    fn tag_prefix_checked(
        &self,
        op: &'static str,
        names: &[&str],
    ) -> Result<NamedArray, AxisError> {
        let mut new_names = unique_names(op, names)?;
        if let Some(clash) = new_names.iter().find(|n| self.has_axis(n)) {
            return Err(AxisError::AxisExists {
                op,
                axis: clash.clone(),
                shape: self.full_shape(),
            });
        }
        // The tagged axes move behind the remaining positional ones; all named axes, old and
        // new, are then in Penzai's data order (which `data_ranks` tracks).
        let (k, n_pos, ndim) = (names.len(), self.n_pos(), self.data.ndim());
        let ranks = self.data_ranks();
        new_names.extend(self.names.iter().cloned());
        let mut named: Vec<(usize, AxisName)> = (0..k).chain(n_pos..ndim).zip(new_names).collect();
        named.sort_by_key(|(axis, _)| ranks[*axis]);
        let perm: Vec<usize> = (k..n_pos)
            .chain(named.iter().map(|(axis, _)| *axis))
            .collect();
        let order: Vec<usize> = perm.iter().map(|&axis| ranks[axis]).collect();
        let mut out = self.permuted(&perm, named.into_iter().map(|(_, n)| n).collect())?;
        // Without positional axes the logical order is the data order: the default.
        out.data_order = (k < n_pos).then(|| order.into());
        Ok(out)
    }

    /// Makes the named axes `names` positional, in that order. As in Penzai, only an array
    /// without positional axes can be untagged (use [`untag_prefix`](NamedArray::untag_prefix)
    /// to add more).
    pub fn untag(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        if self.n_pos() != 0 {
            return Err(AxisError::HasPositional {
                op: "untag",
                shape: self.full_shape(),
            });
        }
        self.untag_prefix_checked("untag", names)
    }

    /// Makes the named axes `names` positional, in front of the existing positional axes.
    pub fn untag_prefix(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        self.untag_prefix_checked("untag_prefix", names)
    }

    fn untag_prefix_checked(
        &self,
        op: &'static str,
        names: &[&str],
    ) -> Result<NamedArray, AxisError> {
        unique_names(op, names)?;
        let mut perm = Vec::with_capacity(self.data.ndim());
        for name in names {
            perm.push(self.require_axis(op, name)?);
        }
        perm.extend(0..self.n_pos());
        let mut rest = Vec::with_capacity(self.names.len() - names.len());
        for (i, name) in self.names.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                perm.push(self.n_pos() + i);
                rest.push(name.clone());
            }
        }
        // A view: every axis keeps its place in Penzai's data order, for a later `tag`.
        let ranks = self.data_ranks();
        let order: Vec<usize> = perm.iter().map(|&axis| ranks[axis]).collect();
        let any_positional = perm.len() > rest.len();
        let mut out = self.permuted(&perm, rest)?;
        out.data_order = any_positional.then(|| order.into());
        Ok(out)
    }

    /// Puts the named axes in the logical order `names`, which must list every named axis
    /// exactly once (as Penzai's `order_as`; the error names the axes left out). Only
    /// strides change; the result equals `self`.
    ///
    /// To move some axes to the front or back and keep the others in their order, use
    /// [`move_to_front`](NamedArray::move_to_front) or
    /// [`move_to_back`](NamedArray::move_to_back).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::zeros(&[("a", 2), ("b", 3), ("c", 4)])?;
    /// assert_eq!(x.order_as(&["c", "a", "b"])?.named_shape().to_string(), "{c: 4, a: 2, b: 3}");
    /// assert_eq!(
    ///     x.order_as(&["c"]).unwrap_err().to_string(),
    ///     "order_as needs every named axis of {a: 2, b: 3, c: 4}; missing [\"a\", \"b\"]"
    /// );
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn order_as(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        let missing: Vec<AxisName> = self
            .names
            .iter()
            .filter(|n| !names.contains(&n.as_str()))
            .cloned()
            .collect();
        unique_names("order_as", names)?;
        for name in names {
            self.require_axis("order_as", name)?;
        }
        if !missing.is_empty() {
            return Err(AxisError::Unlisted {
                op: "order_as",
                missing,
                shape: self.full_shape(),
            });
        }
        self.reordered("order_as", names)
    }

    /// Puts the named axes `names` first in the logical order, the others after them in
    /// their current order. Only strides change; the result equals `self`.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::zeros(&[("a", 2), ("b", 3), ("c", 4)])?;
    /// assert_eq!(x.move_to_front(&["c"])?.named_shape().to_string(), "{c: 4, a: 2, b: 3}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn move_to_front(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        self.reordered("move_to_front", names)
    }

    /// Puts the named axes `names` last in the logical order, in that order, after the
    /// others in their current order. Only strides change; the result equals `self`.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::zeros(&[("a", 2), ("b", 3), ("c", 4)])?;
    /// assert_eq!(x.move_to_back(&["a"])?.named_shape().to_string(), "{b: 3, c: 4, a: 2}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn move_to_back(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        unique_names("move_to_back", names)?;
        for name in names {
            self.require_axis("move_to_back", name)?;
        }
        let mut order: Vec<&str> = self
            .names
            .iter()
            .map(|n| n.as_str())
            .filter(|n| !names.contains(n))
            .collect();
        order.extend_from_slice(names);
        self.reordered("move_to_back", &order)
    }

    /// The named axes `names` first, the others after them in their current order.
    fn reordered(&self, op: &'static str, names: &[&str]) -> Result<NamedArray, AxisError> {
        unique_names(op, names)?;
        let n_pos = self.n_pos();
        let mut perm: Vec<usize> = (0..n_pos).collect();
        let mut order = Vec::with_capacity(self.names.len());
        for name in names {
            let i = self.require_axis(op, name)?;
            perm.push(i);
            order.push(self.names[i - n_pos].clone());
        }
        for (i, name) in self.names.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                perm.push(n_pos + i);
                order.push(name.clone());
            }
        }
        self.permuted(&perm, order)
    }

    /// Renames the axis `old` to `new`; `new` must not already name another axis.
    pub fn rename(&self, old: &str, new: &str) -> Result<NamedArray, AxisError> {
        let i = self.require_axis("rename", old)? - self.n_pos();
        if old != new && self.has_axis(new) {
            return Err(AxisError::AxisExists {
                op: "rename",
                axis: new.into(),
                shape: self.full_shape(),
            });
        }
        let mut names = self.names.clone();
        names[i] = new.into();
        let mut renamed = NamedArray::from_parts(self.data.clone(), names);
        // A relabeling: every axis keeps its place.
        renamed.data_order = self.data_order.clone();
        let out = Ok(renamed);
        let identity: Vec<usize> = (0..self.data.ndim()).collect();
        tape::record("rename", &[self], out, tape::permutation(self, &identity))
    }

    /// Adds a named axis of size 1 (Penzai's `x[{"new": None}]`), without copying.
    pub fn insert_axis(&self, name: &str) -> Result<NamedArray, AxisError> {
        if self.has_axis(name) {
            return Err(AxisError::AxisExists {
                op: "insert_axis",
                axis: name.into(),
                shape: self.full_shape(),
            });
        }
        let end = ndarray::Axis(self.data.ndim());
        let data = map_storage!(&self.data, a => a.insert_axis(end));
        let mut names = self.names.clone();
        names.push(name.into());
        let out = Ok(NamedArray::from_parts(data, names));
        tape::record("insert_axis", &[self], out, tape::inserted_axis(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    fn positional(shape: &[usize]) -> NamedArray {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
        NamedArray::wrap(ArrayD::from_shape_vec(shape.to_vec(), data).unwrap())
    }

    fn names(x: &NamedArray) -> Vec<&str> {
        x.axis_names().iter().map(|n| n.as_str()).collect()
    }

    #[test]
    fn tag_names_every_positional_axis() {
        let x = positional(&[2, 3]).tag(&["a", "b"]).unwrap();
        assert_eq!(x.named_shape().to_string(), "{a: 2, b: 3}");
        assert!(x.positional_shape().is_empty());
        assert_eq!(x.to_f32_vec(), [0., 1., 2., 3., 4., 5.]);
    }

    #[test]
    fn tag_rejects_a_wrong_count_repeats_and_existing_names() {
        let x = positional(&[2, 3]);
        assert_eq!(
            x.tag(&["a"]).unwrap_err().to_string(),
            "tag: got 1 names for 2 positional axes in {} + positional [2, 3]"
        );
        assert_eq!(
            x.tag(&["a", "a"]).unwrap_err().to_string(),
            "tag: axis \"a\" is listed more than once"
        );
        let partly = x.tag_prefix(&["a"]).unwrap();
        assert_eq!(
            partly.tag(&["a"]).unwrap_err().to_string(),
            "tag: axis \"a\" already exists in {a: 2} + positional [3]"
        );
    }

    #[test]
    fn tag_prefix_names_leading_axes() {
        let x = positional(&[2, 3]).tag_prefix(&["a"]).unwrap();
        assert_eq!(x.positional_shape(), [3]);
        assert_eq!(x.named_shape().to_string(), "{a: 2}");
        // Positional axes first, then named: element (b=1, a=0) is 1.
        assert_eq!(x.to_f32_vec(), [0., 3., 1., 4., 2., 5.]);
    }

    #[test]
    fn untag_makes_axes_positional_in_the_given_order() {
        let x = positional(&[2, 3]).tag(&["a", "b"]).unwrap();
        let v = x.untag(&["b"]).unwrap();
        assert_eq!(v.positional_shape(), [3]);
        assert_eq!(v.named_shape().to_string(), "{a: 2}");
        let both = x.untag(&["b", "a"]).unwrap();
        assert_eq!(both.positional_shape(), [3, 2]);
    }

    #[test]
    fn untag_refuses_when_positional_axes_exist() {
        let v = positional(&[2, 3])
            .tag(&["a", "b"])
            .unwrap()
            .untag(&["b"])
            .unwrap();
        assert_eq!(
            v.untag(&["a"]).unwrap_err().to_string(),
            "untag needs an array without positional axes, got {a: 2} + positional [3]"
        );
        assert_eq!(v.untag_prefix(&["a"]).unwrap().positional_shape(), [2, 3]);
    }

    #[test]
    fn untag_then_tag_round_trips() {
        let x = positional(&[2, 3, 4]).tag(&["a", "b", "c"]).unwrap();
        assert_eq!(x.untag(&["c", "a"]).unwrap().tag(&["c", "a"]).unwrap(), x);
    }

    #[test]
    fn order_as_needs_every_named_axis() {
        let x = positional(&[2, 3, 4]).tag(&["a", "b", "c"]).unwrap();
        assert_eq!(
            names(&x.order_as(&["b", "a", "c"]).unwrap()),
            ["b", "a", "c"]
        );
        assert_eq!(
            x.order_as(&["c"]).unwrap_err().to_string(),
            "order_as needs every named axis of {a: 2, b: 3, c: 4}; missing [\"a\", \"b\"]"
        );
        assert_eq!(
            x.order_as(&["z", "a", "b", "c"]).unwrap_err().to_string(),
            "order_as: no axis \"z\" in {a: 2, b: 3, c: 4}"
        );
        assert!(matches!(
            x.order_as(&["a", "a", "b", "c"]).unwrap_err(),
            AxisError::RepeatedAxis { .. }
        ));
        // Positional axes stay in front and are not listed.
        let v = x.untag(&["b"]).unwrap();
        assert_eq!(v.order_as(&["c", "a"]).unwrap().positional_shape(), [3]);
    }

    #[test]
    fn move_to_front_and_back_keep_the_rest_in_order() {
        let x = positional(&[2, 3, 4, 5])
            .tag(&["a", "b", "c", "d"])
            .unwrap();
        assert_eq!(
            names(&x.move_to_front(&["c"]).unwrap()),
            ["c", "a", "b", "d"]
        );
        assert_eq!(
            names(&x.move_to_front(&["d", "b"]).unwrap()),
            ["d", "b", "a", "c"]
        );
        assert_eq!(
            names(&x.move_to_back(&["b", "a"]).unwrap()),
            ["c", "d", "b", "a"]
        );
        assert_eq!(x.move_to_back(&["a"]).unwrap(), x);
        assert_eq!(
            x.move_to_back(&["z"]).unwrap_err().to_string(),
            "move_to_back: no axis \"z\" in {a: 2, b: 3, c: 4, d: 5}"
        );
        assert_eq!(
            x.move_to_front(&["z"]).unwrap_err().to_string(),
            "move_to_front: no axis \"z\" in {a: 2, b: 3, c: 4, d: 5}"
        );
    }

    /// Penzai keeps a view's axes where they were in the data array, so `tag` after `untag`
    /// restores that order; these expectations were read off Penzai 0.2.5.
    #[test]
    fn tag_after_untag_restores_the_data_order() {
        let x = positional(&[2, 3, 4]).tag(&["foo", "bar", "baz"]).unwrap();
        let v = x.untag(&["bar", "foo"]).unwrap();
        let t = v.tag(&["bar2", "foo2"]).unwrap();
        assert_eq!(names(&t), ["foo2", "bar2", "baz"]);
        // Flattening follows the restored order: the original data, untouched.
        assert_eq!(t.to_f32_vec(), x.to_f32_vec());

        let all = x
            .untag(&["baz", "foo", "bar"])
            .unwrap()
            .tag(&["z", "f", "b"])
            .unwrap();
        assert_eq!(names(&all), ["f", "b", "z"]);

        // untag_prefix and tag_prefix keep the places too.
        let two = x
            .untag(&["baz"])
            .unwrap()
            .untag_prefix(&["foo"])
            .unwrap()
            .tag(&["f", "z"])
            .unwrap();
        assert_eq!(names(&two), ["f", "bar", "z"]);
        let half = v.tag_prefix(&["bar2"]).unwrap();
        assert_eq!(names(&half), ["bar2", "baz"]);
        assert_eq!(half.positional_shape(), [2]);
        assert_eq!(
            names(&half.tag(&["foo2"]).unwrap()),
            ["foo2", "bar2", "baz"]
        );

        // A reordered array is laid out in its new order.
        let reordered = x.order_as(&["baz", "foo", "bar"]).unwrap();
        let f = reordered.untag(&["foo"]).unwrap().tag(&["f"]).unwrap();
        assert_eq!(names(&f), ["baz", "f", "bar"]);

        // Renaming a view keeps its places.
        let r = v.rename("baz", "q").unwrap().tag(&["b", "f"]).unwrap();
        assert_eq!(names(&r), ["f", "b", "q"]);
    }

    /// After a positional computation, Penzai's result has the named axes first: the
    /// layout of an `nmap` result.
    #[test]
    fn tag_after_a_positional_op_puts_the_new_names_last() {
        let x = positional(&[2, 3, 4]).tag(&["foo", "bar", "baz"]).unwrap();
        let v = x.untag(&["bar", "foo"]).unwrap();
        let shifted = (&v + 1.0).unwrap();
        assert_eq!(
            names(&shifted.tag(&["bar2", "foo2"]).unwrap()),
            ["baz", "bar2", "foo2"]
        );
    }

    #[test]
    fn rename_changes_one_name() {
        let x = positional(&[2, 3]).tag(&["a", "b"]).unwrap();
        assert_eq!(names(&x.rename("a", "z").unwrap()), ["z", "b"]);
        assert_eq!(
            x.rename("a", "b").unwrap_err().to_string(),
            "rename: axis \"b\" already exists in {a: 2, b: 3}"
        );
        assert_eq!(
            x.rename("q", "r").unwrap_err().to_string(),
            "rename: no axis \"q\" in {a: 2, b: 3}"
        );
    }

    #[test]
    fn insert_axis_adds_a_unit_axis() {
        let x = positional(&[2])
            .tag(&["a"])
            .unwrap()
            .insert_axis("new")
            .unwrap();
        assert_eq!(x.named_shape().to_string(), "{a: 2, new: 1}");
    }
}
