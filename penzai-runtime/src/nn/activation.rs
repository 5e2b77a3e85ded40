//! Activation functions: one unit layer per function (`Relu`, `Gelu`, ...), and
//! [`Elementwise`] for any [`Activation`], custom ones included.

use std::fmt;
use std::sync::Arc;

use crate::Result;
use crate::nn::flow::{
    AxesForm, Flow, HasSignature, ModelStep, Planner, StepBuild, StepInput, Syntax, Written,
};
use crate::nn::{AnyLayer, Context, Layer, Signature};
use crate::nx::NamedArray;

/// Defines a unit layer applying one function to every element: in `model!` it is a step
/// by its name alone (`Gelu`), and it prints under that name.
macro_rules! activation_layer {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $apply:expr) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize,
        )]
        pub struct $name;

        impl Layer for $name {
            fn call(&self, $x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
                Ok($apply?)
            }

            fn signature(&self) -> Option<Signature<'_>> {
                Some(Signature::PASS_THROUGH)
            }
        }

        // Not offered to users as an example when their own layer lacks a signature.
        #[diagnostic::do_not_recommend]
        impl HasSignature for $name {
            const SIGNATURE: Signature<'static> = Signature::PASS_THROUGH;
        }
    };
}

activation_layer!(
    /// `max(x, 0)`. In `model!`: `Relu`.
    Relu, |x| x.relu()
);
activation_layer!(
    /// Exact GELU, `x * Phi(x)` with the error function. In `model!`: `Gelu`.
    Gelu, |x| x.gelu_erf()
);
activation_layer!(
    /// The tanh approximation of GELU (GPT-2's `gelu_new`). In `model!`: `GeluTanh`.
    GeluTanh, |x| x.gelu_tanh()
);
activation_layer!(
    /// `x * sigmoid(x)` (SwiGLU's gate). In `model!`: `Silu`.
    Silu, |x| x.silu()
);
activation_layer!(
    /// `tanh(x)`. In `model!`: `Tanh`.
    Tanh, |x| x.tanh()
);
activation_layer!(
    /// `1 / (1 + exp(-x))`. In `model!`: `Sigmoid`.
    Sigmoid, |x| x.sigmoid()
);
activation_layer!(
    /// `exp(x)`. In `model!`: `Exp`.
    Exp, |x| x.exp()
);
activation_layer!(
    /// `ln(1 + exp(x))`, a smooth ReLU (Mamba's step sizes, positive scales). In `model!`:
    /// `Softplus`.
    ///
    /// ```
    /// use penzai::prelude::*;
    ///
    /// let model = model! {
    ///     input: [batch, features: 3];
    ///     smooth: Softplus,
    /// }?;
    /// let x = NamedArray::from_f32(&[("batch", 1), ("features", 3)], vec![-200.0, 0.0, 200.0])?;
    /// let y = model.call(x, &mut Context::new())?.to_f32_vec();
    /// assert_eq!([y[0], y[2]], [0.0, 200.0]);
    /// assert!((y[1] - std::f32::consts::LN_2).abs() < 1e-6);
    /// # Ok::<(), penzai::Error>(())
    /// ```
    Softplus, |x| x.softplus()
);

/// A custom elementwise function with a name (the name is what prints and compares).
#[derive(Clone)]
pub struct NamedFn {
    /// Shown in the tree and used for equality together with the function's identity.
    pub name: String,
    /// The function.
    pub f: Arc<dyn Fn(f32) -> f32 + Send + Sync>,
}

impl fmt::Debug for NamedFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl PartialEq for NamedFn {
    fn eq(&self, other: &NamedFn) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.f, &other.f)
    }
}

/// The function an [`Elementwise`] layer applies.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// Exact GELU, `x * Phi(x)` with the error function.
    GeluExact,
    /// The tanh approximation of GELU (GPT-2's `gelu_new`).
    GeluTanh,
    /// `x * sigmoid(x)` (SwiGLU's gate).
    Silu,
    /// `tanh(x)`.
    Tanh,
    /// `exp(x)`.
    Exp,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Any function of one value (a closure: models holding one cannot be saved).
    // `NamedFn`'s `Serialize` (in `io::save`) refuses: a closure has no saved form.
    #[serde(skip_deserializing)]
    Custom(NamedFn),
}

impl Activation {
    /// The layer applying this function: the unit layer of that name ([`Gelu`] for
    /// `GeluExact`, ...), or an [`Elementwise`] for a custom function.
    pub fn layer(&self) -> AnyLayer {
        match self {
            Activation::Relu => AnyLayer::new(Relu),
            Activation::GeluExact => AnyLayer::new(Gelu),
            Activation::GeluTanh => AnyLayer::new(GeluTanh),
            Activation::Silu => AnyLayer::new(Silu),
            Activation::Tanh => AnyLayer::new(Tanh),
            Activation::Exp => AnyLayer::new(Exp),
            Activation::Sigmoid => AnyLayer::new(Sigmoid),
            Activation::Custom(_) => AnyLayer::new(Elementwise::new(self.clone())),
        }
    }

    /// A custom activation.
    pub fn custom(name: &str, f: impl Fn(f32) -> f32 + Send + Sync + 'static) -> Activation {
        Activation::Custom(NamedFn {
            name: name.to_owned(),
            f: Arc::new(f),
        })
    }

    /// Applies the function to every element.
    pub fn apply(&self, x: &NamedArray) -> Result<NamedArray> {
        Ok(match self {
            Activation::Relu => x.relu()?,
            Activation::GeluExact => x.gelu_erf()?,
            Activation::GeluTanh => x.gelu_tanh()?,
            Activation::Silu => x.silu()?,
            Activation::Tanh => x.tanh()?,
            Activation::Exp => x.exp()?,
            Activation::Sigmoid => x.sigmoid()?,
            Activation::Custom(named) => {
                let f = named.f.clone();
                x.map_f32(move |v| f(v))?
            }
        })
    }
}

/// Applies an [`Activation`] to every element.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Elementwise {
    /// The function.
    #[tree(skip)]
    pub activation: Activation,
}

impl Elementwise {
    /// An elementwise layer.
    pub fn new(activation: Activation) -> Elementwise {
        Elementwise { activation }
    }
}

impl Layer for Elementwise {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.activation.apply(&x)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

const ELEMENTWISE_SYNTAX: Syntax = Syntax {
    example: "Elementwise(Activation::custom(\"double\", |v| 2.0 * v))",
    axes: AxesForm::None,
    values: 1,
    bare: false,
    options: &[],
};

const fn plan_elementwise(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &ELEMENTWISE_SYNTAX);
    p.then(&Signature::PASS_THROUGH);
    p.finish()
}

/// `Elementwise(activation)`: any [`Activation`] value, such as a custom one.
impl<S: StepInput> ModelStep<S> for Elementwise {
    const FLOW: Flow<'static> = plan_elementwise(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_elementwise(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<Elementwise> {
        Ok(Elementwise::new(step.any::<Activation>(0)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Tree;

    #[test]
    fn softplus_is_smooth_relu_without_overflow() {
        let x = NamedArray::from_f32(&[("a", 5)], vec![-200.0, -1.0, 0.0, 1.0, 200.0]).unwrap();
        let y = Softplus.call(x, &mut Context::new()).unwrap().to_f32_vec();
        let expect = [
            0.0,
            (1.0 + (-1f32).exp()).ln(),
            2f32.ln(),
            (1.0 + 1f32.exp()).ln(),
            200.0,
        ];
        for (got, want) in y.iter().zip(expect) {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{y:?} vs {expect:?}"
            );
        }
        assert_eq!(Softplus.type_name(), "Softplus");
        assert_eq!(Softplus.signature(), Some(Signature::PASS_THROUGH));
    }
}
