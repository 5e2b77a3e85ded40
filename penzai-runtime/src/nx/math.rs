//! Unary math on `f32` elements: exponentials, activations and custom maps.
//!
//! Transcendental functions come from the pure-Rust `libm` crate, so a model gives the same
//! bits on every platform; `tanh`, `sigmoid` and the activations built on them (tanh GELU,
//! SiLU) use `kernels::tanh` and `kernels::sigmoid`, written from IEEE arithmetic alone for
//! the same reason, and so that they vectorize. `i64` inputs are converted to `f32` first (as `jnp.exp` does);
//! `bool` inputs are a dtype error.

use super::array::NamedArray;
use super::error::AxisError;
use super::kernels;
use super::tape;

/// `sqrt(2 / pi)`, the constant of the tanh approximation of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

use kernels::sigmoid;

impl NamedArray {
    /// Applies `f` to every element, as `f32`, keeping the axes: the escape hatch for
    /// elementwise functions not provided here.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("a", 2)], vec![1.0, 2.0])?;
    /// assert_eq!(x.map_f32(|v| v * v + 1.0)?.to_f32_vec(), [2.0, 5.0]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn map_f32(&self, f: impl Fn(f32) -> f32) -> Result<NamedArray, AxisError> {
        tape::record_opaque("map_f32", &[self], self.scalar_op_serial("map_f32", f))
    }

    /// `e^x`.
    pub fn exp(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("exp", libm::expf);
        tape::record("exp", &[self], out, tape::unary_of_output("exp", |y| y))
    }

    /// The natural logarithm (NaN below 0, -inf at 0).
    pub fn log(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("log", libm::logf);
        tape::record("log", &[self], out, tape::unary("log", self, |x| 1.0 / x))
    }

    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("tanh", kernels::tanh);
        tape::record(
            "tanh",
            &[self],
            out,
            tape::unary_of_output("tanh", |t| 1.0 - t * t),
        )
    }

    /// The square root (NaN below 0).
    pub fn sqrt(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("sqrt", f32::sqrt);
        tape::record(
            "sqrt",
            &[self],
            out,
            tape::unary_of_output("sqrt", |y| 0.5 / y),
        )
    }

    /// `1 / sqrt(x)`.
    pub fn rsqrt(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("rsqrt", |x| 1.0 / x.sqrt());
        tape::record(
            "rsqrt",
            &[self],
            out,
            tape::unary_of_output("rsqrt", |y| -0.5 * y * y * y),
        )
    }

    /// `x^p` for every element.
    pub fn powf(&self, p: f32) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("powf", |x| libm::powf(x, p));
        tape::record(
            "powf",
            &[self],
            out,
            tape::unary("powf", self, move |x| p * libm::powf(x, p - 1.0)),
        )
    }

    /// The exact GELU, `0.5 x (1 + erf(x / sqrt 2))` (`jax.nn.gelu(approximate=False)`).
    pub fn gelu_erf(&self) -> Result<NamedArray, AxisError> {
        let f = |x: f32| 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
        let out = self.scalar_op("gelu_erf", f);
        let d = |x: f32| {
            let cdf = 0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = libm::expf(-0.5 * x * x)
                * (0.5 * std::f32::consts::FRAC_2_SQRT_PI)
                * std::f32::consts::FRAC_1_SQRT_2;
            cdf + x * pdf
        };
        let rule = tape::unary("gelu_erf", self, d);
        tape::record_recomputable("gelu_erf", self, out, rule, f)
    }

    /// The tanh approximation of GELU used by GPT-2,
    /// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    pub fn gelu_tanh(&self) -> Result<NamedArray, AxisError> {
        let f =
            |x: f32| 0.5 * x * (1.0 + kernels::tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)));
        let out = self.scalar_op("gelu_tanh", f);
        let d = |x: f32| {
            let t = kernels::tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x));
            let dt = (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x);
            0.5 * (1.0 + t) + 0.5 * x * dt
        };
        let rule = tape::unary("gelu_tanh", self, d);
        tape::record_recomputable("gelu_tanh", self, out, rule, f)
    }

    /// `x * sigmoid(x)` (also called swish).
    pub fn silu(&self) -> Result<NamedArray, AxisError> {
        let f = |x: f32| x * sigmoid(x);
        let out = self.scalar_op("silu", f);
        let rule = tape::unary("silu", self, |x| {
            let s = sigmoid(x);
            s * (1.0 + x * (1.0 - s))
        });
        tape::record_recomputable("silu", self, out, rule, f)
    }

    /// `max(x, 0)`; NaN stays NaN.
    pub fn relu(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("relu", |x| if x < 0.0 { 0.0 } else { x });
        tape::record(
            "relu",
            &[self],
            out,
            tape::unary("relu", self, |x| if x > 0.0 { 1.0 } else { 0.0 }),
        )
    }

    /// `1 / (1 + e^-x)`.
    pub fn sigmoid(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("sigmoid", sigmoid);
        tape::record(
            "sigmoid",
            &[self],
            out,
            tape::unary("sigmoid", self, |x| {
                let s = sigmoid(x);
                s * (1.0 - s)
            }),
        )
    }

    /// `ln(1 + e^x)`, a smooth ReLU, without overflow (`max(x, 0) + ln(1 + e^-|x|)`); its
    /// gradient is `sigmoid(x)`.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("a", 3)], vec![-200.0, 0.0, 200.0])?;
    /// let y = x.softplus()?.to_f32_vec();
    /// assert_eq!([y[0], y[2]], [0.0, 200.0]);
    /// assert!((y[1] - std::f32::consts::LN_2).abs() < 1e-6);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn softplus(&self) -> Result<NamedArray, AxisError> {
        let out = self.scalar_op("softplus", |x| {
            x.max(0.0) + libm::log1pf(libm::expf(-x.abs()))
        });
        tape::record(
            "softplus",
            &[self],
            out,
            tape::unary("softplus", self, sigmoid),
        )
    }

    /// How many elements are NaN or infinite (0 for integer and bool arrays): one pass over
    /// the data, no allocation.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("a", 4)], vec![1.0, f32::NAN, f32::NEG_INFINITY, 0.0])?;
    /// assert_eq!(x.count_non_finite(), 2);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn count_non_finite(&self) -> usize {
        // Over the memory as one slice when it is dense (any axis order): a tight loop the
        // compiler vectorizes, where an n-dimensional iterator pays index arithmetic per
        // element (the per-layer check of `Context::with_finite_check` runs this on every
        // layer output).
        fn count<T: Copy>(view: ndarray::ArrayViewD<'_, T>, finite: impl Fn(T) -> bool) -> usize {
            match view.as_slice_memory_order() {
                Some(slice) => slice.iter().filter(|v| !finite(**v)).count(),
                None => view.iter().filter(|v| !finite(**v)).count(),
            }
        }
        match &self.data {
            super::dtype::Storage::F32(a) => count(a.view(), f32::is_finite),
            super::dtype::Storage::F16(a) => count(a.view(), half::f16::is_finite),
            super::dtype::Storage::BF16(a) => count(a.view(), half::bf16::is_finite),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nx::DType;

    fn x() -> NamedArray {
        NamedArray::from_f32(&[("a", 4)], vec![-2.0, -0.5, 0.0, 1.5]).unwrap()
    }

    fn close(got: &NamedArray, want: &[f32]) {
        let got = got.to_f32_vec();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                g == w || (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn exponentials_match_reference_values() {
        close(
            &x().exp().unwrap(),
            &[0.135_335_28, 0.606_530_66, 1.0, 4.481_689],
        );
        close(
            &x().abs().unwrap().log().unwrap(),
            &[
                std::f32::consts::LN_2,
                -std::f32::consts::LN_2,
                f32::NEG_INFINITY,
                0.405_465_1,
            ],
        );
        close(
            &x().tanh().unwrap(),
            &[-0.964_027_6, -0.462_117_16, 0.0, 0.905_148_3],
        );
    }

    #[test]
    fn roots_and_powers() {
        let p = NamedArray::from_f32(&[("a", 3)], vec![1.0, 4.0, 0.25]).unwrap();
        close(&p.sqrt().unwrap(), &[1.0, 2.0, 0.5]);
        close(&p.rsqrt().unwrap(), &[1.0, 0.5, 2.0]);
        close(&p.powf(1.5).unwrap(), &[1.0, 8.0, 0.125]);
    }

    #[test]
    fn activations_match_reference_values() {
        // Reference values: the same formulas in float64 (Python's math module), rounded.
        close(
            &x().gelu_erf().unwrap(),
            &[-0.045_500_26, -0.154_268_5, 0.0, 1.399_789_5],
        );
        close(
            &x().gelu_tanh().unwrap(),
            &[-0.045_402_31, -0.154_286, 0.0, 1.399_572],
        );
        close(
            &x().sigmoid().unwrap(),
            &[0.119_202_92, 0.377_540_67, 0.5, 0.817_574_5],
        );
        close(
            &x().silu().unwrap(),
            &[-0.238_405_84, -0.188_770_33, 0.0, 1.226_361_7],
        );
        close(&x().relu().unwrap(), &[0.0, 0.0, 0.0, 1.5]);
        assert!(
            NamedArray::scalar(f32::NAN)
                .relu()
                .unwrap()
                .scalar_f32()
                .unwrap()
                .is_nan()
        );
    }

    #[test]
    fn integers_are_converted_and_booleans_rejected() {
        let ids = NamedArray::arange("a", 2).unwrap().exp().unwrap();
        assert_eq!(ids.dtype(), DType::F32);
        close(&ids, &[1.0, std::f32::consts::E]);
        let m = NamedArray::full_bool(&[("a", 1)], true).unwrap();
        assert_eq!(
            m.exp().unwrap_err().to_string(),
            "exp does not accept bool arrays (it needs a float or i64)"
        );
    }
}
