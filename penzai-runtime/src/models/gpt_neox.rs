//! GPT-NeoX and Pythia: LayerNorms with biases, rotary positions over the first
//! `rotary_dims` entries of each head, biases on every projection, exact GELU, an untied
//! unembedding, and (usually) attention and MLP in parallel off the same input.

use crate::Result;
use crate::nn::{
    Activation, Affine, AnyLayer, ApplyCausalMask, ApplyRoPE, ApplyRoPEToSubset, Attention,
    ConstantRescale, Elementwise, EmbeddingLookup, EmbeddingTable, Initializer, LayerError,
    LayerNorm, Linear, ParallelResidual, RenameAxes, Residual, RopeScaling, Sequential, Softmax,
    Steps,
};

use super::WeightInit;
use super::llama::{TransformerBlock, TransformerLm, stack_blocks, unembedding};

/// The shape of a GPT-NeoX model (Pythia, GPT-NeoX-20B, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct GptNeoxConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream (`embedding` axis).
    pub d_model: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Number of heads (`d_model / n_heads` wide each).
    pub n_heads: usize,
    /// Hidden width of the MLP (`neurons` axis).
    pub mlp_hidden: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f32,
    /// The MLP activation (exact GELU in Pythia).
    pub activation: Activation,
    /// How many leading entries of each head RoPE rotates (NeoX's `rotary_pct` of the head
    /// width); the rest pass through. Even, at most the head width.
    pub rotary_dims: usize,
    /// RoPE base wavelength (`rotary_emb_base`).
    pub rope_theta: f32,
    /// The RoPE frequency scheme.
    pub rope_scaling: RopeScaling,
    /// Whether attention and MLP read the same input and add to it together
    /// (`x + attn(ln1(x)) + mlp(ln2(x))`, a [`ParallelResidual`] step `parallel`), or run one
    /// after the other as two [`Residual`]s `attn` and `mlp`.
    pub parallel_residual: bool,
    /// Whether the attention projections (query, key, value, output) carry biases
    /// (`attention_bias`); the MLP always has them.
    pub attention_bias: bool,
    /// Whether the unembedding reuses the embedding table (Pythia's is separate).
    pub tie_embeddings: bool,
}

impl GptNeoxConfig {
    /// A tiny configuration for tests and examples (parallel residual, a quarter of each head
    /// rotated, as in Pythia).
    pub fn tiny() -> GptNeoxConfig {
        GptNeoxConfig {
            vocab_size: 64,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            mlp_hidden: 128,
            layer_norm_eps: 1e-5,
            activation: Activation::GeluExact,
            rotary_dims: 2,
            rope_theta: 10_000.0,
            rope_scaling: RopeScaling::Default,
            parallel_residual: true,
            attention_bias: true,
            tie_embeddings: false,
        }
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads.max(1)
    }

    /// The number of parameters a model of this config has (saturating, so a config far
    /// too large to build still gets a number to report).
    pub fn parameter_count(&self) -> u128 {
        let [v, d, l, m] = [
            self.vocab_size,
            self.d_model,
            self.n_layers,
            self.mlp_hidden,
        ]
        .map(|x| x as u128);
        let mul = |xs: &[u128]| xs.iter().fold(1u128, |a, &b| a.saturating_mul(b));
        let attention_bias = if self.attention_bias { 4 * d } else { 0 };
        // Two LayerNorms, query/key/value and output projections, the MLP with biases.
        let block = [
            4 * d,
            mul(&[4, d, d]),
            attention_bias,
            mul(&[2, d, m]),
            m + d,
        ]
        .iter()
        .fold(0u128, |a, &b| a.saturating_add(b));
        let embeddings = mul(&[v, d]).saturating_mul(if self.tie_embeddings { 1 } else { 2 });
        mul(&[l, block])
            .saturating_add(embeddings)
            .saturating_add(2 * d)
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(LayerError::Config(m).into());
        if self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return bad(format!(
                "d_model ({}) must be a multiple of n_heads ({})",
                self.d_model, self.n_heads
            ));
        }
        let r = self.rotary_dims;
        if r == 0 || !r.is_multiple_of(2) || r > self.head_dim() {
            return bad(format!(
                "rotary_dims ({r}) must be even, at least 2 and at most the head width ({})",
                self.head_dim()
            ));
        }
        Ok(())
    }
}

fn seq<'n>(steps: impl IntoIterator<Item = (&'n str, AnyLayer)>) -> Result<AnyLayer> {
    Ok(AnyLayer::new(Sequential::named(steps)?))
}

/// GPT-NeoX's initializer for weights and embeddings.
const NEOX_INIT: Initializer = Initializer::Normal { std: 0.02 };

/// A projection labelled `label`: an `Affine` with a bias, else a `Linear`.
fn projection(
    w: WeightInit,
    label: &str,
    input: &[(&str, usize)],
    output: &[(&str, usize)],
    bias: bool,
) -> Result<AnyLayer> {
    let (seed, init) = (w.seed(), w.or(NEOX_INIT));
    Ok(if bias {
        AnyLayer::new(Affine::new(seed, label, input, output, init)?)
    } else {
        AnyLayer::new(Linear::new(seed, label, input, output, &[], init)?)
    })
}

/// The RoPE step: whole heads, or the first `rotary_dims` entries of each.
fn rope(cfg: &GptNeoxConfig) -> Result<AnyLayer> {
    let (theta, scaling) = (cfg.rope_theta, cfg.rope_scaling.clone());
    Ok(if cfg.rotary_dims < cfg.head_dim() {
        AnyLayer::new(ApplyRoPEToSubset::new(
            "projection",
            cfg.rotary_dims,
            theta,
            scaling,
        )?)
    } else {
        AnyLayer::new(ApplyRoPE::new("projection", theta)?.with_scaling(scaling))
    })
}

/// The attention of a GPT-NeoX block labelled `label` (e.g. `blocks.3.attn`).
pub fn gpt_neox_attention(seed: u64, label: &str, cfg: &GptNeoxConfig) -> Result<Attention> {
    cfg.check()?;
    attention(WeightInit::Seeded(seed), label, cfg)
}

fn attention(w: WeightInit, label: &str, cfg: &GptNeoxConfig) -> Result<Attention> {
    let d = [("embedding", cfg.d_model)];
    let heads = [("heads", cfg.n_heads), ("projection", cfg.head_dim())];
    let proj = |name: &str| {
        projection(
            w,
            &format!("{label}.{name}"),
            &d,
            &heads,
            cfg.attention_bias,
        )
    };
    let to_kv = || AnyLayer::new(RenameAxes::new("seq", "kv_seq"));
    let scale = 1.0 / (cfg.head_dim() as f32).sqrt();
    Ok(Attention {
        query: seq([
            ("proj", proj("query")?),
            ("rope", rope(cfg)?),
            ("scale", AnyLayer::new(ConstantRescale { by: scale })),
        ])?,
        key: seq([
            ("proj", proj("key")?),
            ("rope", rope(cfg)?),
            ("rename", to_kv()),
        ])?,
        value: seq([("proj", proj("value")?), ("rename", to_kv())])?,
        scores: seq([
            ("mask", AnyLayer::new(ApplyCausalMask::default())),
            ("softmax", AnyLayer::new(Softmax::over("kv_seq"))),
        ])?,
        output: projection(
            w,
            &format!("{label}.output"),
            &heads,
            &d,
            cfg.attention_bias,
        )?,
        head_axis: "projection".into(),
        kv_axis: "kv_seq".into(),
    })
}

/// Block `index` of a GPT-NeoX model: steps `attn` and `mlp` (two [`Residual`]s, one after
/// the other), or one step `parallel` (a [`ParallelResidual`] whose branches are `attn` and
/// `mlp`) when `cfg.parallel_residual`. Either way `attn` holds `norm` and `attention`, and
/// `mlp` holds `norm` and `ffn` (`up`, `act`, `down`).
pub fn gpt_neox_block(seed: u64, index: usize, cfg: &GptNeoxConfig) -> Result<TransformerBlock> {
    block(WeightInit::Seeded(seed), index, cfg)
}

fn block(w: WeightInit, index: usize, cfg: &GptNeoxConfig) -> Result<TransformerBlock> {
    cfg.check()?;
    let label = format!("blocks.{index}");
    let d = [("embedding", cfg.d_model)];
    let n = [("neurons", cfg.mlp_hidden)];
    let (seed, init) = (w.seed(), w.or(NEOX_INIT));
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
    let steps = if cfg.parallel_residual {
        Steps::named([(
            "parallel",
            AnyLayer::new(ParallelResidual::named([("attn", attn), ("mlp", mlp)])?),
        )])?
    } else {
        Steps::named([
            ("attn", AnyLayer::new(Residual { delta: attn })),
            ("mlp", AnyLayer::new(Residual { delta: mlp })),
        ])?
    };
    Ok(TransformerBlock { steps })
}

impl TransformerLm {
    /// A randomly initialized GPT-NeoX (Pythia): steps `embed`, `blocks`, `final_norm`,
    /// `unembed` (a separate table unless `tie_embeddings`).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{GptNeoxConfig, TransformerLm};
    ///
    /// let model = TransformerLm::gpt_neox(&GptNeoxConfig::tiny(), 0)?;
    /// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![1, 2, 3])?;
    /// let logits = model.call(tokens, &mut Context::new())?;
    /// assert_eq!(logits.named_shape().to_string(), "{batch: 1, seq: 3, vocabulary: 64}");
    /// // The parallel residual is a layer one can see and edit.
    /// let block = model.get_at(&"blocks[0].parallel".parse()?)?;
    /// assert_eq!(block.type_name(), "ParallelResidual");
    /// let query = model.get_at(&"blocks[0].parallel.attn.attention.query.proj".parse()?)?;
    /// assert_eq!(query.type_name(), "Affine");
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn gpt_neox(cfg: &GptNeoxConfig, seed: u64) -> Result<TransformerLm> {
        TransformerLm::gpt_neox_with(cfg, WeightInit::Seeded(seed))
    }

    /// A GPT-NeoX whose weight matrices and embeddings are filled as `init` says (norm scales
    /// are ones, biases zeros). [`WeightInit::Zeros`] gives the skeleton a checkpoint loader
    /// overwrites, without drawing millions of random numbers first.
    pub fn gpt_neox_with(cfg: &GptNeoxConfig, init: WeightInit) -> Result<TransformerLm> {
        cfg.check()?;
        super::memory::ensure_model_fits(
            &format!("a GPT-NeoX model with {} layers", cfg.n_layers),
            cfg.parameter_count(),
            cfg.n_layers,
        )?;
        let d = [("embedding", cfg.d_model)];
        let (w, seed, weights) = (init, init.seed(), init.or(NEOX_INIT));
        let table = EmbeddingTable::new(seed, "embed", cfg.vocab_size, &d, weights)?;
        let blocks = stack_blocks(cfg.n_layers, |i| block(w, i, cfg))?;
        let unembed = unembedding(&table, cfg.tie_embeddings, seed, cfg.d_model, weights)?;
        Ok(TransformerLm {
            steps: Steps::named([
                ("embed", AnyLayer::new(EmbeddingLookup { table })),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Layer, parameter_count};
    use crate::nx::NamedArray;
    use crate::tree::TreeExt;

    fn tokens() -> NamedArray {
        NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![3, 1, 4, 1]).unwrap()
    }

    #[test]
    fn parameter_count_matches_the_built_model() {
        for (parallel, bias, tie, rotary) in [
            (true, true, false, 2),
            (false, false, true, 8),
            (false, true, false, 4),
        ] {
            let cfg = GptNeoxConfig {
                parallel_residual: parallel,
                attention_bias: bias,
                tie_embeddings: tie,
                rotary_dims: rotary,
                ..GptNeoxConfig::tiny()
            };
            let model = TransformerLm::gpt_neox(&cfg, 1).unwrap();
            assert_eq!(parameter_count(&model) as u128, cfg.parameter_count());
            let logits = model
                .call(tokens(), &mut crate::nn::Context::new())
                .unwrap();
            assert_eq!(
                logits.named_shape().to_string(),
                "{batch: 1, seq: 4, vocabulary: 64}"
            );
        }
    }

    #[test]
    fn sequential_blocks_use_the_gpt2_slot_names() {
        let cfg = GptNeoxConfig {
            parallel_residual: false,
            ..GptNeoxConfig::tiny()
        };
        let model = TransformerLm::gpt_neox(&cfg, 1).unwrap();
        for path in [
            "blocks[1].attn.delta.norm",
            "blocks[1].attn.delta.attention.query.rope",
            "blocks[0].mlp.delta.ffn.down",
        ] {
            assert!(model.get_at(&path.parse().unwrap()).is_ok(), "{path}");
        }
        let rope = model
            .get_at(&"blocks[0].attn.delta.attention.key.rope".parse().unwrap())
            .unwrap();
        assert_eq!(rope.type_name(), "ApplyRoPEToSubset");
    }

    #[test]
    fn parallel_differs_from_sequential_with_the_same_weights() {
        let par = TransformerLm::gpt_neox(&GptNeoxConfig::tiny(), 5).unwrap();
        let cfg = GptNeoxConfig {
            parallel_residual: false,
            ..GptNeoxConfig::tiny()
        };
        let sequential = TransformerLm::gpt_neox(&cfg, 5).unwrap();
        // Same labels, so the same draws: only the wiring differs.
        let labels = |m: &TransformerLm| {
            crate::nn::parameters(m)
                .into_iter()
                .map(|(_, p)| (p.label.to_string(), p.value.to_f32_vec()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        assert_eq!(labels(&par), labels(&sequential));
        let cx = &mut crate::nn::Context::new();
        let a = par.call(tokens(), cx).unwrap();
        let b = sequential.call(tokens(), cx).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn bad_rotary_dims_and_heads_are_config_errors() {
        for (cfg, needle) in [
            (
                GptNeoxConfig {
                    rotary_dims: 3,
                    ..GptNeoxConfig::tiny()
                },
                "rotary_dims (3)",
            ),
            (
                GptNeoxConfig {
                    rotary_dims: 10,
                    ..GptNeoxConfig::tiny()
                },
                "at most the head width (8)",
            ),
            (
                GptNeoxConfig {
                    n_heads: 5,
                    ..GptNeoxConfig::tiny()
                },
                "multiple of n_heads (5)",
            ),
        ] {
            let err = TransformerLm::gpt_neox(&cfg, 0).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
