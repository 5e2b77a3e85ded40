//! Attention as data: every intermediate flows through a sub-layer slot.

use std::any::TypeId;

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{AxisSet, FlowCheck, FlowError, FlowFailure, FlowResult, ops};
use crate::nn::side_inputs::KV_TOKEN_POSITIONS;
use crate::nn::{AnyLayer, Context, Layer, LayerCapability, LayerError};
use crate::nx::{AxisName, NamedArray, NamedShape};
use crate::tree::{Capability, ChildError, HasTypedPath, Key, KeyRef, Tree};

mod step;

/// Multi-head attention whose every step is a slot you can select, capture or replace:
///
/// 1. `query`, `key`, `value`: the input to queries `{.., seq, heads.., head_axis}`,
///    keys and values `{.., kv_seq, heads.., head_axis}` (the key and value slots rename
///    `seq` to `kv_seq`);
/// 2. the scores `queries . keys` over `head_axis` (fixed, the one tuple-shaped step);
/// 3. `scores`: scores to attention weights (scale, mask, softmax over `kv_seq`);
/// 4. the weighted sum of values over `kv_seq` (fixed);
/// 5. `output`: per-head results back to the model's axes.
///
/// Multi-query and grouped-query attention need nothing special: keys with fewer head axes
/// than queries broadcast by name (queries `{kv_heads, q_per_kv}`, keys `{kv_heads}`).
///
/// In `model!`: `Attention(embedding: 64 -> heads: 4, projection: 16)`: the input axes
/// project to the head axes, the last of which (`projection`) is the per-head axis queries
/// and keys are contracted over. Options: `mask = causal` (default: none), `window = 128`
/// (a causal sliding window), `rope = 10000.0` (rotate queries and keys), `kv = [kv_heads:
/// 2, projection: 16]` (grouped-query: keys and values use some of the query head axes),
/// `init`, `seed`. The input must have `seq`, and neither `kv_seq` nor a head axis, which
/// attention uses inside.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Attention {
    /// Input to queries.
    pub query: AnyLayer,
    /// Input to keys.
    pub key: AnyLayer,
    /// Input to values.
    pub value: AnyLayer,
    /// Raw scores to attention weights.
    pub scores: AnyLayer,
    /// Per-head outputs to the model's axes.
    pub output: AnyLayer,
    /// The per-head feature axis contracted by the scores.
    #[tree(skip)]
    pub head_axis: AxisName,
    /// The key/value sequence axis.
    #[tree(skip)]
    pub kv_axis: AxisName,
}

/// The two fixed contractions of attention.
fn attend(q: &NamedArray, k: &NamedArray, head_axis: &str, kv_axis: &str) -> Result<NamedArray> {
    require_axis(q, head_axis, None)?;
    require_axis(k, head_axis, None)?;
    require_axis(k, kv_axis, None)?;
    Ok(q.contract(k, &[head_axis])?)
}

impl Attention {
    fn keys_and_values(
        &self,
        x: &NamedArray,
        cx: &mut Context,
    ) -> Result<(NamedArray, NamedArray)> {
        let k = cx.call_child(Key::field("key"), self.key.get(), x.clone())?;
        let v = cx.call_child(Key::field("value"), self.value.get(), x.clone())?;
        Ok((k, v))
    }

    fn finish(
        &self,
        q: NamedArray,
        k: &NamedArray,
        v: &NamedArray,
        cx: &mut Context,
    ) -> Result<NamedArray> {
        // The scores grow with the square of the input length: the largest array of a
        // long run, so its size is checked before it is made.
        let score_shape = NamedShape::new(
            q.named_shape()
                .iter()
                .chain(k.named_shape().iter().filter(|(n, _)| !q.has_axis(n)))
                .filter(|(n, _)| self.head_axis != n.as_str())
                .map(|(n, s)| (n.clone(), s)),
        );
        cx.ensure_fits("attention scores", &score_shape)?;
        let scores = attend(&q, k, &self.head_axis, &self.kv_axis)?;
        let weights = cx.call_child(Key::field("scores"), self.scores.get(), scores)?;
        require_axis(&weights, &self.kv_axis, k.axis_size(&self.kv_axis))?;
        require_axis(v, &self.kv_axis, k.axis_size(&self.kv_axis))?;
        let mixed = weights.contract(v, &[self.kv_axis.as_str()])?;
        cx.call_child(Key::field("output"), self.output.get(), mixed)
    }

    /// Follows the axes through the slots, as they run: a mistake the input causes (it
    /// lacks `seq`, or has `kv_seq` or a head axis, which attention uses inside) is
    /// reported as Attention's, in the words `model!` uses.
    fn follow<'a>(&'a self, x: AxisSet<'a>, check: &mut FlowCheck) -> FlowResult<'a> {
        let reattribute = |check: &FlowCheck, f: FlowFailure<'a>| -> FlowFailure<'a> {
            match FlowError::as_input_mistake(&f.error, "Attention", &x, check.place()) {
                Some(error) => check.fail("Attention", error),
                None => f,
            }
        };
        let slot = |check: &mut FlowCheck, name: &'static str, layer: &'a AnyLayer, input| {
            check
                .child(Key::field(name), layer.get(), input)
                .map_err(|f| reattribute(check, f))
        };
        let q = slot(check, "query", &self.query, Some(x))?;
        let k = slot(check, "key", &self.key, Some(x))?;
        let v = slot(check, "value", &self.value, Some(x))?;
        let (Some(q), Some(k), Some(v)) = (q, k, v) else {
            return Ok(None);
        };
        let Some(scores) = ops::contract(&q, &k, &self.head_axis) else {
            return Ok(None);
        };
        let Some(weights) = slot(check, "scores", &self.scores, Some(scores))? else {
            return Ok(None);
        };
        let Some(mixed) = ops::contract(&weights, &v, &self.kv_axis) else {
            return Ok(None);
        };
        slot(check, "output", &self.output, Some(mixed))
    }
}

impl Layer for Attention {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let q = cx.call_child(Key::field("query"), self.query.get(), x.clone())?;
        let (k, v) = self.keys_and_values(&x, cx)?;
        self.finish(q, &k, &v, cx)
    }

    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        match x {
            Some(x) => self.follow(x, check),
            None => Ok(None),
        }
    }
}

/// The keys and values seen so far by one attention layer, kept in the [`Context`].
#[derive(Clone, Debug)]
pub struct KVCache {
    /// Keys, along `kv_seq`.
    pub keys: NamedArray,
    /// Values, along `kv_seq`.
    pub values: NamedArray,
}

/// [`Attention`] that appends each call's keys and values to a cache held in the
/// [`Context`] (keyed by the layer's path) and attends over everything cached.
///
/// The caller supplies `token_positions` for the new tokens (their absolute positions); the
/// layer sets `kv_token_positions` to `0..cached` while its `scores` slot runs, so the
/// causal mask sees the whole history. [`clear_state`](Context::clear_state) starts over.
///
/// In the tree it shows the attention's own slots (`query`, `key`, ...), so paths and
/// selectors written for the uncached model reach the same layers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KVCachingAttention {
    /// The attention whose slots compute queries, keys, values, weights and outputs.
    pub attention: Attention,
}

impl KVCachingAttention {
    /// The cached form of an attention layer (same parameters, same slots).
    pub fn from_uncached(attention: Attention) -> KVCachingAttention {
        KVCachingAttention { attention }
    }

    /// The uncached attention back.
    pub fn into_uncached(self) -> Attention {
        self.attention
    }
}

impl Layer for KVCachingAttention {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let attn = &self.attention;
        let kv_axis = attn.kv_axis.as_str();
        {
            let q = cx.call_child(Key::field("query"), attn.query.get(), x.clone())?;
            let (k_new, v_new) = attn.keys_and_values(&x, cx)?;
            let cache = match cx.take_state::<KVCache>() {
                Some(prev) => KVCache {
                    keys: NamedArray::concat(&[prev.keys, k_new], kv_axis)?,
                    values: NamedArray::concat(&[prev.values, v_new], kv_axis)?,
                },
                None => KVCache {
                    keys: k_new,
                    values: v_new,
                },
            };
            let total = cache
                .keys
                .axis_size(kv_axis)
                .ok_or_else(|| LayerError::Config(format!("keys lack the kv axis {kv_axis:?}")))?;
            let previous = cx.remove_side_input(KV_TOKEN_POSITIONS);
            cx.set_side_input(KV_TOKEN_POSITIONS, NamedArray::arange(kv_axis, total)?);
            let out = attn.finish(q, &cache.keys, &cache.values, cx);
            match previous {
                Some(p) => cx.set_side_input(KV_TOKEN_POSITIONS, p),
                None => {
                    cx.remove_side_input(KV_TOKEN_POSITIONS);
                }
            }
            cx.set_state(cache);
            out
        }
    }

    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        self.attention.flow(x, check)
    }
}

impl Tree for KVCachingAttention {
    fn type_name(&self) -> &'static str {
        "KVCachingAttention"
    }
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        self.attention.visit_children(visit)
    }
    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        self.attention.visit_children_mut(visit)
    }
    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        self.attention.child(key)
    }
    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        self.attention.child_mut(key)
    }
    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        self.attention.replace_child(key, value)
    }
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other
            .downcast_ref::<KVCachingAttention>()
            .is_some_and(|o| self.attention.tree_eq(&o.attention))
    }
    fn visit_static_fields(&self, visit: &mut dyn FnMut(&'static str, &dyn std::fmt::Debug)) {
        self.attention.visit_static_fields(visit)
    }
    fn capability(&self, key: TypeId) -> Option<Capability> {
        LayerCapability::answer::<KVCachingAttention>(key)
    }
}

// Saved and loaded with no registration call, as a derived layer would be.
crate::__record_layer!(KVCachingAttention, "KVCachingAttention");

impl HasTypedPath for KVCachingAttention {
    type Path = <Attention as HasTypedPath>::Path;
}
