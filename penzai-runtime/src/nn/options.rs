//! Checks of layers' numeric options (epsilons, scales, wavelengths, rates), shared by their
//! constructors, their `validate` hooks (run after loading) and their forward passes, so a
//! value that would turn every output into NaN is refused with its field named.

use crate::Result;
use crate::nn::LayerError;

fn invalid(field: &'static str, value: f32, expected: &'static str) -> crate::Error {
    LayerError::InvalidOption {
        field,
        value,
        expected,
    }
    .into()
}

/// `value` must be finite and greater than 0 (an epsilon, a cap, a wavelength).
pub(crate) fn positive(field: &'static str, value: f32) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, value, "a finite number greater than 0"))
    }
}

/// `value` must be finite (a scale factor).
pub(crate) fn finite(field: &'static str, value: f32) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, value, "a finite number"))
    }
}

/// `value` must be a probability in `[0, 1)` (a dropout rate).
pub(crate) fn rate(field: &'static str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(field, value, "a rate in [0, 1)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{ConstantRescale, Context, Dropout, LayerNorm, RMSNorm};
    use crate::nx::NamedArray;

    #[test]
    fn constructors_and_forward_passes_refuse_bad_options() {
        let across = [("x", 2)];
        assert!(RMSNorm::new(0, "n", &across, -1.0).is_err());
        assert!(LayerNorm::new(0, "n", &across, 0.0).is_err());
        assert!(RMSNorm::new(0, "n", &across, 1e-5).is_ok());
        // Plain struct values are checked when they run.
        let x = NamedArray::ones(&across).unwrap();
        let err = Context::new()
            .run(&ConstantRescale { by: f32::NAN }, x.clone())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "at the root (ConstantRescale): option by is NaN, but must be a finite number"
        );
        assert!(Dropout::new(1.0).is_err());
        assert!(crate::nn::ApplyRoPE::new("x", 0.0).is_err());
        // A value set after construction is still refused when the layer runs.
        let mut drop = Dropout::new(0.5).unwrap();
        drop.rate = 1.0;
        assert!(Context::new().run(&drop, x).is_err());
    }

    #[test]
    fn each_check_accepts_its_range_only() {
        assert!(positive("epsilon", 1e-6).is_ok());
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(positive("epsilon", bad).is_err(), "{bad}");
        }
        assert!(finite("by", -3e38).is_ok());
        assert!(finite("by", f32::NEG_INFINITY).is_err());
        assert!(rate("rate", 0.0).is_ok() && rate("rate", 0.999).is_ok());
        for bad in [1.0, -0.1, f32::NAN] {
            assert!(rate("rate", bad).is_err(), "{bad}");
        }
        assert_eq!(
            positive("epsilon", -1.0).unwrap_err().to_string(),
            "option epsilon is -1, but must be a finite number greater than 0"
        );
    }
}
