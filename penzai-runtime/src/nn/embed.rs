//! Embeddings: a table shared (tied) by the lookup of token ids and the decode to logits.

use crate::Result;
use crate::nn::check::require_axis;
use crate::nn::flow::{Axis, AxisSet};
use crate::nn::side_inputs::TOKEN_POSITIONS;
use crate::nn::{Context, Initializer, Layer, LayerError, Parameter, Signature, WeightAxes};
use crate::nx::{AxisName, DType, NamedArray};

/// An embedding table: one vector (over the embedding axes) per vocabulary entry.
/// Not a layer itself; [`EmbeddingLookup`] and [`EmbeddingDecode`] hold copies that share
/// its parameter label and storage, so the two stay one tied parameter.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingTable {
    /// The table, with the vocabulary axis and the embedding axes.
    pub embeddings: Parameter,
    /// The name of the vocabulary axis.
    #[tree(skip)]
    pub vocabulary_axis: AxisName,
}

impl EmbeddingTable {
    /// A table of `vocab` rows over `embedding` axes, initialized with `init`.
    pub fn new(
        seed: u64,
        label: &str,
        vocab: usize,
        embedding: &[(&str, usize)],
        init: Initializer,
    ) -> Result<EmbeddingTable> {
        let axes = WeightAxes {
            input: &[("vocabulary", vocab)],
            output: embedding,
            parallel: &[],
        };
        Ok(EmbeddingTable {
            embeddings: init.parameter(seed, &format!("{label}.embeddings"), &axes)?,
            vocabulary_axis: "vocabulary".into(),
        })
    }

    /// A table over an existing parameter whose vocabulary axis is `vocabulary_axis`.
    pub fn from_parameter(embeddings: Parameter, vocabulary_axis: &str) -> Result<EmbeddingTable> {
        if !embeddings.value.has_axis(vocabulary_axis) {
            return Err(LayerError::ParameterAxes {
                field: crate::tree::KeyPath::root().field("embeddings"),
                problem: format!(
                    "the table {} has no vocabulary axis {vocabulary_axis:?}",
                    embeddings.value.named_shape()
                ),
            }
            .into());
        }
        Ok(EmbeddingTable {
            embeddings,
            vocabulary_axis: vocabulary_axis.into(),
        })
    }

    /// Number of vocabulary entries.
    pub fn vocab_size(&self) -> usize {
        self.embeddings
            .value
            .axis_size(&self.vocabulary_axis)
            .unwrap_or(0)
    }

    /// The embedding axes (every axis but the vocabulary one).
    pub fn embedding_axes(&self) -> Vec<String> {
        self.embeddings
            .value
            .named_shape()
            .names()
            .filter(|n| **n != self.vocabulary_axis)
            .map(|n| n.to_string())
            .collect()
    }

    /// The embedding axes with their sizes, borrowed from the table.
    fn embedding_axis_set(&self) -> AxisSet<'_> {
        let value = &self.embeddings.value;
        value
            .axis_names()
            .iter()
            .filter(|n| **n != self.vocabulary_axis)
            .map(|n| Axis::maybe_sized(n, value.axis_size(n)))
            .collect()
    }
}

/// Looks up integer token ids in the table: `{batch, seq}` ids give `{batch, seq, embedding}`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct EmbeddingLookup {
    /// The table.
    pub table: EmbeddingTable,
}

impl Layer for EmbeddingLookup {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        if x.dtype() != DType::I64 {
            return Err(LayerError::Config(format!(
                "EmbeddingLookup needs i64 token ids; got {:?} {}",
                x.dtype(),
                x.named_shape()
            ))
            .into());
        }
        let rows = self
            .table
            .embeddings
            .value
            .take_checked(&self.table.vocabulary_axis, &x)?;
        // Token axes first, as the rest of the model expects to see them (no copy).
        let token_axes: Vec<&str> = x.axis_names().iter().map(|n| n.as_str()).collect();
        Ok(rows.move_to_front(&token_axes)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature {
            adds: self.table.embedding_axis_set(),
            ..Signature::new()
        })
    }
}

/// Decodes vectors to logits over the vocabulary by contracting with the table.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct EmbeddingDecode {
    /// The table.
    pub table: EmbeddingTable,
}

impl Layer for EmbeddingDecode {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        let axes = self.table.embedding_axes();
        let shape = self.table.embeddings.value.named_shape();
        for axis in &axes {
            require_axis(&x, axis, shape.get(axis))?;
        }
        let names: Vec<&str> = axes.iter().map(String::as_str).collect();
        Ok(x.contract(&self.table.embeddings.value, &names)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        let axes = self.table.embedding_axis_set();
        Some(Signature {
            requires: axes,
            removes: axes,
            adds: AxisSet::of(&[Axis::sized(
                &self.table.vocabulary_axis,
                self.table.vocab_size(),
            )]),
        })
    }
}

/// Adds learned absolute position embeddings (GPT-2's `wpe`): row `p` of the table is
/// added at position `p`, with positions from the side input `positions_input` (else
/// `0..n` along `seq`).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct AddPositionalEmbedding {
    /// The table, with a `positions` axis.
    pub table: EmbeddingTable,
    /// The side input holding token positions.
    #[tree(skip)]
    pub positions_input: String,
}

impl AddPositionalEmbedding {
    /// Position embeddings from `table` (its vocabulary axis indexes positions).
    pub fn new(table: EmbeddingTable) -> AddPositionalEmbedding {
        AddPositionalEmbedding {
            table,
            positions_input: TOKEN_POSITIONS.to_owned(),
        }
    }
}

impl Layer for AddPositionalEmbedding {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let positions = crate::nn::rope::positions(cx, &self.positions_input, &x, "seq")?;
        let rows = self
            .table
            .embeddings
            .value
            .take_checked(&self.table.vocabulary_axis, &positions)?;
        for (axis, size) in rows.named_shape().iter() {
            require_axis(&x, axis, Some(size))?;
        }
        Ok((&x + &rows)?)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::requiring(&self.table.embedding_axis_set()))
    }
}
