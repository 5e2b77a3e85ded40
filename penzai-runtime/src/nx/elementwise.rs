//! Elementwise arithmetic, comparisons, selection and logic, broadcasting by name.
//!
//! Dtype rules (jax's, restricted to our dtypes): `f32` with `f32` gives `f32`;
//! `i64` with `i64` gives `i64` for `+ - *`, `maximum` and `minimum` (wrapping on overflow)
//! and `f32` for `/` (true division); `i64` mixed with `f32`, or with an `f32` scalar,
//! is converted to `f32` first. Arithmetic on `bool` is a dtype error.
//!
//! So an integer array minus a float scalar (`&ids - 100.0`) is `f32`, as in JAX and Penzai:
//! `jnp.int32 array - 100.0` is `float32` there too (checked against JAX 0.4 with Penzai
//! 0.2.5; a Python float is weakly typed, but a float all the same). To stay integer,
//! subtract an `i64` array: `(&ids - &NamedArray::scalar_i64(100))?` is `i64`.
//!
//! **16-bit floats compute in `f32`.** `f16` and `bf16` arrays (parameters kept at their
//! stored width) are widened exactly, and every arithmetic result, unary or binary, is `f32`,
//! even `bf16 + bf16`: rounding back to 16 bits after each op would lose precision the
//! HuggingFace reference (which computes in f32) keeps. Use [`NamedArray::cast`] to store a
//! result at 16 bits.
//!
//! Every operator returns `Result<NamedArray, AxisError>`, including the scalar forms:
//! a shape can only mismatch between two arrays, but a dtype can mismatch anywhere, and one
//! return type for all forms keeps `?` chains uniform.

use std::ops::{Add, Div, Mul, Neg, Not, Sub};

use ndarray::{ArrayD, ArrayViewD};

use super::align::{Alignment, zip2, zip3};
use super::array::NamedArray;
use super::dtype::{DType, Element, Storage};
use super::error::AxisError;
use super::slice_map;
use super::tape::{self, Binary};

/// A binary kernel on two arrays of one element type, producing `R`.
fn binary<A: Copy, B: Copy, R: Element>(
    al: Alignment,
    (a, av): (&NamedArray, ArrayViewD<'_, A>),
    (b, bv): (&NamedArray, ArrayViewD<'_, B>),
    f: impl Fn(A, B) -> R,
) -> NamedArray {
    let shape = al.shape();
    let (av, bv) = (al.prepare(a, av), al.prepare(b, bv));
    let out: ArrayD<R> = zip2(&shape, &av, &bv, f);
    al.finish(R::into_storage(out))
}

fn pair_dtype_error(
    op: &'static str,
    a: &NamedArray,
    b: &NamedArray,
    expected: &'static str,
) -> AxisError {
    AxisError::DType {
        op,
        got: vec![a.dtype(), b.dtype()],
        expected,
    }
}

/// `f` on `f32` values, converting `i64` operands; `bool` is an error.
fn float_binary(
    op: &'static str,
    a: &NamedArray,
    b: &NamedArray,
    f: impl Fn(f32, f32) -> f32,
) -> Result<NamedArray, AxisError> {
    if a.dtype() == DType::Bool || b.dtype() == DType::Bool {
        return Err(pair_dtype_error(op, a, b, "a float or i64"));
    }
    let al = Alignment::pair(op, a, b)?;
    let (av, bv) = (a.numeric_f32(op)?, b.numeric_f32(op)?);
    Ok(binary(al, (a, av.view()), (b, bv.view()), f))
}

/// `g` when both operands are `i64`, else `f` as in [`float_binary`].
fn arith_binary(
    op: &'static str,
    a: &NamedArray,
    b: &NamedArray,
    f: impl Fn(f32, f32) -> f32,
    g: impl Fn(i64, i64) -> i64,
) -> Result<NamedArray, AxisError> {
    match (&a.data, &b.data) {
        (Storage::I64(x), Storage::I64(y)) => {
            let al = Alignment::pair(op, a, b)?;
            Ok(binary(al, (a, x.view()), (b, y.view()), g))
        }
        _ => float_binary(op, a, b, f),
    }
}

/// A comparison producing a `bool` array; `i64` mixed with `f32` compares as `f32`.
fn compare(
    op: &'static str,
    a: &NamedArray,
    b: &NamedArray,
    f: impl Fn(f32, f32) -> bool,
    g: impl Fn(i64, i64) -> bool,
) -> Result<NamedArray, AxisError> {
    match (&a.data, &b.data) {
        (Storage::I64(x), Storage::I64(y)) => {
            let al = Alignment::pair(op, a, b)?;
            Ok(binary(al, (a, x.view()), (b, y.view()), g))
        }
        (Storage::Bool(_), _) | (_, Storage::Bool(_)) => {
            Err(pair_dtype_error(op, a, b, "a float or i64"))
        }
        _ => {
            let al = Alignment::pair(op, a, b)?;
            let (av, bv) = (a.numeric_f32(op)?, b.numeric_f32(op)?);
            Ok(binary(al, (a, av.view()), (b, bv.view()), f))
        }
    }
}

/// A logical operation on two `bool` arrays.
fn logical(
    op: &'static str,
    a: &NamedArray,
    b: &NamedArray,
    f: impl Fn(bool, bool) -> bool,
) -> Result<NamedArray, AxisError> {
    match (&a.data, &b.data) {
        (Storage::Bool(x), Storage::Bool(y)) => {
            let al = Alignment::pair(op, a, b)?;
            Ok(binary(al, (a, x.view()), (b, y.view()), f))
        }
        _ => Err(pair_dtype_error(op, a, b, "bool")),
    }
}

/// NaN-propagating maximum, as `jnp.maximum`.
fn max_nan(x: f32, y: f32) -> f32 {
    if x.is_nan() || y.is_nan() {
        f32::NAN
    } else {
        x.max(y)
    }
}

/// NaN-propagating minimum, as `jnp.minimum`.
fn min_nan(x: f32, y: f32) -> f32 {
    if x.is_nan() || y.is_nan() {
        f32::NAN
    } else {
        x.min(y)
    }
}

impl NamedArray {
    /// `f` applied to every element with a scalar, keeping the axes. `i64` is converted to
    /// `f32`; `bool` is a dtype error.
    pub(crate) fn scalar_op(
        &self,
        op: &'static str,
        f: impl Fn(f32) -> f32 + Sync,
    ) -> Result<NamedArray, AxisError> {
        self.map_elements(op, &f, |xs| slice_map::map1(xs, &f))
    }

    /// [`NamedArray::scalar_op`] for a function that cannot be shared between threads (a
    /// user's `map_f32` closure): on the calling thread only.
    pub(crate) fn scalar_op_serial(
        &self,
        op: &'static str,
        f: impl Fn(f32) -> f32,
    ) -> Result<NamedArray, AxisError> {
        self.map_elements(op, &f, |xs| slice_map::map1_serial(xs, &f))
    }

    /// `f` on every element, `contiguous` (which computes `f`) on a standard-layout `f32` slice.
    fn map_elements(
        &self,
        op: &'static str,
        f: &impl Fn(f32) -> f32,
        contiguous: impl FnOnce(&[f32]) -> Vec<f32>,
    ) -> Result<NamedArray, AxisError> {
        let out = match &self.data {
            // Contiguous: one loop over the slice, which the compiler vectorizes when `f`
            // allows (ndarray's `mapv` goes through its element iterator), in the CPU's
            // widest SIMD and on both cores when large.
            Storage::F32(a) => match a.as_slice() {
                Some(xs) => {
                    let values = contiguous(xs);
                    ndarray::ArrayD::from_shape_vec(a.shape(), values)
                        .expect("one value per element of a standard-layout array")
                }
                None => a.view().mapv(f),
            },
            Storage::F16(a) => a.view().mapv(|x| f(x.to_f32())),
            Storage::BF16(a) => a.view().mapv(|x| f(x.to_f32())),
            Storage::I64(a) => a.view().mapv(|x| f(x as f32)),
            Storage::Bool(_) => return Err(self.dtype_error(op, "a float or i64")),
        };
        Ok(NamedArray::from_parts(
            Storage::F32(out.into()),
            self.names.clone(),
        ))
    }

    /// `f` on float elements (16-bit ones widened, giving `f32`) and `g` on `i64` elements,
    /// keeping `i64`; `bool` is an error.
    fn numeric_unary(
        &self,
        op: &'static str,
        f: impl Fn(f32) -> f32,
        g: impl Fn(i64) -> i64,
    ) -> Result<NamedArray, AxisError> {
        let data = match &self.data {
            Storage::I64(a) => Storage::I64(a.view().mapv(g).into()),
            Storage::Bool(_) => return Err(self.dtype_error(op, "a float or i64")),
            other => Storage::F32(other.to_f32().view().mapv(f).into()),
        };
        Ok(NamedArray::from_parts(data, self.names.clone()))
    }

    /// The absolute value of every element.
    pub fn abs(&self) -> Result<NamedArray, AxisError> {
        let out = self.numeric_unary("abs", f32::abs, i64::wrapping_abs);
        tape::record(
            "abs",
            &[self],
            out,
            tape::unary("abs", self, |x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }),
        )
    }

    /// Every element squared.
    pub fn square(&self) -> Result<NamedArray, AxisError> {
        let out = self.numeric_unary("square", |x| x * x, |x| x.wrapping_mul(x));
        tape::record(
            "square",
            &[self],
            out,
            tape::unary("square", self, |x| 2.0 * x),
        )
    }

    /// Elementwise maximum (NaN-propagating), broadcasting by name.
    pub fn maximum(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        let out = arith_binary("maximum", self, other, max_nan, i64::max);
        let rule = tape::binary("maximum", Binary::Maximum, self, other);
        tape::record("maximum", &[self, other], out, rule)
    }

    /// Elementwise minimum (NaN-propagating), broadcasting by name.
    pub fn minimum(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        let out = arith_binary("minimum", self, other, min_nan, i64::min);
        let rule = tape::binary("minimum", Binary::Minimum, self, other);
        tape::record("minimum", &[self, other], out, rule)
    }

    /// `self < other` elementwise, as a `bool` array.
    pub fn lt(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        compare("lt", self, other, |x, y| x < y, |x, y| x < y)
    }

    /// `self <= other` elementwise, as a `bool` array.
    pub fn le(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        compare("le", self, other, |x, y| x <= y, |x, y| x <= y)
    }

    /// `self > other` elementwise, as a `bool` array.
    pub fn gt(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        compare("gt", self, other, |x, y| x > y, |x, y| x > y)
    }

    /// `self >= other` elementwise, as a `bool` array.
    pub fn ge(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        compare("ge", self, other, |x, y| x >= y, |x, y| x >= y)
    }

    /// `self == other` elementwise, as a `bool` array (IEEE: NaN is unequal to itself here,
    /// unlike `PartialEq` on whole arrays). Booleans compare with booleans.
    pub fn eq_elem(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        if self.dtype() == DType::Bool && other.dtype() == DType::Bool {
            return logical("eq_elem", self, other, |x, y| x == y);
        }
        compare("eq_elem", self, other, |x, y| x == y, |x, y| x == y)
    }

    /// `self != other` elementwise, as a `bool` array.
    pub fn ne_elem(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        if self.dtype() == DType::Bool && other.dtype() == DType::Bool {
            return logical("ne_elem", self, other, |x, y| x != y);
        }
        compare("ne_elem", self, other, |x, y| x != y, |x, y| x != y)
    }

    /// Logical and of two `bool` arrays.
    pub fn logical_and(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        logical("logical_and", self, other, |x, y| x && y)
    }

    /// Logical or of two `bool` arrays.
    pub fn logical_or(&self, other: &NamedArray) -> Result<NamedArray, AxisError> {
        logical("logical_or", self, other, |x, y| x || y)
    }

    /// Logical negation of a `bool` array (also available as `!&mask`).
    pub fn logical_not(&self) -> Result<NamedArray, AxisError> {
        match &self.data {
            Storage::Bool(a) => Ok(NamedArray::from_parts(
                Storage::Bool(a.view().mapv(|x| !x).into()),
                self.names.clone(),
            )),
            _ => Err(self.dtype_error("logical_not", "bool")),
        }
    }

    /// Picks `on_true` where `mask` is true and `on_false` elsewhere, broadcasting all three
    /// by name. `mask` must be `bool`; the two branches share a dtype (mixed numeric
    /// dtypes, such as `i64` with `f32` or `bf16` with `f32`, give `f32`). Selection does not
    /// compute, so two `bf16` branches give `bf16`.
    pub fn where_(
        mask: &NamedArray,
        on_true: &NamedArray,
        on_false: &NamedArray,
    ) -> Result<NamedArray, AxisError> {
        const OP: &str = "where_";
        let Storage::Bool(m) = &mask.data else {
            return Err(mask.dtype_error(OP, "a bool mask"));
        };
        let al = Alignment::many(OP, &[mask, on_true, on_false])?;
        let shape = al.shape();
        let mv = al.prepare(mask, m.view());
        fn pick<T: Element>(
            al: &Alignment,
            shape: &ndarray::IxDyn,
            mv: &ArrayViewD<'_, bool>,
            (a, av): (&NamedArray, ArrayViewD<'_, T>),
            (b, bv): (&NamedArray, ArrayViewD<'_, T>),
        ) -> Storage {
            let (av, bv) = (al.prepare(a, av), al.prepare(b, bv));
            T::into_storage(zip3(shape, mv, &av, &bv, |m, x, y| if m { x } else { y }))
        }
        let data = match (&on_true.data, &on_false.data) {
            (Storage::F32(x), Storage::F32(y)) => {
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
            (Storage::F16(x), Storage::F16(y)) => {
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
            (Storage::BF16(x), Storage::BF16(y)) => {
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
            (Storage::I64(x), Storage::I64(y)) => {
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
            (Storage::Bool(x), Storage::Bool(y)) => {
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
            (Storage::Bool(_), _) | (_, Storage::Bool(_)) => {
                return Err(AxisError::DType {
                    op: OP,
                    got: vec![on_true.dtype(), on_false.dtype()],
                    expected: "branches of one dtype",
                });
            }
            _ => {
                let (x, y) = (on_true.numeric_f32(OP)?, on_false.numeric_f32(OP)?);
                pick(&al, &shape, &mv, (on_true, x.view()), (on_false, y.view()))
            }
        };
        let rule = tape::select(mask, on_true, on_false);
        tape::record(OP, &[mask, on_true, on_false], Ok(al.finish(data)), rule)
    }

    /// The array converted to `dtype`: `bool` to 0/1, `i64` to the nearest `f32`, floats to
    /// `i64` by truncation toward zero (saturating; NaN becomes 0), numbers to `bool` as
    /// "nonzero", `f16`/`bf16` to `f32` exactly and `f32` to `f16`/`bf16` by rounding to
    /// nearest (ties to even). Converting to the same dtype does not copy.
    ///
    /// This is also how a model's 16-bit parameters are widened once, for users who prefer
    /// f32 storage to half the memory (see `io::hf::LoadOptions`).
    ///
    /// Arrays hold `f32`, `f16`, `bf16`, `i64` or `bool`; any other `dtype` (a file-only one
    /// such as `u8`) is an [`AxisError::DType`].
    ///
    /// ```
    /// use penzai::nx::{DType, NamedArray};
    ///
    /// let x = NamedArray::from_f32(&[("a", 2)], vec![1.0, 1.0 / 3.0])?;
    /// let half = x.cast(DType::BF16)?;
    /// assert_eq!(half.dtype(), DType::BF16);
    /// assert_eq!(half.to_f32_vec(), [1.0, 0.333_984_375]);
    /// assert!(x.cast(DType::U8).is_err());
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn cast(&self, dtype: DType) -> Result<NamedArray, AxisError> {
        match self.data.cast(dtype) {
            Some(data) if self.dtype().is_float() && dtype.is_float() => {
                let out = Ok(NamedArray::from_parts(data, self.names.clone()));
                tape::record("cast", &[self], out, tape::scaled("cast", 1.0))
            }
            Some(data) => Ok(NamedArray::from_parts(data, self.names.clone())),
            None => Err(AxisError::DType {
                op: "cast",
                got: vec![dtype],
                expected: "a dtype arrays hold (f32, f16, bf16, i64 or bool)",
            }),
        }
    }
}

/// Implements a binary operator for all owned/borrowed combinations of arrays and `f32`.
/// The last two expressions are the slopes of `x (op) s` and `s (op) x` in `x`, given `s`
/// (the scalar forms are linear, so their rules keep nothing).
macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:literal, $kind:ident, $float:expr, $int:expr, $scalar:expr, $rscalar:expr, $dscalar:expr, $drscalar:expr) => {
        impl $trait<&NamedArray> for &NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: &NamedArray) -> Self::Output {
                let out = arith_binary($op, self, rhs, $float, $int);
                let rule = tape::binary($op, Binary::$kind, self, rhs);
                tape::record($op, &[self, rhs], out, rule)
            }
        }
        impl $trait<NamedArray> for NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: NamedArray) -> Self::Output {
                (&self).$method(&rhs)
            }
        }
        impl $trait<&NamedArray> for NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: &NamedArray) -> Self::Output {
                (&self).$method(rhs)
            }
        }
        impl $trait<NamedArray> for &NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: NamedArray) -> Self::Output {
                self.$method(&rhs)
            }
        }
        impl $trait<f32> for &NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: f32) -> Self::Output {
                let f = $scalar;
                let slope = $dscalar;
                let out = self.scalar_op($op, |x| f(x, rhs));
                tape::record($op, &[self], out, tape::scaled($op, slope(rhs)))
            }
        }
        impl $trait<f32> for NamedArray {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: f32) -> Self::Output {
                (&self).$method(rhs)
            }
        }
        impl $trait<&NamedArray> for f32 {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: &NamedArray) -> Self::Output {
                let f = $rscalar;
                let slope = $drscalar;
                let out = rhs.scalar_op($op, |x| f(self, x));
                tape::record($op, &[rhs], out, tape::scaled($op, slope(self)))
            }
        }
        impl $trait<NamedArray> for f32 {
            type Output = Result<NamedArray, AxisError>;
            fn $method(self, rhs: NamedArray) -> Self::Output {
                self.$method(&rhs)
            }
        }
    };
}

binary_operator!(
    Add,
    add,
    "add",
    Add,
    |x: f32, y: f32| x + y,
    i64::wrapping_add,
    |x: f32, s: f32| x + s,
    |s: f32, x: f32| s + x,
    |_: f32| 1.0,
    |_: f32| 1.0
);
binary_operator!(
    Sub,
    sub,
    "sub",
    Sub,
    |x: f32, y: f32| x - y,
    i64::wrapping_sub,
    |x: f32, s: f32| x - s,
    |s: f32, x: f32| s - x,
    |_: f32| 1.0,
    |_: f32| -1.0
);
binary_operator!(
    Mul,
    mul,
    "mul",
    Mul,
    |x: f32, y: f32| x * y,
    i64::wrapping_mul,
    |x: f32, s: f32| x * s,
    |s: f32, x: f32| s * x,
    |s: f32| s,
    |s: f32| s
);

/// `/` between two `i64` arrays is true division into `f32`, so it has no integer kernel.
impl Div<&NamedArray> for &NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: &NamedArray) -> Self::Output {
        let out = float_binary("div", self, rhs, |x, y| x / y);
        let rule = tape::binary("div", Binary::Div, self, rhs);
        tape::record("div", &[self, rhs], out, rule)
    }
}

impl Div<NamedArray> for NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: NamedArray) -> Self::Output {
        &self / &rhs
    }
}

impl Div<&NamedArray> for NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: &NamedArray) -> Self::Output {
        &self / rhs
    }
}

impl Div<NamedArray> for &NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: NamedArray) -> Self::Output {
        self / &rhs
    }
}

impl Div<f32> for &NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: f32) -> Self::Output {
        let out = self.scalar_op("div", |x| x / rhs);
        tape::record("div", &[self], out, tape::scaled("div", 1.0 / rhs))
    }
}

impl Div<f32> for NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: f32) -> Self::Output {
        &self / rhs
    }
}

impl Div<&NamedArray> for f32 {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: &NamedArray) -> Self::Output {
        let out = rhs.scalar_op("div", |x| self / x);
        tape::record(
            "div",
            &[rhs],
            out,
            tape::unary("div", rhs, move |x| -self / (x * x)),
        )
    }
}

impl Div<NamedArray> for f32 {
    type Output = Result<NamedArray, AxisError>;
    fn div(self, rhs: NamedArray) -> Self::Output {
        self / &rhs
    }
}

/// Negation keeps the dtype (`i64` wraps); `bool` is a dtype error.
impl Neg for &NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn neg(self) -> Self::Output {
        let out = self.numeric_unary("neg", |x| -x, i64::wrapping_neg);
        tape::record("neg", &[self], out, tape::scaled("neg", -1.0))
    }
}

impl Neg for NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn neg(self) -> Self::Output {
        -&self
    }
}

/// Logical negation of a `bool` array.
impl Not for &NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn not(self) -> Self::Output {
        self.logical_not()
    }
}

impl Not for NamedArray {
    type Output = Result<NamedArray, AxisError>;
    fn not(self) -> Self::Output {
        self.logical_not()
    }
}

#[cfg(test)]
#[path = "elementwise_tests.rs"]
mod tests;
