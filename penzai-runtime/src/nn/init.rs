//! Seeded, named-axis-aware parameter initializers.

use crate::Result;
use crate::nn::context::{label_hash, split_seed};
use crate::nn::{LayerError, Parameter};
use crate::nx::NamedArray;

/// Which fan a variance-scaling initializer divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The product of the input axis sizes.
    FanIn,
    /// The product of the output axis sizes.
    FanOut,
    /// The mean of the two.
    FanAvg,
}

/// The distribution a variance-scaling initializer samples from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Normal with the target variance.
    Normal,
    /// Uniform on `[-limit, limit]` with the target variance (`limit = sqrt(3 var)`).
    Uniform,
}

/// How to fill a new parameter. Seeded: the same seed and label give the same numbers on
/// every platform.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element `value`.
    Constant(f32),
    /// Normal with mean 0 and standard deviation `std`.
    Normal {
        /// Standard deviation.
        std: f32,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound (excluded).
        high: f32,
    },
    /// Variance `scale / fan`, where the fan comes from the axes classed as inputs and
    /// outputs; parallel axes (e.g. `heads`) do not count.
    VarianceScaling {
        /// Multiplier of the variance.
        scale: f32,
        /// Which fan to divide by.
        mode: FanMode,
        /// Normal or uniform.
        distribution: Distribution,
    },
}

/// The axes of a weight, classed by role: what the weight contracts away (inputs), what
/// it produces (outputs), and what it keeps separate per slice (parallel, e.g. `heads`).
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightAxes<'a> {
    /// Axes contracted with the input.
    pub input: &'a [(&'a str, usize)],
    /// Axes produced.
    pub output: &'a [(&'a str, usize)],
    /// Axes kept separate (block-diagonal weights).
    pub parallel: &'a [(&'a str, usize)],
}

impl WeightAxes<'_> {
    /// All axes, inputs first, then outputs, then parallel ones.
    pub fn shape(&self) -> Vec<(&str, usize)> {
        self.input
            .iter()
            .chain(self.output)
            .chain(self.parallel)
            .copied()
            .collect()
    }

    fn fan(sizes: &[(&str, usize)]) -> f64 {
        sizes.iter().map(|&(_, n)| n as f64).product()
    }
}

impl Initializer {
    /// Glorot/Xavier uniform: variance `1 / fan_avg`.
    pub const XAVIER_UNIFORM: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanAvg,
        distribution: Distribution::Uniform,
    };
    /// Glorot/Xavier normal.
    pub const XAVIER_NORMAL: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanAvg,
        distribution: Distribution::Normal,
    };
    /// LeCun normal: variance `1 / fan_in`.
    pub const LECUN_NORMAL: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanIn,
        distribution: Distribution::Normal,
    };
    /// He normal: variance `2 / fan_in`.
    pub const HE_NORMAL: Initializer = Initializer::VarianceScaling {
        scale: 2.0,
        mode: FanMode::FanIn,
        distribution: Distribution::Normal,
    };

    /// A new array for the weight with these axes. `seed` and `label` pick the random
    /// stream: each label gets its own, so adding a parameter does not shift the others.
    ///
    /// ```
    /// use penzai::nn::{Initializer, WeightAxes};
    ///
    /// let axes = WeightAxes { input: &[("embedding", 64)], output: &[("hidden", 256)], parallel: &[] };
    /// let w = Initializer::XAVIER_UNIFORM.init(0, "mlp.up.weights", &axes)?;
    /// assert_eq!(w.named_shape().to_string(), "{embedding: 64, hidden: 256}");
    /// let limit = (6.0f32 / (64.0 + 256.0)).sqrt();
    /// assert!(w.to_f32_vec().iter().all(|v| v.abs() <= limit));
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn init(&self, seed: u64, label: &str, axes: &WeightAxes<'_>) -> Result<NamedArray> {
        let shape = axes.shape();
        let seed = split_seed(seed, label_hash(label));
        let array = match *self {
            // Untouched until used: the HF loader's skeleton is all `Zeros`, replaced by the
            // file's arrays, and must cost no memory.
            Initializer::Zeros => NamedArray::zeros_untouched(shape.as_slice())?,
            Initializer::Ones => NamedArray::ones(shape.as_slice())?,
            Initializer::Constant(v) => NamedArray::full(shape.as_slice(), v)?,
            Initializer::Normal { std } => NamedArray::normal(seed, shape.as_slice(), 0.0, std)?,
            Initializer::Uniform { low, high } => {
                NamedArray::uniform(seed, shape.as_slice(), low, high)?
            }
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let fan_in = WeightAxes::fan(axes.input);
                let fan_out = WeightAxes::fan(axes.output);
                let fan = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                };
                if fan <= 0.0 {
                    return Err(LayerError::Config(format!(
                        "variance scaling of {label:?} needs a non-empty {mode:?} (axes {shape:?})"
                    ))
                    .into());
                }
                let variance = f64::from(scale) / fan;
                match distribution {
                    Distribution::Normal => {
                        NamedArray::normal(seed, shape.as_slice(), 0.0, variance.sqrt() as f32)?
                    }
                    Distribution::Uniform => {
                        let limit = (3.0 * variance).sqrt() as f32;
                        NamedArray::uniform(seed, shape.as_slice(), -limit, limit)?
                    }
                }
            }
        };
        Ok(array)
    }

    /// A labelled parameter initialized like [`init`](Initializer::init).
    pub fn parameter(&self, seed: u64, label: &str, axes: &WeightAxes<'_>) -> Result<Parameter> {
        Ok(Parameter::new(label, self.init(seed, label, axes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(a: &NamedArray) -> f64 {
        let v = a.to_f32_vec();
        let mean = v.iter().map(|x| f64::from(*x)).sum::<f64>() / v.len() as f64;
        (v.iter()
            .map(|x| (f64::from(*x) - mean).powi(2))
            .sum::<f64>()
            / v.len() as f64)
            .sqrt()
    }

    #[test]
    fn variance_scaling_uses_input_and_output_fans_but_not_parallel_axes() {
        let axes = WeightAxes {
            input: &[("embedding", 64)],
            output: &[("hidden", 256)],
            parallel: &[("heads", 8)],
        };
        let fan_in = Initializer::VarianceScaling {
            scale: 2.0,
            mode: FanMode::FanIn,
            distribution: Distribution::Normal,
        }
        .init(1, "w", &axes)
        .unwrap();
        assert_eq!(
            fan_in.named_shape().to_string(),
            "{embedding: 64, hidden: 256, heads: 8}"
        );
        let expected = (2.0f64 / 64.0).sqrt();
        assert!(
            (std_of(&fan_in) / expected - 1.0).abs() < 0.02,
            "{}",
            std_of(&fan_in)
        );
        let fan_out = Initializer::VarianceScaling {
            scale: 1.0,
            mode: FanMode::FanOut,
            distribution: Distribution::Uniform,
        }
        .init(1, "w", &axes)
        .unwrap();
        let expected = (1.0f64 / 256.0).sqrt();
        assert!((std_of(&fan_out) / expected - 1.0).abs() < 0.02);
        let limit = (3.0f32 / 256.0).sqrt();
        assert!(fan_out.to_f32_vec().iter().all(|v| v.abs() <= limit));
        let avg = Initializer::XAVIER_NORMAL.init(1, "w", &axes).unwrap();
        let expected = (1.0f64 / 160.0).sqrt();
        assert!((std_of(&avg) / expected - 1.0).abs() < 0.02);
    }

    #[test]
    fn constants_and_seeds() {
        let axes = WeightAxes {
            input: &[("a", 3)],
            output: &[("b", 2)],
            parallel: &[],
        };
        assert_eq!(
            Initializer::Zeros.init(0, "x", &axes).unwrap().to_f32_vec(),
            [0.0; 6]
        );
        assert_eq!(
            Initializer::Ones.init(0, "x", &axes).unwrap().to_f32_vec(),
            [1.0; 6]
        );
        assert_eq!(
            Initializer::Constant(2.5)
                .init(0, "x", &axes)
                .unwrap()
                .to_f32_vec(),
            [2.5; 6]
        );
        let n = Initializer::Normal { std: 1.0 };
        // Same seed and label: same numbers; another label or seed: other numbers.
        assert_eq!(
            n.init(5, "x", &axes).unwrap(),
            n.init(5, "x", &axes).unwrap()
        );
        assert_ne!(
            n.init(5, "x", &axes).unwrap(),
            n.init(5, "y", &axes).unwrap()
        );
        assert_ne!(
            n.init(5, "x", &axes).unwrap(),
            n.init(6, "x", &axes).unwrap()
        );
        let u = Initializer::Uniform {
            low: -0.5,
            high: 0.5,
        }
        .init(0, "u", &axes)
        .unwrap();
        assert!(u.to_f32_vec().iter().all(|v| (-0.5..0.5).contains(v)));
    }

    #[test]
    fn empty_fans_count_as_one_and_zero_sized_fans_are_errors() {
        let scale_only = WeightAxes {
            input: &[],
            output: &[],
            parallel: &[("heads", 4096)],
        };
        let w = Initializer::LECUN_NORMAL
            .init(0, "scale", &scale_only)
            .unwrap();
        assert!((std_of(&w) - 1.0).abs() < 0.05);
        let empty = WeightAxes {
            input: &[("embedding", 0)],
            output: &[("hidden", 2)],
            parallel: &[],
        };
        let err = Initializer::LECUN_NORMAL.init(0, "w", &empty).unwrap_err();
        assert!(err.to_string().contains("needs a non-empty FanIn"), "{err}");
    }
}
