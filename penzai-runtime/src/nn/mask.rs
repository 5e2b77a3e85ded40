//! Attention masks: causal, causal with a sliding window, and explicit (from a side input).

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{
    AxesForm, Axis, Blame, Flow, Literal, Message, ModelStep, Planner, StepBuild, StepInput,
    Syntax, Written,
};
use crate::nn::rope::positions;
use crate::nn::side_inputs::{KV_TOKEN_POSITIONS, TOKEN_POSITIONS};
use crate::nn::{Context, Layer, LayerError, Signature};
use crate::nx::{AxisName, DType, NamedArray};

/// The value masked scores get: finite, so a fully masked row stays finite after softmax
/// the way the reference implementations behave (Penzai uses the same constant).
pub const MASKED_SCORE: f32 = -2.381_976_3e38;

fn masked(scores: &NamedArray, keep: &NamedArray) -> Result<NamedArray> {
    Ok(NamedArray::where_(
        keep,
        scores,
        &NamedArray::scalar(MASKED_SCORE),
    )?)
}

/// Query and key positions for a score array with `seq` and `kv_seq` axes.
fn query_and_key_positions(
    cx: &Context,
    scores: &NamedArray,
    query_input: &str,
    key_input: &str,
    seq_axis: &str,
    kv_axis: &str,
) -> Result<(NamedArray, NamedArray)> {
    require_axis(scores, seq_axis, None)?;
    require_axis(scores, kv_axis, None)?;
    let q = positions(cx, query_input, scores, seq_axis)?;
    let k = match cx.side_input(key_input) {
        Some(k) => k.clone(),
        // Without explicit key positions, keys are the queries themselves (no cache).
        None => q.rename(seq_axis, kv_axis)?,
    };
    Ok((q, k))
}

/// Masks scores where the key comes after the query (`kv_pos > q_pos`).
///
/// In `model!`: `ApplyCausalMask` (on scores with `seq` and `kv_seq` axes).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct ApplyCausalMask {
    /// Side input with query positions (default `token_positions`; else `0..n`).
    #[tree(skip)]
    pub query_positions: String,
    /// Side input with key positions (default `kv_token_positions`; else the queries').
    #[tree(skip)]
    pub key_positions: String,
    /// The query axis of the scores.
    #[tree(skip)]
    pub seq_axis: AxisName,
    /// The key axis of the scores.
    #[tree(skip)]
    pub kv_axis: AxisName,
}

impl Default for ApplyCausalMask {
    fn default() -> Self {
        ApplyCausalMask {
            query_positions: TOKEN_POSITIONS.into(),
            key_positions: KV_TOKEN_POSITIONS.into(),
            seq_axis: "seq".into(),
            kv_axis: "kv_seq".into(),
        }
    }
}

impl Layer for ApplyCausalMask {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let (q, k) = query_and_key_positions(
            cx,
            &x,
            &self.query_positions,
            &self.key_positions,
            &self.seq_axis,
            &self.kv_axis,
        )?;
        masked(&x, &q.ge(&k)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(causal_signature(&self.seq_axis, &self.kv_axis))
    }
}

/// What a causal mask needs: the scores' query and key axes.
const fn causal_signature<'a>(seq: &'a str, kv_seq: &'a str) -> Signature<'a> {
    Signature::new()
        .require(Axis::any(seq))
        .require(Axis::any(kv_seq))
}

const CAUSAL_SYNTAX: Syntax = Syntax {
    example: "ApplyCausalMask",
    axes: AxesForm::None,
    values: 0,
    bare: true,
    options: &[],
};

const fn plan_causal(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &CAUSAL_SYNTAX);
    p.then(&causal_signature("seq", "kv_seq"));
    p.finish()
}

impl<S: StepInput> ModelStep<S> for ApplyCausalMask {
    const FLOW: Flow<'static> = plan_causal(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_causal(input, step)
    }

    fn build(_step: &StepBuild<'_>) -> Result<ApplyCausalMask> {
        Ok(ApplyCausalMask::default())
    }
}

/// Causal mask that also hides keys more than `window - 1` positions back (Mistral).
///
/// In `model!`: `ApplyCausalSlidingWindowMask(128)` (the window is at least 1).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct ApplyCausalSlidingWindowMask {
    /// How many positions (the query's own included) a query sees.
    #[tree(skip)]
    pub window: usize,
    /// The causal part's settings.
    #[tree(skip)]
    pub causal: ApplyCausalMask,
}

impl ApplyCausalSlidingWindowMask {
    /// A sliding-window causal mask.
    pub fn new(window: usize) -> ApplyCausalSlidingWindowMask {
        ApplyCausalSlidingWindowMask {
            window,
            causal: ApplyCausalMask::default(),
        }
    }
}

impl Layer for ApplyCausalSlidingWindowMask {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let c = &self.causal;
        let (q, k) = query_and_key_positions(
            cx,
            &x,
            &c.query_positions,
            &c.key_positions,
            &c.seq_axis,
            &c.kv_axis,
        )?;
        let q = q.cast(DType::F32)?;
        let k = k.cast(DType::F32)?;
        let behind = (&q - &k)?;
        let keep = behind
            .ge(&NamedArray::scalar(0.0))?
            .logical_and(&behind.lt(&NamedArray::scalar(self.window as f32))?)?;
        masked(&x, &keep)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        self.causal.signature()
    }
}

const WINDOW_SYNTAX: Syntax = Syntax {
    example: "ApplyCausalSlidingWindowMask(128)",
    axes: AxesForm::None,
    values: 1,
    bare: false,
    options: &[],
};

/// The mistake of a sliding window written `text` (an integer of at least 1).
pub(crate) const fn window_mistake(value: f64, integer: bool, text: &str) -> Option<Message> {
    if integer && value >= 1.0 {
        return None;
    }
    let mut m = Message::new();
    m.push("a sliding window is a number of positions, at least 1; it is ")
        .push(text);
    Some(m)
}

const fn plan_window(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &WINDOW_SYNTAX);
    if let Some(Literal::Number {
        value,
        integer,
        text,
    }) = p.value(0)
        && let Some(m) = window_mistake(value, integer, text)
    {
        p.fail_with(m, Blame::Value(0));
    }
    p.then(&causal_signature("seq", "kv_seq"));
    p.finish()
}

/// A window for a builder, checked like the `model!` literal would be.
pub(crate) fn checked_window(value: f64) -> Result<usize> {
    match window_mistake(value, value.fract() == 0.0, &value.to_string()) {
        Some(m) => Err(LayerError::Config(m.as_str().to_owned()).into()),
        None => Ok(value as usize),
    }
}

impl<S: StepInput> ModelStep<S> for ApplyCausalSlidingWindowMask {
    const FLOW: Flow<'static> = plan_window(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_window(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<ApplyCausalSlidingWindowMask> {
        Ok(ApplyCausalSlidingWindowMask::new(checked_window(
            step.number(0)?,
        )?))
    }
}

/// Masks scores where a boolean side input is false (padding, custom patterns).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct ApplyExplicitMask {
    /// The side input holding the mask (its axes broadcast by name against the scores).
    #[tree(skip)]
    pub mask_input: String,
}

impl Layer for ApplyExplicitMask {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let mask = cx.require_side_input(&self.mask_input)?;
        if mask.dtype() != DType::Bool {
            return Err(LayerError::Config(format!(
                "the mask {:?} must be bool; got {:?}",
                self.mask_input,
                mask.dtype()
            ))
            .into());
        }
        masked(&x, mask)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}
