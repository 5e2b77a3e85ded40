//! `Linear`, `AddBias` and `Affine`: learned maps between named axes.

use crate::Result;
use crate::nn::check::{forbid_axis, require_axis};
use crate::nn::flow::{
    AxesForm, Axis, AxisSet, Blame, Flow, Message, ModelStep, OptionSyntax, Planner, StepBuild,
    StepInput, Syntax, Written,
};
use crate::nn::{AnyLayer, Context, Initializer, Layer, Parameter, Signature, Steps, WeightAxes};
use crate::nx::{AxisName, NamedArray};
use crate::tree::{Invalid, KeyPath};

/// A learned linear map: contracts the input's `in_axes` with the weights and produces
/// `out_axes`. Weight axes in neither list are **parallel** (e.g. `heads`): the map is
/// applied separately per slice, and the input must have them too.
///
/// In `model!`: `Linear(embedding: 64 -> hidden: 256)`; several axes on either side
/// (`Linear(heads: 4, projection: 16 -> embedding: 64)`); options `parallel = [heads: 4]`,
/// `init = ..`, `seed = ..`. Input sizes not written are read from the axes flowing in.
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
    pub in_axes: Vec<AxisName>,
    /// Axes produced.
    #[tree(skip)]
    pub out_axes: Vec<AxisName>,
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
        if let Some((axis, _)) = output
            .iter()
            .find(|(o, _)| input.iter().any(|(i, _)| i == o))
        {
            let message = same_name_in_and_out("Linear", axis);
            return Err(crate::nn::LayerError::Config(message.to_string()).into());
        }
        let axes = WeightAxes {
            input,
            output,
            parallel,
        };
        let weights = init.parameter(seed, &format!("{label}.weights"), &axes)?;
        Linear::from_weights(
            weights,
            input.iter().map(|&(n, _)| n.into()).collect(),
            output.iter().map(|&(n, _)| n.into()).collect(),
        )
    }

    /// A linear map over given weights; checks that they have every listed axis.
    pub fn from_weights(
        weights: Parameter,
        in_axes: Vec<AxisName>,
        out_axes: Vec<AxisName>,
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

    fn sized(&self, names: &[AxisName]) -> Vec<(AxisName, usize)> {
        let shape = self.weights.value.named_shape();
        names
            .iter()
            .filter_map(|n| shape.get(n).map(|s| (n.clone(), s)))
            .collect()
    }

    /// The signature of a linear map from `input` to `output` with `parallel` axes: it
    /// requires the inputs and the parallel axes, removes the inputs and adds the outputs.
    /// `model!` and [`Layer::signature`] both use it.
    pub const fn signature_of<'a>(
        input: &AxisSet<'a>,
        output: &AxisSet<'a>,
        parallel: &AxisSet<'a>,
    ) -> Signature<'a> {
        let mut sig = Signature::new();
        let (ins, pars, outs) = (input.as_slice(), parallel.as_slice(), output.as_slice());
        let mut i = 0;
        while i < ins.len() {
            sig = sig.require(ins[i]).remove(ins[i].name);
            i += 1;
        }
        i = 0;
        while i < pars.len() {
            sig = sig.require(pars[i]);
            i += 1;
        }
        i = 0;
        while i < outs.len() {
            sig = sig.add(outs[i]);
            i += 1;
        }
        sig
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
        let names: Vec<&str> = self.in_axes.iter().map(AxisName::as_str).collect();
        Ok(x.contract(&self.weights.value, &names)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        let weights = &self.weights.value;
        let input = sized_axes(&self.in_axes, weights);
        let output = sized_axes(&self.out_axes, weights);
        let parallel: AxisSet<'_> = weights
            .axis_names()
            .iter()
            .filter(|n| !self.in_axes.contains(n) && !self.out_axes.contains(n))
            .map(|n| Axis::maybe_sized(n.as_str(), weights.axis_size(n)))
            .collect();
        Some(Linear::signature_of(&input, &output, &parallel))
    }
}

const LINEAR_SYNTAX: Syntax = Syntax {
    example: "Linear(embedding: 64 -> hidden: 256)",
    axes: AxesForm::Arrow,
    values: 0,
    bare: false,
    options: &[
        OptionSyntax::axes("parallel"),
        OptionSyntax::INIT,
        OptionSyntax::SEED,
    ],
};

/// `Linear(in -> out)`, `Affine(in -> out)`: the input sizes must be known (the weights
/// need them), the outputs written; an output axis cannot have an input's name.
const fn plan_linear(input: &Flow<'static>, step: &Written<'_>, syntax: &Syntax) -> Flow<'static> {
    let mut p = Planner::new(input, step, syntax);
    let parallel = step.option_axes("parallel");
    p.need_distinct(step.before, "the inputs");
    p.need_distinct(step.after, "the outputs");
    let mut i = 0;
    while i < step.after.len() {
        if AxisSet::of(step.before).contains(step.after[i].name) {
            p.fail_with(
                same_name_in_and_out(step.name, step.after[i].name),
                Blame::After(i),
            );
        }
        i += 1;
    }
    p.need_written_sizes(step.after);
    p.need_sizes(step.before);
    p.need_sizes(parallel);
    p.then(&Linear::signature_of(
        &AxisSet::of(step.before),
        &AxisSet::of(step.after),
        &AxisSet::of(parallel),
    ));
    p.finish()
}

/// Why `Linear(embedding -> embedding)` cannot be: the weights would need the axis twice.
const fn same_name_in_and_out(layer: &str, axis: &str) -> Message {
    let mut m = Message::new();
    m.push(layer).push(" cannot output axis ").quoted(axis);
    m.push(", which it also takes as input (its weights would have the axis twice): give the output another name and rename it back, like `");
    m.push(layer)
        .push("(")
        .push(axis)
        .push(" -> ")
        .push(axis)
        .push("_out), RenameAxes(");
    m.push(axis).push("_out -> ").push(axis).push(")`");
    m
}

impl<S: StepInput> ModelStep<S> for Linear {
    const FLOW: Flow<'static> = plan_linear(&S::FLOW, &S::STEP, &LINEAR_SYNTAX);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_linear(input, step, &LINEAR_SYNTAX)
    }

    fn build(step: &StepBuild<'_>) -> Result<Linear> {
        let parallel = step.sized(step.step.option_axes("parallel"))?;
        Linear::new(
            step.seed,
            step.label,
            &step.sized(step.step.before)?,
            &step.sized(step.step.after)?,
            &parallel,
            step.init_or(Initializer::XAVIER_UNIFORM),
        )
    }
}

/// `names` with their sizes in `weights`.
fn sized_axes<'a>(names: &'a [AxisName], weights: &NamedArray) -> AxisSet<'a> {
    names
        .iter()
        .map(|n| Axis::maybe_sized(n, weights.axis_size(n)))
        .collect()
}

/// Adds a learned bias, broadcast by name; the input must have every bias axis.
///
/// In `model!`: `AddBias(over hidden)`; options `init` (default zeros), `seed`.
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

    fn signature(&self) -> Option<Signature<'_>> {
        let sizes = self.bias.value.named_shape();
        Some(Signature::requiring(
            &self
                .bias
                .value
                .axis_names()
                .iter()
                .map(|n| Axis::maybe_sized(n.as_str(), sizes.get(n)))
                .collect(),
        ))
    }
}

const ADD_BIAS_SYNTAX: Syntax = Syntax {
    example: "AddBias(over hidden: 256)",
    axes: AxesForm::Over,
    values: 0,
    bare: false,
    options: &[OptionSyntax::INIT, OptionSyntax::SEED],
};

/// `AddBias(over ..)`: the axes must be there, with known sizes.
const fn plan_add_bias(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &ADD_BIAS_SYNTAX);
    p.need_distinct(step.over_axes(), "`AddBias`");
    p.need_sizes(step.over_axes());
    p.then(&Signature::requiring(&AxisSet::of(step.over_axes())));
    p.finish()
}

impl<S: StepInput> ModelStep<S> for AddBias {
    const FLOW: Flow<'static> = plan_add_bias(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_add_bias(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<AddBias> {
        AddBias::new(
            step.seed,
            step.label,
            &step.sized(step.step.over_axes())?,
            // A bias starts at zero unless the step says otherwise (not the model's init).
            step.init.unwrap_or(Initializer::Zeros),
        )
    }
}

crate::sequential_layer! {
    /// A [`Linear`] map followed by an [`AddBias`] over its outputs: steps `linear`, `bias`.
    ///
    /// In `model!`: `Affine(embedding: 64 -> hidden: 256)`; options `init`, `seed`.
    pub struct Affine;
}

impl Affine {
    /// A new affine map (weights with `init`, zero bias over the output axes), its
    /// parameters labelled `label.weights` and `label.bias`.
    pub fn new(
        seed: u64,
        label: &str,
        input: &[(&str, usize)],
        output: &[(&str, usize)],
        init: Initializer,
    ) -> Result<Affine> {
        Affine::labelled(seed, label, label, input, output, init)
    }

    /// A new affine map whose linear part is labelled under `linear` and bias under `bias`.
    fn labelled(
        seed: u64,
        linear: &str,
        bias: &str,
        input: &[(&str, usize)],
        output: &[(&str, usize)],
        init: Initializer,
    ) -> Result<Affine> {
        let mut steps = Steps::new();
        steps.push_named(
            "linear",
            AnyLayer::new(Linear::new(seed, linear, input, output, &[], init)?),
        )?;
        steps.push_named(
            "bias",
            AnyLayer::new(AddBias::new(seed, bias, output, Initializer::Zeros)?),
        )?;
        Ok(Affine { steps })
    }
}

const AFFINE_SYNTAX: Syntax = Syntax {
    example: "Affine(embedding: 64 -> hidden: 256)",
    axes: AxesForm::Arrow,
    values: 0,
    bare: false,
    options: &[OptionSyntax::INIT, OptionSyntax::SEED],
};

impl<S: StepInput> ModelStep<S> for Affine {
    const FLOW: Flow<'static> = plan_linear(&S::FLOW, &S::STEP, &AFFINE_SYNTAX);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_linear(input, step, &AFFINE_SYNTAX)
    }

    /// Labels follow the paths: `up.linear.weights`, `up.bias.bias`.
    fn build(step: &StepBuild<'_>) -> Result<Affine> {
        Affine::labelled(
            step.seed,
            &format!("{}.linear", step.label),
            &format!("{}.bias", step.label),
            &step.sized(step.step.before)?,
            &step.sized(step.step.after)?,
            step.init_or(Initializer::XAVIER_UNIFORM),
        )
    }
}
