//! `Context`: the effects of one forward run.

use std::any::Any;
use std::collections::BTreeMap;

use crate::nn::{Layer, LayerError};
use crate::nx::NamedArray;
use crate::tree::{Key, KeyPath};
use crate::{Error, Result};

/// Whether stochastic layers (dropout) draw random numbers or act as the identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Inference: dropout is the identity.
    #[default]
    Deterministic,
    /// Training-style: dropout draws masks from the context's RNG.
    Stochastic,
}

/// The effect handler of one run: named side inputs, captured values, per-layer state, a
/// seeded random stream and the mode.
///
/// A model is immutable data; everything a run reads besides its main input, or leaves
/// behind, lives here. Combinators call their children through
/// [`call_child`](Context::call_child), which keeps track of the current layer's path so
/// that errors name it and state (KV caches) is keyed by it.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::Mode;
/// use penzai::nn::side_inputs::TOKEN_POSITIONS;
///
/// let mut cx = Context::new()
///     .with_side_input(TOKEN_POSITIONS, NamedArray::arange("seq", 4)?)
///     .with_seed(7)
///     .with_mode(Mode::Stochastic);
/// assert!(cx.side_input(TOKEN_POSITIONS).is_some());
/// assert!(cx.side_input("attn_mask").is_none());
/// let a = cx.next_seed();
/// assert_ne!(a, cx.next_seed());
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Debug)]
pub struct Context {
    side_inputs: BTreeMap<String, NamedArray>,
    captures: BTreeMap<KeyPath, NamedArray>,
    state: BTreeMap<KeyPath, Box<dyn AnyState>>,
    seed: u64,
    draws: u64,
    mode: Mode,
    path: Vec<Key>,
    check_finite: bool,
    /// The last output the non-finite check passed, kept alive so that its address cannot be
    /// reused: a combinator returning its last child's output unchanged is not scanned again.
    last_checked: Option<NamedArray>,
    max_memory: Option<usize>,
}

/// Per-layer state stored in a [`Context`] (a KV cache, a counter).
pub trait AnyState: Any + Send + std::fmt::Debug {
    /// This state as `Any`, for downcasting.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// This state as `Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + Send + std::fmt::Debug> AnyState for T {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Default for Context {
    /// An empty context, as [`Context::new`].
    fn default() -> Context {
        // The first context of a process tunes the allocator for large arrays.
        crate::heap::keep_large_allocations();
        Context {
            side_inputs: BTreeMap::new(),
            captures: BTreeMap::new(),
            state: BTreeMap::new(),
            seed: 0,
            draws: 0,
            mode: Mode::default(),
            path: Vec::new(),
            check_finite: false,
            last_checked: None,
            max_memory: None,
        }
    }
}

impl Context {
    /// A deterministic context with seed 0 and nothing in it.
    ///
    /// The first context a process makes also keeps large allocations in the heap
    /// ([`heap::keep_large_allocations`](crate::heap::keep_large_allocations): on glibc,
    /// activations would otherwise arrive as freshly mapped pages each pass).
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds a side input (builder form).
    pub fn with_side_input(mut self, name: impl Into<String>, value: NamedArray) -> Context {
        self.side_inputs.insert(name.into(), value);
        self
    }

    /// Sets the seed of the random stream (builder form).
    pub fn with_seed(mut self, seed: u64) -> Context {
        self.seed = seed;
        self.draws = 0;
        self
    }

    /// Sets the mode (builder form).
    pub fn with_mode(mut self, mode: Mode) -> Context {
        self.mode = mode;
        self
    }

    /// Adds or replaces a side input.
    pub fn set_side_input(&mut self, name: impl Into<String>, value: NamedArray) {
        self.side_inputs.insert(name.into(), value);
    }

    /// Removes a side input, returning it.
    pub fn remove_side_input(&mut self, name: &str) -> Option<NamedArray> {
        self.side_inputs.remove(name)
    }

    /// The side input `name`, if given.
    pub fn side_input(&self, name: &str) -> Option<&NamedArray> {
        self.side_inputs.get(name)
    }

    /// The side input `name`, or an error listing the side inputs that are there.
    pub fn require_side_input(&self, name: &str) -> Result<&NamedArray> {
        self.side_inputs.get(name).ok_or_else(|| {
            Error::Layer(LayerError::MissingSideInput {
                name: name.to_owned(),
                available: self.side_inputs.keys().cloned().collect(),
            })
        })
    }

    /// The names of the side inputs given.
    pub fn side_input_names(&self) -> impl Iterator<Item = &str> {
        self.side_inputs.keys().map(String::as_str)
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Sets the mode.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// A fresh seed from the run's random stream: the `n`-th draw of a context seeded
    /// with `s` is the same on every platform.
    pub fn next_seed(&mut self) -> u64 {
        self.draws += 1;
        split_seed(self.seed, self.draws)
    }

    /// Records `value` under the current layer's path (replacing an earlier capture there).
    pub fn capture(&mut self, value: NamedArray) {
        self.captures.insert(self.path(), value);
    }

    /// Records `value` under an explicit path.
    pub fn capture_at(&mut self, path: KeyPath, value: NamedArray) {
        self.captures.insert(path, value);
    }

    /// Everything captured so far, by path.
    pub fn captures(&self) -> &BTreeMap<KeyPath, NamedArray> {
        &self.captures
    }

    /// Takes the captures out of the context.
    pub fn take_captures(&mut self) -> BTreeMap<KeyPath, NamedArray> {
        std::mem::take(&mut self.captures)
    }

    /// The state stored for the current layer, if it has the type `T`.
    pub fn state<T: AnyState>(&self) -> Option<&T> {
        self.state
            .get(&self.path())
            .and_then(|s| (**s).as_any().downcast_ref::<T>())
    }

    /// Stores state for the current layer.
    pub fn set_state<T: AnyState>(&mut self, value: T) {
        self.state.insert(self.path(), Box::new(value));
    }

    /// Removes the state of the current layer.
    pub fn take_state<T: AnyState>(&mut self) -> Option<T> {
        let path = self.path();
        let boxed = self.state.remove(&path)?;
        if (*boxed).as_any().is::<T>() {
            let any: Box<dyn Any> = boxed;
            any.downcast::<T>().ok().map(|b| *b)
        } else {
            // Not ours to take: put it back.
            self.state.insert(path, boxed);
            None
        }
    }

    /// Paths that hold state (e.g. the attention layers with a KV cache).
    pub fn state_paths(&self) -> impl Iterator<Item = &KeyPath> {
        self.state.keys()
    }

    /// Drops every layer's state (start a new generation).
    pub fn clear_state(&mut self) {
        self.state.clear();
    }

    /// The path of the layer being run (the root while no combinator has descended).
    pub fn path(&self) -> KeyPath {
        KeyPath::from_keys(self.path.iter().cloned())
    }

    /// Descends one key without calling a layer (for layers that run their grandchildren
    /// directly); pair with [`leave`](Context::leave).
    pub fn enter(&mut self, key: Key) {
        self.path.push(key);
    }

    /// Undoes one [`enter`](Context::enter).
    pub fn leave(&mut self) {
        self.path.pop();
    }

    /// A context that replays this run from here: the same side inputs, random stream
    /// position, mode, checks and current path, with no captures and no state. A
    /// checkpointed layer keeps one to re-run its body, with the same inputs and without
    /// writing into this context, during the backward.
    pub(crate) fn replay(&self) -> Context {
        Context {
            side_inputs: self.side_inputs.clone(),
            captures: BTreeMap::new(),
            state: BTreeMap::new(),
            seed: self.seed,
            draws: self.draws,
            mode: self.mode,
            path: self.path.clone(),
            check_finite: self.check_finite,
            last_checked: None,
            max_memory: self.max_memory,
        }
    }

    /// True when some layer at or below `prefix` keeps state (a KV cache).
    pub(crate) fn has_state_under(&self, prefix: &KeyPath) -> bool {
        self.state.keys().any(|p| p.starts_with(prefix))
    }

    /// Makes every layer check its output for NaN and infinite values (off by default): the
    /// first layer whose output has any fails the run with [`LayerError::NonFinite`] at its
    /// path, instead of NaN logits reaching the caller. The check is one pass over each
    /// layer's output, with no allocation.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::nn::{ConstantRescale, Sequential, Softmax};
    ///
    /// let model = Sequential::new()
    ///     .then_named("scale", ConstantRescale { by: 3e38 })?
    ///     .then_named("scale_again", ConstantRescale { by: 3e38 })?
    ///     .then_named("softmax", Softmax::over("x"))?;
    /// let x = NamedArray::ones(&[("x", 3)])?;
    /// let err = Context::new().with_finite_check(true).run(&model, x).unwrap_err();
    /// assert!(err.to_string().starts_with("at scale_again (ConstantRescale): output has 3 non-finite values"));
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn with_finite_check(mut self, on: bool) -> Context {
        self.check_finite = on;
        self
    }

    /// Turns the check of [`with_finite_check`](Context::with_finite_check) on or off.
    pub fn set_finite_check(&mut self, on: bool) {
        self.check_finite = on;
    }

    /// Whether layers check their outputs for NaN and infinite values.
    pub fn finite_check(&self) -> bool {
        self.check_finite
    }

    /// Caps the size of any one array that layers estimate before making it (attention
    /// scores, which grow with the square of the input length): a larger one fails the run
    /// with [`LayerError::ForwardTooLarge`] naming its shape and size, before anything is
    /// allocated. Without a cap, the estimate is checked against what the allocator grants.
    pub fn with_max_memory(mut self, bytes: usize) -> Context {
        self.max_memory = Some(bytes);
        self
    }

    /// The cap set by [`with_max_memory`](Context::with_max_memory), if any.
    pub fn max_memory(&self) -> Option<usize> {
        self.max_memory
    }

    /// Checks, before it is made, that an f32 array `what` of `shape` fits: within the cap of
    /// [`with_max_memory`](Context::with_max_memory) when there is one, else within what the
    /// allocator grants. The error names the array, its shape and its size.
    pub fn ensure_fits(&self, what: &'static str, shape: &crate::nx::NamedShape) -> Result<()> {
        let elements = shape
            .iter()
            .fold(1u128, |n, (_, size)| n.saturating_mul(size as u128));
        let bytes = elements.saturating_mul(4);
        let fits = match self.max_memory {
            Some(limit) => bytes <= limit as u128,
            None => crate::nx::can_allocate(bytes),
        };
        if fits {
            return Ok(());
        }
        Err(LayerError::ForwardTooLarge {
            what,
            shape: shape.clone(),
            bytes,
            limit: self.max_memory,
        }
        .into())
    }

    /// The output of a layer, or the non-finite error when the check is on and it has any
    /// NaN or infinite value (reported before the caller's location is added, so it names
    /// the layer that produced them).
    ///
    /// An output that is the array the check passed last (a `Sequential` returns its last
    /// step's) is not scanned again: nesting made the check scan most activations three to
    /// five times, 20-39% of the medium forward.
    fn checked_output(&mut self, result: Result<NamedArray>) -> Result<NamedArray> {
        match result {
            Ok(y) if self.check_finite => {
                if self
                    .last_checked
                    .as_ref()
                    .is_some_and(|c| c.same_elements(&y))
                {
                    return Ok(y);
                }
                match y.count_non_finite() {
                    0 => {
                        self.last_checked = Some(y.clone());
                        Ok(y)
                    }
                    count => Err(LayerError::NonFinite {
                        count,
                        total: y.len(),
                        shape: y.named_shape(),
                    }
                    .into()),
                }
            }
            other => other,
        }
    }

    /// Runs `layer`, a child of the current layer reached by `key`: the path grows by
    /// `key` for the duration of the call, and an error gets the child's location.
    pub fn call_child(&mut self, key: Key, layer: &dyn Layer, x: NamedArray) -> Result<NamedArray> {
        self.path.push(key);
        let result = crate::nn::flow::call_checked(layer, x, self);
        let result = self.checked_output(result);
        let result = result.map_err(|e| e.at_layer(|| self.path(), layer.type_name()));
        self.path.pop();
        result
    }

    /// Like [`call_child`](Context::call_child) for a layer several keys below the current
    /// one (`branches`, then `[1]`).
    pub fn call_descendant<const N: usize>(
        &mut self,
        keys: [Key; N],
        layer: &dyn Layer,
        x: NamedArray,
    ) -> Result<NamedArray> {
        let depth = self.path.len();
        self.path.extend(keys);
        let result = crate::nn::flow::call_checked(layer, x, self);
        let result = self.checked_output(result);
        let result = result.map_err(|e| e.at_layer(|| self.path(), layer.type_name()));
        self.path.truncate(depth);
        result
    }

    /// Runs `layer` as the root of a model: errors get the root location when nothing
    /// deeper claimed them.
    pub fn run(&mut self, layer: &dyn Layer, x: NamedArray) -> Result<NamedArray> {
        let result = crate::nn::flow::call_checked(layer, x, self);
        self.checked_output(result)
            .map_err(|e| e.at_layer(|| self.path(), layer.type_name()))
    }
}

/// A seed derived from `base` and a stream position or label hash (SplitMix64 finalizer).
pub fn split_seed(base: u64, n: u64) -> u64 {
    let mut z = base.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a label (FNV-1a), used to derive per-parameter seeds.
pub fn label_hash(label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Identity;

    #[test]
    fn side_inputs_are_listed_when_missing() {
        let cx = Context::new()
            .with_side_input("token_positions", NamedArray::arange("seq", 3).unwrap());
        let err = cx.require_side_input("attn_mask").unwrap_err();
        assert_eq!(
            err.to_string(),
            "needs side input \"attn_mask\"; the context has \"token_positions\""
        );
        assert_eq!(
            cx.side_input_names().collect::<Vec<_>>(),
            ["token_positions"]
        );
    }

    #[test]
    fn state_and_captures_are_keyed_by_the_current_path() {
        let mut cx = Context::new();
        cx.enter(Key::field("blocks"));
        cx.enter(Key::Index(2));
        cx.set_state(7u32);
        cx.capture(NamedArray::scalar(1.0));
        assert_eq!(cx.state::<u32>(), Some(&7));
        assert_eq!(cx.state::<u64>(), None);
        assert_eq!(
            cx.take_state::<u64>(),
            None,
            "a wrong type leaves the state in place"
        );
        cx.leave();
        assert_eq!(cx.state::<u32>(), None);
        cx.enter(Key::Index(2));
        assert_eq!(cx.take_state::<u32>(), Some(7));
        cx.leave();
        cx.leave();
        let path: KeyPath = "blocks[2]".parse().unwrap();
        assert_eq!(cx.captures().keys().collect::<Vec<_>>(), [&path]);
    }

    #[test]
    fn call_child_restores_the_path_even_on_error() {
        let mut cx = Context::new();
        let err = cx
            .call_child(
                Key::field("x"),
                &crate::nn::Softmax::over("missing"),
                NamedArray::scalar(1.0),
            )
            .unwrap_err();
        assert_eq!(
            err.layer_path().map(ToString::to_string),
            Some("x".to_owned())
        );
        assert!(cx.path().is_empty());
        cx.call_child(Key::Index(0), &Identity, NamedArray::scalar(1.0))
            .unwrap();
        assert!(cx.path().is_empty());
    }

    #[test]
    fn the_random_stream_depends_only_on_seed_and_draw_count() {
        let mut a = Context::new().with_seed(9);
        let mut b = Context::new().with_seed(9);
        let xs: Vec<u64> = (0..4).map(|_| a.next_seed()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_seed()).collect();
        assert_eq!(xs, ys);
        assert_eq!(
            xs.iter().collect::<std::collections::BTreeSet<_>>().len(),
            4
        );
        assert_eq!(label_hash("a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a is fixed");
    }
}
