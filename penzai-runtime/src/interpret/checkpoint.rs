//! Gradient checkpointing as a selector recipe: wrap the selected layers in
//! [`Checkpointed`] layers.

use crate::nn::{AnyLayer, Checkpointed, Layer};
use crate::select::{SelectError, Selection};
use crate::tree::Tree;

/// Wraps every layer of `selection` in a [`Checkpointed`] layer, so a gradient step keeps
/// only its input and recomputes its activations in the backward (gradient checkpointing).
/// Gradients are unchanged (to float rounding), and so are outputs without a tape; the peak
/// memory of a gradient step drops to about one block input per checkpointed block plus one
/// block's activations, for about one more forward of time. A layer already checkpointed is
/// left as it is; a selected node that is not a layer is a
/// [`SelectError::WrongType`] naming its path.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::grad::{Trainable, next_token_loss, value_and_grad};
/// use penzai::interpret::checkpoint;
/// use penzai::models::{LlamaConfig, TransformerLm};
/// use penzai::nn::Checkpointed;
///
/// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
/// let checkpointed = checkpoint(select(model.clone()).at_path("blocks")?.at_children())?;
/// assert_eq!(
///     select(checkpointed.as_dyn()).at_instances_of::<Checkpointed>().count(),
///     LlamaConfig::tiny().n_layers
/// );
/// let tokens = NamedArray::from_i64(&[("seq", 5)], vec![1, 2, 3, 4, 5])?;
/// let (loss, grads) = value_and_grad(&model, &Trainable::all(), |m| next_token_loss(m, &tokens))?;
/// let (loss_c, grads_c) =
///     value_and_grad(&checkpointed, &Trainable::all(), |m| next_token_loss(m, &tokens))?;
/// assert!((loss - loss_c).abs() < 1e-5);
/// // The same labels, so the same gradients by label.
/// for (label, g) in grads.iter() {
///     let gc = grads_c.get(label).unwrap();
///     let diff = (g - gc)?.abs()?.to_f32_vec().into_iter().fold(0f32, f32::max);
///     assert!(diff < 1e-4, "{label}: {diff}");
/// }
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn checkpoint<M: Tree>(selection: Selection<M>) -> Result<M, SelectError> {
    selection.apply(|layer: Box<dyn Layer>| -> Box<dyn Layer> {
        if layer.as_any().is::<Checkpointed>() {
            layer
        } else {
            Box::new(Checkpointed {
                body: AnyLayer::from_box(layer),
            })
        }
    })
}
