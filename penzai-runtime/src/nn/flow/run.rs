//! The check every run makes: a layer that states a signature must keep it.

use crate::Result;
use crate::nn::{Context, Layer, LayerError};
use crate::nx::NamedArray;

use super::axes::{Axis, AxisSet};
use super::message::Place;
use super::ops;

/// Runs `layer` on `x` and, when it states a [`Signature`](super::Signature), checks its
/// output against it: the output must have the axes the signature gives the input (the
/// required and removed axes there, the added ones new, every other axis passed through).
///
/// A layer whose input has more than [`MAX_AXES`](super::MAX_AXES) named axes is not
/// checked (the flow rules follow that many).
pub fn call_checked(layer: &dyn Layer, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
    let Some(sig) = layer.signature() else {
        return layer.call(x, cx);
    };
    let input = x.named_shape();
    let here = AxisSet::of_shape(&input);
    let y = layer.call(x, cx)?;
    if here.overflowed() {
        return Ok(y);
    }
    let broken = |expected: String| -> crate::Error {
        LayerError::SignatureBroken {
            signature: sig.to_string(),
            input: input.clone(),
            expected,
            output: y.named_shape(),
        }
        .into()
    };
    let expected = match ops::apply(&here, &sig, layer.type_name(), Place::Unplaced) {
        Ok(expected) => expected,
        Err(e) => return Err(broken(format!("an input it accepts ({e})"))),
    };
    let names = y.axis_names();
    let agrees = names.len() == expected.len()
        && names.iter().all(|name| match expected.get(name) {
            Some(want) => want
                .size
                .agrees(super::Size::from_option(y.axis_size(name))),
            None => false,
        });
    if agrees {
        Ok(y)
    } else {
        Err(broken(expected.to_string()))
    }
}

/// The axes of `x` as a flow sees them.
pub fn axes_of(x: &NamedArray) -> AxisSet<'_> {
    x.axis_names()
        .iter()
        .map(|name| Axis::maybe_sized(name, x.axis_size(name)))
        .collect()
}
