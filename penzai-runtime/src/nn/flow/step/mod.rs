//! How a layer reads as a `model!` step: the step as written ([`Written`]), what a layer
//! accepts ([`Syntax`]), the check of a step against the axes flowing in ([`Planner`]),
//! the trait a layer implements to be a step by its name ([`ModelStep`]), and what its
//! builder reads ([`StepBuild`]).
//!
//! `model!` knows no layer: for a step `Name(args)` or `Name` it emits a `const` that
//! evaluates `<Name as ModelStep<_>>::FLOW` (the layer's own plan, run by the compiler)
//! and, in the code that builds the model, the same plan and `ModelStep::build` again with
//! the sizes written as Rust expressions known.

mod build;
mod model_step;
mod planner;
mod syntax;
mod written;

pub use build::{IntoValue, StepArgs, StepBuild, Value, value};
pub use model_step::{
    BuildFn, ModelStep, Planned, StepInput, UnitLayer, build_step, plan_step, plan_unit,
};
pub use planner::Planner;
pub use syntax::{AxesForm, OptionKind, OptionSyntax, Syntax};
pub use written::{Literal, StepOption, Written};
