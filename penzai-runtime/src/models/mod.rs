//! Ready-made models built from the layer library: GPT-2, GPT-NeoX (Pythia) and Llama-family
//! transformers.

pub mod generate;
pub mod gpt2;
pub mod gpt_neox;
pub mod llama;
mod memory;

use crate::nn::Initializer;

pub use generate::{
    GenerateOptions, Sampling, generate, generate_with_progress, with_kv_cache, with_kv_cache_for,
};
pub use gpt_neox::GptNeoxConfig;
pub use gpt2::Gpt2Config;
pub use llama::{
    LlamaConfig, LlamaVariant, TransformerBlock, TransformerFeedForward, TransformerLm,
};

/// How a model builder fills weight matrices and embeddings.
///
/// ```
/// use penzai::models::{Gpt2Config, TransformerLm, WeightInit};
///
/// let random = TransformerLm::gpt2_with(&Gpt2Config::tiny(), WeightInit::Seeded(7))?;
/// assert_eq!(random, TransformerLm::gpt2(&Gpt2Config::tiny(), 7)?);
/// let skeleton = TransformerLm::gpt2_with(&Gpt2Config::tiny(), WeightInit::Zeros)?;
/// let (_, table) = &penzai::nn::parameters(&skeleton)[0];
/// assert!(table.value.to_f32_vec().iter().all(|&v| v == 0.0));
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightInit {
    /// Seeded random draws (the builder's usual initializers); the same seed gives the same
    /// model on every platform.
    Seeded(u64),
    /// Zeros: a skeleton to overwrite (from a checkpoint, say). Zeroed memory comes from the
    /// allocator untouched, so building a large skeleton costs almost nothing.
    Zeros,
}

impl WeightInit {
    /// The seed for the initializers that are not overridden (norms, biases).
    pub(crate) fn seed(self) -> u64 {
        match self {
            WeightInit::Seeded(seed) => seed,
            WeightInit::Zeros => 0,
        }
    }

    /// `random` when seeded, else zeros.
    pub(crate) fn or(self, random: Initializer) -> Initializer {
        match self {
            WeightInit::Seeded(_) => random,
            WeightInit::Zeros => Initializer::Zeros,
        }
    }
}
