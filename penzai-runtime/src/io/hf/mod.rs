//! HuggingFace checkpoints mapped onto our transformers, and back.
//!
//! [`load`] reads a checkpoint folder (`config.json` plus `model.safetensors`, or shards
//! with `model.safetensors.index.json`) into a [`TransformerLm`] built by our own builders,
//! so selectors reach `blocks[i]`, attention, its query/key/value/output projections, MLPs
//! and norms by type and by path exactly as in a freshly built model. [`export`] writes a
//! (possibly edited) model back in transformers' names and layouts.
//!
//! Supported: GPT-2 (`GPT2LMHeadModel`, with or without the `transformer.` prefix), GPT-NeoX
//! (`GPTNeoXForCausalLM`: Pythia, with its parallel residual and partial rotary) and the
//! Llama family (`llama` with any RoPE scheme of `rope_scaling`, `mistral` with its sliding
//! window, `qwen2` with its query/key/value biases and per-layer windows, `qwen3` with its
//! query/key norms, `gemma`, `gemma2`, `gemma3_text`, and `phi3` with its fused projections),
//! in F16, BF16, F32 or F64, computed in f32.
//!
//! **Weights stay at their stored width, in the file.** The safetensors files are memory-mapped
//! and F32, F16 and BF16 parameters borrow their bytes (copy-on-write): loading copies nothing,
//! a 16-bit checkpoint takes half the memory of its f32 form, and the kernels widen 16-bit
//! weights as they read them, accumulating in f32 (F64 is converted to f32). To widen once at
//! load instead, pass [`LoadOptions`] with `dtype: Some(DType::F32)` to [`load_with`].
//!
//! The mapping is strict: every tensor the architecture needs must be present with the shape
//! the config implies, and every tensor in the files must be used (GPT-2's causal-mask
//! buffers excepted). Each failure is an [`HfError`] naming the file, the tensor and the
//! byte offset of its data.
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::io::hf;
//!
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/llama-gqa-tied");
//! let loaded = hf::load(dir)?;
//! assert_eq!(loaded.architecture, "llama");
//! let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![5, 17, 42])?;
//! let logits = loaded.model.call(tokens, &mut Context::new())?;
//! assert_eq!(logits.named_shape().to_string(), "{batch: 1, seq: 3, vocabulary: 101}");
//!
//! // The loaded model is our own tree: selectors reach its parts by type and by path.
//! use penzai::nn::{Attention, RMSNorm};
//! use penzai::select::select;
//! assert_eq!(select(&loaded.model as &dyn Tree).at_instances_of::<Attention>().count(), 2);
//! assert_eq!(select(&loaded.model as &dyn Tree).at_instances_of::<RMSNorm>().count(), 5);
//! let query = loaded.model.get_at(&"blocks[1].attn.delta.attention.query.proj".parse()?)?;
//! assert_eq!(query.type_name(), "Linear");
//!
//! // A folder that is not a checkpoint is an error naming the file it lacks.
//! let err = hf::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).unwrap_err();
//! assert!(err.to_string().contains("config.json"));
//! # Ok::<(), penzai::Error>(())
//! ```

mod config_json;
mod error;
mod export;
mod gpt2;
mod gpt_neox;
mod layout;
mod llama;
mod reader;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

pub use error::HfError;
pub use export::{export, export_tensors};

use crate::io::{Architecture, Checkpoint, HfConfig, INDEX_FILE_NAME, SINGLE_FILE_NAME};
use crate::models::{TransformerLm, WeightInit};
use crate::nn::{LayerError, parameters, set_parameter};
use crate::nx::{DType, NamedArray};
use layout::{Target, TensorMap};
use reader::TensorReader;

/// The file name of an HF config.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// A model loaded from a HuggingFace checkpoint, with its config and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The model, built by [`TransformerLm::gpt2`] or [`TransformerLm::llama`] and filled
    /// with the checkpoint's parameters, at their stored width (F64 as f32) unless
    /// [`LoadOptions::dtype`] said otherwise.
    pub model: TransformerLm,
    /// The parsed `config.json`; pass it to [`export`] to write the model back.
    pub config: HfConfig,
    /// The `model_type`: `gpt2`, `gpt_neox`, `llama`, `mistral`, `qwen2`, `qwen3`, `gemma`,
    /// `gemma2`, `gemma3_text` or `phi3`.
    pub architecture: &'static str,
    /// The dtypes the parameters were stored in.
    pub stored_dtypes: BTreeSet<DType>,
    /// The safetensors files read.
    pub files: Vec<String>,
}

/// Whether `dir` looks like an HF checkpoint folder (a `config.json` and either
/// `model.safetensors` or `model.safetensors.index.json`).
pub fn is_checkpoint_dir(dir: impl AsRef<Path>) -> bool {
    let dir = dir.as_ref();
    dir.join(CONFIG_FILE_NAME).is_file()
        && (dir.join(SINGLE_FILE_NAME).is_file() || dir.join(INDEX_FILE_NAME).is_file())
}

/// How [`load_with`] reads a checkpoint's parameters.
///
/// ```
/// use penzai::io::hf::{self, LoadOptions};
/// use penzai::nn::parameters;
/// use penzai::nx::DType;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/gpt2-bf16");
/// // By default a bf16 checkpoint stays bf16, borrowed from the mapped file.
/// let kept = hf::load(dir)?;
/// let (_, p) = &parameters(&kept.model)[0];
/// assert_eq!(p.value.dtype(), DType::BF16);
/// assert!(p.value.storage().is_borrowed());
/// // Widened once at load, for users who prefer f32 parameters.
/// let wide = hf::load_with(dir, &LoadOptions::default().dtype(DType::F32), &mut |_, _| {})?;
/// let (_, p) = &parameters(&wide.model)[0];
/// assert_eq!(p.value.dtype(), DType::F32);
/// # Ok::<(), penzai::io::hf::HfError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The parameters' dtype. `None` (the default) keeps each tensor's stored width: F16 and
    /// BF16 stay 16-bit, and F32, F16 and BF16 borrow the mapped file instead of being copied.
    /// `Some(DType::F32)` widens 16-bit parameters once, at load (twice the memory, no
    /// widening in the kernels); `F16` and `BF16` narrow (rounding to nearest). Other dtypes
    /// are an [`HfError::UnsupportedDtype`].
    pub dtype: Option<DType>,
}

impl LoadOptions {
    /// These options with parameters loaded as `dtype`.
    pub fn dtype(mut self, dtype: DType) -> LoadOptions {
        self.dtype = Some(dtype);
        self
    }
}

/// Loads the HF checkpoint in `dir` (see the [module docs](self)), keeping each parameter at
/// its stored width.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::io::hf;
///
/// // A folder with config.json and model.safetensors: here the tiny GPT-2 the repo ships.
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/gpt2");
/// let loaded = hf::load(dir)?;
/// assert_eq!(loaded.architecture, "gpt2");
/// let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 3)], vec![5, 17, 42])?;
/// let logits = loaded.model.call(tokens, &mut Context::new())?;
/// assert!(logits.has_axis("vocabulary"));
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn load(dir: impl AsRef<Path>) -> Result<LoadedModel, HfError> {
    load_with(dir, &LoadOptions::default(), &mut |_, _| {})
}

/// Like [`load`], calling `on_tensor(done, total)` after each tensor is converted (for a
/// progress bar).
pub fn load_with_progress(
    dir: impl AsRef<Path>,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<LoadedModel, HfError> {
    load_with(dir, &LoadOptions::default(), on_tensor)
}

/// Loads the HF checkpoint in `dir` as `options` say, calling `on_tensor(done, total)` after
/// each tensor is converted.
pub fn load_with(
    dir: impl AsRef<Path>,
    options: &LoadOptions,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<LoadedModel, HfError> {
    if let Some(dtype) = options.dtype
        && !matches!(dtype, DType::F32 | DType::F16 | DType::BF16)
    {
        return Err(HfError::UnsupportedDtype { dtype });
    }
    let dir = dir.as_ref();
    let config_path = dir.join(CONFIG_FILE_NAME);
    let config = HfConfig::from_path(&config_path)?;
    let checkpoint = Checkpoint::open_dir(dir)?;
    let config_file = config_path.display().to_string();
    let mut model = from_checkpoint(&config, &config_file, &checkpoint, on_tensor)?;
    if let Some(dtype) = options.dtype {
        cast_parameters(&mut model, dtype, &config_file)?;
    }
    Ok(LoadedModel {
        model,
        architecture: architecture_name(&config.architecture),
        stored_dtypes: checkpoint.tensors().map(|t| t.dtype()).collect(),
        files: checkpoint
            .shards()
            .iter()
            .map(|f| f.file_name().to_owned())
            .collect(),
        config,
    })
}

/// Builds the model `config` describes and fills it from `checkpoint`; `config_file` names
/// the config in errors.
pub fn from_checkpoint(
    config: &HfConfig,
    config_file: &str,
    checkpoint: &Checkpoint,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<TransformerLm, HfError> {
    check_layer_count(config, config_file, checkpoint)?;
    let plan = match &config.architecture {
        Architecture::Gpt2(cfg) => {
            // Checkpoints saved from `GPT2Model` (the published ones) lack the prefix.
            let prefix = if checkpoint.get("wte.weight").is_some()
                && checkpoint.get("transformer.wte.weight").is_none()
            {
                ""
            } else {
                gpt2::PREFIX
            };
            gpt2::plan(cfg, config_file, prefix)?
        }
        Architecture::GptNeox(cfg) => gpt_neox::plan(cfg),
        Architecture::Llama(cfg) => llama::plan(cfg),
    };
    fill(plan, checkpoint, config_file, on_tensor)
}

/// Refuses a config whose layer count needs more tensors than the checkpoint holds, before
/// anything is built per layer: a config claiming 10^8 layers must not allocate 10^8 layers'
/// worth of tables (or blocks) only to find the first missing tensor.
///
/// Every layer needs its own tensors (as many as the layout lists for one layer), so the
/// checkpoint's tensor count bounds the layer count. A claim of one layer more than the files
/// can back still goes through the mapping, whose error names the first missing tensor; past
/// that, the count itself is the error (and the tables built are bounded by the files).
fn check_layer_count(
    config: &HfConfig,
    config_file: &str,
    checkpoint: &Checkpoint,
) -> Result<(), HfError> {
    // The layout of a 1-layer and a 2-layer model differ by one layer's tensors.
    let (key, layers, rows_for) = match &config.architecture {
        Architecture::Gpt2(cfg) => {
            let rows = |n| {
                let one = crate::io::hf_config::HfGpt2Config {
                    n_layer: n,
                    ..cfg.clone()
                };
                gpt2::layout(&one, "").len()
            };
            ("n_layer", cfg.n_layer, (rows(1), rows(2)))
        }
        Architecture::GptNeox(cfg) => {
            let rows = |n| {
                let one = crate::io::hf_config::HfGptNeoxConfig {
                    num_hidden_layers: n,
                    ..cfg.clone()
                };
                gpt_neox::layout(&one).len()
            };
            (
                "num_hidden_layers",
                cfg.num_hidden_layers,
                (rows(1), rows(2)),
            )
        }
        Architecture::Llama(cfg) => {
            let rows = |n| {
                let one = crate::io::hf_config::HfLlamaConfig {
                    num_hidden_layers: n,
                    ..cfg.clone()
                };
                llama::layout(&one).len()
            };
            (
                "num_hidden_layers",
                cfg.num_hidden_layers,
                (rows(1), rows(2)),
            )
        }
    };
    let per_layer = rows_for.1 - rows_for.0;
    let fixed = rows_for.0 - per_layer;
    let held = checkpoint.len();
    let backed = held.saturating_sub(fixed) / per_layer.max(1);
    if layers > backed + 1 {
        return Err(HfError::LayerCount {
            file: config_file.to_owned(),
            key,
            layers,
            per_layer,
            fixed,
            tensors: held,
        });
    }
    Ok(())
}

/// Converts every parameter of `model` to `dtype` (a float dtype, checked by the caller); tied
/// parameters stay one shared array.
fn cast_parameters(
    model: &mut TransformerLm,
    dtype: DType,
    config_file: &str,
) -> Result<(), HfError> {
    let mut converted: HashMap<String, NamedArray> = HashMap::new();
    for (_, p) in parameters(model) {
        if p.value.dtype() != dtype && !converted.contains_key(&*p.label) {
            let value = p
                .value
                .cast(dtype)
                .map_err(|e| internal(config_file, e.to_string()))?;
            converted.insert(p.label.to_string(), value);
        }
    }
    for (label, value) in &converted {
        set_parameter(model, label, value);
    }
    Ok(())
}

/// The `model_type` of an architecture.
fn architecture_name(architecture: &Architecture) -> &'static str {
    match architecture {
        Architecture::Gpt2(_) => "gpt2",
        Architecture::GptNeox(_) => "gpt_neox",
        Architecture::Llama(cfg) => llama::architecture(cfg.family),
    }
}

/// The model a config describes and how to fill it from a checkpoint.
pub(crate) struct Plan {
    /// The `model_type`, for messages.
    architecture: &'static str,
    /// Builds the model with zero weights, to be overwritten.
    skeleton: Skeleton,
    /// Every tensor to read.
    rows: Vec<TensorMap>,
    /// Tensors to ignore when present (non-parameter buffers).
    buffers: Vec<String>,
    /// For tied embeddings: the copy some checkpoints still store, and its original.
    tied: Option<(String, String)>,
}

/// The config of the model to build.
// Built once per load and matched at once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Skeleton {
    /// A GPT-2.
    Gpt2(crate::models::Gpt2Config),
    /// A GPT-NeoX.
    GptNeox(crate::models::GptNeoxConfig),
    /// A Llama-family model.
    Llama(crate::models::LlamaConfig),
}

impl Skeleton {
    fn build(&self) -> crate::Result<TransformerLm> {
        match self {
            Skeleton::Gpt2(cfg) => TransformerLm::gpt2_with(cfg, WeightInit::Zeros),
            Skeleton::GptNeox(cfg) => TransformerLm::gpt_neox_with(cfg, WeightInit::Zeros),
            Skeleton::Llama(cfg) => TransformerLm::llama_with(cfg, WeightInit::Zeros),
        }
    }
}

/// Checks the checkpoint against every row of `plan` (names, dtypes, shapes, leftovers), then
/// builds the skeleton and reads every row into it, and validates the result.
///
/// Checking first means nothing is allocated for a config the files do not back: the
/// skeleton's size is bounded by the tensors actually present.
fn fill(
    plan: Plan,
    checkpoint: &Checkpoint,
    config_file: &str,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<TransformerLm, HfError> {
    let Plan {
        architecture,
        skeleton,
        rows,
        buffers,
        tied,
    } = plan;
    let mut reader = TensorReader::new(checkpoint, architecture);
    for row in &rows {
        reader.check(row)?;
    }
    for buffer in &buffers {
        reader.skip(buffer);
    }
    if let Some((copy, original)) = &tied
        && reader.has(copy)
    {
        check_tied_copy(&mut reader, copy, original)?;
    }
    reader.check_all_used()?;

    let mut model = skeleton.build().map_err(|e| HfError::Model {
        file: config_file.to_owned(),
        source: Box::new(e),
    })?;
    // Each parameter's axes in the skeleton's logical order, which the loaded arrays adopt
    // (a stride permutation, never a copy) so a loaded model prints like a built one.
    let skeleton: HashMap<String, Vec<(String, usize)>> = parameters(&model)
        .into_iter()
        .map(|(_, p)| (p.label.to_string(), axes_of(&p.value)))
        .collect();
    let mut reader = TensorReader::new(checkpoint, architecture);
    for (i, row) in rows.iter().enumerate() {
        let array = reader.read(row)?;
        for (label, value) in parts(row, &array, config_file)? {
            let Some(axes) = skeleton.get(label) else {
                return Err(internal(config_file, format!("no parameter {label:?}")));
            };
            if sorted(axes.clone()) != sorted(axes_of(&value)) {
                return Err(internal(
                    config_file,
                    format!(
                        "{label:?} is {} in the model but {} in the layout",
                        describe(axes),
                        value.named_shape()
                    ),
                ));
            }
            let order: Vec<&str> = axes.iter().map(|(n, _)| n.as_str()).collect();
            let value = value
                .move_to_front(&order)
                .map_err(|e| internal(config_file, e.to_string()))?;
            set_parameter(&mut model, label, &value);
        }
        on_tensor(i + 1, rows.len());
    }
    crate::tree::validate_all(&model).map_err(|e| HfError::Model {
        file: config_file.to_owned(),
        source: Box::new(e.into()),
    })?;
    Ok(model)
}

/// The parameters a row's array becomes.
fn parts<'r>(
    row: &'r TensorMap,
    array: &NamedArray,
    config_file: &str,
) -> Result<Vec<(&'r str, NamedArray)>, HfError> {
    match &row.target {
        Target::One(label) => Ok(vec![(label.as_str(), array.clone())]),
        Target::Split { axis, labels } => labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let part = array
                    .index_axis(axis, i)
                    .map_err(|e| internal(config_file, e.to_string()))?;
                Ok((label.as_str(), part))
            })
            .collect(),
        Target::Rows { parts } => {
            let (rows, _) = row.axes[0];
            let mut start = 0;
            parts
                .iter()
                .map(|(label, axes)| {
                    let count = axes.iter().map(|(_, s)| s).product::<usize>()
                        / row.axes[1..]
                            .iter()
                            .map(|(_, s)| s)
                            .product::<usize>()
                            .max(1);
                    let part = array
                        .slice_axis(rows, start..start + count)
                        .map_err(|e| internal(config_file, e.to_string()))?;
                    start += count;
                    // The part's rows regrouped into its own axes: a copy, at the stored width.
                    let names = row.axis_names();
                    let values = part
                        .order_as(&names)
                        .map_err(|e| internal(config_file, e.to_string()))?
                        .to_f32_vec();
                    let value = NamedArray::from_f32(axes.as_slice(), values)
                        .and_then(|v| v.cast(array.dtype()))
                        .map_err(|e| internal(config_file, e.to_string()))?;
                    Ok((label.as_str(), value))
                })
                .collect()
        }
    }
}

/// Accepts a stored copy of a tied tensor if it equals the original.
fn check_tied_copy(
    reader: &mut TensorReader<'_>,
    copy: &str,
    original: &str,
) -> Result<(), HfError> {
    let original_view = reader.view(original)?;
    let copy_view = reader.view(copy)?;
    reader::check(&copy_view, original_view.shape())?;
    // Equal as stored: a NaN in the original must be a NaN in the copy (f32 `!=` would call
    // an exact copy different), and -0.0 and 0.0 count as equal.
    let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
    let (copy_values, original_values) = (copy_view.to_f32_vec()?, original_view.to_f32_vec()?);
    if copy_values.len() != original_values.len()
        || !copy_values
            .iter()
            .zip(&original_values)
            .all(|(&a, &b)| same(a, b))
    {
        return Err(HfError::TiedMismatch {
            file: copy_view.file().to_owned(),
            tensor: copy.to_owned(),
            tied_to: original.to_owned(),
            offset: copy_view.data_offset(),
        });
    }
    Ok(())
}

fn axes_of(array: &NamedArray) -> Vec<(String, usize)> {
    array
        .named_shape()
        .iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect()
}

fn sorted(mut axes: Vec<(String, usize)>) -> Vec<(String, usize)> {
    axes.sort_unstable();
    axes
}

fn describe(axes: &[(String, usize)]) -> String {
    let refs: Vec<(&str, usize)> = axes.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    layout::describe_axes(&refs)
}

/// A disagreement between our builder and our layout table: a bug here, reported as an
/// error rather than a panic.
fn internal(config_file: &str, message: String) -> HfError {
    HfError::Model {
        file: config_file.to_owned(),
        source: Box::new(LayerError::Config(format!("internal layout error: {message}")).into()),
    }
}
