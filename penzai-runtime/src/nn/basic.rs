//! Simple layers: elementwise functions, softmax, rescaling, soft caps, casts, dropout.

use std::fmt;
use std::sync::Arc;

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::{Context, Layer, LayerError, Mode, Signature};
use crate::nx::{DType, NamedArray};

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

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}

/// Softmax over one or more named axes.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Softmax {
    /// The axes normalized over.
    #[tree(skip)]
    pub axes: Vec<String>,
}

impl Softmax {
    /// Softmax over one axis.
    pub fn over(axis: &str) -> Softmax {
        Softmax {
            axes: vec![axis.to_owned()],
        }
    }
}

impl Layer for Softmax {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        for axis in &self.axes {
            require_axis(&x, axis, None)?;
        }
        let axes: Vec<&str> = self.axes.iter().map(String::as_str).collect();
        Ok(x.softmax(&axes)?)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring(
            self.axes.iter().map(|a| (a.as_str(), None)),
        ))
    }
}

/// Multiplies by a constant (attention's `1/sqrt(d)`).
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

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}

/// `tanh(x / cap) * cap`: a smooth clamp of logits (Gemma 2).
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

impl Layer for TanhSoftCap {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        Ok(((x * (1.0 / self.soft_cap))?.tanh()? * self.soft_cap)?)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
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
        Ok(x.cast(self.dtype))
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}

/// Zeroes each element with probability `rate` and rescales the rest by `1/(1-rate)`,
/// drawing from the context's random stream; the identity in deterministic mode.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Dropout, Mode};
///
/// let drop = Dropout::new(0.5);
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
    pub share_across: Vec<String>,
}

impl Dropout {
    /// Dropout with probability `rate` and no shared axes.
    pub fn new(rate: f32) -> Dropout {
        Dropout {
            rate,
            share_across: Vec::new(),
        }
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

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}
