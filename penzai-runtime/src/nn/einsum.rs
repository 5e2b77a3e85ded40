//! `NamedEinsum` and the two-operand named contraction it (and attention) is built on.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::{Context, Layer, LayerError};
use crate::nx::{AxisName, NamedArray};

/// `einsum` keyed by axis names for two operands: axes of `a_axes` and `b_axes` absent from
/// `out_axes` are summed; listed shared axes are matched; axes of the arrays not listed
/// anywhere are batch axes that pass through (both operands must agree on their sizes).
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::einsum2;
///
/// let q = NamedArray::ones(&[("seq", 3), ("heads", 2), ("projection", 4)])?;
/// let k = NamedArray::ones(&[("kv_seq", 5), ("heads", 2), ("projection", 4)])?;
/// let s = einsum2(&q, &k, &["seq", "heads", "projection"], &["kv_seq", "heads", "projection"], &["seq", "kv_seq", "heads"])?;
/// assert_eq!(s.named_shape().get("kv_seq"), Some(5));
/// assert_eq!(s.to_f32_vec()[0], 4.0);
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn einsum2(
    a: &NamedArray,
    b: &NamedArray,
    a_axes: &[&str],
    b_axes: &[&str],
    out_axes: &[&str],
) -> Result<NamedArray> {
    for axis in a_axes {
        require_axis(a, axis, None)?;
    }
    for axis in b_axes {
        require_axis(b, axis, None)?;
    }
    for axis in out_axes {
        if !a_axes.contains(axis) && !b_axes.contains(axis) {
            return Err(LayerError::Config(format!(
                "einsum output axis {axis:?} appears in neither input ({a_axes:?}, {b_axes:?})"
            ))
            .into());
        }
    }
    let summed_shared: Vec<&str> = a_axes
        .iter()
        .filter(|n| b_axes.contains(n) && !out_axes.contains(n))
        .copied()
        .collect();
    // An axis summed on one side only is reduced there first.
    let a = sum_unshared(a, a_axes, b_axes, out_axes)?;
    let b = sum_unshared(b, b_axes, a_axes, out_axes)?;
    let out = a.contract(&b, &summed_shared)?;
    let order: Vec<&str> = out_axes
        .iter()
        .copied()
        .filter(|n| out.has_axis(n))
        .collect();
    let batch: Vec<String> = out
        .named_shape()
        .names()
        .filter(|n| !order.contains(&n.as_str()))
        .map(|n| n.to_string())
        .collect();
    let mut full: Vec<&str> = batch.iter().map(String::as_str).collect();
    full.extend(order);
    Ok(out.order_as(&full)?)
}

fn sum_unshared(x: &NamedArray, own: &[&str], other: &[&str], out: &[&str]) -> Result<NamedArray> {
    let alone: Vec<&str> = own
        .iter()
        .filter(|n| !other.contains(n) && !out.contains(n))
        .copied()
        .collect();
    if alone.is_empty() {
        Ok(x.clone())
    } else {
        Ok(x.sum(&alone)?)
    }
}

/// An einsum of the input with a second operand taken from a side input, by axis names
/// (Penzai's `NamedEinsum`, adapted to one-input layers).
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::NamedEinsum;
///
/// let layer = NamedEinsum::new("keys", &["seq", "projection"], &["kv_seq", "projection"], &["seq", "kv_seq"]);
/// let q = NamedArray::ones(&[("seq", 2), ("projection", 3)])?;
/// let mut cx = Context::new().with_side_input("keys", NamedArray::ones(&[("kv_seq", 4), ("projection", 3)])?);
/// let s = layer.call(q, &mut cx)?;
/// assert_eq!(s.named_shape().to_string(), "{seq: 2, kv_seq: 4}");
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct NamedEinsum {
    /// The side input holding the second operand.
    #[tree(skip)]
    pub other_input: String,
    /// Axes of the main input taking part.
    #[tree(skip)]
    pub input_axes: Vec<AxisName>,
    /// Axes of the second operand taking part.
    #[tree(skip)]
    pub other_axes: Vec<AxisName>,
    /// Axes of the result (others listed are summed).
    #[tree(skip)]
    pub output_axes: Vec<AxisName>,
}

impl NamedEinsum {
    /// An einsum with the side input `other_input`.
    pub fn new(
        other_input: &str,
        input_axes: &[&str],
        other_axes: &[&str],
        output_axes: &[&str],
    ) -> NamedEinsum {
        let own = |v: &[&str]| v.iter().map(|&s| s.into()).collect();
        NamedEinsum {
            other_input: other_input.to_owned(),
            input_axes: own(input_axes),
            other_axes: own(other_axes),
            output_axes: own(output_axes),
        }
    }
}

impl Layer for NamedEinsum {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let other = cx.require_side_input(&self.other_input)?;
        fn refs(v: &[AxisName]) -> Vec<&str> {
            v.iter().map(AxisName::as_str).collect()
        }
        einsum2(
            &x,
            other,
            &refs(&self.input_axes),
            &refs(&self.other_axes),
            &refs(&self.output_axes),
        )
    }
}
