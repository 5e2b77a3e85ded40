//! `ModelStep`: a layer type that is a `model!` step by its name, and the glue `model!`
//! uses to check and build such a step.

use crate::Result;
use crate::nn::flow::pipeline::Flow;
use crate::nn::flow::signature::{HasSignature, Signature};
use crate::nn::{AnyLayer, Layer, LayerError};

use super::build::{StepArgs, StepBuild};
use super::planner::Planner;
use super::syntax::Syntax;
use super::written::Written;

/// The flow into a step, for its [`ModelStep`] constant: `model!` writes one per step.
pub trait StepInput {
    /// The axes flowing in.
    const FLOW: Flow<'static>;
    /// The step as written.
    const STEP: Written<'static>;
}

/// A layer that can be a `model!` step by its name: `Name(args)`, or `Name` alone.
///
/// The layer describes itself: its plan (a `const fn` checking the step against the axes
/// flowing in, usually through a [`Planner`]) is what `model!` evaluates at compile time,
/// and its `build` makes the layer from the step's arguments (after the same plan ran
/// again with sizes written as Rust expressions known). Implement it generically over `S`;
/// here, `Shift(1.5)` adds a number to every element:
///
/// ```
/// use penzai::nn::{AxesForm, Flow, ModelStep, Planner, Signature, StepBuild, StepInput, Syntax, Written};
/// use penzai::prelude::*;
///
/// #[derive(Clone, Debug, PartialEq, Tree)]
/// struct Shift {
///     by: f32,
/// }
///
/// impl Layer for Shift {
///     fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
///         Ok((x + self.by)?)
///     }
///     fn signature(&self) -> Option<Signature<'_>> {
///         Some(Signature::PASS_THROUGH)
///     }
/// }
///
/// const SYNTAX: Syntax = Syntax {
///     example: "Shift(1.5)",
///     axes: AxesForm::None,
///     values: 1,
///     bare: false,
///     options: &[],
/// };
///
/// const fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
///     let mut p = Planner::new(input, step, &SYNTAX);
///     p.then(&Signature::PASS_THROUGH);
///     p.finish()
/// }
///
/// impl<S: StepInput> ModelStep<S> for Shift {
///     const FLOW: Flow<'static> = plan(&S::FLOW, &S::STEP);
///     fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
///         plan(input, step)
///     }
///     fn build(step: &StepBuild<'_>) -> Result<Shift> {
///         Ok(Shift { by: step.number(0)? as f32 })
///     }
/// }
///
/// let model = model! {
///     input: [batch, embedding: 2];
///     shift: Shift(1.5),
/// }?;
/// let y = model.call(NamedArray::zeros(&[("batch", 1), ("embedding", 2)])?, &mut Context::new())?;
/// assert_eq!(y.to_f32_vec(), vec![1.5, 1.5]);
/// # Ok::<(), penzai::Error>(())
/// ```
///
/// A unit struct with a `#[layer(...)]` signature is a step by its name without this impl
/// (`Gelu`, or a user's `Pool`): its `#[derive(Tree)]` states that it is a unit struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer `model!` can build from its name",
    label = "not a `model!` step",
    note = "a unit struct with `#[layer(...)]` is a step by its name; a layer with fields is built through its type: `{Self} {{ .. }}` or `{Self}::new(..)`",
    note = "or write the step as a block with its output axes: `{{ expression }} as [batch, seq, ..]`"
)]
pub trait ModelStep<S: StepInput>: Layer + Sized {
    /// The flow after this step, with its first mistake: what `model!` checks at compile
    /// time.
    const FLOW: Flow<'static>;

    /// The same plan, evaluated when the model is built (sizes written as Rust
    /// expressions are known then).
    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static>;

    /// Builds the layer (after `plan` found no mistake).
    fn build(step: &StepBuild<'_>) -> Result<Self>;
}

/// A unit struct, which `model!` builds from its name alone. `#[derive(Tree)]` implements
/// it for every unit struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a unit struct, so `model!` cannot build it from its name alone",
    label = "this layer has fields",
    note = "build it through its type: `{Self} {{ .. }}` or `{Self}::new(..)`"
)]
pub trait UnitLayer {
    /// The value.
    const VALUE: Self;
}

impl<T, S> ModelStep<S> for T
where
    T: Layer + HasSignature + UnitLayer,
    S: StepInput,
{
    const FLOW: Flow<'static> = plan_unit(&S::FLOW, &S::STEP, &T::SIGNATURE);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_unit(input, step, &T::SIGNATURE)
    }

    fn build(_step: &StepBuild<'_>) -> Result<T> {
        Ok(T::VALUE)
    }
}

/// The plan of a unit layer written by its name: no arguments, and its signature.
pub const fn plan_unit(
    input: &Flow<'static>,
    step: &Written<'_>,
    sig: &Signature<'static>,
) -> Flow<'static> {
    let mut p = Planner::new(input, step, &Syntax::BARE);
    p.then(sig);
    p.finish()
}

/// Builds a `model!` step: plans it again with the run-time sizes, then builds its layer.
pub type BuildFn =
    for<'w, 'a> fn(&mut Flow<'static>, &Written<'w>, StepArgs<'a>) -> Result<AnyLayer>;

/// A step by name, as `model!` uses it: the flow after it (its check) and its builder,
/// both from one use of the layer type, so a type that is not a step is one error.
#[derive(Clone, Copy)]
pub struct Planned {
    /// The flow after the step, with its first mistake.
    pub flow: Flow<'static>,
    /// The builder.
    pub build: BuildFn,
}

/// The check and the builder of the step `S` written as the layer `L`.
#[doc(hidden)]
pub const fn plan_step<L: ModelStep<S>, S: StepInput>() -> Planned {
    Planned {
        flow: L::FLOW,
        build: build_step::<L, S>,
    }
}

/// Plans and builds one `model!` step by its name, moving `flow` past it.
#[doc(hidden)]
pub fn build_step<L: ModelStep<S>, S: StepInput>(
    flow: &mut Flow<'static>,
    step: &Written<'_>,
    args: StepArgs<'_>,
) -> Result<AnyLayer> {
    let next = L::plan(flow, step);
    if let Some(e) = next.error() {
        return Err(LayerError::Check(e.as_str().to_owned()).into());
    }
    let input = *flow.axes();
    let layer = L::build(&StepBuild {
        input: &input,
        step,
        label: args.label,
        seed: args.seed,
        init: args.init,
        model_init: args.model_init,
        values: args.values,
        options: args.options,
    })?;
    *flow = next;
    Ok(AnyLayer::new(layer))
}
