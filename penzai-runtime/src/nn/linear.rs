//! `Linear`, `AddBias` and `Affine`: learned maps between named axes.

use crate::Result;
use crate::nn::check::{forbid_axis, require_axis};
use crate::nn::{AnyLayer, Context, Initializer, Layer, Parameter, Signature, Steps, WeightAxes};
use crate::nx::{AxisName, NamedArray};
use crate::tree::{Invalid, KeyPath};

/// A learned linear map: contracts the input's `in_axes` with the weights and produces
/// `out_axes`. Weight axes in neither list are **parallel** (e.g. `heads`): the map is
/// applied separately per slice, and the input must have them too.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Initializer, Linear};
///
/// let up = Linear::new(0, "up", &[("embedding", 4)], &[("hidden", 8)], &[], Initializer::XAVIER_UNIFORM)?;
/// let x = NamedArray::ones(&[("batch", 2), ("embedding", 4)])?;
/// let y = up.call(x, &mut Context::new())?;
/// assert_eq!(y.named_shape().to_string(), "{batch: 2, hidden: 8}");
///
/// let wrong = NamedArray::ones(&[("batch", 2), ("hidden", 4)])?;
/// let err = Context::new().run(&up, wrong).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "at the root (Linear): needs input axis \"embedding\" (4); got {batch: 2, hidden: 4}"
/// );
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "Linear::validate")]
pub struct Linear {
    /// The weights: every input, output and parallel axis.
    pub weights: Parameter,
    /// Axes contracted with the input.
    #[tree(skip)]
    pub in_axes: Vec<String>,
    /// Axes produced.
    #[tree(skip)]
    pub out_axes: Vec<String>,
}

impl Linear {
    /// A new linear map with seeded weights labelled `label.weights`.
    pub fn new(
        seed: u64,
        label: &str,
        input: &[(&str, usize)],
        output: &[(&str, usize)],
        parallel: &[(&str, usize)],
        init: Initializer,
    ) -> Result<Linear> {
        let axes = WeightAxes {
            input,
            output,
            parallel,
        };
        let weights = init.parameter(seed, &format!("{label}.weights"), &axes)?;
        Linear::from_weights(
            weights,
            input.iter().map(|(n, _)| n.to_string()).collect(),
            output.iter().map(|(n, _)| n.to_string()).collect(),
        )
    }

    /// A linear map over given weights; checks that they have every listed axis.
    pub fn from_weights(
        weights: Parameter,
        in_axes: Vec<String>,
        out_axes: Vec<String>,
    ) -> Result<Linear> {
        let linear = Linear {
            weights,
            in_axes,
            out_axes,
        };
        linear
            .validate()
            .map_err(|e| e.at(KeyPath::root(), "Linear"))?;
        Ok(linear)
    }

    /// Checks that the weights have every input and output axis, each listed once.
    pub fn validate(&self) -> std::result::Result<(), Invalid> {
        let shape = self.weights.value.named_shape();
        for (i, axis) in self.in_axes.iter().chain(&self.out_axes).enumerate() {
            if !shape.contains(axis) {
                return Err(Invalid::at_field(
                    "weights",
                    format!("the weights {shape} lack axis {axis:?}, listed as an input or output"),
                ));
            }
            if self
                .in_axes
                .iter()
                .chain(&self.out_axes)
                .skip(i + 1)
                .any(|a| a == axis)
            {
                return Err(Invalid::new(format!(
                    "axis {axis:?} is listed twice among inputs and outputs"
                )));
            }
        }
        Ok(())
    }

    /// The input axes with their sizes.
    pub fn input_axes(&self) -> Vec<(AxisName, usize)> {
        self.sized(&self.in_axes)
    }

    /// The output axes with their sizes.
    pub fn output_axes(&self) -> Vec<(AxisName, usize)> {
        self.sized(&self.out_axes)
    }

    /// The parallel axes (weight axes that are neither inputs nor outputs) with sizes.
    pub fn parallel_axes(&self) -> Vec<(AxisName, usize)> {
        self.weights
            .value
            .named_shape()
            .iter()
            .filter(|(n, _)| {
                !self
                    .in_axes
                    .iter()
                    .chain(&self.out_axes)
                    .any(|a| a == n.as_str())
            })
            .map(|(n, s)| (n.clone(), s))
            .collect()
    }

    fn sized(&self, names: &[String]) -> Vec<(AxisName, usize)> {
        let shape = self.weights.value.named_shape();
        names
            .iter()
            .filter_map(|n| shape.get(n).map(|s| (AxisName::from(n.as_str()), s)))
            .collect()
    }
}

impl Layer for Linear {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        for (axis, size) in self.input_axes().iter().chain(&self.parallel_axes()) {
            require_axis(&x, axis, Some(*size))?;
        }
        for axis in &self.out_axes {
            forbid_axis(&x, axis)?;
        }
        if self.in_axes.is_empty() {
            // Nothing to contract: an elementwise scale (norm scales), broadcast by name.
            return Ok((&x * &self.weights.value)?);
        }
        let names: Vec<&str> = self.in_axes.iter().map(String::as_str).collect();
        Ok(x.contract(&self.weights.value, &names)?)
    }

    fn signature(&self) -> Option<Signature> {
        let sized = |axes: Vec<(AxisName, usize)>| axes.into_iter().map(|(n, s)| (n, Some(s)));
        Some(Signature {
            requires: sized(self.input_axes())
                .chain(sized(self.parallel_axes()))
                .collect(),
            removes: self.in_axes.iter().map(|n| n.as_str().into()).collect(),
            adds: sized(self.output_axes()).collect(),
        })
    }
}

/// Adds a learned bias, broadcast by name; the input must have every bias axis.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct AddBias {
    /// The bias.
    pub bias: Parameter,
}

impl AddBias {
    /// A bias over `axes`, labelled `label.bias`, initialized with `init` (usually zeros).
    pub fn new(
        seed: u64,
        label: &str,
        axes: &[(&str, usize)],
        init: Initializer,
    ) -> Result<AddBias> {
        let weight_axes = WeightAxes {
            input: &[],
            output: &[],
            parallel: axes,
        };
        Ok(AddBias {
            bias: init.parameter(seed, &format!("{label}.bias"), &weight_axes)?,
        })
    }
}

impl Layer for AddBias {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        for (axis, size) in self.bias.value.named_shape().iter() {
            require_axis(&x, axis, Some(size))?;
        }
        Ok((&x + &self.bias.value)?)
    }

    fn signature(&self) -> Option<Signature> {
        let shape = self.bias.value.named_shape();
        Some(Signature::requiring(
            shape.iter().map(|(n, s)| (n.as_str(), Some(s))),
        ))
    }
}

crate::sequential_layer! {
    /// A [`Linear`] map followed by an [`AddBias`] over its outputs: steps `linear`, `bias`.
    pub struct Affine;
}

impl Affine {
    /// A new affine map (weights with `init`, zero bias over the output axes).
    pub fn new(
        seed: u64,
        label: &str,
        input: &[(&str, usize)],
        output: &[(&str, usize)],
        init: Initializer,
    ) -> Result<Affine> {
        let mut steps = Steps::new();
        steps.push_named(
            "linear",
            AnyLayer::new(Linear::new(seed, label, input, output, &[], init)?),
        )?;
        steps.push_named(
            "bias",
            AnyLayer::new(AddBias::new(seed, label, output, Initializer::Zeros)?),
        )?;
        Ok(Affine { steps })
    }
}
