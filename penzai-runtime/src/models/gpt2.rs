//! GPT-2: learned positions, LayerNorm, tanh-GELU, biases everywhere, tied unembedding.

use crate::Result;
use crate::nn::{
    Activation, AddPositionalEmbedding, Affine, AnyLayer, ApplyCausalMask, Attention,
    ConstantRescale, Elementwise, EmbeddingLookup, EmbeddingTable, Initializer, LayerError,
    LayerNorm, RenameAxes, Residual, Sequential, Softmax, Steps,
};

use super::WeightInit;
use super::llama::{TransformerBlock, TransformerLm, stack_blocks, unembedding};

/// The shape of a GPT-2 model.
#[derive(Clone, Debug, PartialEq)]
pub struct Gpt2Config {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Number of learned positions.
    pub n_positions: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Number of heads (`d_model / n_heads` wide each).
    pub n_heads: usize,
    /// LayerNorm epsilon (1e-5 in GPT-2).
    pub layer_norm_eps: f32,
    /// The MLP activation (`GeluTanh`, GPT-2's `gelu_new`, or `GeluExact`).
    pub activation: Activation,
    /// Hidden width of the MLP (`neurons` axis); `None` means GPT-2's `4 * d_model`.
    pub mlp_hidden: Option<usize>,
    /// Whether the unembedding reuses the token embedding table (GPT-2 does); else it is a
    /// separate `Linear` labelled `unembed.weights`.
    pub tie_embeddings: bool,
}

impl Gpt2Config {
    /// A tiny configuration for tests and examples.
    pub fn tiny() -> Gpt2Config {
        Gpt2Config {
            vocab_size: 64,
            n_positions: 32,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            layer_norm_eps: 1e-5,
            activation: Activation::GeluTanh,
            mlp_hidden: None,
            tie_embeddings: true,
        }
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads.max(1)
    }

    /// Hidden width of the MLP: `mlp_hidden`, or `4 * d_model` when unset.
    pub fn mlp_width(&self) -> usize {
        self.mlp_hidden.unwrap_or(self.d_model.saturating_mul(4))
    }

    /// The number of parameters a model of this config has (saturating, so a config far
    /// too large to build still gets a number to report).
    pub fn parameter_count(&self) -> u128 {
        let [v, p, d, l, m] = [
            self.vocab_size,
            self.n_positions,
            self.d_model,
            self.n_layers,
            self.mlp_width(),
        ]
        .map(|x| x as u128);
        let mul = |xs: &[u128]| xs.iter().fold(1u128, |a, &b| a.saturating_mul(b));
        // Two LayerNorms, query/key/value and output projections with biases, the MLP.
        let block = [4 * d, mul(&[4, d, d]), 4 * d, mul(&[2, d, m]), m + d]
            .iter()
            .fold(0u128, |a, &b| a.saturating_add(b));
        let unembed = if self.tie_embeddings { 0 } else { mul(&[v, d]) };
        [mul(&[l, block]), mul(&[v, d]), mul(&[p, d]), unembed, 2 * d]
            .iter()
            .fold(0u128, |a, &b| a.saturating_add(b))
    }

    fn check(&self) -> Result<()> {
        if self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(LayerError::Config(format!(
                "d_model ({}) must be a multiple of n_heads ({})",
                self.d_model, self.n_heads
            ))
            .into());
        }
        Ok(())
    }
}

fn seq<'n>(steps: impl IntoIterator<Item = (&'n str, AnyLayer)>) -> Result<AnyLayer> {
    Ok(AnyLayer::new(Sequential::named(steps)?))
}

/// GPT-2's initializer for weights and embeddings.
const GPT2_INIT: Initializer = Initializer::Normal { std: 0.02 };

/// The attention of a GPT-2 block labelled `label`.
pub fn gpt2_attention(seed: u64, label: &str, cfg: &Gpt2Config) -> Result<Attention> {
    attention(WeightInit::Seeded(seed), label, cfg)
}

fn attention(w: WeightInit, label: &str, cfg: &Gpt2Config) -> Result<Attention> {
    let d = [("embedding", cfg.d_model)];
    let heads = [("heads", cfg.n_heads), ("projection", cfg.head_dim())];
    let (seed, init) = (w.seed(), w.or(GPT2_INIT));
    let proj = |name: &str| {
        Affine::new(seed, &format!("{label}.{name}"), &d, &heads, init).map(AnyLayer::new)
    };
    let to_kv = || AnyLayer::new(RenameAxes::new("seq", "kv_seq"));
    Ok(Attention {
        query: seq([
            ("proj", proj("query")?),
            (
                "scale",
                AnyLayer::new(ConstantRescale {
                    by: 1.0 / (cfg.head_dim() as f32).sqrt(),
                }),
            ),
        ])?,
        key: seq([("proj", proj("key")?), ("rename", to_kv())])?,
        value: seq([("proj", proj("value")?), ("rename", to_kv())])?,
        scores: seq([
            ("mask", AnyLayer::new(ApplyCausalMask::default())),
            ("softmax", AnyLayer::new(Softmax::over("kv_seq"))),
        ])?,
        output: AnyLayer::new(Affine::new(
            seed,
            &format!("{label}.output"),
            &heads,
            &d,
            init,
        )?),
        head_axis: "projection".into(),
        kv_axis: "kv_seq".into(),
    })
}

/// Block `index` of a GPT-2 model.
pub fn gpt2_block(seed: u64, index: usize, cfg: &Gpt2Config) -> Result<TransformerBlock> {
    block(WeightInit::Seeded(seed), index, cfg)
}

fn block(w: WeightInit, index: usize, cfg: &Gpt2Config) -> Result<TransformerBlock> {
    cfg.check()?;
    let label = format!("blocks.{index}");
    let d = [("embedding", cfg.d_model)];
    let n = [("neurons", cfg.mlp_width())];
    let (seed, init) = (w.seed(), w.or(GPT2_INIT));
    let norm = |name: &str| {
        LayerNorm::new(seed, &format!("{label}.{name}"), &d, cfg.layer_norm_eps).map(AnyLayer::new)
    };
    let attn = seq([
        ("norm", norm("attn.norm")?),
        (
            "attention",
            AnyLayer::new(attention(w, &format!("{label}.attn"), cfg)?),
        ),
    ])?;
    let ffn = seq([
        (
            "up",
            AnyLayer::new(Affine::new(seed, &format!("{label}.mlp.up"), &d, &n, init)?),
        ),
        (
            "act",
            AnyLayer::new(Elementwise::new(cfg.activation.clone())),
        ),
        (
            "down",
            AnyLayer::new(Affine::new(
                seed,
                &format!("{label}.mlp.down"),
                &n,
                &d,
                init,
            )?),
        ),
    ])?;
    let mlp = seq([("norm", norm("mlp.norm")?), ("ffn", ffn)])?;
    Ok(TransformerBlock {
        steps: Steps::named([
            ("attn", AnyLayer::new(Residual { delta: attn })),
            ("mlp", AnyLayer::new(Residual { delta: mlp })),
        ])?,
    })
}

impl TransformerLm {
    /// A randomly initialized GPT-2: steps `embed`, `positions`, `blocks`, `final_norm`,
    /// `unembed` (tied to `embed`'s table unless `tie_embeddings` is false).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{Gpt2Config, TransformerLm};
    ///
    /// let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0)?;
    /// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
    /// let logits = model.call(tokens, &mut Context::new())?;
    /// assert_eq!(logits.named_shape().to_string(), "{batch: 1, seq: 3, vocabulary: 64}");
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn gpt2(cfg: &Gpt2Config, seed: u64) -> Result<TransformerLm> {
        TransformerLm::gpt2_with(cfg, WeightInit::Seeded(seed))
    }

    /// A GPT-2 whose weight matrices and embeddings are filled as `init` says (norm scales
    /// are ones, biases zeros). [`WeightInit::Zeros`] gives the skeleton a checkpoint loader
    /// overwrites, without drawing millions of random numbers first.
    pub fn gpt2_with(cfg: &Gpt2Config, init: WeightInit) -> Result<TransformerLm> {
        cfg.check()?;
        super::memory::ensure_model_fits(
            &format!("a GPT-2 model with {} layers", cfg.n_layers),
            cfg.parameter_count(),
            cfg.n_layers,
        )?;
        let d = [("embedding", cfg.d_model)];
        let (w, seed, init) = (init, init.seed(), init.or(GPT2_INIT));
        let table = EmbeddingTable::new(seed, "embed", cfg.vocab_size, &d, init)?;
        let mut positions = EmbeddingTable::new(seed, "positions", cfg.n_positions, &d, init)?;
        positions.embeddings.value = positions
            .embeddings
            .value
            .rename("vocabulary", "positions")?;
        positions.vocabulary_axis = "positions".into();
        let blocks = stack_blocks(cfg.n_layers, |i| block(w, i, cfg))?;
        let unembed = unembedding(&table, cfg.tie_embeddings, seed, cfg.d_model, init)?;
        Ok(TransformerLm {
            steps: Steps::named([
                ("embed", AnyLayer::new(EmbeddingLookup { table })),
                (
                    "positions",
                    AnyLayer::new(AddPositionalEmbedding::new(positions)),
                ),
                ("blocks", AnyLayer::new(blocks)),
                (
                    "final_norm",
                    AnyLayer::new(LayerNorm::new(seed, "final_norm", &d, cfg.layer_norm_eps)?),
                ),
                ("unembed", unembed),
            ])?,
        })
    }
}
