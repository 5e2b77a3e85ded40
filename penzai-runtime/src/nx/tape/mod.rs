//! Reverse-mode differentiation over `NamedArray` operations: a tape recorded during a forward.
//!
//! While a [`Tape`] is alive on a thread, every differentiable `nx` operation whose inputs
//! descend from a [watched](Tape::watch) array appends one node to the tape: which arrays it
//! read and a rule that maps the gradient of its result to the gradients of its inputs.
//! [`Tape::gradients`] walks the nodes backwards from a scalar loss. Gradients keep the named
//! axes of the arrays they belong to, so the gradient of a `{embedding, hidden}` weight is a
//! `{embedding, hidden}` array whatever order the kernels used.
//!
//! **Why a tape in `nx`, not an autodiff engine under `NamedArray`.** The forward of a model
//! runs on `nx`'s own kernels (packed GEMM with 16-bit operands widened inside, named
//! reductions, gathers), on storage that may be borrowed from a memory-mapped checkpoint.
//! An engine such as `burn-autodiff` or `candle` owns its tensors: every op would convert
//! into and out of its type (a copy of the activations per op, 16-bit weights widened in
//! memory), and named axes would be lost below it and rebuilt above it. A tape costs one
//! thread-local check per op when nothing records; the values it keeps for the backward are
//! the shared, copy-on-write arrays the forward produced (no copy); its rules are written
//! with the same named ops, so the backward of a contraction is again a GEMM by name; and it
//! reproduces torch autograd on the GPT-2 and Llama test checkpoints to 7e-7 relative
//! (`tests/grad_torch.rs`). The time and memory of the backward against the forward are
//! measured by `examples/bench_grad.rs` (numbers in `BENCHMARKS.md`). Any layer built from
//! `nx` operations is differentiable with no extra code; a fused kernel either falls back to
//! its general path while [`Tape::is_recording`] or, as the fused attention does, runs
//! unrecorded and records one node whose rule re-runs the general path under a local tape
//! (the same rematerialization as a checkpoint, for one layer).
//!
//! **What the tape keeps.** Each rule keeps only what its own backward reads, chosen when
//! the op is recorded: a shape where a shape is enough (sums, means, adds, `where_`'s
//! branches, slices, gathers); the other factor of a product or contraction only when the
//! input it differentiates can receive a gradient (`x` times a frozen weight keeps the
//! weight, not `x`); the output instead of the input where the derivative is a function of
//! the output (`exp`, `tanh`, `sqrt`, `rsqrt`, `softmax`, `log_softmax`); and, for the
//! output of `silu`/`gelu_*` read by a product or contraction, the recipe to compute it
//! again from the activation's input, which its own rule keeps anyway. A rule's values are
//! dropped as soon as it has run (a product's or contraction's as soon as each side is
//! read), and the elementwise and softmax backwards run in one pass over raw elements.
//! [`Tape::release_nodes`] measures what a recording keeps, node by node.
//!
//! **Rematerialization.** A tape keeps every value its rules read until the backward, so a
//! model's recorded forward holds all its activations at once. A
//! [`Checkpointed`](crate::nn::Checkpointed) layer trades that memory for time: it runs its
//! body with the recording paused, records one node for the whole body, and its rule re-runs
//! the body under a second tape, local to the rule (a rule may start one: [`Tape::gradients`]
//! takes the recording off the thread before running the rules), and backpropagates through
//! that local recording from the gradient the outer backward hands it.
//!
//! Operations that apply an arbitrary Rust closure to numbers (`map_f32`,
//! `map_f32_inplace`, `nmap` over raw views) have no rule: a gradient that would have to
//! pass through one is [`GradError::NoRule`] naming the operation, never a silent zero.
//! Write the function with `nx` operations instead (`softplus`, `where_`, ...). Operations
//! that run a closure *over arrays* are differentiated through it: `scan`'s steps are
//! recorded like any other ops, and `nmap_any`/`nmap_many` have a real gradient when every
//! call builds its output with `nx` operations (otherwise, again, `NoRule` naming
//! `nmap_any`). Indexed updates (`at(..).set/add/mul/min/max/apply`, scatter-add),
//! dictionary indexing and the positional-axis operations have rules. Integer and boolean
//! results (comparisons, `argmax`, casts to `i64`) are not differentiable and carry no
//! trace.
//!
//! ```
//! use penzai::nx::{NamedArray, Tape};
//!
//! let w = NamedArray::from_f32(&[("embedding", 2), ("hidden", 3)], vec![1., 2., 3., 4., 5., 6.])?;
//! let x = NamedArray::from_f32(&[("embedding", 2)], vec![1., -1.])?;
//! let tape = Tape::start()?;
//! let w = tape.watch(&w)?;
//! let loss = x.contract(&w, &["embedding"])?.square()?.sum_all()?;
//! let grads = tape.gradients(&loss, &[&w])?;
//! // d/dw sum_h (x.w_h)^2 = 2 (x.w_h) x_e
//! let gw = grads[0].as_ref().expect("w reaches the loss");
//! assert_eq!(gw.named_shape().to_string(), "{embedding: 2, hidden: 3}");
//! assert_eq!(gw.order_as(&["embedding", "hidden"])?.to_f32_vec(), [-6., -6., -6., 6., 6., 6.]);
//! # Ok::<(), penzai::Error>(())
//! ```

mod rules;
mod update_rule;

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use super::array::NamedArray;
use super::dtype::DType;
use super::error::AxisError;
use super::shape::ArrayShape;

pub(crate) use rules::*;
pub(crate) use update_rule::{UpdateRecord, indexed_update};

/// Where an array sits on the recording tape: which tape, which node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trace {
    tape: u64,
    node: usize,
}

/// Maps the gradient of an op's result to the gradients of its inputs. The flags say which
/// inputs need a gradient; a rule may skip the others (a frozen weight's GEMM).
pub(crate) type Backward =
    Box<dyn FnOnce(&NamedArray, &[bool]) -> Result<Vec<Option<NamedArray>>, GradError>>;

struct Node {
    op: &'static str,
    /// The node of each input, `None` for inputs that carry no trace.
    inputs: Vec<Option<usize>>,
    /// `None` for watched arrays (leaves).
    backward: Option<Backward>,
    /// How to recompute the node's output from a value its own rule keeps, when that is
    /// cheap: a later rule that reads the output keeps this instead of the output.
    recompute: Option<Recompute>,
}

/// An elementwise function of an array that its rule keeps anyway (the input of `silu`,
/// `gelu_*`): the recipe of that op's output, so that a rule reading the output (the
/// product of a gated MLP, the contraction after an activation) need not keep it alive.
#[derive(Clone)]
pub(crate) struct Recompute {
    op: &'static str,
    input: NamedArray,
    f: fn(f32) -> f32,
}

impl Recompute {
    /// The output, computed again exactly as the forward did.
    pub(crate) fn value(&self) -> Result<NamedArray, AxisError> {
        self.input.scalar_op(self.op, self.f)
    }
}

/// The recipe of `x` when `x` is the output of an op recorded with one on the recording
/// tape ([`record_recomputable`]).
pub(crate) fn recomputable(x: &NamedArray) -> Option<Recompute> {
    ACTIVE.with(|active| {
        let active = active.borrow();
        let rec = active.as_ref()?;
        let t = x.trace.filter(|t| t.tape == rec.id)?;
        rec.nodes.get(t.node)?.recompute.clone()
    })
}

struct Recording {
    id: u64,
    nodes: Vec<Node>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

static NEXT_TAPE: AtomicU64 = AtomicU64::new(1);

/// Why gradients could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradError {
    /// `Tape::start` while another tape records on this thread.
    #[error(
        "a gradient tape is already recording on this thread; finish it before starting another"
    )]
    AlreadyRecording,
    /// The tape was dropped or finished (another `Tape` took over the thread).
    #[error("the gradient tape is no longer recording")]
    NotRecording,
    /// The loss has more than one element.
    #[error("the loss must be one number, but has shape {shape}")]
    LossNotScalar {
        /// The loss's shape.
        shape: ArrayShape,
    },
    /// Only float arrays have gradients.
    #[error("cannot watch a {dtype:?} array: only f32, f16 and bf16 arrays have gradients")]
    NotFloat {
        /// The array's dtype.
        dtype: DType,
    },
    /// A gradient had to flow through an operation without a rule.
    #[error(
        "no gradient through `{op}`: it applies an arbitrary closure; write the computation with nx operations"
    )]
    NoRule {
        /// The operation.
        op: &'static str,
    },
    /// The re-run of a checkpointed layer during the backward failed (its error, as text:
    /// the run's errors are not `Clone`).
    #[error("re-running the checkpointed layer at {path} for its gradient failed: {message}")]
    Rematerialize {
        /// The checkpointed layer's path.
        path: String,
        /// The re-run's error.
        message: String,
    },
    /// A rule was asked for the gradient of an input it kept no values for: it decided when
    /// the op was recorded that the input could not receive one (a bug in a rule, reported
    /// rather than hidden).
    #[error("the gradient rule of `{op}` kept no values for the gradient of its input {input}")]
    NotSaved {
        /// The operation.
        op: &'static str,
        /// The input whose gradient was asked for (0 for the first).
        input: usize,
    },
    /// A rule failed on the shapes it was given (a bug in a rule, reported rather than hidden).
    #[error("the gradient rule of `{op}` failed: {source}")]
    Rule {
        /// The operation.
        op: &'static str,
        /// The array error.
        source: AxisError,
    },
}

/// A recording of the differentiable operations run on this thread while it is alive.
///
/// Start one, [`watch`](Tape::watch) the arrays to differentiate with respect to (only
/// computations downstream of a watched array are recorded), run the forward, then ask for
/// [`gradients`](Tape::gradients). One tape records per thread at a time; dropping it stops
/// the recording. See the [module documentation](crate::nx::tape) for the design and an example.
pub struct Tape {
    id: u64,
    // The recording lives in a thread-local: a tape must stay on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Tape {
    /// Starts recording on this thread.
    pub fn start() -> Result<Tape, GradError> {
        ACTIVE.with(|active| {
            let mut active = active.borrow_mut();
            if active.is_some() {
                return Err(GradError::AlreadyRecording);
            }
            let id = NEXT_TAPE.fetch_add(1, Ordering::Relaxed);
            *active = Some(Recording { id, nodes: vec![] });
            Ok(Tape {
                id,
                _not_send: PhantomData,
            })
        })
    }

    /// True while a tape records on this thread (the fused attention then records one node
    /// whose rule re-runs the general path, whose operations have gradient rules).
    pub fn is_recording() -> bool {
        ACTIVE.with(|active| active.borrow().is_some())
    }

    /// The same array, marked so that gradients with respect to it can be asked for. If it
    /// already descends from a watched array, the mark is an identity step: gradients still
    /// flow through it to what it came from.
    pub fn watch(&self, x: &NamedArray) -> Result<NamedArray, GradError> {
        watch_on(Some(self.id), x)
    }

    /// [`watch`](Tape::watch) on whichever tape records on this thread (a layer inside a
    /// forward has no handle on the tape): [`GradError::NotRecording`] when none does.
    pub fn watch_current(x: &NamedArray) -> Result<NamedArray, GradError> {
        watch_on(None, x)
    }

    /// Ends the recording and returns the gradient of `loss` (one element) with respect to
    /// each array of `wrt`, which must be results of [`watch`](Tape::watch) or of operations
    /// recorded on this tape. `None` where the loss does not depend on the array.
    pub fn gradients(
        self,
        loss: &NamedArray,
        wrt: &[&NamedArray],
    ) -> Result<Vec<Option<NamedArray>>, GradError> {
        let rec = self.take_recording()?;
        if loss.len() != 1 {
            return Err(GradError::LossNotScalar {
                shape: loss.full_shape(),
            });
        }
        let seed = loss
            .cast(DType::F32)
            .and_then(|l| l.map_f32(|_| 1.0))
            .map_err(|source| GradError::Rule { op: "loss", source })?;
        self.backward_from(rec, loss, seed, wrt)
    }

    /// Ends the recording and returns the gradients of `wrt` given the gradient `seed` of
    /// the array `out` (a vector-Jacobian product: `seed` has `out`'s axes). What a
    /// checkpointed layer's rule runs on the local recording of its re-run. Takes `out` by
    /// value: only its place on the tape is needed, and its elements are freed before the
    /// backward runs.
    pub(crate) fn gradients_seeded(
        self,
        out: NamedArray,
        seed: &NamedArray,
        wrt: &[&NamedArray],
    ) -> Result<Vec<Option<NamedArray>>, GradError> {
        let rec = self.take_recording()?;
        let root = NamedArray {
            trace: out.trace,
            ..NamedArray::scalar(0.0)
        };
        drop(out);
        self.backward_from(rec, &root, untraced(seed.clone()), wrt)
    }

    /// A diagnostic of what the recording keeps alive for the backward: ends the recording
    /// and drops its nodes from the last to the first, reporting for each the bytes that
    /// `live_bytes` (a reading of the process's live heap bytes, such as a counting global
    /// allocator's) fell by when it was dropped. A buffer that several nodes share is counted
    /// once, at the first node that saved it; a buffer something outside the tape still holds
    /// (a parameter, the caller's input) is counted nowhere. `examples/bench_grad.rs`
    /// prints this for one transformer block (`-- --itemize`).
    pub fn release_nodes(
        self,
        mut live_bytes: impl FnMut() -> usize,
    ) -> Result<Vec<ReleasedNode>, GradError> {
        let mut rec = self.take_recording()?;
        let mut out = Vec::with_capacity(rec.nodes.len());
        while let Some(node) = rec.nodes.pop() {
            let op = node.op;
            let before = live_bytes();
            drop(node);
            out.push(ReleasedNode {
                op,
                bytes: before.saturating_sub(live_bytes()),
            });
        }
        out.reverse();
        Ok(out)
    }

    fn take_recording(&self) -> Result<Recording, GradError> {
        ACTIVE
            .with(|active| {
                let mut active = active.borrow_mut();
                match active.as_ref() {
                    Some(r) if r.id == self.id => active.take(),
                    _ => None,
                }
            })
            .ok_or(GradError::NotRecording)
    }

    fn backward_from(
        &self,
        rec: Recording,
        out: &NamedArray,
        seed: NamedArray,
        wrt: &[&NamedArray],
    ) -> Result<Vec<Option<NamedArray>>, GradError> {
        let on_tape = |x: &NamedArray| x.trace.filter(|t| t.tape == self.id).map(|t| t.node);
        let targets: Vec<Option<usize>> = wrt.iter().map(|x| on_tape(x)).collect();
        let Some(root) = on_tape(out) else {
            return Ok(vec![None; wrt.len()]);
        };
        backward(rec.nodes, root, seed, &targets)
    }
}

/// One node of a recording, as [`Tape::release_nodes`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleasedNode {
    /// The operation the node recorded (`"contract"`, `"softmax"`, ...).
    pub op: &'static str,
    /// The heap bytes freed when the node (its rule and the values the rule saved) was
    /// dropped.
    pub bytes: usize,
}

/// Takes the recording off the thread until dropped: operations run meanwhile record
/// nothing (a checkpointed layer's forward). Restores it on drop, even on an error.
pub(crate) struct Paused(Option<Recording>);

/// Pauses the recording tape of this thread, if one records.
pub(crate) fn pause() -> Paused {
    Paused(ACTIVE.with(|active| active.borrow_mut().take()))
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some(rec) = self.0.take() {
            let _ = ACTIVE.try_with(|active| {
                if let Ok(mut active) = active.try_borrow_mut() {
                    *active = Some(rec);
                }
            });
        }
    }
}

/// Where `x` sits on the tape recording on this thread, if it descends from a watched
/// array of it.
pub(crate) fn recorded_trace(x: &NamedArray) -> Option<Trace> {
    ACTIVE.with(|active| {
        let id = active.borrow().as_ref()?.id;
        x.trace.filter(|t| t.tape == id)
    })
}

/// Marks `x` on the tape `id` (or on the recording one, for `None`).
fn watch_on(id: Option<u64>, x: &NamedArray) -> Result<NamedArray, GradError> {
    if !x.dtype().is_float() {
        return Err(GradError::NotFloat { dtype: x.dtype() });
    }
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let rec = active
            .as_mut()
            .filter(|r| id.is_none_or(|id| r.id == id))
            .ok_or(GradError::NotRecording)?;
        let id = rec.id;
        let input = x.trace.filter(|t| t.tape == id).map(|t| t.node);
        let node = rec.nodes.len();
        rec.nodes.push(Node {
            op: "watch",
            inputs: vec![input],
            backward: input.map(|_| -> Backward { Box::new(|g, _| Ok(vec![Some(g.clone())])) }),
            recompute: None,
        });
        let mut out = x.clone();
        out.trace = Some(Trace { tape: id, node });
        Ok(out)
    })
}

impl Drop for Tape {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may be gone already.
        let _ = ACTIVE.try_with(|active| {
            if let Ok(mut active) = active.try_borrow_mut()
                && active.as_ref().is_some_and(|r| r.id == self.id)
            {
                *active = None;
            }
        });
    }
}

/// Runs the rules from `root` back to the leaves, keeping the gradients of `targets`.
fn backward(
    mut nodes: Vec<Node>,
    root: usize,
    seed: NamedArray,
    targets: &[Option<usize>],
) -> Result<Vec<Option<NamedArray>>, GradError> {
    // A node needs a gradient when a target is at or upstream of it.
    let mut needed = vec![false; nodes.len()];
    for &t in targets.iter().flatten() {
        needed[t] = true;
    }
    for i in 0..nodes.len() {
        if !needed[i] && nodes[i].inputs.iter().flatten().any(|&j| needed[j]) {
            needed[i] = true;
        }
    }
    let mut is_target = vec![false; nodes.len()];
    for &t in targets.iter().flatten() {
        is_target[t] = true;
    }
    let mut grads: Vec<Option<NamedArray>> = vec![None; nodes.len()];
    grads[root] = Some(untraced(seed));
    let mut kept: Vec<Option<NamedArray>> = vec![None; nodes.len()];
    for i in (0..=root).rev() {
        // The node's rule and recipe, with the values they keep, are freed once the walk
        // has passed it, whether or not a gradient reached it.
        let node = &mut nodes[i];
        let rule = node.backward.take();
        node.recompute = None;
        if !needed[i] {
            continue;
        }
        let Some(g) = grads[i].take() else { continue };
        let wants: Vec<bool> = node
            .inputs
            .iter()
            .map(|j| j.is_some_and(|j| needed[j]))
            .collect();
        if let Some(rule) = rule
            && wants.iter().any(|&w| w)
        {
            let op = node.op;
            let inputs = node.inputs.clone();
            let input_grads = rule(&g, &wants)?;
            for ((j, gj), want) in inputs.iter().zip(input_grads).zip(&wants) {
                if let (Some(j), Some(gj), true) = (j, gj, want) {
                    let gj = untraced(gj);
                    grads[*j] = Some(match grads[*j].take() {
                        None => gj,
                        Some(acc) => {
                            (&acc + &gj).map_err(|source| GradError::Rule { op, source })?
                        }
                    });
                }
            }
        }
        if is_target[i] {
            kept[i] = Some(g);
        }
    }
    Ok(targets
        .iter()
        .map(|t| t.and_then(|t| kept[t].clone()))
        .collect())
}

/// `x` without its trace: a constant for any tape.
pub(crate) fn untraced(mut x: NamedArray) -> NamedArray {
    x.trace = None;
    x
}

/// The nodes of the recording tape for `inputs`, or `None` when no tape records or no input
/// descends from a watched array (then nothing is recorded).
fn traced_inputs(inputs: &[&NamedArray]) -> Option<(u64, Vec<Option<usize>>)> {
    ACTIVE.with(|active| {
        let active = active.borrow();
        let id = active.as_ref()?.id;
        let nodes: Vec<Option<usize>> = inputs
            .iter()
            .map(|x| x.trace.filter(|t| t.tape == id).map(|t| t.node))
            .collect();
        nodes.iter().any(Option::is_some).then_some((id, nodes))
    })
}

/// Records `out = op(inputs)` with the rule `make_rule(out)` builds, when a tape records and
/// an input is traced; otherwise returns `out` as it is. The rule is built only when needed,
/// so an op pays one thread-local check when nothing records.
pub(crate) fn record(
    op: &'static str,
    inputs: &[&NamedArray],
    out: Result<NamedArray, AxisError>,
    make_rule: impl FnOnce(&NamedArray) -> Backward,
) -> Result<NamedArray, AxisError> {
    let mut out = out?;
    let Some((id, nodes)) = traced_inputs(inputs) else {
        return Ok(out);
    };
    if !out.dtype().is_float() {
        return Ok(out);
    }
    let backward = make_rule(&out);
    out.trace = push(id, op, nodes, Some(backward));
    Ok(out)
}

/// [`record`] for an elementwise op `out = f(x)` whose rule keeps `x`: the node also keeps
/// the recipe ([`Recompute`]), so that rules reading `out` keep `x` (already kept) instead.
pub(crate) fn record_recomputable(
    op: &'static str,
    x: &NamedArray,
    out: Result<NamedArray, AxisError>,
    make_rule: impl FnOnce(&NamedArray) -> Backward,
    f: fn(f32) -> f32,
) -> Result<NamedArray, AxisError> {
    let mut out = out?;
    let Some((id, nodes)) = traced_inputs(&[x]) else {
        return Ok(out);
    };
    if !out.dtype().is_float() {
        return Ok(out);
    }
    let backward = make_rule(&out);
    let recompute = Recompute {
        op,
        input: untraced(x.clone()),
        f,
    };
    out.trace = push_node(id, op, nodes, Some(backward), Some(recompute));
    Ok(out)
}

/// Records an operation without a gradient rule: a gradient that reaches it is a
/// [`GradError::NoRule`] error.
pub(crate) fn record_opaque(
    op: &'static str,
    inputs: &[&NamedArray],
    out: Result<NamedArray, AxisError>,
) -> Result<NamedArray, AxisError> {
    record(op, inputs, out, |_| {
        Box::new(move |_, _| Err(GradError::NoRule { op }))
    })
}

/// Marks `x`, just rewritten in place by `op` (a closure), as the result of an operation
/// without a rule: a gradient that reaches it is a [`GradError::NoRule`] error, never a
/// silent zero. Does nothing when `x` carries no trace of the recording tape.
pub(crate) fn retrace_opaque(op: &'static str, x: &mut NamedArray) {
    let Some((id, nodes)) = traced_inputs(&[&*x]) else {
        x.trace = None;
        return;
    };
    let rule: Backward = Box::new(move |_, _| Err(GradError::NoRule { op }));
    x.trace = push(id, op, nodes, Some(rule));
}

fn push(
    id: u64,
    op: &'static str,
    inputs: Vec<Option<usize>>,
    backward: Option<Backward>,
) -> Option<Trace> {
    push_node(id, op, inputs, backward, None)
}

fn push_node(
    id: u64,
    op: &'static str,
    inputs: Vec<Option<usize>>,
    backward: Option<Backward>,
    recompute: Option<Recompute>,
) -> Option<Trace> {
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let rec = active.as_mut().filter(|r| r.id == id)?;
        let node = rec.nodes.len();
        rec.nodes.push(Node {
            op,
            inputs,
            backward,
            recompute,
        });
        Some(Trace { tape: id, node })
    })
}

#[cfg(test)]
mod tests;
