//! Rotary position embeddings (RoPE), whole-axis and on a leading subset.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::side_inputs::TOKEN_POSITIONS;
use crate::nn::{Context, Layer, LayerError, Signature};
use crate::nx::{DType, NamedArray};

/// The positions for an input: the side input `name` when given, else `0..n` along the
/// input's `seq_axis` (the common case of a fresh, unpadded sequence).
pub fn positions(cx: &Context, name: &str, x: &NamedArray, seq_axis: &str) -> Result<NamedArray> {
    if let Some(p) = cx.side_input(name) {
        return Ok(p.clone());
    }
    match x.axis_size(seq_axis) {
        Some(n) => Ok(NamedArray::arange(seq_axis, n)?),
        None => cx.require_side_input(name).cloned(),
    }
}

/// Rotates the first `rotated` entries of `axis` of `x` by position-dependent angles,
/// with the half-split pairing of GPT-NeoX and Llama (`x[i]` with `x[i + rotated/2]`).
fn rotate(
    x: &NamedArray,
    axis: &str,
    rotated: usize,
    positions: &NamedArray,
    max_wavelength: f32,
) -> Result<NamedArray> {
    if !rotated.is_multiple_of(2) || rotated == 0 {
        return Err(LayerError::Config(format!(
            "RoPE needs an even, non-zero number of rotated entries; got {rotated}"
        ))
        .into());
    }
    if positions.dtype() != DType::I64 {
        return Err(LayerError::Config(format!(
            "RoPE positions must be i64; got {:?}",
            positions.dtype()
        ))
        .into());
    }
    if let Some((name, _)) = positions.named_shape().iter().find(|(n, _)| !x.has_axis(n)) {
        return Err(LayerError::Config(format!(
            "RoPE positions {} have axis {:?}, which the input {} lacks",
            positions.named_shape(),
            name.as_str(),
            x.named_shape()
        ))
        .into());
    }
    let half = rotated / 2;
    // Frequencies and angles in f32, as the reference implementations compute them, so
    // that logits match theirs closely; sin and cos are then rounded correctly from f64.
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| 1.0 / libm::powf(max_wavelength, (2 * i) as f32 / rotated as f32))
        .collect();
    let pos = positions.to_i64_vec();
    let mut sin = Vec::with_capacity(pos.len() * half);
    let mut cos = Vec::with_capacity(pos.len() * half);
    for &p in &pos {
        for f in &inv_freq {
            let angle = f64::from(p as f32 * *f);
            sin.push(angle.sin() as f32);
            cos.push(angle.cos() as f32);
        }
    }
    let pos_shape = positions.named_shape();
    let mut shape: Vec<(&str, usize)> = pos_shape.iter().map(|(n, s)| (n.as_str(), s)).collect();
    shape.push((axis, half));
    let sin = NamedArray::from_f32(shape.as_slice(), sin)?;
    let cos = NamedArray::from_f32(shape.as_slice(), cos)?;
    let first = x.slice_axis(axis, 0..half)?;
    let second = x.slice_axis(axis, half..rotated)?;
    let out_first = ((&first * &cos)? - (&second * &sin)?)?;
    let out_second = ((&second * &cos)? + (&first * &sin)?)?;
    let size = x.axis_size(axis).unwrap_or(rotated);
    let mut parts = vec![out_first, out_second];
    if rotated < size {
        parts.push(x.slice_axis(axis, rotated..size)?);
    }
    Ok(NamedArray::concat(&parts, axis)?)
}

/// Rotary position embedding over the whole `embedding_axis` (Llama's RoPE).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "ApplyRoPE::validate")]
pub struct ApplyRoPE {
    /// The axis rotated (the per-head dimension, e.g. `projection`).
    #[tree(skip)]
    pub embedding_axis: String,
    /// The base wavelength (`rope_theta`), 10 000 in the original paper.
    #[tree(skip)]
    pub max_wavelength: f32,
    /// The side input holding token positions (else `0..n` along `seq`).
    #[tree(skip)]
    pub positions_input: String,
}

impl ApplyRoPE {
    /// RoPE over `embedding_axis` with `token_positions` as positions.
    pub fn new(embedding_axis: &str, max_wavelength: f32) -> ApplyRoPE {
        ApplyRoPE {
            embedding_axis: embedding_axis.to_owned(),
            max_wavelength,
            positions_input: TOKEN_POSITIONS.to_owned(),
        }
    }
}

impl ApplyRoPE {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("max_wavelength", self.max_wavelength)
    }
}

impl Layer for ApplyRoPE {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        require_axis(&x, &self.embedding_axis, None)?;
        let size = x.axis_size(&self.embedding_axis).unwrap_or(0);
        let pos = positions(cx, &self.positions_input, &x, "seq")?;
        rotate(&x, &self.embedding_axis, size, &pos, self.max_wavelength)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring([(self.embedding_axis.as_str(), None)]))
    }
}

/// RoPE on the first `rope_subset_size` entries of the axis only (GPT-NeoX).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "ApplyRoPEToSubset::validate")]
pub struct ApplyRoPEToSubset {
    /// The axis rotated.
    #[tree(skip)]
    pub embedding_axis: String,
    /// How many leading entries are rotated.
    #[tree(skip)]
    pub rope_subset_size: usize,
    /// The base wavelength.
    #[tree(skip)]
    pub max_wavelength: f32,
    /// The side input holding token positions.
    #[tree(skip)]
    pub positions_input: String,
}

impl ApplyRoPEToSubset {
    /// Checks the options (run by constructors, after loading and before each call).
    pub fn validate(&self) -> Result<()> {
        super::options::positive("max_wavelength", self.max_wavelength)
    }
}

impl Layer for ApplyRoPEToSubset {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        self.validate()?;
        require_axis(&x, &self.embedding_axis, None)?;
        let size = x.axis_size(&self.embedding_axis).unwrap_or(0);
        if self.rope_subset_size > size {
            return Err(LayerError::Config(format!(
                "RoPE subset {} is larger than axis {:?} ({size})",
                self.rope_subset_size, self.embedding_axis
            ))
            .into());
        }
        let pos = positions(cx, &self.positions_input, &x, "seq")?;
        rotate(
            &x,
            &self.embedding_axis,
            self.rope_subset_size,
            &pos,
            self.max_wavelength,
        )
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring([(self.embedding_axis.as_str(), None)]))
    }
}
