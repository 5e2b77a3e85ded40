//! Simple layers: softmax, rescaling, soft caps, casts, dropout.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{
    AxesForm, Axis, AxisSet, Blame, Flow, Literal, Message, ModelStep, Planner, StepBuild,
    StepInput, Syntax, Written,
};
use crate::nn::{Context, Layer, LayerError, Mode, Signature};
use crate::nx::{AxisName, DType, NamedArray};

/// Softmax over one or more named axes. In `model!`: `Softmax(over kv_seq)`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Softmax {
    /// The axes normalized over.
    #[tree(skip)]
    pub axes: Vec<AxisName>,
}

impl Softmax {
    /// Softmax over one axis.
    pub fn over(axis: &str) -> Softmax {
        Softmax {
            axes: vec![axis.into()],
        }
    }
}

impl Layer for Softmax {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        for axis in &self.axes {
            require_axis(&x, axis, None)?;
        }
        let axes: Vec<&str> = self.axes.iter().map(AxisName::as_str).collect();
        Ok(x.softmax(&axes)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::requiring(
            &self.axes.iter().map(|a| Axis::any(a)).collect(),
        ))
    }
}

const SOFTMAX_SYNTAX: Syntax = Syntax {
    example: "Softmax(over kv_seq)",
    axes: AxesForm::Over,
    values: 0,
    bare: false,
    options: &[],
};

const fn plan_softmax(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &SOFTMAX_SYNTAX);
    p.need_distinct(step.over_axes(), "`Softmax`");
    p.then(&Signature::requiring(&AxisSet::of(step.over_axes())));
    p.finish()
}

impl<S: StepInput> ModelStep<S> for Softmax {
    const FLOW: Flow<'static> = plan_softmax(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_softmax(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<Softmax> {
        Ok(Softmax {
            axes: StepBuild::names(step.step.over_axes()),
        })
    }
}

/// The plan of a step taking one number and passing every axis through; `check` words
/// the number's mistake, if it has one.
const fn plan_number(
    input: &Flow<'static>,
    step: &Written<'_>,
    syntax: &Syntax,
    check: Option<(number_check::Check, &str)>,
) -> Flow<'static> {
    let mut p = Planner::new(input, step, syntax);
    if let (Some((check, noun)), Some(Literal::Number { value, text, .. })) = (check, p.value(0))
        && let Some(m) = number_check::mistake(check, step.name, noun, value, text)
    {
        p.fail_with(m, Blame::Value(0));
    }
    p.then(&Signature::PASS_THROUGH);
    p.finish()
}

/// The number checks of [`plan_number`], shared by `model!` (literals, at compile time)
/// and the builders (any value, when the model is built).
mod number_check {
    use super::Message;

    /// What a number must be.
    #[derive(Clone, Copy)]
    pub enum Check {
        /// In `[0, 1)` (a probability of dropping).
        Rate,
        /// Finite and above zero.
        Positive,
    }

    /// The mistake of `value` (written `text`), the `noun` of `layer`, if it has one.
    pub const fn mistake(
        check: Check,
        layer: &str,
        noun: &str,
        value: f64,
        text: &str,
    ) -> Option<Message> {
        let ok = match check {
            Check::Rate => value >= 0.0 && value < 1.0,
            Check::Positive => value > 0.0 && value < f64::INFINITY,
        };
        if ok {
            return None;
        }
        let mut m = Message::new();
        m.push(layer).push("'s ").push(noun).push(" must be ");
        m.push(match check {
            Check::Rate => "in [0, 1)",
            Check::Positive => "finite and above zero",
        });
        m.push("; it is ").push(text);
        Some(m)
    }
}

/// A number for a builder, checked like the `model!` literal would be.
fn checked_number(step: &StepBuild<'_>, check: Option<(number_check::Check, &str)>) -> Result<f32> {
    let value = step.number(0)?;
    if let Some((check, noun)) = check
        && let Some(m) =
            number_check::mistake(check, step.step.name, noun, value, &value.to_string())
    {
        return Err(LayerError::Config(m.as_str().to_owned()).into());
    }
    Ok(value as f32)
}

/// Multiplies by a constant (attention's `1/sqrt(d)`). In `model!`: `ConstantRescale(0.5)`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "ConstantRescale::validate")]
pub struct ConstantRescale {
    /// The factor.
    pub by: f32,
}

impl ConstantRescale {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::finite("by", self.by)
    }
}

impl Layer for ConstantRescale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        Ok((x * self.by)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

/// `tanh(x / cap) * cap`: a smooth clamp of logits (Gemma 2). In `model!`:
/// `TanhSoftCap(30.0)` (the cap must be above zero).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "TanhSoftCap::validate")]
pub struct TanhSoftCap {
    /// The cap.
    pub soft_cap: f32,
}

impl TanhSoftCap {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("soft_cap", self.soft_cap)
    }
}

const RESCALE_SYNTAX: Syntax = Syntax {
    example: "ConstantRescale(0.5)",
    axes: AxesForm::None,
    values: 1,
    bare: false,
    options: &[],
};

impl<S: StepInput> ModelStep<S> for ConstantRescale {
    const FLOW: Flow<'static> = plan_number(&S::FLOW, &S::STEP, &RESCALE_SYNTAX, None);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_number(input, step, &RESCALE_SYNTAX, None)
    }

    fn build(step: &StepBuild<'_>) -> Result<ConstantRescale> {
        Ok(ConstantRescale {
            by: checked_number(step, None)?,
        })
    }
}

impl Layer for TanhSoftCap {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        Ok(((x * (1.0 / self.soft_cap))?.tanh()? * self.soft_cap)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

const SOFT_CAP_SYNTAX: Syntax = Syntax {
    example: "TanhSoftCap(30.0)",
    axes: AxesForm::None,
    values: 1,
    bare: false,
    options: &[],
};

impl<S: StepInput> ModelStep<S> for TanhSoftCap {
    const FLOW: Flow<'static> = plan_number(
        &S::FLOW,
        &S::STEP,
        &SOFT_CAP_SYNTAX,
        Some((number_check::Check::Positive, "cap")),
    );

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_number(
            input,
            step,
            &SOFT_CAP_SYNTAX,
            Some((number_check::Check::Positive, "cap")),
        )
    }

    fn build(step: &StepBuild<'_>) -> Result<TanhSoftCap> {
        Ok(TanhSoftCap {
            soft_cap: checked_number(step, Some((number_check::Check::Positive, "cap")))?,
        })
    }
}

/// Converts the input to another dtype.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct CastToDType {
    /// The target dtype.
    #[tree(skip)]
    pub dtype: DType,
}

impl Layer for CastToDType {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x.cast(self.dtype)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

/// Zeroes each element with probability `rate` and rescales the rest by `1/(1-rate)`,
/// drawing from the context's random stream; the identity in deterministic mode. In
/// `model!`: `Dropout(0.1)` (a rate outside `[0, 1)` is an error: at compile time for a
/// number, when the model is built for an expression).
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Dropout, Mode};
///
/// let drop = Dropout::new(0.5)?;
/// assert!(Dropout::new(1.0).is_err());
/// let x = NamedArray::ones(&[("features", 8)])?;
/// assert_eq!(drop.call(x.clone(), &mut Context::new())?, x);
/// let run = |seed| drop.call(x.clone(), &mut Context::new().with_seed(seed).with_mode(Mode::Stochastic));
/// assert_eq!(run(1)?, run(1)?);
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "Dropout::validate")]
pub struct Dropout {
    /// Probability of dropping an element.
    pub rate: f32,
    /// Axes along which the same mask is shared.
    #[tree(skip)]
    pub share_across: Vec<AxisName>,
}

impl Dropout {
    /// Dropout with probability `rate` and no shared axes. Fails when `rate` is not in
    /// `[0, 1)`.
    pub fn new(rate: f32) -> Result<Dropout> {
        let dropout = Dropout {
            rate,
            share_across: Vec::new(),
        };
        dropout.validate()?;
        Ok(dropout)
    }
}

impl Dropout {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::rate("rate", self.rate)
    }
}

impl Layer for Dropout {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        if cx.mode() == Mode::Deterministic || self.rate == 0.0 {
            return Ok(x);
        }
        if !(0.0..1.0).contains(&self.rate) {
            return Err(
                LayerError::Config(format!("dropout rate {} is not in [0, 1)", self.rate)).into(),
            );
        }
        let shape = x.named_shape();
        let mask_shape: Vec<(&str, usize)> = shape
            .iter()
            .filter(|(n, _)| !self.share_across.iter().any(|s| s == n.as_str()))
            .map(|(n, s)| (n.as_str(), s))
            .collect();
        let seed = cx.next_seed();
        let keep = NamedArray::uniform(seed, mask_shape.as_slice(), 0.0, 1.0)?
            .ge(&NamedArray::scalar(self.rate))?;
        let scaled = (x * (1.0 / (1.0 - self.rate)))?;
        Ok(NamedArray::where_(
            &keep,
            &scaled,
            &NamedArray::scalar(0.0),
        )?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

const DROPOUT_SYNTAX: Syntax = Syntax {
    example: "Dropout(0.1)",
    axes: AxesForm::None,
    values: 1,
    bare: false,
    options: &[],
};

impl<S: StepInput> ModelStep<S> for Dropout {
    const FLOW: Flow<'static> = plan_number(
        &S::FLOW,
        &S::STEP,
        &DROPOUT_SYNTAX,
        Some((number_check::Check::Rate, "rate")),
    );

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_number(
            input,
            step,
            &DROPOUT_SYNTAX,
            Some((number_check::Check::Rate, "rate")),
        )
    }

    fn build(step: &StepBuild<'_>) -> Result<Dropout> {
        Dropout::new(checked_number(
            step,
            Some((number_check::Check::Rate, "rate")),
        )?)
    }
}
