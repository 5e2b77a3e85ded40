//! `penzai grad`: a loss and one tensor's gradient, for checks against other frameworks.

use anyhow::{Context as _, Result, bail};
use penzai::grad::{Trainable, next_token_loss, value_and_grad};
use penzai::io::{TensorData, hf};

use super::{ModelInput, load_model, print_line, text, token_array};

/// Prints `{"loss": <mean next-token cross-entropy>, "grad": [...]}` for the tensor `name`.
pub fn grad(input: &ModelInput, name: &str) -> Result<()> {
    let dir = text::model_dir(&input.model)?;
    if !hf::is_checkpoint_dir(&dir) {
        bail!(
            "{} is not a HuggingFace checkpoint folder: `penzai grad` names tensors as a checkpoint stores them",
            dir.display()
        );
    }
    let loaded = load_model(&dir, input.dtype)?;
    let ids = text::prompt_ids(&dir, &input.input)?;
    if ids.len() < 2 {
        bail!(
            "the next-token loss needs at least 2 tokens, got {}",
            ids.len()
        );
    }
    let vocab = Some(loaded.config.architecture.vocab_size());
    let tokens = token_array(vocab, &ids)?;
    let (loss, grads) = value_and_grad(&loaded.model, &Trainable::all(), |m| {
        next_token_loss(m, &tokens)
    })
    .context("computing the gradient")?;
    let tensors = hf::export_tensors(&grads.in_model(&loaded.model), &loaded.config)
        .context("laying the gradients out as the checkpoint's tensors")?;
    let Some((_, tensor)) = tensors.iter().find(|(n, _)| n == name) else {
        let known: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        bail!(
            "the checkpoint has no tensor {name:?}; its tensors are: {}",
            known.join(", ")
        );
    };
    let TensorData::F32(values) = &tensor.data else {
        bail!("the gradient of {name} is not f32");
    };
    let json = serde_json::json!({ "loss": loss, "grad": values });
    print_line(json.to_string())
}
