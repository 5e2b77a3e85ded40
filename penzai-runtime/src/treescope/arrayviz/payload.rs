//! How array values travel inside a page: small arrays as plain JSON numbers (readable),
//! large ones as base64 bytes, deflated when that helps, optionally quantized to one byte;
//! heatmap previews as one text character (six bits) per cell.

use serde::Serialize;

/// Arrays with at most this many values are written as readable JSON numbers.
const JSON_MAX_VALUES: usize = 256;

/// Byte payloads smaller than this are not worth deflating.
const DEFLATE_MIN_BYTES: usize = 1024;

/// One-byte codes: 0..=QUANT_MAX are levels between `lo` and `hi`; the rest are specials.
pub(crate) const QUANT_MAX: u8 = 250;
const CODE_NAN: u8 = 251;
const CODE_POS_INF: u8 = 252;
const CODE_NEG_INF: u8 = 253;

/// Six-bit codes, one character of [`CELL_ALPHABET`] per cell: 0..=COARSE_MAX are levels
/// between `lo` and `hi`; the rest are specials.
pub(crate) const COARSE_MAX: u8 = 60;
const COARSE_NAN: u8 = 61;
const COARSE_POS_INF: u8 = 62;
const COARSE_NEG_INF: u8 = 63;

/// The characters of the six-bit codes, in code order (base64's, so no JSON escaping).
const CELL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Significant digits kept of a coarse payload's range: its levels are 1/60 of the range
/// apart, so more digits would only lengthen the page.
const COARSE_DIGITS: i32 = 4;

/// Encoded values, as the page's `arrayviz.js` decodes them.
#[derive(Clone, Debug, Serialize)]
pub struct Payload {
    /// `json` (numbers in `values`, non-finite as strings), `f32`, `i32`, `f64`, `u8`
    /// (booleans) or `q8` (quantized floats) for bytes in `b64`, or `q6` (coarsely
    /// quantized floats) for characters in `cells`.
    pub enc: &'static str,
    /// Readable values, for small arrays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<JsonValue>>,
    /// Base64 of the little-endian bytes (zlib-deflated when `z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b64: Option<String>,
    /// One character per cell (`q6` only); a run of equal characters at the end is written
    /// once, and the decoder repeats the last character up to the number of cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells: Option<String>,
    /// True when `b64` holds zlib data.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub z: bool,
    /// Value of level 0 (`q8` and `q6`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lo: Option<f32>,
    /// Value of the top level (`QUANT_MAX` for `q8`, `COARSE_MAX` for `q6`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hi: Option<f32>,
}

/// A number in a JSON payload; non-finite values as the strings `NaN`, `Infinity`, `-Infinity`.
#[derive(Clone, Copy, Debug)]
pub enum JsonValue {
    /// A float.
    F(f32),
    /// An integer.
    I(i64),
}

impl Serialize for JsonValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            JsonValue::F(x) if x.is_nan() => s.serialize_str("NaN"),
            JsonValue::F(x) if x == f32::INFINITY => s.serialize_str("Infinity"),
            JsonValue::F(x) if x == f32::NEG_INFINITY => s.serialize_str("-Infinity"),
            JsonValue::F(x) => s.serialize_f32(x),
            JsonValue::I(i) => s.serialize_i64(i),
        }
    }
}

/// The least and greatest finite values, `(0, 0)` when there are none.
fn finite_range(values: &[f32]) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &x in values.iter().filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if lo > hi { (0.0, 0.0) } else { (lo, hi) }
}

impl Payload {
    fn json(values: Vec<JsonValue>) -> Payload {
        Payload {
            enc: "json",
            values: Some(values),
            b64: None,
            cells: None,
            z: false,
            lo: None,
            hi: None,
        }
    }

    fn bytes(enc: &'static str, bytes: &[u8]) -> Payload {
        let (b64, z) = if bytes.len() >= DEFLATE_MIN_BYTES {
            // Level 1: random weights barely compress, so spend little time trying;
            // masks, zeros and quantized data still shrink a lot.
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(bytes, 1);
            if packed.len() < bytes.len() * 9 / 10 {
                (base64(&packed), true)
            } else {
                (base64(bytes), false)
            }
        } else {
            (base64(bytes), false)
        };
        Payload {
            enc,
            values: None,
            b64: Some(b64),
            cells: None,
            z,
            lo: None,
            hi: None,
        }
    }

    /// Floats, exactly (JSON when small, else f32 bytes).
    pub(crate) fn exact_f32(values: &[f32]) -> Payload {
        if values.len() <= JSON_MAX_VALUES {
            return Payload::json(values.iter().map(|&x| JsonValue::F(x)).collect());
        }
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for x in values {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        Payload::bytes("f32", &bytes)
    }

    /// Floats quantized to one byte over their finite range; NaN and infinities keep
    /// codes of their own so they are still drawn distinctly.
    pub(crate) fn quantized_f32(values: &[f32]) -> Payload {
        let (lo, hi) = finite_range(values);
        let scale = if hi > lo {
            QUANT_MAX as f32 / (hi - lo)
        } else {
            0.0
        };
        let bytes: Vec<u8> = values
            .iter()
            .map(|&x| {
                if x.is_nan() {
                    CODE_NAN
                } else if x == f32::INFINITY {
                    CODE_POS_INF
                } else if x == f32::NEG_INFINITY {
                    CODE_NEG_INF
                } else {
                    ((x - lo) * scale).round().clamp(0.0, QUANT_MAX as f32) as u8
                }
            })
            .collect();
        let mut p = Payload::bytes("q8", &bytes);
        p.lo = Some(lo);
        p.hi = Some(hi);
        p
    }

    /// Floats quantized to six bits over their finite range (61 levels; NaN and infinities
    /// keep codes of their own), one character per cell: a heatmap preview's colours need
    /// no more, and hover shows the value to within one level. The range is widened to
    /// [`COARSE_DIGITS`] significant digits, so `lo` and `hi` print short.
    pub(crate) fn coarse_f32(values: &[f32]) -> Payload {
        let (lo, hi) = finite_range(values);
        let (lo, hi) = (
            round_out(lo as f64, false) as f32,
            round_out(hi as f64, true) as f32,
        );
        let scale = if hi > lo {
            COARSE_MAX as f32 / (hi - lo)
        } else {
            0.0
        };
        let mut cells: Vec<u8> = values
            .iter()
            .map(|&x| {
                let code = if x.is_nan() {
                    COARSE_NAN
                } else if x == f32::INFINITY {
                    COARSE_POS_INF
                } else if x == f32::NEG_INFINITY {
                    COARSE_NEG_INF
                } else {
                    ((x - lo) * scale).round().clamp(0.0, COARSE_MAX as f32) as u8
                };
                CELL_ALPHABET[code as usize]
            })
            .collect();
        while cells.len() > 1 && cells[cells.len() - 1] == cells[cells.len() - 2] {
            cells.pop();
        }
        Payload {
            enc: "q6",
            values: None,
            b64: None,
            // Only alphabet characters were pushed.
            cells: Some(String::from_utf8(cells).unwrap_or_default()),
            z: false,
            lo: Some(lo),
            hi: Some(hi),
        }
    }

    /// Integers: JSON when small, else i32 bytes when every value fits, else f64 bytes.
    pub(crate) fn ints(values: &[i64]) -> Payload {
        if values.len() <= JSON_MAX_VALUES {
            return Payload::json(values.iter().map(|&i| JsonValue::I(i)).collect());
        }
        if values.iter().all(|&i| i32::try_from(i).is_ok()) {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            for &i in values {
                bytes.extend_from_slice(&(i as i32).to_le_bytes());
            }
            Payload::bytes("i32", &bytes)
        } else {
            let mut bytes = Vec::with_capacity(values.len() * 8);
            for &i in values {
                bytes.extend_from_slice(&(i as f64).to_le_bytes());
            }
            Payload::bytes("f64", &bytes)
        }
    }

    /// Booleans (and masks): one byte each, JSON 0/1 when small.
    pub(crate) fn bools(values: &[bool]) -> Payload {
        if values.len() <= JSON_MAX_VALUES {
            return Payload::json(values.iter().map(|&b| JsonValue::I(b as i64)).collect());
        }
        let bytes: Vec<u8> = values.iter().map(|&b| b as u8).collect();
        Payload::bytes("u8", &bytes)
    }
}

/// `x` rounded away from the middle of a range to [`COARSE_DIGITS`] significant digits:
/// up when `up`, else down, so a rounded range still holds every value.
///
/// The page prints bounds and values as `f32`, so `x` is first read as the shortest decimal
/// of its `f32` (`-0.976`, not `-0.97600001096`): a bound that is already short stays, and the
/// result, printed as `f32`, is never inside the value it bounds.
pub(crate) fn round_out(x: f64, up: bool) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let x: f64 = (x as f32).to_string().parse().unwrap_or(x);
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = x.abs().log10().floor() as i32;
    // Scaling by a power of ten in the direction that keeps the division exact-rounded.
    let e = COARSE_DIGITS - 1 - mag;
    let scaled = if e >= 0 {
        x * 10f64.powi(e)
    } else {
        x / 10f64.powi(-e)
    };
    // Values that already have few digits stay as they are (1.0 must not become 1.001).
    let near = scaled.round();
    let r = if (scaled - near).abs() < 1e-6 {
        near
    } else if up {
        scaled.ceil()
    } else {
        scaled.floor()
    };
    let rounded = if e >= 0 {
        r / 10f64.powi(e)
    } else {
        r * 10f64.powi(-e)
    };
    // Near the ends of the f32 range, rounding out would print as infinity.
    if (rounded as f32).is_finite() {
        rounded
    } else {
        x
    }
}

/// Standard base64 with padding (what the browser's `atob` reads).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        out.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = (a as u32) << 16;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (a as u32) << 16 | (b as u32) << 8;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                ALPHABET[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
    // Only ASCII bytes from the alphabet were pushed.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn small_arrays_stay_readable_json_with_named_non_finite_values() {
        let p = Payload::exact_f32(&[1.5, f32::NAN, f32::NEG_INFINITY]);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"enc":"json","values":[1.5,"NaN","-Infinity"]}"#
        );
    }

    #[test]
    fn quantization_keeps_specials_and_the_range() {
        let mut v = vec![0.0f32; 2000];
        v[0] = -1.0;
        v[1] = 3.0;
        v[2] = f32::NAN;
        let p = Payload::quantized_f32(&v);
        assert_eq!(
            (p.enc, p.lo, p.hi, p.z),
            ("q8", Some(-1.0), Some(3.0), true)
        );
    }

    /// What `arrayviz.js` does with a `q6` payload of `n` cells.
    fn decode_coarse(p: &Payload, n: usize) -> Vec<f32> {
        let cells = p.cells.as_deref().unwrap().as_bytes();
        let (lo, hi) = (p.lo.unwrap(), p.hi.unwrap());
        let step = (hi - lo) / COARSE_MAX as f32;
        (0..n)
            .map(|i| {
                let c = cells[i.min(cells.len() - 1)];
                let code = CELL_ALPHABET.iter().position(|&a| a == c).unwrap() as u8;
                match code {
                    COARSE_NAN => f32::NAN,
                    COARSE_POS_INF => f32::INFINITY,
                    COARSE_NEG_INF => f32::NEG_INFINITY,
                    level => lo + level as f32 * step,
                }
            })
            .collect()
    }

    #[test]
    fn coarse_cells_round_trip_to_within_half_a_level_with_specials_kept() {
        let mut v: Vec<f32> = (0..256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.0123)
            .collect();
        v[3] = f32::NAN;
        v[4] = f32::INFINITY;
        v[5] = f32::NEG_INFINITY;
        let p = Payload::coarse_f32(&v);
        assert_eq!(p.enc, "q6");
        assert_eq!(p.cells.as_ref().unwrap().len(), 256);
        let (lo, hi) = (p.lo.unwrap(), p.hi.unwrap());
        let finite = v.iter().filter(|x| x.is_finite());
        let min = finite.clone().fold(f32::INFINITY, |a, &b| a.min(b));
        let max = finite.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        assert!(lo <= min && hi >= max, "the range holds every value");
        let half_level = (hi - lo) / COARSE_MAX as f32 / 2.0 + 1e-6;
        for (x, y) in v.iter().zip(decode_coarse(&p, v.len())) {
            if x.is_finite() {
                assert!((x - y).abs() <= half_level, "{x} decoded as {y}");
            } else {
                assert!(x.is_nan() && y.is_nan() || *x == y);
            }
        }
    }

    #[test]
    fn coarse_ranges_print_short_and_constant_arrays_take_one_character() {
        let p = Payload::coarse_f32(&[0.0123456, 0.0987654]);
        assert_eq!((p.lo, p.hi), (Some(0.01234), Some(0.09877)));
        let ones = Payload::coarse_f32(&[1.0; 256]);
        assert_eq!(
            (ones.cells.as_deref(), ones.lo, ones.hi),
            (Some("A"), Some(1.0), Some(1.0))
        );
        assert_eq!(decode_coarse(&ones, 256), vec![1.0; 256]);
        let json = serde_json::to_string(&Payload::coarse_f32(&[-1.0, 0.0, 1.0, 1.0])).unwrap();
        assert_eq!(json, r#"{"enc":"q6","cells":"Ae8","lo":-1.0,"hi":1.0}"#);
    }

    #[test]
    fn rounding_out_widens_to_four_digits_and_keeps_short_numbers() {
        assert_eq!(round_out(0.05727952, true), 0.05728);
        assert_eq!(round_out(-0.048451267, false), -0.04846);
        assert_eq!(round_out(-0.048451267, true), -0.04845);
        assert_eq!(round_out(1.0, true), 1.0);
        assert_eq!(round_out(12345.0, true), 12350.0);
        assert_eq!(round_out(f32::MAX as f64, true) as f32, f32::MAX);
        // Read as the f32 the page prints: -0.976f32 is -0.97600001096 as f64.
        assert_eq!(round_out(-0.976f32 as f64, false), -0.976);
        assert_eq!(round_out(-0.100000024f32 as f64, true), -0.1);
        for &x in &[0.95500004f32, -0.95500004, 3.3333333e-5, 7.1e12] {
            assert!(
                round_out(x as f64, true) as f32 >= x && round_out(x as f64, false) as f32 <= x
            );
        }
    }

    #[test]
    fn compressible_bytes_are_deflated_and_random_ones_are_not() {
        assert!(Payload::bools(&vec![false; 5000]).z);
        let noise: Vec<f32> = (0..5000u32)
            .map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761) >> 2))
            .collect();
        assert!(!Payload::exact_f32(&noise).z);
    }
}
