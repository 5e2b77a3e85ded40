//! Helpers shared by the fuzz targets and their seed writers.

pub mod extreme;

use penzai_runtime::io::{self, SavedModel};
use penzai_runtime::models::{Gpt2Config, LlamaConfig, TransformerLm, with_kv_cache};
use penzai_runtime::nn::{
    Activation, AnyLayer, ApplyExplicitMask, ApplyRoPEToSubset, BranchAndAdd, CastToDType,
    CheckAxes, Dropout, Mlp, NamedEinsum, NamedGroup, Parameter, Sequential, TanhSoftCap,
};
use penzai_runtime::nx::DType;
use penzai_runtime::tree::{TreeExt, Walk};

/// A small model holding every built-in layer type, saved: the starting point the `io_load`
/// target mutates (its structure, its parameters, or both).
pub fn reference_model() -> SavedModel {
    let llama = LlamaConfig {
        vocab_size: 8,
        d_model: 4,
        n_layers: 1,
        n_heads: 2,
        n_kv_heads: 1,
        head_dim: 2,
        mlp_hidden: 4,
        tie_embeddings: true,
        sliding_window: Some(3),
        ..LlamaConfig::tiny()
    };
    let gpt2 = Gpt2Config {
        vocab_size: 8,
        n_positions: 4,
        d_model: 4,
        n_layers: 1,
        n_heads: 2,
        ..Gpt2Config::tiny()
    };
    let build = || -> penzai_runtime::Result<NamedGroup> {
        let llama = with_kv_cache(&TransformerLm::llama(&llama, 1)?)?;
        let mut gpt2 = TransformerLm::gpt2(&gpt2, 2)?;
        // Both models label their parameters alike; one model must not tie them.
        gpt2.walk_mut(&mut |_, node| {
            if let Some(p) = node.downcast_mut::<Parameter>() {
                p.label = format!("gpt2.{}", p.label).into();
            }
            Walk::Continue
        });
        let odds = Sequential::new()
            .then(Dropout::new(0.1)?)
            .then(CheckAxes::parse("[batch, seq: S, ...]")?)
            .then(TanhSoftCap { soft_cap: 30.0 })
            .then(CastToDType { dtype: DType::F32 })
            .then(NamedEinsum::new(
                "keys",
                &["seq"],
                &["kv_seq"],
                &["seq", "kv_seq"],
            ))
            .then(ApplyExplicitMask {
                mask_input: "mask".into(),
            })
            .then(ApplyRoPEToSubset {
                embedding_axis: "projection".into(),
                rope_subset_size: 2,
                max_wavelength: 10_000.0,
                positions_input: "token_positions".into(),
                scaling: Default::default(),
            })
            .then(Mlp::new(
                3,
                "mlp",
                "features",
                &[2, 3, 2],
                Activation::Relu,
            )?)
            .then(BranchAndAdd::new(vec![AnyLayer::new(Sequential::new())])?);
        Ok(NamedGroup::new("reference")
            .then_named("llama", llama)?
            .then_named("gpt2", gpt2)?
            .then_named("odds", odds)?)
    };
    let model = build().expect("the reference model builds");
    io::save_to_memory(&model).expect("the reference model saves")
}

/// How a fuzz input is read: the first byte picks what the rest replaces.
pub enum Input<'a> {
    /// The rest is the structure JSON; the reference parameters are kept.
    Structure(&'a [u8]),
    /// The rest is the parameters file; the reference structure is kept.
    Parameters(&'a [u8]),
    /// The rest is a little-endian u32 length, that many bytes of structure, then parameters.
    Both(&'a [u8], &'a [u8]),
}

impl<'a> Input<'a> {
    /// Splits a fuzz input; `None` for inputs too short to mean anything.
    pub fn parse(data: &'a [u8]) -> Option<Input<'a>> {
        let (&mode, rest) = data.split_first()?;
        Some(match mode % 3 {
            0 => Input::Structure(rest),
            1 => Input::Parameters(rest),
            _ => {
                let (len, rest) = rest.split_first_chunk::<4>()?;
                let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
                let (structure, parameters) = rest.split_at(len);
                Input::Both(structure, parameters)
            }
        })
    }

    /// The fuzz input that stands for `saved` in this mode.
    pub fn encode(mode: u8, saved: &SavedModel) -> Vec<u8> {
        let mut out = vec![mode];
        match mode % 3 {
            0 => out.extend(&saved.structure),
            1 => out.extend(&saved.parameters),
            _ => {
                out.extend((saved.structure.len() as u32).to_le_bytes());
                out.extend(&saved.structure);
                out.extend(&saved.parameters);
            }
        }
        out
    }
}
