//! Ready-made models built from the layer library: a Llama-style transformer, more later.

pub mod llama;

pub use llama::{LlamaConfig, TransformerBlock, TransformerFeedForward, TransformerLm};
