//! `Checkpointed`: a layer whose activations are recomputed in the backward instead of kept
//! (gradient checkpointing, or rematerialization).

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult};
use crate::nn::{AnyLayer, Context, Layer, LayerError, Parameter};
use crate::nx::{self, NamedArray, Tape, Trace};
use crate::tree::{Key, KeyPath, Walk, walk, walk_mut};

/// Runs its `body` unchanged, but under a recording gradient tape keeps only the body's
/// input for the backward, and re-runs the body there to get its gradients.
///
/// Without a tape it is the body: same output, same axis flow, same errors. While a
/// [`Tape`] records (in [`value_and_grad`](crate::grad::value_and_grad)), the body runs
/// with the recording paused, and the tape gets one node whose inputs are the body's input
/// and every array of the body that descends from a watched one (its trainable
/// parameters). That node's rule re-runs the body under a fresh local tape and
/// backpropagates through the local recording. So the activations inside the body live
/// only while its own rule runs: with every transformer block checkpointed, a gradient step
/// keeps one block input per block plus one block's recording at a time, at the price of a
/// second forward of each block. Gradients are those of the body (to float rounding).
///
/// The re-run sees what the first run saw: it keeps the side inputs of the run's
/// [`Context`] (positions, masks, token ids), its random stream position (so dropout draws
/// the same masks), its mode and checks, and the path. It writes into a context of its own,
/// so nothing the body leaves in the run's context is doubled: captures are taken once, by
/// the first run. Three consequences:
/// - a capture made inside the body holds a value without gradient: a loss computed from
///   it does not differentiate through the body (checkpoint the blocks around it, not it);
/// - a [`GradSite`](crate::grad::GradSite) inside the body reports no gradient; put sites
///   between checkpointed blocks;
/// - a body that keeps state in the context (a KV cache) is run without checkpointing when
///   the context already holds its state, and is an error when its first run leaves state
///   behind while a tape records (the re-run could not reproduce it).
///
/// The body is reached by the field `body` (`blocks[0].body.attn...`), and selectors see
/// through it like any wrapper. `penzai::interpret::checkpoint` wraps every selected layer.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Checkpointed, ConstantRescale};
///
/// let layer = Checkpointed::new(ConstantRescale { by: 2.0 });
/// let y = layer.call(NamedArray::ones(&[("embedding", 2)])?, &mut Context::new())?;
/// assert_eq!(y.to_f32_vec(), [2.0, 2.0]);
/// assert_eq!(layer.get_at(&"body".parse()?)?.type_name(), "ConstantRescale");
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Checkpointed {
    /// The layer whose activations are recomputed.
    pub body: AnyLayer,
}

impl Checkpointed {
    /// Checkpoints `body`.
    pub fn new(body: impl Layer) -> Checkpointed {
        Checkpointed {
            body: AnyLayer::new(body),
        }
    }
}

impl Layer for Checkpointed {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let body = self.body.get();
        if !Tape::is_recording() {
            return cx.call_child(Key::field("body"), body, x);
        }
        let here = cx.path();
        if cx.has_state_under(&here) {
            // A decode step reads its cache: the re-run could not; record it as usual.
            return cx.call_child(Key::field("body"), body, x);
        }
        let traced = traced_arrays(body);
        let x_trace = nx::recorded_trace(&x);
        if x_trace.is_none() && traced.is_empty() {
            return cx.call_child(Key::field("body"), body, x);
        }
        let replay = cx.replay();
        let y = {
            let _paused = nx::pause();
            cx.call_child(Key::field("body"), body, x.clone())?
        };
        if cx.has_state_under(&here) {
            return Err(LayerError::Check(
                "a checkpointed layer cannot keep state (a KV cache) in the context while a \
                 gradient tape records: its re-run in the backward could not reproduce it; \
                 remove the checkpoint or run without the cache"
                    .to_owned(),
            )
            .into());
        }
        let mut inputs: Vec<&NamedArray> = vec![&x];
        inputs.extend(traced.iter().map(|(_, a)| a));
        let saved = Saved {
            body: self.body.clone(),
            x: nx::untraced(x.clone()),
            params: traced
                .iter()
                .map(|(t, a)| (*t, nx::untraced(a.clone())))
                .collect(),
            cx: replay,
            path: here,
        };
        Ok(nx::record("checkpoint", &inputs, Ok(y), move |_| {
            Box::new(move |g, wants| saved.gradients(g, wants))
        })?)
    }

    /// The body's flow.
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        check.child(Key::field("body"), self.body.get(), x)
    }
}

/// What the checkpoint node keeps for its rule: the body, its input, the traced arrays of
/// the body (by their trace on the outer tape, without it) and a replay context.
struct Saved {
    body: AnyLayer,
    x: NamedArray,
    params: Vec<(Trace, NamedArray)>,
    cx: Context,
    path: KeyPath,
}

impl Saved {
    /// Re-runs the body under a local tape watching the wanted inputs (the block input
    /// first, then the traced arrays) and returns their gradients given `g`, the gradient
    /// of the body's output.
    fn gradients(
        mut self,
        g: &NamedArray,
        wants: &[bool],
    ) -> std::result::Result<Vec<Option<NamedArray>>, nx::GradError> {
        let fail = |path: &KeyPath, e: &dyn std::fmt::Display| nx::GradError::Rematerialize {
            path: path.to_string(),
            message: e.to_string(),
        };
        let tape = Tape::start()?;
        let want = |i: usize| wants.get(i).copied().unwrap_or(false);
        let x = if want(0) {
            tape.watch(&self.x)?
        } else {
            self.x.clone()
        };
        let mut watched: Vec<Option<NamedArray>> = Vec::with_capacity(self.params.len());
        for (i, (_, a)) in self.params.iter().enumerate() {
            watched.push(if want(i + 1) {
                Some(tape.watch(a)?)
            } else {
                None
            });
        }
        let mut body = self.body.clone();
        let params = &self.params;
        walk_mut(body.get_mut(), &mut |_, node| {
            let slot = if let Some(p) = node.downcast_mut::<Parameter>() {
                &mut p.value
            } else if let Some(a) = node.downcast_mut::<NamedArray>() {
                a
            } else {
                return Walk::Continue;
            };
            if let Some(i) = params.iter().position(|(t, _)| slot.trace == Some(*t)) {
                *slot = match &watched[i] {
                    Some(w) => w.clone(),
                    None => nx::untraced(slot.clone()),
                };
            }
            Walk::Continue
        });
        let y = self
            .cx
            .call_child(Key::field("body"), body.get(), x.clone())
            .map_err(|e| fail(&self.path, &e))?;
        drop(body);
        let mut wrt: Vec<&NamedArray> = vec![];
        if want(0) {
            wrt.push(&x);
        }
        wrt.extend(watched.iter().flatten());
        let mut local = tape.gradients_seeded(y, g, &wrt)?.into_iter();
        let mut out = Vec::with_capacity(wants.len());
        out.push(if want(0) {
            local.next().flatten()
        } else {
            None
        });
        for w in &watched {
            out.push(match w {
                Some(_) => local.next().flatten(),
                None => None,
            });
        }
        Ok(out)
    }
}

/// The distinct arrays of `body` (parameter values and plain arrays) that descend from a
/// watched array of the recording tape, with their trace; tied slots count once.
fn traced_arrays(body: &dyn Layer) -> Vec<(Trace, NamedArray)> {
    let mut out: Vec<(Trace, NamedArray)> = vec![];
    walk(body, &mut |_, node| {
        let array = if let Some(p) = node.downcast_ref::<Parameter>() {
            &p.value
        } else if let Some(a) = node.downcast_ref::<NamedArray>() {
            a
        } else {
            return Walk::Continue;
        };
        if let Some(t) = nx::recorded_trace(array)
            && !out.iter().any(|(seen, _)| *seen == t)
        {
            out.push((t, array.clone()));
        }
        Walk::Continue
    });
    out
}

#[cfg(test)]
mod tests;
