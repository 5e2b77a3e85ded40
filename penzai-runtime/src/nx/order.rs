//! Penzai's ordering helpers (`canonicalize`, `order_like`, `unwrap`) and constructors
//! with a dtype argument.

use super::array::NamedArray;
use super::dtype::DType;
use super::error::AxisError;
use super::shape::IntoNamedShape;

impl NamedArray {
    /// The same array with its named axes in sorted order (Penzai's `canonicalize`): two
    /// equal arrays canonicalize to the same layout and flatten
    /// ([`to_f32_vec`](NamedArray::to_f32_vec)) to the same list. No copy.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::zeros(&[("seq", 2), ("batch", 3)])?;
    /// assert_eq!(x.canonicalize()?.named_shape().to_string(), "{batch: 3, seq: 2}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn canonicalize(&self) -> Result<NamedArray, AxisError> {
        let mut names: Vec<&str> = self.names.iter().map(|n| n.as_str()).collect();
        names.sort_unstable();
        self.order_as(&names)
    }

    /// The same array with its named axes in the order of `reference`'s (Penzai's
    /// `order_like`): both must have the same named axes, else an error names the first
    /// axis one of them lacks. No copy.
    pub fn order_like(&self, reference: &NamedArray) -> Result<NamedArray, AxisError> {
        if let Some(extra) = self.names.iter().find(|n| !reference.has_axis(n)) {
            return Err(AxisError::MissingAxis {
                op: "order_like",
                axis: extra.clone(),
                shape: reference.full_shape(),
            });
        }
        let order: Vec<&str> = reference.names.iter().map(|n| n.as_str()).collect();
        for name in &order {
            self.require_axis("order_like", name)?;
        }
        self.order_as(&order)
    }

    /// The data with every named axis made positional, in the order `names` gives, after
    /// the existing positional axes (Penzai's `unwrap`): `names` must list each named axis
    /// exactly once.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::arange("a", 2)?.broadcast_to(&[("b", 3)])?;
    /// let plain = x.unwrap(&["b", "a"])?;
    /// assert_eq!(plain.positional_shape(), [3, 2]);
    /// assert_eq!(
    ///     x.unwrap(&["a"]).unwrap_err().to_string(),
    ///     "unwrap: axis \"b\" of {a: 2, b: 3} is not listed"
    /// );
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn unwrap(&self, names: &[&str]) -> Result<NamedArray, AxisError> {
        if let Some(missing) = self.names.iter().find(|n| !names.contains(&n.as_str())) {
            return Err(AxisError::NotListed {
                op: "unwrap",
                axis: missing.clone(),
                shape: self.full_shape(),
            });
        }
        // Named axes go behind the existing positional ones, in the order given.
        let n_old = self.n_pos();
        let moved = self.untag_prefix(names)?;
        let k = names.len();
        let perm: Vec<usize> = (k..k + n_old).chain(0..k).collect();
        moved.permuted(&perm, vec![])
    }

    /// An array of zeros of `dtype` (Penzai's `zeros(shape, dtype)`); `false` for `Bool`.
    pub fn zeros_of(shape: impl IntoNamedShape, dtype: DType) -> Result<NamedArray, AxisError> {
        NamedArray::full_of(shape, 0.0, dtype)
    }

    /// An array of ones of `dtype`; `true` for `Bool`.
    pub fn ones_of(shape: impl IntoNamedShape, dtype: DType) -> Result<NamedArray, AxisError> {
        NamedArray::full_of(shape, 1.0, dtype)
    }

    /// An array of `dtype` filled with `value`, converted as [`cast`](NamedArray::cast)
    /// converts (`i64` truncates toward zero; `bool` is `value != 0`). A dtype arrays cannot
    /// hold is an error.
    ///
    /// ```
    /// use penzai::nx::{DType, NamedArray};
    ///
    /// let ids = NamedArray::full_of(&[("seq", 2)], 7.0, DType::I64)?;
    /// assert_eq!((ids.dtype(), ids.to_i64_vec()), (DType::I64, vec![7, 7]));
    /// let mask = NamedArray::ones_of(&[("seq", 2)], DType::Bool)?;
    /// assert_eq!(mask.to_bool_vec(), [true, true]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn full_of(
        shape: impl IntoNamedShape,
        value: f64,
        dtype: DType,
    ) -> Result<NamedArray, AxisError> {
        let shape = shape.into_pairs();
        let pairs = shape.as_slice();
        match dtype {
            // Integers directly, so that values beyond f32's exact range stay exact.
            DType::I64 => NamedArray::full_i64(pairs, value as i64),
            DType::Bool => NamedArray::full_bool(pairs, value != 0.0),
            _ => NamedArray::full(pairs, value as f32)?.cast(dtype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_like_follows_the_reference_and_needs_the_same_names() {
        let x = NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap();
        let r = NamedArray::zeros(&[("b", 3), ("a", 2)]).unwrap();
        assert_eq!(x.order_like(&r).unwrap().axis_names(), ["b", "a"]);
        let other = NamedArray::zeros(&[("a", 2)]).unwrap();
        assert_eq!(
            x.order_like(&other).unwrap_err().to_string(),
            "order_like: no axis \"b\" in {a: 2}"
        );
        assert_eq!(
            other.order_like(&x).unwrap_err().to_string(),
            "order_like: no axis \"b\" in {a: 2}"
        );
    }

    #[test]
    fn unwrap_puts_named_axes_after_positional_ones() {
        let x = NamedArray::arange("a", 2)
            .unwrap()
            .broadcast_to(&[("b", 3)])
            .unwrap()
            .untag(&["b"])
            .unwrap();
        let plain = x.unwrap(&["a"]).unwrap();
        assert_eq!(plain.positional_shape(), [3, 2]);
        assert_eq!(plain.to_i64_vec(), [0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn constructors_take_a_dtype() {
        for dtype in [DType::F32, DType::F16, DType::BF16, DType::I64, DType::Bool] {
            let z = NamedArray::zeros_of(&[("a", 2)], dtype).unwrap();
            assert_eq!((z.dtype(), z.to_f32_vec()), (dtype, vec![0.0, 0.0]));
            let o = NamedArray::ones_of(&[("a", 2)], dtype).unwrap();
            assert_eq!(o.to_f32_vec(), [1.0, 1.0]);
        }
        let big = NamedArray::full_of(&[("a", 1)], 9_007_199_254_740_993.0, DType::I64).unwrap();
        assert_eq!(big.to_i64_vec(), [9_007_199_254_740_992]);
        assert!(NamedArray::zeros_of(&[("a", 1)], DType::U8).is_err());
    }
}
