//! What a step's builder reads: the values written in the step, the label and seed of its
//! parameters, and the axes flowing in.

use std::any::Any;
use std::fmt;

use crate::Result;
use crate::nn::flow::axes::{Axis, AxisSet, Size};
use crate::nn::{Initializer, LayerError};

use super::written::Written;

/// A value given to a step's builder: a number, a word, a flag, or any other Rust value.
pub enum Value {
    /// A number (every Rust number type converts to one).
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A bare word, such as `causal`.
    Word(&'static str),
    /// Any other value, such as an `Activation`.
    Any(Box<dyn Any + Send + Sync>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Word(w) => f.write_str(w),
            Value::Any(_) => f.write_str("<value>"),
        }
    }
}

/// Converts a value written in a step into a [`Value`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a value of a `model!` step",
    note = "steps take numbers, `bool`s and the values of the layer's own types (such as `Activation`)"
)]
pub trait IntoValue {
    /// The value.
    fn into_value(self) -> Value;
}

macro_rules! number_values {
    ($($ty:ty),*) => {$(
        impl IntoValue for $ty {
            fn into_value(self) -> Value {
                Value::Number(self as f64)
            }
        }
    )*};
}
number_values!(f32, f64, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for crate::nn::Activation {
    fn into_value(self) -> Value {
        Value::Any(Box::new(self))
    }
}

/// A step value, for the code `model!` generates.
#[doc(hidden)]
pub fn value<T: IntoValue>(v: T) -> Value {
    v.into_value()
}

/// The run-time arguments of a step, which `model!` passes to [`ModelStep::build`](super::ModelStep::build): the
/// parameter label and seed, and the step's values.
pub struct StepArgs<'a> {
    /// The label of the step's parameters (its path).
    pub label: &'a str,
    /// The seed of the step's parameters.
    pub seed: u64,
    /// The initializer the step states (`init = ..`), if any.
    pub init: Option<Initializer>,
    /// The initializer the model states (`init = ..;`), if any.
    pub model_init: Option<Initializer>,
    /// The positional values.
    pub values: &'a [Value],
    /// The options with values (not `seed` and `init`).
    pub options: &'a [(&'static str, Value)],
}

/// What a layer's [`ModelStep::build`](super::ModelStep::build) reads: the step as written (with the sizes written
/// as Rust expressions evaluated), the axes flowing in, and the step's arguments.
pub struct StepBuild<'a> {
    /// The axes flowing into the step.
    pub input: &'a AxisSet<'static>,
    /// The step.
    pub step: &'a Written<'a>,
    /// The label of the step's parameters (its path).
    pub label: &'a str,
    /// The seed of the step's parameters.
    pub seed: u64,
    /// The initializer the step states (`init = ..`), if any.
    pub init: Option<Initializer>,
    /// The initializer the model states (`init = ..;`), if any: for weights, not biases.
    pub model_init: Option<Initializer>,
    /// The positional values.
    pub values: &'a [Value],
    /// The options with values (not `seed` and `init`).
    pub options: &'a [(&'static str, Value)],
}

impl StepBuild<'_> {
    /// `axes` with their sizes: as written, else as they flow in.
    pub fn sized(&self, axes: &[Axis<'static>]) -> Result<Vec<(&'static str, usize)>> {
        axes.iter()
            .map(|axis| {
                let size = match axis.size {
                    Size::Known(n) => Some(n),
                    _ => self.input.get(axis.name).and_then(|a| a.size.known()),
                };
                size.map(|n| (axis.name, n)).ok_or_else(|| {
                    LayerError::Config(format!(
                        "{} needs the size of axis {:?}, which is not known",
                        self.step.name, axis.name
                    ))
                    .into()
                })
            })
            .collect()
    }

    /// The names of `axes`.
    pub fn names(axes: &[Axis<'static>]) -> Vec<crate::nx::AxisName> {
        axes.iter().map(|a| a.name.into()).collect()
    }

    /// The initializer of weights: the step's, else the model's, else `default`.
    pub fn init_or(&self, default: Initializer) -> Initializer {
        self.init.or(self.model_init).unwrap_or(default)
    }

    /// Positional value `i` as a number.
    pub fn number(&self, i: usize) -> Result<f64> {
        match self.values.get(i) {
            Some(v) => self.to_number(v, "its value"),
            None => Err(self.config(format!("needs value {i}"))),
        }
    }

    /// The option `key` as a number, if given.
    pub fn option_number(&self, key: &str) -> Result<Option<f64>> {
        match self.option(key) {
            Some(v) => self.to_number(v, key).map(Some),
            None => Ok(None),
        }
    }

    /// The option `key`, if given.
    pub fn option(&self, key: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The option `key` as a word, if given.
    pub fn option_word(&self, key: &str) -> Option<&'static str> {
        match self.option(key) {
            Some(Value::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// Positional value `i` as a `T` (an `Activation`, say).
    pub fn any<T: Any + Clone>(&self, i: usize) -> Result<T> {
        match self.values.get(i) {
            Some(Value::Any(v)) => v.downcast_ref::<T>().cloned().ok_or_else(|| {
                self.config(format!("value {i} is not a {}", std::any::type_name::<T>()))
            }),
            _ => Err(self.config(format!("value {i} is not a {}", std::any::type_name::<T>()))),
        }
    }

    fn to_number(&self, v: &Value, what: &str) -> Result<f64> {
        match v {
            Value::Number(n) => Ok(*n),
            other => Err(self.config(format!("{what} must be a number; got {other:?}"))),
        }
    }

    fn config(&self, what: String) -> crate::Error {
        LayerError::Config(format!("{} {what}", self.step.name)).into()
    }
}
