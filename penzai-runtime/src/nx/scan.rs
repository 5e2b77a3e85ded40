//! `scan`: a loop over one named axis that carries a state (Penzai's `nx.scan`).

use super::array::NamedArray;
use super::error::AxisError;

impl NamedArray {
    /// Runs `f(carry, slices)` along the named axis `axis` of every array in `xs`, in order,
    /// threading the carry through, and stacks the per-step outputs along `axis` (Penzai's
    /// `nx.scan(f, axis, init, xs)`). Returns the final carry and the stacked outputs.
    ///
    /// Every array in `xs` must have `axis`, with one size; the slices `f` sees lack it.
    /// The outputs must have one shape for every step; an axis of size 0 is an error (there
    /// is no step to learn the output shape from). The carry is any Rust value (arrays,
    /// tuples of arrays, counters).
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // A running sum over `seq`, per `batch`.
    /// let x = NamedArray::from_f32(&[("batch", 2), ("seq", 3)], vec![1., 2., 3., 10., 20., 30.])?;
    /// let zero = NamedArray::zeros(&[("batch", 2)])?;
    /// let (total, running) = NamedArray::scan("seq", zero, &[&x], |acc, s| {
    ///     let next = (&acc + &s[0])?;
    ///     Ok((next.clone(), next))
    /// })?;
    /// assert_eq!(total.to_f32_vec(), [6., 60.]);
    /// assert_eq!(running.order_as(&["batch", "seq"])?.to_f32_vec(), [1., 3., 6., 10., 30., 60.]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn scan<C>(
        axis: &str,
        init: C,
        xs: &[&NamedArray],
        mut f: impl FnMut(C, &[NamedArray]) -> Result<(C, NamedArray), AxisError>,
    ) -> Result<(C, NamedArray), AxisError> {
        let mut length = None;
        for x in xs {
            let ax = x.require_axis("scan", axis)?;
            let size = x.data.shape()[ax];
            match length {
                None => length = Some(size),
                Some(n) if n != size => {
                    return Err(AxisError::ShapeMismatch {
                        op: "scan",
                        axis: axis.into(),
                        args: xs.iter().map(|a| a.full_shape()).collect(),
                    });
                }
                Some(_) => {}
            }
        }
        let Some(length) = length else {
            return Err(AxisError::NoArrays { op: "scan" });
        };
        let mut carry = init;
        let mut outputs = Vec::with_capacity(length);
        let mut slices = Vec::with_capacity(xs.len());
        for i in 0..length {
            slices.clear();
            for x in xs {
                slices.push(x.index_axis(axis, i)?);
            }
            let (next, y) = f(carry, &slices)?;
            carry = next;
            outputs.push(y);
        }
        if outputs.is_empty() {
            return Err(AxisError::ScanEmpty { axis: axis.into() });
        }
        let stacked = NamedArray::stack(&outputs, axis)?;
        Ok((carry, stacked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_state_in_order_over_several_inputs() {
        let a = NamedArray::arange("t", 4).unwrap();
        let b = NamedArray::from_i64(&[("t", 4)], vec![1, 0, 1, 0]).unwrap();
        let (count, ys) = NamedArray::scan("t", 0i64, &[&a, &b], |n, s| {
            let keep = s[1].to_i64_vec()[0] == 1;
            let n = n + i64::from(keep);
            Ok((n, (&s[0] * n as f32)?))
        })
        .unwrap();
        assert_eq!(count, 2);
        assert_eq!(ys.to_f32_vec(), [0., 1., 4., 6.]);
    }

    #[test]
    fn inputs_must_share_the_axis_length() {
        let a = NamedArray::arange("t", 2).unwrap();
        let b = NamedArray::arange("t", 3).unwrap();
        let err = NamedArray::scan("t", (), &[&a, &b], |c, s| Ok((c, s[0].clone()))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scan needs arrays of one shape apart from axis \"t\": args[0] is {t: 2}, args[1] is {t: 3}"
        );
        let err = NamedArray::scan("u", (), &[&a], |c, s| Ok((c, s[0].clone()))).unwrap_err();
        assert_eq!(err.to_string(), "scan: no axis \"u\" in {t: 2}");
        assert!(matches!(
            NamedArray::scan("t", (), &[], |c, s: &[NamedArray]| Ok((c, s[0].clone()))),
            Err(AxisError::NoArrays { op: "scan" })
        ));
    }
}
