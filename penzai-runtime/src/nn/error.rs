//! `LayerError`: why a layer refused to run or to be built.

use crate::nx::{AxisName, NamedShape};
use crate::tree::KeyPath;

/// A layer's refusal: a wrong input, a missing side input or an inconsistent configuration.
///
/// Raised inside a model run, it reaches the user wrapped in
/// [`Error::AtLayer`](crate::Error::AtLayer), which names the layer's path and type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// The input lacks an axis the layer needs (or has it with another size).
    #[error("needs input axis {axis:?}{}; got {got}", size_note(*.expected))]
    NeedsAxis {
        /// The axis.
        axis: AxisName,
        /// Its required size, when the layer fixes one.
        expected: Option<usize>,
        /// The input's named shape.
        got: NamedShape,
    },
    /// The input has an axis the layer would create.
    #[error("input already has axis {axis:?}, which this layer produces; got {got}")]
    AxisClash {
        /// The axis.
        axis: AxisName,
        /// The input's named shape.
        got: NamedShape,
    },
    /// The input has positional axes where the layer works on named axes only.
    #[error(
        "needs an input with named axes only; got positional axes {positional:?} besides {named}"
    )]
    Positional {
        /// The positional shape.
        positional: Vec<usize>,
        /// The named shape.
        named: NamedShape,
    },
    /// A side input the layer reads was not given to the [`Context`](crate::nn::Context).
    #[error("needs side input {name:?}; the context has {}", list(available))]
    MissingSideInput {
        /// Its name.
        name: String,
        /// The side inputs that are there.
        available: Vec<String>,
    },
    /// A parameter or array field does not have the axes its layer declares.
    #[error("{field}: {problem}")]
    ParameterAxes {
        /// The field's path within the layer (or the model, once located).
        field: KeyPath,
        /// What is wrong, naming the axis and both sizes.
        problem: String,
    },
    /// A layer's output disagrees with the signature it states.
    #[error(
        "its output {output} breaks its signature ({signature}): from the input {input} it must give {expected}"
    )]
    SignatureBroken {
        /// The signature, as it prints.
        signature: String,
        /// The input's named shape.
        input: NamedShape,
        /// The axes the signature gives that input (or why the input does not fit it).
        expected: String,
        /// The output's named shape.
        output: NamedShape,
    },
    /// A structural check (`CheckAxes`, a checked `Sequential`) failed.
    #[error("{0}")]
    Check(String),
    /// A layer built with inconsistent settings.
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn size_note(expected: Option<usize>) -> String {
    expected.map(|n| format!(" ({n})")).unwrap_or_default()
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
