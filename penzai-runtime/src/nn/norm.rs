//! Normalization: `Standardize`, `RMSStandardize`, and the `LayerNorm`/`RMSNorm` groups.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{
    AxesForm, Axis, AxisSet, Flow, ModelStep, OptionSyntax, Planner, StepBuild, StepInput, Syntax,
    Written,
};
use crate::nn::{AddBias, AnyLayer, Context, Initializer, Layer, Linear, Signature, Steps};
use crate::nx::{AxisName, NamedArray};

fn axes_refs(axes: &[AxisName]) -> Vec<&str> {
    axes.iter().map(AxisName::as_str).collect()
}

fn requiring(axes: &[AxisName]) -> Signature<'_> {
    Signature::requiring(&axes.iter().map(|a| Axis::any(a)).collect())
}

/// The plan of a normalization `Name(over axes)`: the axes must be there, and, when the
/// layer has parameters (`sized`), their sizes known.
const fn plan_norm(
    input: &Flow<'static>,
    step: &Written<'_>,
    syntax: &Syntax,
    sized: bool,
) -> Flow<'static> {
    let mut p = Planner::new(input, step, syntax);
    p.need_distinct(step.over_axes(), "the normalized axes");
    if sized {
        p.need_sizes(step.over_axes());
    }
    p.then(&Signature::requiring(&AxisSet::of(step.over_axes())));
    p.finish()
}

/// The epsilon of a normalization step: its `eps` option, else `1e-6`.
fn epsilon(step: &StepBuild<'_>) -> Result<f32> {
    Ok(step.option_number("eps")?.unwrap_or(1e-6) as f32)
}

/// Defines how a normalization reads in `model!`: its syntax, plan and build.
macro_rules! norm_step {
    ($ty:ident, $example:literal, [$($option:expr),*], sized = $sized:expr, |$step:ident| $build:expr) => {
        impl $ty {
            const SYNTAX: Syntax = Syntax {
                example: $example,
                axes: AxesForm::Over,
                values: 0,
                bare: false,
                options: &[$($option),*],
            };
        }

        impl<S: StepInput> ModelStep<S> for $ty {
            const FLOW: Flow<'static> = plan_norm(&S::FLOW, &S::STEP, &$ty::SYNTAX, $sized);

            fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
                plan_norm(input, step, &$ty::SYNTAX, $sized)
            }

            fn build($step: &StepBuild<'_>) -> Result<$ty> {
                $build
            }
        }
    };
}

/// `(x - mean) / sqrt(var + epsilon)` over the `across` axes.
///
/// In `model!`: `Standardize(over embedding)`; option `eps = 1e-6`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "Standardize::validate")]
pub struct Standardize {
    /// The axes statistics are taken over.
    #[tree(skip)]
    pub across: Vec<AxisName>,
    /// Added to the variance.
    #[tree(skip)]
    pub epsilon: f32,
}

impl Standardize {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("epsilon", self.epsilon)
    }
}

impl Layer for Standardize {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        let across = axes_refs(&self.across);
        for axis in &across {
            require_axis(&x, axis, None)?;
        }
        let mean = x.mean(&across)?;
        let centered = (&x - &mean)?;
        let var = centered.square()?.mean(&across)?;
        let inv = (var + self.epsilon)?.rsqrt()?;
        Ok((&centered * &inv)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(requiring(&self.across))
    }
}

/// `x / sqrt(mean(x^2) + epsilon)` over the `across` axes.
///
/// In `model!`: `RMSStandardize(over embedding)`; option `eps = 1e-6`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "RMSStandardize::validate")]
pub struct RMSStandardize {
    /// The axes the mean square is taken over.
    #[tree(skip)]
    pub across: Vec<AxisName>,
    /// Added to the mean square.
    #[tree(skip)]
    pub epsilon: f32,
}

impl RMSStandardize {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("epsilon", self.epsilon)
    }
}

impl Layer for RMSStandardize {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        let across = axes_refs(&self.across);
        for axis in &across {
            require_axis(&x, axis, None)?;
        }
        let inv = (x.square()?.mean(&across)? + self.epsilon)?.rsqrt()?;
        Ok((&x * &inv)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(requiring(&self.across))
    }
}

fn scale(seed: u64, label: &str, across: &[(&str, usize)]) -> Result<Linear> {
    // A `Linear` whose axes are all parallel: an elementwise scale, as in Penzai.
    Linear::new(
        seed,
        &format!("{label}.scale"),
        &[],
        &[],
        across,
        Initializer::Ones,
    )
}

crate::sequential_layer! {
    /// Layer normalization: steps `standardize` ([`Standardize`]), `scale` (a [`Linear`]
    /// with only parallel axes) and `bias` ([`AddBias`]).
    ///
    /// In `model!`: `LayerNorm(over embedding)`; options `eps = 1e-6`, `seed`. The labels
    /// follow the paths: `norm.scale.weights`, `norm.bias.bias`.
    pub struct LayerNorm;
}

impl LayerNorm {
    /// A layer norm over `across`, scale ones and bias zeros, labelled under `label`.
    pub fn new(
        seed: u64,
        label: &str,
        across: &[(&str, usize)],
        epsilon: f32,
    ) -> Result<LayerNorm> {
        LayerNorm::labelled(seed, label, label, across, epsilon)
    }

    /// A layer norm whose scale is labelled `label.scale.weights` and bias
    /// `bias_label.bias`.
    fn labelled(
        seed: u64,
        label: &str,
        bias_label: &str,
        across: &[(&str, usize)],
        epsilon: f32,
    ) -> Result<LayerNorm> {
        super::options::positive("epsilon", epsilon)?;
        let mut steps = Steps::new();
        steps.push_named(
            "standardize",
            AnyLayer::new(Standardize {
                across: across.iter().map(|&(n, _)| n.into()).collect(),
                epsilon,
            }),
        )?;
        steps.push_named("scale", AnyLayer::new(scale(seed, label, across)?))?;
        steps.push_named(
            "bias",
            AnyLayer::new(AddBias::new(seed, bias_label, across, Initializer::Zeros)?),
        )?;
        Ok(LayerNorm { steps })
    }
}

crate::sequential_layer! {
    /// RMS normalization: steps `standardize` ([`RMSStandardize`]) and `scale` (a
    /// [`Linear`] with only parallel axes).
    ///
    /// In `model!`: `RMSNorm(over embedding)`; options `eps = 1e-6`, `seed`.
    pub struct RMSNorm;
}

impl RMSNorm {
    /// An RMS norm over `across` with unit scale, labelled under `label`.
    pub fn new(seed: u64, label: &str, across: &[(&str, usize)], epsilon: f32) -> Result<RMSNorm> {
        super::options::positive("epsilon", epsilon)?;
        let mut steps = Steps::new();
        steps.push_named(
            "standardize",
            AnyLayer::new(RMSStandardize {
                across: across.iter().map(|&(n, _)| n.into()).collect(),
                epsilon,
            }),
        )?;
        steps.push_named("scale", AnyLayer::new(scale(seed, label, across)?))?;
        Ok(RMSNorm { steps })
    }
}

norm_step!(
    Standardize,
    "Standardize(over embedding)",
    [OptionSyntax::value("eps")],
    sized = false,
    |step| {
        Ok(Standardize {
            across: StepBuild::names(step.step.over_axes()),
            epsilon: epsilon(step)?,
        })
    }
);

norm_step!(
    RMSStandardize,
    "RMSStandardize(over embedding)",
    [OptionSyntax::value("eps")],
    sized = false,
    |step| {
        Ok(RMSStandardize {
            across: StepBuild::names(step.step.over_axes()),
            epsilon: epsilon(step)?,
        })
    }
);

norm_step!(
    RMSNorm,
    "RMSNorm(over embedding)",
    [OptionSyntax::value("eps"), OptionSyntax::SEED],
    sized = true,
    |step| {
        RMSNorm::new(
            step.seed,
            step.label,
            &step.sized(step.step.over_axes())?,
            epsilon(step)?,
        )
    }
);

norm_step!(
    LayerNorm,
    "LayerNorm(over embedding)",
    [OptionSyntax::value("eps"), OptionSyntax::SEED],
    sized = true,
    |step| {
        LayerNorm::labelled(
            step.seed,
            step.label,
            &format!("{}.bias", step.label),
            &step.sized(step.step.over_axes())?,
            epsilon(step)?,
        )
    }
);
