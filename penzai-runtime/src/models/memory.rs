//! Memory estimates checked before anything large is allocated: a model whose parameters
//! cannot fit, or a forward pass whose largest array cannot, is an error naming the bytes it
//! would need, never an abort in the middle of building or running.

use crate::nn::LayerError;
use crate::nx::can_allocate;

/// Bytes of bookkeeping per block beyond its parameters (tree nodes, labels, names), an
/// upper estimate, so that a config with very many tiny blocks is judged by its real size.
const BLOCK_OVERHEAD: u128 = 16 * 1024;

/// What building a model of `parameters` f32 values in `blocks` blocks needs, in bytes.
pub(crate) fn model_bytes(parameters: u128, blocks: usize) -> u128 {
    parameters
        .saturating_mul(4)
        .saturating_add((blocks as u128).saturating_mul(BLOCK_OVERHEAD))
}

/// Refuses to build `what` when its estimated size cannot be allocated.
pub(crate) fn ensure_model_fits(what: &str, parameters: u128, blocks: usize) -> crate::Result<()> {
    let bytes = model_bytes(parameters, blocks);
    if can_allocate(bytes) {
        return Ok(());
    }
    Err(LayerError::ModelTooLarge {
        what: what.to_owned(),
        parameters,
        bytes,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Gpt2Config, LlamaConfig, TransformerLm};
    use crate::nn::parameters;

    /// The parameter values a model holds, each tied parameter once.
    fn held(model: &TransformerLm) -> u128 {
        let mut seen = std::collections::HashSet::new();
        parameters(model)
            .into_iter()
            .filter(|(_, p)| seen.insert(p.label.to_string()))
            .map(|(_, p)| p.value.len() as u128)
            .sum()
    }

    #[test]
    fn parameter_counts_match_the_built_models() {
        for (tie, qkv_bias, output_bias) in [(true, false, false), (false, true, true)] {
            let cfg = LlamaConfig {
                tie_embeddings: tie,
                qkv_bias,
                output_bias,
                ..LlamaConfig::tiny()
            };
            let model = TransformerLm::llama(&cfg, 0).unwrap();
            assert_eq!(cfg.parameter_count(), held(&model), "{cfg:?}");
        }
        for tie in [true, false] {
            let cfg = Gpt2Config {
                tie_embeddings: tie,
                ..Gpt2Config::tiny()
            };
            let model = TransformerLm::gpt2(&cfg, 0).unwrap();
            assert_eq!(cfg.parameter_count(), held(&model), "{cfg:?}");
        }
    }

    #[test]
    fn a_config_too_large_to_build_is_an_error_naming_its_size() {
        let cfg = LlamaConfig {
            n_layers: 100_000_000,
            ..LlamaConfig::tiny()
        };
        let err = TransformerLm::llama(&cfg, 0).unwrap_err().to_string();
        assert!(
            err.starts_with("a Llama model with 100000000 layers has "),
            "{err}"
        );
        assert!(
            err.ends_with("more than this machine can allocate"),
            "{err}"
        );
        let cfg = Gpt2Config {
            n_layers: 100_000_000,
            ..Gpt2Config::tiny()
        };
        let err = TransformerLm::gpt2(&cfg, 0).unwrap_err().to_string();
        assert!(
            err.starts_with("a GPT-2 model with 100000000 layers"),
            "{err}"
        );
    }

    #[test]
    fn small_sizes_can_be_allocated_and_impossible_ones_cannot() {
        assert!(can_allocate(1 << 20));
        assert!(!can_allocate(1 << 62));
        assert!(!can_allocate(u128::MAX));
    }

    #[test]
    fn estimates_saturate_instead_of_overflowing() {
        assert_eq!(model_bytes(10, 0), 40);
        assert_eq!(model_bytes(0, 2), 2 * BLOCK_OVERHEAD);
        assert_eq!(model_bytes(u128::MAX, usize::MAX), u128::MAX);
    }
}
