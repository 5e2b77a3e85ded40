//! Capture: record the output of every selected layer in one forward pass.

use std::collections::BTreeMap;

use crate::Result;
use crate::nn::{Context, Layer};
use crate::nx::NamedArray;
use crate::select::{SelectError, Selection};
use crate::tree::KeyPath;

/// A pass-through layer that records its input in the [`Context`] under `site`, the path
/// of the layer it observes (in the model before the capture layers were inserted).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct Capture {
    /// The path the value is recorded under.
    #[tree(skip)]
    pub site: KeyPath,
}

impl Layer for Capture {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        cx.capture_at(self.site.clone(), x.clone());
        Ok(x)
    }
}

/// The result of a forward pass with captures.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The model's output.
    pub output: NamedArray,
    /// The output of each selected layer, by its path.
    pub activations: BTreeMap<KeyPath, NamedArray>,
}

/// The model with a [`Capture`] after each selected layer (inserted with
/// [`chain_after_with`](Selection::chain_after_with), so the model's function is
/// unchanged). Run it, then read [`Context::captures`].
pub fn with_captures<M: Layer>(sites: Selection<M>) -> Result<M, SelectError> {
    sites.chain_after_with(|path, _| Capture { site: path.clone() })
}

/// Runs the model once on `x` and returns its output with the output of every selected
/// layer, keyed by the layer's path.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::capture;
/// use penzai::models::{LlamaConfig, TransformerBlock, TransformerLm};
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4])?;
/// let run = capture(
///     select(model).at_instances_of::<TransformerBlock>(),
///     tokens,
///     &mut Context::new(),
/// )?;
/// let residual = &run.activations[&"blocks[1]".parse()?];
/// assert_eq!(residual.named_shape().to_string(), "{batch: 1, seq: 4, embedding: 32}");
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn capture<M: Layer>(sites: Selection<M>, x: NamedArray, cx: &mut Context) -> Result<Captured> {
    let paths = sites.paths().to_vec();
    let model = with_captures(sites)?;
    // Captures from earlier runs are set aside, so a site that does not run this time
    // (a branch not taken) is absent rather than stale; they are put back afterwards.
    let earlier = cx.take_captures();
    let output = cx.run(&model, x);
    let mut recorded = cx.take_captures();
    for (path, value) in earlier {
        cx.capture_at(path, value);
    }
    let mut activations = BTreeMap::new();
    for path in paths {
        if let Some(value) = recorded.remove(&path) {
            activations.insert(path, value);
        }
    }
    // Captures made by other layers of the model stay in the context, as a plain run
    // would leave them.
    for (path, value) in recorded {
        cx.capture_at(path, value);
    }
    Ok(Captured {
        output: output?,
        activations,
    })
}
