//! Normalization: `Standardize`, `RMSStandardize`, and the `LayerNorm`/`RMSNorm` groups.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::{AddBias, AnyLayer, Context, Initializer, Layer, Linear, Signature, Steps};
use crate::nx::NamedArray;

fn axes_refs(axes: &[String]) -> Vec<&str> {
    axes.iter().map(String::as_str).collect()
}

/// `(x - mean) / sqrt(var + epsilon)` over the `across` axes.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "Standardize::validate")]
pub struct Standardize {
    /// The axes statistics are taken over.
    #[tree(skip)]
    pub across: Vec<String>,
    /// Added to the variance.
    #[tree(skip)]
    pub epsilon: f32,
}

impl Standardize {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("epsilon", self.epsilon)
    }
}

impl Layer for Standardize {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        let across = axes_refs(&self.across);
        for axis in &across {
            require_axis(&x, axis, None)?;
        }
        let mean = x.mean(&across)?;
        let centered = (&x - &mean)?;
        let var = centered.square()?.mean(&across)?;
        let inv = (var + self.epsilon)?.rsqrt()?;
        Ok((&centered * &inv)?)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring(
            self.across.iter().map(|a| (a.as_str(), None)),
        ))
    }
}

/// `x / sqrt(mean(x^2) + epsilon)` over the `across` axes.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "RMSStandardize::validate")]
pub struct RMSStandardize {
    /// The axes the mean square is taken over.
    #[tree(skip)]
    pub across: Vec<String>,
    /// Added to the mean square.
    #[tree(skip)]
    pub epsilon: f32,
}

impl RMSStandardize {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("epsilon", self.epsilon)
    }
}

impl Layer for RMSStandardize {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        let across = axes_refs(&self.across);
        for axis in &across {
            require_axis(&x, axis, None)?;
        }
        let inv = (x.square()?.mean(&across)? + self.epsilon)?.rsqrt()?;
        Ok((&x * &inv)?)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring(
            self.across.iter().map(|a| (a.as_str(), None)),
        ))
    }
}

fn scale(seed: u64, label: &str, across: &[(&str, usize)]) -> Result<Linear> {
    // A `Linear` whose axes are all parallel: an elementwise scale, as in Penzai.
    Linear::new(
        seed,
        &format!("{label}.scale"),
        &[],
        &[],
        across,
        Initializer::Ones,
    )
}

crate::sequential_layer! {
    /// Layer normalization: steps `standardize` ([`Standardize`]), `scale` (a [`Linear`]
    /// with only parallel axes) and `bias` ([`AddBias`]).
    pub struct LayerNorm;
}

impl LayerNorm {
    /// A layer norm over `across`, scale ones and bias zeros, labelled under `label`.
    pub fn new(
        seed: u64,
        label: &str,
        across: &[(&str, usize)],
        epsilon: f32,
    ) -> Result<LayerNorm> {
        super::options::positive("epsilon", epsilon)?;
        let mut steps = Steps::new();
        steps.push_named(
            "standardize",
            AnyLayer::new(Standardize {
                across: across.iter().map(|(n, _)| n.to_string()).collect(),
                epsilon,
            }),
        )?;
        steps.push_named("scale", AnyLayer::new(scale(seed, label, across)?))?;
        steps.push_named(
            "bias",
            AnyLayer::new(AddBias::new(seed, label, across, Initializer::Zeros)?),
        )?;
        Ok(LayerNorm { steps })
    }
}

crate::sequential_layer! {
    /// RMS normalization: steps `standardize` ([`RMSStandardize`]) and `scale` (a
    /// [`Linear`] with only parallel axes).
    pub struct RMSNorm;
}

impl RMSNorm {
    /// An RMS norm over `across` with unit scale, labelled under `label`.
    pub fn new(seed: u64, label: &str, across: &[(&str, usize)], epsilon: f32) -> Result<RMSNorm> {
        super::options::positive("epsilon", epsilon)?;
        let mut steps = Steps::new();
        steps.push_named(
            "standardize",
            AnyLayer::new(RMSStandardize {
                across: across.iter().map(|(n, _)| n.to_string()).collect(),
                epsilon,
            }),
        )?;
        steps.push_named("scale", AnyLayer::new(scale(seed, label, across)?))?;
        Ok(RMSNorm { steps })
    }
}
