//! How a RoPE layer derives its rotation frequencies: the base wavelength alone, or one of the
//! context-extension schemes checkpoints name in `rope_scaling` / `rope_parameters`
//! (`linear`, `dynamic`, `llama3`, `yarn`, `longrope`).
//!
//! The scheme is a field of the RoPE layer ([`ApplyRoPE::scaling`](crate::nn::ApplyRoPE)),
//! so it prints in Treescope and can be edited like any other option. The arithmetic follows
//! transformers' `modeling_rope_utils`, in f32 where it computes on tensors and f64 where it
//! computes on Python floats, so that logits agree to about 1e-6.

use crate::Result;
use crate::nn::LayerError;

/// A RoPE frequency scheme (HF `rope_type`).
///
/// ```
/// use penzai::nn::RopeScaling;
///
/// let llama3 = RopeScaling::Llama3 {
///     factor: 32.0,
///     low_freq_factor: 1.0,
///     high_freq_factor: 4.0,
///     original_max_position_embeddings: 8192,
/// };
/// let (scaled, attention) = llama3.frequencies(500_000.0, 64, 1)?;
/// let (plain, _) = RopeScaling::Default.frequencies(500_000.0, 64, 1)?;
/// // High frequencies are kept, low ones divided by the factor.
/// assert_eq!(scaled[0], plain[0]);
/// assert!((scaled[31] - plain[31] / 32.0).abs() < 1e-12);
/// assert_eq!(attention, 1.0);
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rope_type", rename_all = "snake_case")]
pub enum RopeScaling {
    /// `1 / theta^(2i/d)`, the original RoPE.
    #[default]
    Default,
    /// Position interpolation: every frequency divided by `factor`.
    Linear {
        /// The divisor.
        factor: f32,
    },
    /// Dynamic NTK: past `max_position_embeddings` positions, the base grows with the
    /// sequence length (the longest position of the current call plus one).
    Dynamic {
        /// The NTK factor.
        factor: f32,
        /// The length past which the base grows.
        max_position_embeddings: usize,
    },
    /// Llama 3.1's scheme: long wavelengths divided by `factor`, short ones kept, a smooth
    /// ramp between.
    Llama3 {
        /// Divisor of the low frequencies.
        factor: f32,
        /// Wavelengths above `original / low_freq_factor` are divided by `factor`.
        low_freq_factor: f32,
        /// Wavelengths below `original / high_freq_factor` are kept.
        high_freq_factor: f32,
        /// The pre-training context length.
        original_max_position_embeddings: usize,
    },
    /// YaRN: interpolation below the `beta_slow` rotation count, extrapolation above
    /// `beta_fast`, a linear ramp between, and cos/sin multiplied by `attention_factor`.
    Yarn {
        /// The interpolation divisor.
        factor: f32,
        /// The pre-training context length.
        original_max_position_embeddings: usize,
        /// Rotation count bounding extrapolation.
        beta_fast: f32,
        /// Rotation count bounding interpolation.
        beta_slow: f32,
        /// The multiplier of cos and sin (transformers derives `0.1 ln(factor) + 1`).
        attention_factor: f32,
        /// Whether the correction range is rounded outward to whole dimensions.
        truncate: bool,
    },
    /// LongRoPE (Phi-3): per-frequency divisors, `short_factor` up to
    /// `original_max_position_embeddings` positions and `long_factor` past them, and cos/sin
    /// multiplied by `attention_factor`.
    LongRope {
        /// Divisors for short sequences, one per rotated pair.
        short_factor: Vec<f32>,
        /// Divisors for long sequences, one per rotated pair.
        long_factor: Vec<f32>,
        /// The pre-training context length.
        original_max_position_embeddings: usize,
        /// The multiplier of cos and sin.
        attention_factor: f32,
    },
}

fn config(message: String) -> crate::Error {
    LayerError::Config(message).into()
}

impl RopeScaling {
    /// The HF `rope_type` this scheme is called.
    pub fn rope_type(&self) -> &'static str {
        match self {
            RopeScaling::Default => "default",
            RopeScaling::Linear { .. } => "linear",
            RopeScaling::Dynamic { .. } => "dynamic",
            RopeScaling::Llama3 { .. } => "llama3",
            RopeScaling::Yarn { .. } => "yarn",
            RopeScaling::LongRope { .. } => "longrope",
        }
    }

    /// Checks the parameters for `rotated` rotated entries (an even count).
    pub fn check(&self, rotated: usize) -> Result<()> {
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(config(format!(
                    "RoPE {} scaling: {name} must be a finite number greater than 0; got {v}",
                    self.rope_type()
                )))
            }
        };
        let length = |name: &str, v: usize| {
            if v > 0 {
                Ok(())
            } else {
                Err(config(format!(
                    "RoPE {} scaling: {name} must be at least 1",
                    self.rope_type()
                )))
            }
        };
        match self {
            RopeScaling::Default => Ok(()),
            RopeScaling::Linear { factor } => positive("factor", *factor),
            RopeScaling::Dynamic {
                factor,
                max_position_embeddings,
            } => {
                positive("factor", *factor)?;
                length("max_position_embeddings", *max_position_embeddings)?;
                if rotated <= 2 {
                    return Err(config(format!(
                        "RoPE dynamic scaling needs more than 2 rotated entries; got {rotated}"
                    )));
                }
                Ok(())
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                positive("factor", *factor)?;
                positive("low_freq_factor", *low_freq_factor)?;
                positive("high_freq_factor", *high_freq_factor)?;
                length(
                    "original_max_position_embeddings",
                    *original_max_position_embeddings,
                )?;
                if high_freq_factor <= low_freq_factor {
                    return Err(config(format!(
                        "RoPE llama3 scaling: high_freq_factor ({high_freq_factor}) must exceed \
                         low_freq_factor ({low_freq_factor})"
                    )));
                }
                Ok(())
            }
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings,
                beta_fast,
                beta_slow,
                attention_factor,
                ..
            } => {
                positive("factor", *factor)?;
                positive("beta_fast", *beta_fast)?;
                positive("beta_slow", *beta_slow)?;
                positive("attention_factor", *attention_factor)?;
                length(
                    "original_max_position_embeddings",
                    *original_max_position_embeddings,
                )
            }
            RopeScaling::LongRope {
                short_factor,
                long_factor,
                original_max_position_embeddings,
                attention_factor,
            } => {
                positive("attention_factor", *attention_factor)?;
                length(
                    "original_max_position_embeddings",
                    *original_max_position_embeddings,
                )?;
                for (name, factors) in
                    [("short_factor", short_factor), ("long_factor", long_factor)]
                {
                    if factors.len() != rotated / 2 {
                        return Err(config(format!(
                            "RoPE longrope scaling: {name} has {} entries; {rotated} rotated \
                             entries need {}",
                            factors.len(),
                            rotated / 2
                        )));
                    }
                    for &f in factors {
                        positive(name, f)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The `rotated / 2` inverse frequencies for `base` (the RoPE theta), and the factor
    /// multiplying cos and sin, for a call whose longest position is `seq_len - 1`.
    pub fn frequencies(
        &self,
        base: f32,
        rotated: usize,
        seq_len: usize,
    ) -> Result<(Vec<f64>, f32)> {
        self.check(rotated)?;
        let half = rotated / 2;
        let exponents: Vec<f32> = (0..half).map(|i| (2 * i) as f32 / rotated as f32).collect();
        let plain = |base: f32| -> Vec<f32> {
            exponents
                .iter()
                .map(|&e| 1.0 / libm::powf(base, e))
                .collect()
        };
        let (inv_freq, attention): (Vec<f32>, f32) = match self {
            RopeScaling::Default => (plain(base), 1.0),
            RopeScaling::Linear { factor } => {
                (plain(base).into_iter().map(|f| f / factor).collect(), 1.0)
            }
            RopeScaling::Dynamic {
                factor,
                max_position_embeddings,
            } => {
                let max = *max_position_embeddings;
                if seq_len <= max {
                    (plain(base), 1.0)
                } else {
                    let d = rotated as f32;
                    let grown = factor * seq_len as f32 / max as f32 - (factor - 1.0);
                    (plain(base * libm::powf(grown, d / (d - 2.0))), 1.0)
                }
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let old = *original_max_position_embeddings as f32;
                let low_wavelen = old / low_freq_factor;
                let high_wavelen = old / high_freq_factor;
                let two_pi = (2.0 * std::f64::consts::PI) as f32;
                let freqs = plain(base)
                    .into_iter()
                    .map(|f| {
                        let wavelen = two_pi / f;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / factor
                        } else {
                            let smooth = (old / wavelen - low_freq_factor)
                                / (high_freq_factor - low_freq_factor);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect();
                (freqs, 1.0)
            }
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings,
                beta_fast,
                beta_slow,
                attention_factor,
                truncate,
            } => {
                let d = rotated as f64;
                let b = f64::from(base);
                let correction = |rotations: f32| {
                    d * (*original_max_position_embeddings as f64
                        / (f64::from(rotations) * 2.0 * std::f64::consts::PI))
                        .ln()
                        / (2.0 * b.ln())
                };
                let (mut low, mut high) = (correction(*beta_fast), correction(*beta_slow));
                if *truncate {
                    low = low.floor();
                    high = high.ceil();
                }
                let (low, mut high) = (low.max(0.0) as f32, high.min(d - 1.0) as f32);
                if low == high {
                    high += 0.001;
                }
                let freqs = exponents
                    .iter()
                    .enumerate()
                    .map(|(i, &e)| {
                        let pos_freq = libm::powf(base, e);
                        let extrapolation = 1.0 / pos_freq;
                        let interpolation = 1.0 / (factor * pos_freq);
                        let ramp = ((i as f32 - low) / (high - low)).clamp(0.0, 1.0);
                        let keep = 1.0 - ramp;
                        interpolation * (1.0 - keep) + extrapolation * keep
                    })
                    .collect();
                (freqs, *attention_factor)
            }
            RopeScaling::LongRope {
                short_factor,
                long_factor,
                original_max_position_embeddings,
                attention_factor,
            } => {
                let ext = if seq_len > *original_max_position_embeddings {
                    long_factor
                } else {
                    short_factor
                };
                let freqs = exponents
                    .iter()
                    .zip(ext)
                    .map(|(&e, x)| 1.0 / (x * libm::powf(base, e)))
                    .collect();
                (freqs, *attention_factor)
            }
        };
        Ok((inv_freq.into_iter().map(f64::from).collect(), attention))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_divides_every_frequency() {
        let (plain, _) = RopeScaling::Default.frequencies(10_000.0, 8, 1).unwrap();
        let (lin, a) = RopeScaling::Linear { factor: 4.0 }
            .frequencies(10_000.0, 8, 1)
            .unwrap();
        assert_eq!(a, 1.0);
        for (p, l) in plain.iter().zip(&lin) {
            assert!((p / 4.0 - l).abs() < 1e-9);
        }
    }

    #[test]
    fn dynamic_changes_only_past_the_trained_length() {
        let dynamic = RopeScaling::Dynamic {
            factor: 2.0,
            max_position_embeddings: 4,
        };
        let (plain, _) = RopeScaling::Default.frequencies(10_000.0, 8, 1).unwrap();
        assert_eq!(dynamic.frequencies(10_000.0, 8, 4).unwrap().0, plain);
        let (long, _) = dynamic.frequencies(10_000.0, 8, 8).unwrap();
        assert_eq!(long[0], plain[0]);
        assert!(long[3] < plain[3]);
    }

    #[test]
    fn longrope_picks_factors_by_length_and_checks_their_count() {
        let scaling = RopeScaling::LongRope {
            short_factor: vec![1.0, 1.0],
            long_factor: vec![2.0, 4.0],
            original_max_position_embeddings: 4,
            attention_factor: 1.5,
        };
        let (plain, _) = RopeScaling::Default.frequencies(100.0, 4, 1).unwrap();
        let (short, a) = scaling.frequencies(100.0, 4, 4).unwrap();
        assert_eq!((short, a), (plain.clone(), 1.5));
        let (long, _) = scaling.frequencies(100.0, 4, 5).unwrap();
        assert!((long[1] - plain[1] / 4.0).abs() < 1e-9);
        let err = scaling.frequencies(100.0, 8, 1).unwrap_err().to_string();
        assert!(err.contains("short_factor has 2 entries"), "{err}");
    }

    #[test]
    fn bad_parameters_are_errors_naming_them() {
        let err = RopeScaling::Linear { factor: 0.0 }
            .frequencies(10_000.0, 8, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("factor"), "{err}");
        let err = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 4.0,
            high_freq_factor: 1.0,
            original_max_position_embeddings: 8192,
        }
        .check(8)
        .unwrap_err()
        .to_string();
        assert!(err.contains("high_freq_factor"), "{err}");
    }
}
