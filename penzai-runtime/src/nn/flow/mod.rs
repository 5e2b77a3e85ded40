//! Axis flow: what each layer needs and does to the named axes of its input, and the one
//! engine that follows axes through a model.
//!
//! A layer states its effect as a [`Signature`] (the axes it **requires**, **removes** and
//! **adds**; every other axis passes through), or, for a combinator, says how the axes flow
//! through its children ([`Layer::flow`](crate::nn::Layer::flow)). The rules that apply
//! them ([`ops`]) are `const fn`s over fixed-capacity [`AxisSet`]s, and every message is
//! worded once ([`FlowError`]). The same functions run in three places:
//!
//! - inside `model!`: each step is a `const` evaluated by the compiler ([`Flow`],
//!   [`ModelStep`]), so a mistake is a compile error at the offending token;
//! - in [`check_flow`] and [`Sequential::checked`](crate::nn::Sequential::checked), on a
//!   model built by hand;
//! - in every run: a layer whose output disagrees with its signature is an error naming
//!   the layer, the signature and the axes it produced.
//!
//! A layer type describes itself in the one file that defines it, and nothing else lists it:
//! its derives (`Tree` for Treescope, selectors and paths; `Serialize` and `Deserialize` for
//! [`io::save`](crate::io::save()), which finds it at link time), its `impl Layer` (with its
//! [`Signature`], through `#[layer(..)]` or [`Layer::signature`](crate::nn::Layer::signature)),
//! and, to be a `model!` step with arguments, its [`ModelStep`] plan (a unit struct with a
//! signature is a step by its name alone, as [`UnitLayer`]). `Softplus` in
//! `nn/activation.rs` is such an addition.

mod axes;
mod check;
mod error;
mod message;
pub mod ops;
mod pipeline;
mod run;
mod signature;
mod step;

pub use axes::{Axis, AxisSet, MAX_AXES, Size};
pub use check::{
    FlowCheck, FlowFailure, FlowResult, check_flow, check_flow_to, spec_axes, to_spec,
};
pub use error::{Blame, FlowError, Mistake};
pub use message::{Message, Place, str_eq};
pub use pipeline::Flow;
pub use run::{axes_of, call_checked};
pub use signature::{HasSignature, Signature};
pub use step::{
    AxesForm, BuildFn, IntoValue, Literal, ModelStep, OptionKind, OptionSyntax, Planned, Planner,
    StepArgs, StepBuild, StepInput, StepOption, Syntax, UnitLayer, Value, Written, build_step,
    plan_step, plan_unit, value,
};
