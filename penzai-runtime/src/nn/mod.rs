//! Layers: the [`Layer`] trait, the run [`Context`], parameters and initializers,
//! combinators and the layer library.

mod activation;
mod any_layer;
mod attention;
mod basic;
pub mod check;
mod checkpoint;
mod combinators;
mod context;
mod einsum;
mod embed;
mod error;
pub mod flow;
mod init;
mod layer;
mod linear;
mod mask;
mod mlp;
mod norm;
mod options;
mod parallel_residual;
mod parameter;
pub mod rope;
mod rope_scaling;
mod sequential;
pub mod side_inputs;

// The layer modules export everything public, so a new layer is one file's change.
pub use activation::*;
pub use any_layer::AnyLayer;
pub use attention::*;
pub use basic::*;
pub use check::{AxesSpec, SizeSpec};
pub use checkpoint::*;
pub use combinators::*;
pub use context::{AnyState, Context, Mode, label_hash, split_seed};
pub use einsum::*;
pub use embed::*;
pub use error::LayerError;
pub use flow::{
    AxesForm, Axis, AxisSet, Flow, FlowCheck, FlowError, FlowFailure, FlowResult, HasSignature,
    ModelStep, OptionSyntax, Planner, Signature, Size, StepBuild, StepInput, Syntax, UnitLayer,
    Written, check_flow, check_flow_to,
};
pub use init::{Distribution, FanMode, Initializer, WeightAxes};
pub use layer::{AsLayer, Layer, LayerCapability, LayerObject};
pub use linear::*;
pub use mask::*;
pub use mlp::Mlp;
pub use norm::*;
pub use parallel_residual::*;
pub use parameter::{Parameter, parameter_count, parameters, set_parameter};
pub use rope::{ApplyRoPE, ApplyRoPEToSubset};
pub use rope_scaling::RopeScaling;
pub use sequential::{NamedGroup, Sequential, Step, Steps};
