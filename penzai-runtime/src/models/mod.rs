//! Ready-made models built from the layer library: GPT-2 and Llama-family transformers.

pub mod generate;
pub mod gpt2;
pub mod llama;

pub use generate::{GenerateOptions, Sampling, generate, with_kv_cache};
pub use gpt2::Gpt2Config;
pub use llama::{LlamaConfig, TransformerBlock, TransformerFeedForward, TransformerLm};
