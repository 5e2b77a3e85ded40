//! Values chosen by the fuzzer but biased to the edges where loaders break: dimensions of 0,
//! 1, powers of two up to 2^64 - 1, and numbers that are negative, zero, huge or not finite.

use libfuzzer_sys::arbitrary::{self, Arbitrary};

/// An array dimension, mostly at the edges.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Dim {
    /// 0: an empty axis.
    Zero,
    /// 1.
    One,
    /// A small size.
    Small(u8),
    /// `2^k` for `k = bits % 64`.
    Pow2(u8),
    /// `2^k - 1`.
    Pow2Minus1(u8),
    /// `2^k + 1`.
    Pow2Plus1(u8),
    /// `u64::MAX`.
    Max,
    /// Anything.
    Any(u64),
}

impl Dim {
    /// The dimension as a number.
    pub fn value(self) -> u64 {
        match self {
            Dim::Zero => 0,
            Dim::One => 1,
            Dim::Small(x) => u64::from(x % 16),
            Dim::Pow2(k) => 1u64 << (k % 64),
            Dim::Pow2Minus1(k) => (1u64 << (k % 64)).wrapping_sub(1),
            Dim::Pow2Plus1(k) => (1u64 << (k % 64)).wrapping_add(1),
            Dim::Max => u64::MAX,
            Dim::Any(x) => x,
        }
    }
}

/// A JSON number, mostly at the edges.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Number {
    /// An edge dimension.
    Dim(Dim),
    /// A negative integer.
    Negative(i64),
    /// 0.0, -0.0, tiny, huge and near-overflow floats.
    Float(FloatEdge),
    /// Any float that JSON can write.
    AnyFloat(f64),
}

/// Floats at the edges.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FloatEdge {
    Zero,
    NegZero,
    MinusOne,
    Tiny,
    Huge,
    F32Max,
    AboveF32Max,
    Half,
    One,
}

impl Number {
    /// The number as JSON text (non-finite floats, which JSON cannot write, become `1e999`,
    /// which parses as infinity in lenient readers and fails in strict ones).
    pub fn json(self) -> String {
        match self {
            Number::Dim(d) => d.value().to_string(),
            Number::Negative(x) => (-(x.unsigned_abs() as i128) - 1).to_string(),
            Number::Float(f) => match f {
                FloatEdge::Zero => "0.0".into(),
                FloatEdge::NegZero => "-0.0".into(),
                FloatEdge::MinusOne => "-1.0".into(),
                FloatEdge::Tiny => "1e-45".into(),
                FloatEdge::Huge => "1e308".into(),
                FloatEdge::F32Max => "3.4028235e38".into(),
                FloatEdge::AboveF32Max => "3.5e38".into(),
                FloatEdge::Half => "0.5".into(),
                FloatEdge::One => "1.0".into(),
            },
            Number::AnyFloat(x) if x.is_finite() => format!("{x:?}"),
            Number::AnyFloat(_) => "1e999".into(),
        }
    }
}

/// A JSON string value, mostly hostile.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    /// Any short text.
    Short(String),
    /// A long run of one character (`n * 4096` bytes).
    Long(char, u8),
    /// Control, bidi and line-separator characters.
    Hostile(u8),
}

impl Text {
    /// The text itself.
    pub fn value(&self) -> String {
        match self {
            Text::Short(s) => s.chars().take(64).collect(),
            Text::Long(c, n) => std::iter::repeat_n(*c, (usize::from(*n) + 1) * 4096).collect(),
            Text::Hostile(k) => {
                const BAD: [&str; 8] = [
                    "\u{202e}evil", "a\u{2028}b", "\u{1b}[31mred", "x\ny", "\u{0}", "<script>",
                    "\u{feff}", "a\u{85}b",
                ];
                BAD[usize::from(*k) % BAD.len()].to_owned()
            }
        }
    }
}
