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
    /// A structural check (`CheckAxes`, a checked `Sequential`) failed.
    #[error("{0}")]
    Check(String),
    /// A layer built with inconsistent settings.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A layer's output holds NaN or infinite values (reported when
    /// [`Context::with_finite_check`](crate::nn::Context::with_finite_check) is on, by the
    /// first layer whose output has any).
    #[error(
        "output has {count} non-finite values (NaN or infinite) among {total} in {shape}; this is the first layer whose output is not finite"
    )]
    NonFinite {
        /// How many values are NaN or infinite.
        count: usize,
        /// How many values the output has.
        total: usize,
        /// The output's named shape.
        shape: NamedShape,
    },
    /// A layer option outside its range (an epsilon of -1, a NaN scale, a rate of 1.5).
    #[error("option {field} is {value}, but must be {expected}")]
    InvalidOption {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f32,
        /// What it must be.
        expected: &'static str,
    },
    /// A sampler was given logits it cannot choose from (NaN, all -infinity, or +infinity
    /// when sampling).
    #[error("cannot choose a token: {reason}")]
    UnusableLogits {
        /// What is wrong with them.
        reason: String,
    },
    /// An array a layer is about to make is larger than the memory cap, or than the
    /// allocator grants (a very long input, whose attention scores grow with its square).
    #[error(
        "{what} {shape} would need {bytes} bytes ({}), {}",
        human_bytes(*.bytes),
        over_limit(*.limit)
    )]
    ForwardTooLarge {
        /// What the array is (`attention scores`).
        what: &'static str,
        /// Its shape.
        shape: NamedShape,
        /// Its size in bytes.
        bytes: u128,
        /// The cap set with `Context::with_max_memory` (the CLI's `--max-memory`), if any.
        limit: Option<usize>,
    },
    /// A model whose parameters cannot be allocated on this machine.
    #[error(
        "{what} has {parameters} parameters and needs about {bytes} bytes ({}), more than this machine can allocate",
        human_bytes(*.bytes)
    )]
    ModelTooLarge {
        /// The model, as its builder names it (`a Llama model with 100000000 layers`).
        what: String,
        /// Its parameter count.
        parameters: u128,
        /// The bytes it needs, estimated.
        bytes: u128,
    },
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

fn over_limit(limit: Option<usize>) -> String {
    match limit {
        Some(limit) => format!(
            "over the memory limit of {limit} bytes ({}); a shorter input or a larger limit (--max-memory) would do",
            human_bytes(limit as u128)
        ),
        None => "more than this machine can allocate; a shorter input would do".to_owned(),
    }
}

/// A byte count for people: `6.4 GB`, `512 B` (decimal units, one decimal).
pub(crate) fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
