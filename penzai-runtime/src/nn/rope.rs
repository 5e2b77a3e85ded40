//! Rotary position embeddings (RoPE), whole-axis and on a leading subset.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{
    AxesForm, Axis, AxisSet, Flow, FlowCheck, FlowError, FlowResult, Message, ModelStep,
    OptionSyntax, Planner, Size, StepBuild, StepInput, Syntax, Written,
};
use crate::nn::side_inputs::TOKEN_POSITIONS;
use crate::nn::{Context, Layer, LayerError, RopeScaling, Signature};
use crate::nx::{AxisName, DType, NamedArray};

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
/// with the half-split pairing of GPT-NeoX and Llama (`x[i]` with `x[i + rotated/2]`), at
/// the frequencies `scaling` derives from `max_wavelength`.
fn rotate(
    x: &NamedArray,
    axis: &str,
    rotated: usize,
    positions: &NamedArray,
    max_wavelength: f32,
    scaling: &RopeScaling,
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
    let pos = positions.to_i64_vec();
    // The length the dynamic schemes scale by: the longest position of this call, plus one.
    let seq_len = pos
        .iter()
        .copied()
        .max()
        .map_or(0, |p| p.max(0) as usize + 1);
    // Frequencies and angles in f32, as the reference implementations compute them, so
    // that logits match theirs closely; sin and cos are then rounded correctly from f64.
    let (inv_freq, attention) = scaling.frequencies(max_wavelength, rotated, seq_len)?;
    let inv_freq: Vec<f32> = inv_freq.into_iter().map(|f| f as f32).collect();
    let mut sin = Vec::with_capacity(pos.len() * half);
    let mut cos = Vec::with_capacity(pos.len() * half);
    for &p in &pos {
        for f in &inv_freq {
            let angle = f64::from(p as f32 * *f);
            let (s, c) = (angle.sin() as f32, angle.cos() as f32);
            sin.push(if attention == 1.0 { s } else { s * attention });
            cos.push(if attention == 1.0 { c } else { c * attention });
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
///
/// In `model!`: `ApplyRoPE(over projection)`; option `theta = 10000.0`. The axis pairs its
/// first and second halves, so its size must be even. The frequencies follow
/// [`scaling`](ApplyRoPE::scaling) (plain `theta^(-2i/d)` by default; Llama 3's, YaRN's, ...
/// as checkpoints name them), a field shown and editable like the others.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "ApplyRoPE::validate")]
pub struct ApplyRoPE {
    /// The axis rotated (the per-head dimension, e.g. `projection`).
    #[tree(skip)]
    pub embedding_axis: AxisName,
    /// The base wavelength (`rope_theta`), 10 000 in the original paper.
    #[tree(skip)]
    pub max_wavelength: f32,
    /// The side input holding token positions (else `0..n` along `seq`).
    #[tree(skip)]
    pub positions_input: String,
    /// How the frequencies derive from `max_wavelength` (HF `rope_type`).
    #[tree(skip)]
    #[serde(default)]
    pub scaling: RopeScaling,
}

impl ApplyRoPE {
    /// RoPE over `embedding_axis` with `token_positions` as positions. Fails when
    /// `max_wavelength` is not a finite number greater than 0 (every angle would be NaN).
    pub fn new(embedding_axis: &str, max_wavelength: f32) -> Result<ApplyRoPE> {
        let rope = ApplyRoPE {
            embedding_axis: embedding_axis.into(),
            max_wavelength,
            positions_input: TOKEN_POSITIONS.to_owned(),
            scaling: RopeScaling::Default,
        };
        rope.validate()?;
        Ok(rope)
    }

    /// This layer with its frequencies derived as `scaling` says.
    pub fn with_scaling(mut self, scaling: RopeScaling) -> ApplyRoPE {
        self.scaling = scaling;
        self
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
        rotate(
            &x,
            &self.embedding_axis,
            size,
            &pos,
            self.max_wavelength,
            &self.scaling,
        )
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::new().require(Axis::any(&self.embedding_axis)))
    }

    /// The rotated axis must be there, with an even size when it is known.
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        let Some(x) = x else { return Ok(None) };
        let sig = Signature::new().require(Axis::any(&self.embedding_axis));
        let out = check.apply("ApplyRoPE", &x, &sig)?;
        if let Some(axis) = x.get(&self.embedding_axis)
            && let Some(e) = odd_rotation("ApplyRoPE", axis)
        {
            return Err(check.fail("ApplyRoPE", e));
        }
        Ok(Some(out))
    }
}

/// The mistake of rotating `axis` when its size is known to be odd (RoPE pairs the first
/// half of the axis with the second). `layer` is the one that rotates it.
pub const fn odd_rotation<'a>(layer: &str, axis: Axis<'_>) -> Option<FlowError<'a>> {
    match axis.size {
        Size::Known(n) if n % 2 == 1 => {
            let mut m = Message::new();
            m.push(layer)
                .push(" rotates pairs of entries along ")
                .quoted(axis.name);
            m.push(" (RoPE), which needs an even size, but ")
                .quoted(axis.name);
            m.push(" has size ").number(n);
            Some(FlowError::other(m))
        }
        _ => None,
    }
}

const ROPE_SYNTAX: Syntax = Syntax {
    example: "ApplyRoPE(over projection)",
    axes: AxesForm::Over,
    values: 0,
    bare: false,
    options: &[OptionSyntax::value("theta")],
};

const fn plan_rope(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &ROPE_SYNTAX);
    if !p.failed() && step.before.len() != 1 {
        p.fail_with(
            Message::of("ApplyRoPE rotates one axis: `ApplyRoPE(over projection)`"),
            crate::nn::flow::Blame::Args,
        );
    }
    p.then(&Signature::requiring(&AxisSet::of(step.over_axes())));
    if step.over && !step.before.is_empty() {
        let written = step.before[0];
        let axis = match p.input().get(written.name) {
            Some(here) => Axis {
                name: written.name,
                size: here.size.or(written.size),
            },
            None => written,
        };
        if let Some(e) = odd_rotation("ApplyRoPE", axis) {
            p.fail_flow(e, crate::nn::flow::Blame::Over(0), false);
        }
    }
    p.finish()
}

impl<S: StepInput> ModelStep<S> for ApplyRoPE {
    const FLOW: Flow<'static> = plan_rope(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_rope(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<ApplyRoPE> {
        let theta = step.option_number("theta")?.unwrap_or(10_000.0) as f32;
        ApplyRoPE::new(step.step.before[0].name, theta)
    }
}

/// RoPE on the first `rope_subset_size` entries of the axis only (GPT-NeoX).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[tree(validate = "ApplyRoPEToSubset::validate")]
pub struct ApplyRoPEToSubset {
    /// The axis rotated.
    #[tree(skip)]
    pub embedding_axis: AxisName,
    /// How many leading entries are rotated.
    #[tree(skip)]
    pub rope_subset_size: usize,
    /// The base wavelength.
    #[tree(skip)]
    pub max_wavelength: f32,
    /// The side input holding token positions.
    #[tree(skip)]
    pub positions_input: String,
    /// How the frequencies derive from `max_wavelength` (HF `rope_type`).
    #[tree(skip)]
    #[serde(default)]
    pub scaling: RopeScaling,
}

impl ApplyRoPEToSubset {
    /// RoPE over the first `rope_subset_size` entries of `embedding_axis`, with
    /// `token_positions` as positions (NeoX's `rotary_pct`, Phi's `partial_rotary_factor`).
    /// Fails when `max_wavelength` is not a finite number greater than 0.
    pub fn new(
        embedding_axis: &str,
        rope_subset_size: usize,
        max_wavelength: f32,
        scaling: RopeScaling,
    ) -> Result<ApplyRoPEToSubset> {
        let rope = ApplyRoPEToSubset {
            embedding_axis: embedding_axis.into(),
            rope_subset_size,
            max_wavelength,
            positions_input: TOKEN_POSITIONS.to_owned(),
            scaling,
        };
        rope.validate()?;
        Ok(rope)
    }

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
            &self.scaling,
        )
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::new().require(Axis::any(&self.embedding_axis)))
    }
}
