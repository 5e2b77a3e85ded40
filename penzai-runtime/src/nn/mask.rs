//! Attention masks: causal, causal with a sliding window, and explicit (from a side input).

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::rope::positions;
use crate::nn::side_inputs::{KV_TOKEN_POSITIONS, TOKEN_POSITIONS};
use crate::nn::{Context, Layer, LayerError, Signature};
use crate::nx::{DType, NamedArray};

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
    pub seq_axis: String,
    /// The key axis of the scores.
    #[tree(skip)]
    pub kv_axis: String,
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

    fn signature(&self) -> Option<Signature> {
        Some(Signature::requiring([
            (self.seq_axis.as_str(), None),
            (self.kv_axis.as_str(), None),
        ]))
    }
}

/// Causal mask that also hides keys more than `window - 1` positions back (Mistral).
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
        let q = q.cast(DType::F32);
        let k = k.cast(DType::F32);
        let behind = (&q - &k)?;
        let keep = behind
            .ge(&NamedArray::scalar(0.0))?
            .logical_and(&behind.lt(&NamedArray::scalar(self.window as f32))?)?;
        masked(&x, &keep)
    }

    fn signature(&self) -> Option<Signature> {
        self.causal.signature()
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

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}
