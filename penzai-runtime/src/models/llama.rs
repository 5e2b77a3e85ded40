//! A Llama-style decoder: RMSNorm, RoPE attention with grouped-query heads, SwiGLU.

use super::WeightInit;
use crate::Result;
use crate::nn::{
    Activation, Affine, AnyLayer, ApplyCausalMask, ApplyCausalSlidingWindowMask, ApplyRoPE,
    ApplyRoPEToSubset, Attention, BranchAndMultiply, ConstantRescale, Elementwise, EmbeddingDecode,
    EmbeddingLookup, EmbeddingTable, Initializer, Linear, RMSNorm, RenameAxes, Residual,
    RopeScaling, Sequential, Softmax, Steps, TanhSoftCap,
};

/// The shape of a Llama-style model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream (`embedding` axis).
    pub d_model: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Number of query heads.
    pub n_heads: usize,
    /// Number of key/value heads (`n_heads` for multi-head, 1 for multi-query).
    pub n_kv_heads: usize,
    /// Per-head width (`projection` axis).
    pub head_dim: usize,
    /// Hidden width of the MLP (`neurons` axis).
    pub mlp_hidden: usize,
    /// RoPE base wavelength.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// Whether the unembedding reuses the embedding table.
    pub tie_embeddings: bool,
    /// A sliding attention window (Mistral), if any.
    pub sliding_window: Option<usize>,
    /// Whether the query, key and value projections add a bias (Qwen2); each projection is
    /// then an `Affine` (steps `linear`, `bias`) instead of a `Linear`.
    pub qkv_bias: bool,
    /// Whether the output projection adds a bias (Llama's `attention_bias`).
    pub output_bias: bool,
    /// What the Llama-like families (Llama 3, Qwen3, Gemma 1–3, ...) change; the default is
    /// plain Llama.
    pub variant: LlamaVariant,
}

/// The numerical differences of the Llama-like families, each built as a visible layer:
/// a RoPE scheme is a field of [`ApplyRoPE`], a window is an
/// [`ApplyCausalSlidingWindowMask`], a soft cap a [`TanhSoftCap`] step, Gemma's `(1 + w)`
/// norm scale a [`Residual`] around the scale, the embedding scale a [`ConstantRescale`].
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaVariant {
    /// The RoPE frequency scheme (of every layer, or of the global ones when
    /// [`local_rope`](Self::local_rope) is set).
    pub rope_scaling: RopeScaling,
    /// How many leading entries of each head RoPE rotates (`None`: all).
    pub rotary_dims: Option<usize>,
    /// The RoPE base and scheme of sliding-window layers, when they differ (Gemma 3).
    pub local_rope: Option<(f32, RopeScaling)>,
    /// Each layer's sliding window (`None`: full causal attention); when `None` every layer
    /// uses [`LlamaConfig::sliding_window`].
    pub layer_windows: Option<Vec<Option<usize>>>,
    /// RMSNorms over `projection` on queries and keys before RoPE (Qwen3, Gemma 3): steps
    /// `query.norm` and `key.norm`.
    pub qk_norm: bool,
    /// Gemma's RMSNorm, scaling by `1 + w`: each norm's `scale` becomes a `Residual`
    /// around the scale.
    pub norm_plus_one: bool,
    /// The gate activation of the MLP (SiLU for Llama, tanh-GELU for Gemma).
    pub activation: Activation,
    /// A factor multiplying the embeddings (Gemma's `sqrt(d)`): step `embed_scale`.
    pub embed_scale: Option<f32>,
    /// Norms after attention and after the MLP, inside the residuals (Gemma 2 and 3):
    /// steps `attn.post_norm` and `mlp.post_norm`.
    pub post_norms: bool,
    /// A soft cap on attention scores (Gemma 2): step `scores.soft_cap` before the mask.
    pub attn_softcap: Option<f32>,
    /// A soft cap on the logits (Gemma 2): step `final_soft_cap` after `unembed`.
    pub final_softcap: Option<f32>,
    /// The factor queries are scaled by (default `1 / sqrt(head_dim)`; Gemma's
    /// `query_pre_attn_scalar^-1/2`).
    pub query_scale: Option<f32>,
}

impl Default for LlamaVariant {
    fn default() -> Self {
        LlamaVariant {
            rope_scaling: RopeScaling::Default,
            rotary_dims: None,
            local_rope: None,
            layer_windows: None,
            qk_norm: false,
            norm_plus_one: false,
            activation: Activation::Silu,
            embed_scale: None,
            post_norms: false,
            attn_softcap: None,
            final_softcap: None,
            query_scale: None,
        }
    }
}

impl LlamaConfig {
    /// A tiny configuration for tests and examples.
    pub fn tiny() -> LlamaConfig {
        LlamaConfig {
            vocab_size: 64,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            head_dim: 8,
            mlp_hidden: 64,
            rope_theta: 10_000.0,
            rms_eps: 1e-6,
            tie_embeddings: false,
            sliding_window: None,
            qkv_bias: false,
            output_bias: false,
            variant: LlamaVariant::default(),
        }
    }

    /// The medium model of Penzai's benchmarks, which `penzai bench`, `bench_grad` and the
    /// Treescope and selector benchmarks time: 12 blocks, d 256, 8 heads of 32, MLP 1024,
    /// vocabulary 1024 (the rest as [`tiny`](LlamaConfig::tiny)).
    ///
    /// ```
    /// use penzai::models::LlamaConfig;
    ///
    /// let cfg = LlamaConfig::penzai_medium();
    /// assert_eq!((cfg.n_layers, cfg.d_model, cfg.n_heads * cfg.head_dim), (12, 256, 256));
    /// ```
    pub fn penzai_medium() -> LlamaConfig {
        LlamaConfig {
            vocab_size: 1024,
            d_model: 256,
            n_layers: 12,
            n_heads: 8,
            n_kv_heads: 8,
            head_dim: 32,
            mlp_hidden: 1024,
            ..LlamaConfig::tiny()
        }
    }

    /// The sliding window of layer `index`, if any.
    pub fn window(&self, index: usize) -> Option<usize> {
        match &self.variant.layer_windows {
            Some(windows) => windows.get(index).copied().flatten(),
            None => self.sliding_window,
        }
    }

    /// The query head axes and sizes: `heads` for multi-head and multi-query attention,
    /// `kv_heads` and `q_per_kv` for grouped-query attention.
    pub fn query_head_axes(&self) -> Vec<(&'static str, usize)> {
        if self.n_kv_heads == self.n_heads || self.n_kv_heads == 1 {
            vec![("heads", self.n_heads)]
        } else {
            vec![
                ("kv_heads", self.n_kv_heads),
                ("q_per_kv", self.n_heads / self.n_kv_heads),
            ]
        }
    }

    /// The key/value head axes: `heads` (multi-head), none (multi-query) or `kv_heads`.
    pub fn kv_head_axes(&self) -> Vec<(&'static str, usize)> {
        if self.n_kv_heads == self.n_heads {
            vec![("heads", self.n_heads)]
        } else if self.n_kv_heads == 1 {
            vec![]
        } else {
            vec![("kv_heads", self.n_kv_heads)]
        }
    }

    /// The number of parameters a model of this config has (saturating, so a config far
    /// too large to build still gets a number to report).
    pub fn parameter_count(&self) -> u128 {
        let [v, d, l, h, kv, hd, m] = [
            self.vocab_size,
            self.d_model,
            self.n_layers,
            self.n_heads,
            self.n_kv_heads,
            self.head_dim,
            self.mlp_hidden,
        ]
        .map(|x| x as u128);
        let mul = |xs: &[u128]| xs.iter().fold(1u128, |a, &b| a.saturating_mul(b));
        let attention = [
            mul(&[d, h, hd]).saturating_mul(2),
            mul(&[d, kv, hd]).saturating_mul(2),
            if self.qkv_bias {
                mul(&[h + 2 * kv, hd])
            } else {
                0
            },
            if self.output_bias { d } else { 0 },
        ];
        let extra_norms = if self.variant.qk_norm { 2 * hd } else { 0 }
            + if self.variant.post_norms { 2 * d } else { 0 };
        let block = attention
            .iter()
            .fold(mul(&[3, d, m]), |a, &b| a.saturating_add(b))
            .saturating_add(2 * d)
            .saturating_add(extra_norms);
        let embeddings = mul(&[v, d]).saturating_mul(if self.tie_embeddings { 1 } else { 2 });
        mul(&[l, block])
            .saturating_add(embeddings)
            .saturating_add(d)
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(crate::nn::LayerError::Config(m).into());
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(format!(
                "n_heads ({}) must be a multiple of n_kv_heads ({})",
                self.n_heads, self.n_kv_heads
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return bad(format!(
                "head_dim ({}) must be even for RoPE",
                self.head_dim
            ));
        }
        if let Some(r) = self.variant.rotary_dims
            && (r == 0 || !r.is_multiple_of(2) || r > self.head_dim)
        {
            return bad(format!(
                "rotary_dims ({r}) must be even, at least 2 and at most head_dim ({})",
                self.head_dim
            ));
        }
        if let Some(w) = &self.variant.layer_windows
            && w.len() != self.n_layers
        {
            return bad(format!(
                "layer_windows has {} entries for {} layers",
                w.len(),
                self.n_layers
            ));
        }
        Ok(())
    }
}

/// The blocks of a decoder, `build(i)` for block `i`, as one `Sequential` (so `blocks[i]`).
pub(crate) fn stack_blocks(
    n: usize,
    build: impl Fn(usize) -> Result<TransformerBlock>,
) -> Result<Sequential> {
    Ok(Sequential::from_layers(
        (0..n)
            .map(|i| build(i).map(AnyLayer::new))
            .collect::<Result<Vec<_>>>()?,
    ))
}

/// The unembedding: a decode through the embedding `table` when tied, else a new `Linear`
/// from `embedding` to `vocabulary` labelled `unembed`.
pub(crate) fn unembedding(
    table: &EmbeddingTable,
    tied: bool,
    seed: u64,
    d_model: usize,
    init: Initializer,
) -> Result<AnyLayer> {
    if tied {
        return Ok(AnyLayer::new(EmbeddingDecode {
            table: table.clone(),
        }));
    }
    let vocab = [("vocabulary", table.vocab_size())];
    let linear = Linear::new(
        seed,
        "unembed",
        &[("embedding", d_model)],
        &vocab,
        &[],
        init,
    )?;
    Ok(AnyLayer::new(linear))
}

crate::sequential_layer! {
    /// One decoder block: steps `attn` (a residual around norm + attention) and `mlp` (a
    /// residual around norm + feed-forward).
    pub struct TransformerBlock;
}

crate::sequential_layer! {
    /// The SwiGLU feed-forward: steps `gate_up` (gate and up projections multiplied) and
    /// `down`.
    pub struct TransformerFeedForward;
}

crate::sequential_layer! {
    /// A decoder language model: steps `embed`, `blocks` (a `Sequential` of
    /// [`TransformerBlock`]s, so `blocks[3]` is block 3), `final_norm`, `unembed`.
    /// Input: i64 token ids `{batch, seq}`; output: logits `{batch, seq, vocabulary}`.
    pub struct TransformerLm;
}

/// A projection labelled `label`: a `Linear`, or an `Affine` when it has a bias.
fn projection(
    w: WeightInit,
    label: &str,
    input: &[(&str, usize)],
    output: &[(&str, usize)],
    bias: bool,
) -> Result<AnyLayer> {
    let (seed, init) = (w.seed(), w.or(Initializer::XAVIER_NORMAL));
    Ok(if bias {
        AnyLayer::new(Affine::new(seed, label, input, output, init)?)
    } else {
        AnyLayer::new(Linear::new(seed, label, input, output, &[], init)?)
    })
}

/// The attention of block `label` (e.g. `blocks.3.attn`), with full causal attention.
pub fn llama_attention(seed: u64, label: &str, cfg: &LlamaConfig) -> Result<Attention> {
    attention(WeightInit::Seeded(seed), label, cfg, cfg.sliding_window)
}

/// An RMSNorm over `across` labelled `label`; Gemma's `(1 + w)` form when `plus_one` (its
/// `scale` step wrapped in a `Residual`, so `x + x w`).
fn rms_norm(
    seed: u64,
    label: &str,
    across: &[(&str, usize)],
    eps: f32,
    plus_one: bool,
) -> Result<RMSNorm> {
    let mut norm = RMSNorm::new(seed, label, across, eps)?;
    if plus_one {
        for step in norm.steps.as_mut_slice() {
            if step.name.as_deref() == Some("scale") {
                let scale = std::mem::replace(&mut step.layer, AnyLayer::new(crate::nn::Identity));
                step.layer = AnyLayer::new(Residual { delta: scale });
            }
        }
    }
    Ok(norm)
}

/// The RoPE step of a layer with sliding window `window`.
fn rope_layer(cfg: &LlamaConfig, window: Option<usize>) -> Result<AnyLayer> {
    let v = &cfg.variant;
    let (theta, scaling) = match (&v.local_rope, window) {
        (Some((theta, scaling)), Some(_)) => (*theta, scaling.clone()),
        _ => (cfg.rope_theta, v.rope_scaling.clone()),
    };
    Ok(match v.rotary_dims {
        Some(r) if r < cfg.head_dim => {
            AnyLayer::new(ApplyRoPEToSubset::new("projection", r, theta, scaling)?)
        }
        _ => AnyLayer::new(ApplyRoPE::new("projection", theta)?.with_scaling(scaling)),
    })
}

fn attention(
    w: WeightInit,
    label: &str,
    cfg: &LlamaConfig,
    window: Option<usize>,
) -> Result<Attention> {
    let d = [("embedding", cfg.d_model)];
    let q_heads = cfg.query_head_axes();
    let kv_heads = cfg.kv_head_axes();
    let with_proj = |heads: &[(&'static str, usize)]| {
        let mut v = heads.to_vec();
        v.push(("projection", cfg.head_dim));
        v
    };
    let linear = |name: &str, out: &[(&str, usize)]| {
        projection(w, &format!("{label}.{name}"), &d, out, cfg.qkv_bias)
    };
    let v = &cfg.variant;
    let rope = || rope_layer(cfg, window);
    let to_kv = || AnyLayer::new(RenameAxes::new("seq", "kv_seq"));
    let qk_norm = |name: &str| -> Result<AnyLayer> {
        Ok(AnyLayer::new(rms_norm(
            w.seed(),
            &format!("{label}.{name}.norm"),
            &[("projection", cfg.head_dim)],
            cfg.rms_eps,
            v.norm_plus_one,
        )?))
    };
    let mut query = vec![("proj", linear("query", &with_proj(&q_heads))?)];
    let mut key = vec![("proj", linear("key", &with_proj(&kv_heads))?)];
    if v.qk_norm {
        query.push(("norm", qk_norm("query")?));
        key.push(("norm", qk_norm("key")?));
    }
    let scale = v
        .query_scale
        .unwrap_or_else(|| 1.0 / (cfg.head_dim as f32).sqrt());
    query.push(("rope", rope()?));
    query.push(("scale", AnyLayer::new(ConstantRescale { by: scale })));
    key.push(("rope", rope()?));
    key.push(("rename", to_kv()));
    let (query, key) = (Sequential::named(query)?, Sequential::named(key)?);
    let value = Sequential::named([
        ("proj", linear("value", &with_proj(&kv_heads))?),
        ("rename", to_kv()),
    ])?;
    let mask = match window {
        Some(w) => AnyLayer::new(ApplyCausalSlidingWindowMask::new(w)),
        None => AnyLayer::new(ApplyCausalMask::default()),
    };
    let mut scores = Vec::new();
    if let Some(cap) = v.attn_softcap {
        scores.push(("soft_cap", AnyLayer::new(TanhSoftCap { soft_cap: cap })));
    }
    scores.push(("mask", mask));
    scores.push(("softmax", AnyLayer::new(Softmax::over("kv_seq"))));
    let scores = Sequential::named(scores)?;
    let output = projection(
        w,
        &format!("{label}.output"),
        &with_proj(&q_heads),
        &d,
        cfg.output_bias,
    )?;
    Ok(Attention {
        query: AnyLayer::new(query),
        key: AnyLayer::new(key),
        value: AnyLayer::new(value),
        scores: AnyLayer::new(scores),
        output,
        head_axis: "projection".into(),
        kv_axis: "kv_seq".into(),
    })
}

/// The SwiGLU feed-forward of block `label`.
pub fn llama_feed_forward(
    seed: u64,
    label: &str,
    cfg: &LlamaConfig,
) -> Result<TransformerFeedForward> {
    feed_forward(WeightInit::Seeded(seed), label, cfg)
}

fn feed_forward(w: WeightInit, label: &str, cfg: &LlamaConfig) -> Result<TransformerFeedForward> {
    let d = [("embedding", cfg.d_model)];
    let n = [("neurons", cfg.mlp_hidden)];
    let (seed, init) = (w.seed(), w.or(Initializer::XAVIER_NORMAL));
    let gate = Sequential::named([
        (
            "proj",
            AnyLayer::new(Linear::new(
                seed,
                &format!("{label}.gate"),
                &d,
                &n,
                &[],
                init,
            )?),
        ),
        (
            "act",
            AnyLayer::new(Elementwise::new(cfg.variant.activation.clone())),
        ),
    ])?;
    let up = Linear::new(seed, &format!("{label}.up"), &d, &n, &[], init)?;
    let gate_up = BranchAndMultiply::new(vec![AnyLayer::new(gate), AnyLayer::new(up)])?;
    let down = Linear::new(seed, &format!("{label}.down"), &n, &d, &[], init)?;
    Ok(TransformerFeedForward {
        steps: Steps::named([
            ("gate_up", AnyLayer::new(gate_up)),
            ("down", AnyLayer::new(down)),
        ])?,
    })
}

/// Block `index` of a Llama-style model.
pub fn llama_block(seed: u64, index: usize, cfg: &LlamaConfig) -> Result<TransformerBlock> {
    block(WeightInit::Seeded(seed), index, cfg)
}

fn block(w: WeightInit, index: usize, cfg: &LlamaConfig) -> Result<TransformerBlock> {
    cfg.check()?;
    let seed = w.seed();
    let label = format!("blocks.{index}");
    let d = [("embedding", cfg.d_model)];
    let plus_one = cfg.variant.norm_plus_one;
    let norm = |name: &str| -> Result<AnyLayer> {
        Ok(AnyLayer::new(rms_norm(
            seed,
            &format!("{label}.{name}"),
            &d,
            cfg.rms_eps,
            plus_one,
        )?))
    };
    let mut attn = vec![
        ("norm", norm("attn.norm")?),
        (
            "attention",
            AnyLayer::new(attention(
                w,
                &format!("{label}.attn"),
                cfg,
                cfg.window(index),
            )?),
        ),
    ];
    let mut mlp = vec![
        ("norm", norm("mlp.norm")?),
        (
            "ffn",
            AnyLayer::new(feed_forward(w, &format!("{label}.mlp"), cfg)?),
        ),
    ];
    if cfg.variant.post_norms {
        attn.push(("post_norm", norm("attn.post_norm")?));
        mlp.push(("post_norm", norm("mlp.post_norm")?));
    }
    let (attn, mlp) = (Sequential::named(attn)?, Sequential::named(mlp)?);
    Ok(TransformerBlock {
        steps: Steps::named([
            ("attn", AnyLayer::new(Residual::new(attn))),
            ("mlp", AnyLayer::new(Residual::new(mlp))),
        ])?,
    })
}

impl TransformerLm {
    /// A randomly initialized Llama-style model (seeded; the same seed gives the same model
    /// on every platform).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 5)], vec![1, 2, 3, 4, 5])?;
    /// let logits = model.call(tokens, &mut Context::new())?;
    /// assert_eq!(logits.named_shape().to_string(), "{batch: 1, seq: 5, vocabulary: 64}");
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn llama(cfg: &LlamaConfig, seed: u64) -> Result<TransformerLm> {
        TransformerLm::llama_with(cfg, WeightInit::Seeded(seed))
    }

    /// A Llama-style model whose weight matrices and embeddings are filled as `init` says
    /// (norm scales are ones, biases zeros). [`WeightInit::Zeros`] gives the skeleton a
    /// checkpoint loader overwrites, without drawing millions of random numbers first.
    pub fn llama_with(cfg: &LlamaConfig, init: WeightInit) -> Result<TransformerLm> {
        cfg.check()?;
        super::memory::ensure_model_fits(
            &format!("a Llama model with {} layers", cfg.n_layers),
            cfg.parameter_count(),
            cfg.n_layers,
        )?;
        let (w, seed) = (init, init.seed());
        let d = [("embedding", cfg.d_model)];
        let table = EmbeddingTable::new(
            seed,
            "embed",
            cfg.vocab_size,
            &d,
            w.or(Initializer::Normal { std: 0.02 }),
        )?;
        let blocks = stack_blocks(cfg.n_layers, |i| block(w, i, cfg))?;
        let unembed = unembedding(
            &table,
            cfg.tie_embeddings,
            seed,
            cfg.d_model,
            w.or(Initializer::XAVIER_NORMAL),
        )?;
        let v = &cfg.variant;
        let mut steps = Steps::new();
        steps.push_named("embed", AnyLayer::new(EmbeddingLookup { table }))?;
        if let Some(by) = v.embed_scale {
            steps.push_named("embed_scale", AnyLayer::new(ConstantRescale { by }))?;
        }
        steps.push_named("blocks", AnyLayer::new(blocks))?;
        steps.push_named(
            "final_norm",
            AnyLayer::new(rms_norm(
                seed,
                "final_norm",
                &d,
                cfg.rms_eps,
                v.norm_plus_one,
            )?),
        )?;
        steps.push_named("unembed", unembed)?;
        if let Some(cap) = v.final_softcap {
            steps.push_named(
                "final_soft_cap",
                AnyLayer::new(TanhSoftCap { soft_cap: cap }),
            )?;
        }
        Ok(TransformerLm { steps })
    }
}
