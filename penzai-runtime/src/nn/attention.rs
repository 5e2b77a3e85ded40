//! Attention as data: every intermediate flows through a sub-layer slot.

use std::any::TypeId;

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{AxisSet, FlowCheck, FlowError, FlowFailure, FlowResult, ops};
use crate::nn::side_inputs::KV_TOKEN_POSITIONS;
use crate::nn::{AnyLayer, Context, Layer, LayerCapability, LayerError};
use crate::nx::{AxisName, DType, NamedArray, NamedShape};
use crate::tree::{Capability, ChildError, HasTypedPath, Key, KeyRef, Tree};

mod fused;
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
        if let Some(standard) = self.fused_scores(cx) {
            let mixed = if crate::nx::Tape::is_recording() {
                self.fused_recorded(&q, k, v, standard, cx)?
            } else {
                fused::attend(&q, k, v, &self.head_axis, &self.kv_axis, standard, cx)
            };
            if let Some(mixed) = mixed {
                return cx.call_child(Key::field("output"), self.output.get(), mixed);
            }
        }
        let scores = attend(&q, k, &self.head_axis, &self.kv_axis)?;
        let weights = cx.call_child(Key::field("scores"), self.scores.get(), scores)?;
        require_axis(&weights, &self.kv_axis, k.axis_size(&self.kv_axis))?;
        require_axis(v, &self.kv_axis, k.axis_size(&self.kv_axis))?;
        let mixed = weights.contract(v, &[self.kv_axis.as_str()])?;
        cx.call_child(Key::field("output"), self.output.get(), mixed)
    }

    /// Whether a call with this context takes the fused path: the one switch between
    /// attention's two paths, kept in this predicate alone.
    ///
    /// The fused path (scores, mask, softmax and weighted sum per query row, the scores never
    /// materialized) runs only while the `scores` slot holds the standard layers, recognized
    /// by type: an optional [`ApplyCausalMask`](crate::nn::ApplyCausalMask) or
    /// [`ApplyCausalSlidingWindowMask`](crate::nn::ApplyCausalSlidingWindowMask), then a
    /// [`Softmax`](crate::nn::Softmax) over the kv axis. Anything a user puts in the slot
    /// (a capture, an ablation, another mask) makes every call take the general path, where
    /// the scores and the weights flow through the slot and can be seen and changed. While a
    /// gradient tape records, the fused path records one node whose backward is fused too:
    /// it recomputes the probabilities block by block from the queries and keys, so neither
    /// pass keeps an array of the scores' size (tested against the general path's
    /// gradients).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::{Attention, Identity};
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let attention = |m: &TransformerLm| -> Attention {
    ///     let path = select(m.as_dyn()).at_instances_of::<Attention>().paths()[0].clone();
    ///     m.get_at(&path).unwrap().downcast_ref::<Attention>().unwrap().clone()
    /// };
    /// assert!(attention(&model).uses_fused_path(&Context::new()));
    /// // A layer put in the scores slot: the general path, so the layer sees the scores.
    /// let edited = select(model)
    ///     .at_instances_of::<Attention>()
    ///     .at_path("scores")?
    ///     .insert_after(Identity)?;
    /// assert!(!attention(&edited).uses_fused_path(&Context::new()));
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn uses_fused_path(&self, cx: &Context) -> bool {
        self.fused_scores(cx).is_some()
    }

    /// The standard scores slot the fused path replaces, when [`uses_fused_path`]
    /// (Self::uses_fused_path) holds.
    fn fused_scores(&self, _cx: &Context) -> Option<fused::StandardScores<'_>> {
        fused::standard_scores(&self.scores, &self.kv_axis)
    }

    /// The fused path while a tape records: the kernel runs unrecorded and the tape gets
    /// one node (inputs: queries, keys, values) whose rule is the fused backward
    /// ([`RecordedCore::gradients`]). The recording keeps no score-sized array, and a
    /// recorded forward costs what an unrecorded one does; the backward pays one more
    /// scores product per layer. `None` when the kernel declines (the general path then
    /// runs, recorded step by step).
    fn fused_recorded(
        &self,
        q: &NamedArray,
        k: &NamedArray,
        v: &NamedArray,
        standard: fused::StandardScores<'_>,
        cx: &Context,
    ) -> Result<Option<NamedArray>> {
        let mixed = {
            let _paused = crate::nx::pause();
            fused::attend(q, k, v, &self.head_axis, &self.kv_axis, standard, cx)
        };
        let Some(mixed) = mixed else {
            return Ok(None);
        };
        let saved = RecordedCore {
            q: crate::nx::untraced(q.clone()),
            k: crate::nx::untraced(k.clone()),
            v: crate::nx::untraced(v.clone()),
            scores: self.scores.clone(),
            head_axis: self.head_axis.clone(),
            kv_axis: self.kv_axis.clone(),
            cx: cx.replay(),
            path: cx.path(),
        };
        let out = crate::nx::record("fused_attention", &[q, k, v], Ok(mixed), move |_| {
            Box::new(move |g, wants| saved.gradients(g, wants))
        })?;
        Ok(Some(out))
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

/// What the recorded fused attention keeps for its rule: its inputs (without their traces),
/// the `scores` slot (standard layers, no parameters) and a replay context for its side
/// inputs (positions, masks).
struct RecordedCore {
    q: NamedArray,
    k: NamedArray,
    v: NamedArray,
    scores: AnyLayer,
    head_axis: AxisName,
    kv_axis: AxisName,
    cx: Context,
    path: crate::tree::KeyPath,
}

impl RecordedCore {
    /// The gradients of the wanted inputs (queries, keys, values) given `g`, the gradient of
    /// the weighted sum: the fused backward (probabilities recomputed block by block), or,
    /// when it declines, the general path re-run under a local tape, then its backward.
    fn gradients(
        mut self,
        g: &NamedArray,
        wants: &[bool],
    ) -> std::result::Result<Vec<Option<NamedArray>>, crate::nx::GradError> {
        use crate::nx::{GradError, Tape};
        let want = |i: usize| wants.get(i).copied().unwrap_or(false);
        if let Some(standard) = fused::standard_scores(&self.scores, &self.kv_axis) {
            let wanted = fused::Wanted {
                q: want(0),
                k: want(1),
                v: want(2),
            };
            let fused = fused::attend_backward(
                &self.q,
                &self.k,
                &self.v,
                g,
                &self.head_axis,
                &self.kv_axis,
                standard,
                &self.cx,
                wanted,
            );
            if let Some(grads) = fused {
                return Ok(grads.into());
            }
        }
        let fail = |e: &dyn std::fmt::Display| GradError::Rematerialize {
            path: self.path.to_string(),
            message: e.to_string(),
        };
        let tape = Tape::start()?;
        let watch = |x: &NamedArray, i: usize| -> std::result::Result<NamedArray, GradError> {
            if want(i) {
                tape.watch(x)
            } else {
                Ok(x.clone())
            }
        };
        let (q, k, v) = (watch(&self.q, 0)?, watch(&self.k, 1)?, watch(&self.v, 2)?);
        let mixed = attend(&q, &k, &self.head_axis, &self.kv_axis)
            .and_then(|scores| {
                self.cx
                    .call_child(Key::field("scores"), self.scores.get(), scores)
            })
            .and_then(|weights| Ok(weights.contract(&v, &[self.kv_axis.as_str()])?))
            .map_err(|e| fail(&e))?;
        let wrt: Vec<&NamedArray> = [(&q, 0), (&k, 1), (&v, 2)]
            .into_iter()
            .filter(|&(_, i)| want(i))
            .map(|(x, _)| x)
            .collect();
        let mut local = tape.gradients_seeded(mixed, g, &wrt)?.into_iter();
        Ok((0..3)
            .map(|i| {
                if want(i) {
                    local.next().flatten()
                } else {
                    None
                }
            })
            .collect())
    }
}

/// The keys and values seen so far by one attention layer, kept in the [`Context`].
///
/// The buffers are allocated once, `capacity` long along the kv axis (the length the
/// generation asked for, see [`KVCachingAttention::capacity`]); each call writes its new keys
/// and values in place after the first `len`, and attention reads the first `len` through a
/// slice (a stride change, no copy). A call past the capacity regrows the buffers to twice
/// what is needed, so even an unsized cache copies each entry O(1) times on average.
#[derive(Clone, Debug)]
pub struct KVCache {
    /// Keys, along `kv_seq`: the first `len` entries are filled.
    pub keys: NamedArray,
    /// Values, along `kv_seq`: the first `len` entries are filled.
    pub values: NamedArray,
    /// How many positions are filled.
    pub len: usize,
}

impl KVCache {
    /// The filled keys (a view of the buffer).
    pub fn filled_keys(&self, kv_axis: &str) -> Result<NamedArray> {
        Ok(self.keys.slice_axis(kv_axis, 0..self.len)?)
    }

    /// The filled values (a view of the buffer).
    pub fn filled_values(&self, kv_axis: &str) -> Result<NamedArray> {
        Ok(self.values.slice_axis(kv_axis, 0..self.len)?)
    }

    /// The positions the buffers hold along `kv_axis`.
    pub fn capacity(&self, kv_axis: &str) -> usize {
        self.keys.axis_size(kv_axis).unwrap_or(0)
    }

    /// A cache holding `keys` and `values` (the first call's), in buffers `capacity` long.
    fn start(
        keys: NamedArray,
        values: NamedArray,
        kv_axis: &str,
        capacity: usize,
    ) -> Result<KVCache> {
        let len = kv_len(&keys, kv_axis)?;
        let capacity = capacity.max(len);
        Ok(KVCache {
            keys: buffer_with(&keys, kv_axis, capacity)?,
            values: buffer_with(&values, kv_axis, capacity)?,
            len,
        })
    }

    /// Appends this call's keys and values: in place when they fit, else into buffers twice
    /// the needed length.
    fn append(mut self, keys: &NamedArray, values: &NamedArray, kv_axis: &str) -> Result<KVCache> {
        let added = kv_len(keys, kv_axis)?;
        let needed = self.len + added;
        if needed > self.capacity(kv_axis) {
            let filled_keys = self.filled_keys(kv_axis)?;
            let filled_values = self.filled_values(kv_axis)?;
            let mut grown = KVCache::start(filled_keys, filled_values, kv_axis, 2 * needed)?;
            // Drops the old buffers before writing, so the new ones are not shared.
            drop(self);
            grown.write(keys, values, kv_axis)?;
            return Ok(grown);
        }
        self.write(keys, values, kv_axis)?;
        Ok(self)
    }

    /// Writes keys and values at `len..len + added` (the caller checked they fit).
    fn write(&mut self, keys: &NamedArray, values: &NamedArray, kv_axis: &str) -> Result<()> {
        let added = kv_len(keys, kv_axis)?;
        write_along(&mut self.keys, keys, kv_axis, self.len)?;
        write_along(&mut self.values, values, kv_axis, self.len)?;
        self.len += added;
        Ok(())
    }
}

fn kv_len(x: &NamedArray, kv_axis: &str) -> Result<usize> {
    x.axis_size(kv_axis).ok_or_else(|| {
        LayerError::Config(format!(
            "keys and values need the kv axis {kv_axis:?}; got {}",
            x.named_shape()
        ))
        .into()
    })
}

/// A buffer shaped like `x` but `capacity` long along `kv_axis`, holding `x` at the start.
fn buffer_with(x: &NamedArray, kv_axis: &str, capacity: usize) -> Result<NamedArray> {
    let len = kv_len(x, kv_axis)?;
    if len == capacity {
        return Ok(x.clone());
    }
    let shape = NamedShape::new(
        x.named_shape()
            .iter()
            .map(|(n, s)| (n.clone(), if n == kv_axis { capacity } else { s })),
    );
    let mut buffer = NamedArray::zeros(shape)?;
    write_along(&mut buffer, x, kv_axis, 0)?;
    Ok(buffer)
}

/// Writes `src` into `dst` at `start..` along `axis`, in place (`dst` copies first only if
/// its elements are shared with another array, which the cache's buffers are not between
/// calls). The two must have the same axes, f32 elements and no positional axes.
fn write_along(dst: &mut NamedArray, src: &NamedArray, axis: &str, start: usize) -> Result<()> {
    use crate::nx::Storage;
    let n = kv_len(src, axis)?;
    let mismatch = || -> crate::Error {
        LayerError::Config(format!(
            "cannot write {} {} into the KV cache {} {} at {axis:?} {start}",
            src.dtype(),
            src.full_shape(),
            dst.dtype(),
            dst.full_shape(),
        ))
        .into()
    };
    let same_axes = src.axis_names().len() == dst.axis_names().len()
        && dst.axis_names().iter().all(|a| {
            a == axis
                || src
                    .axis_size(a)
                    .is_some_and(|s| Some(s) == dst.axis_size(a))
        });
    let ax = dst.named_axis(axis).ok_or_else(mismatch)?;
    if !same_axes
        || dst.dtype() != DType::F32
        || src.dtype() != DType::F32
        || dst.n_pos() != 0
        || src.n_pos() != 0
        || start + n > dst.axis_size(axis).unwrap_or(0)
    {
        return Err(mismatch());
    }
    let order: Vec<&str> = dst.axis_names().iter().map(AxisName::as_str).collect();
    let src = src.move_to_front(&order)?;
    match (&mut dst.data, &src.data) {
        (Storage::F32(d), Storage::F32(s)) => {
            d.view_mut()
                .slice_axis_mut(ndarray::Axis(ax), ndarray::Slice::from(start..start + n))
                .assign(&s.view());
            Ok(())
        }
        // Both were checked to be f32 above.
        _ => Err(LayerError::Config("the KV cache holds f32 keys and values".into()).into()),
    }
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
    /// Positions the cache's buffers are allocated for on the first call (the prompt plus
    /// the tokens to generate); 0 sizes them to the first call and grows them by doubling.
    #[serde(default)]
    pub capacity: usize,
}

impl KVCachingAttention {
    /// The cached form of an attention layer (same parameters, same slots), whose cache
    /// grows as needed.
    pub fn from_uncached(attention: Attention) -> KVCachingAttention {
        KVCachingAttention {
            attention,
            capacity: 0,
        }
    }

    /// The cached form of an attention layer whose cache is allocated once for `capacity`
    /// positions.
    pub fn with_capacity(attention: Attention, capacity: usize) -> KVCachingAttention {
        KVCachingAttention {
            attention,
            capacity,
        }
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
        let q = cx.call_child(Key::field("query"), attn.query.get(), x.clone())?;
        let (k_new, v_new) = attn.keys_and_values(&x, cx)?;
        let cache = match cx.take_state::<KVCache>() {
            Some(prev) => prev.append(&k_new, &v_new, kv_axis)?,
            None => KVCache::start(k_new, v_new, kv_axis, self.capacity)?,
        };
        drop(x);
        let total = cache.len;
        let previous = cx.remove_side_input(KV_TOKEN_POSITIONS);
        cx.set_side_input(KV_TOKEN_POSITIONS, NamedArray::arange(kv_axis, total)?);
        let out = match (cache.filled_keys(kv_axis), cache.filled_values(kv_axis)) {
            (Ok(keys), Ok(values)) => attn.finish(q, &keys, &values, cx),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match previous {
            Some(p) => cx.set_side_input(KV_TOKEN_POSITIONS, p),
            None => {
                cx.remove_side_input(KV_TOKEN_POSITIONS);
            }
        }
        cx.set_state(cache);
        out
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
            .peer::<KVCachingAttention>()
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
