//! `export`: a model back to transformers' tensor names and layouts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::layout::{Target, TensorMap, describe_axes};
use super::{CONFIG_FILE_NAME, HfError, config_json, gpt_neox, gpt2, llama};
use crate::io::{Architecture, HfConfig, HostTensor, IoError, SINGLE_FILE_NAME, TensorData};
use crate::nn::{Parameter, parameters};
use crate::nx::{ArrayElement, DType, NamedArray, SharedArray, Storage};
use crate::tree::{KeyPath, Tree};

/// Writes `model` as a HuggingFace checkpoint in `dir` (created if needed): `config.json`
/// from `config`, and `model.safetensors` (F32) in transformers' names and layouts, so
/// transformers' `from_pretrained(dir)` (and [`load`](super::load)) read it back.
///
/// Parameters are matched by label, so an edited model exports as long as its parameters
/// keep their labels and shapes (edits that only add parameter-free layers, such as an
/// ablation, are not representable in the HF layout and are dropped). Tied parameters are
/// written once, as transformers does. A parameter the layout has no place for (a LoRA
/// adapter, say) is an [`HfError::UnmappedParameter`]; a missing one an
/// [`HfError::MissingParameter`]; wrong axes an [`HfError::ParameterShape`].
///
/// ```
/// use penzai::io::hf;
///
/// let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/gpt2-legacy");
/// let loaded = hf::load(fixture)?;
/// let out = std::env::temp_dir().join(format!("penzai-export-doc-{}", std::process::id()));
/// hf::export(&loaded.model, &loaded.config, &out)?;
/// let again = hf::load(&out)?;
/// assert_eq!(again.model, loaded.model);
/// # std::fs::remove_dir_all(&out).ok();
/// # Ok::<(), hf::HfError>(())
/// ```
pub fn export(model: &dyn Tree, config: &HfConfig, dir: impl AsRef<Path>) -> Result<(), HfError> {
    let tensors = export_tensors(model, config)?;
    let dir = dir.as_ref();
    let dir_name = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| IoError::os(&dir_name, "create", &e))?;
    let config_path = dir.join(CONFIG_FILE_NAME);
    let config_name = config_path.display().to_string();
    let mut json = serde_json::to_string_pretty(&config_json::to_json(config, &config_name)?)
        .map_err(|e| IoError::os(&config_name, "serialize", &std::io::Error::other(e)))?;
    json.push('\n');
    std::fs::write(&config_path, json).map_err(|e| IoError::os(&config_name, "write", &e))?;
    // transformers refuses safetensors files whose metadata does not say which framework
    // wrote them.
    let metadata = BTreeMap::from([("format".to_owned(), "pt".to_owned())]);
    crate::io::write_tensors(dir.join(SINGLE_FILE_NAME), tensors, &metadata)?;
    Ok(())
}

/// `model`'s parameters as transformers' tensors (names, layouts), in memory: what
/// [`export`] writes to `model.safetensors`. Used to report anything held in parameter
/// slots, such as gradients, in a checkpoint's layout.
pub fn export_tensors(
    model: &dyn Tree,
    config: &HfConfig,
) -> Result<Vec<(String, HostTensor)>, HfError> {
    let (architecture, rows) = match &config.architecture {
        Architecture::Gpt2(cfg) => ("gpt2", gpt2::layout(cfg, gpt2::PREFIX)),
        Architecture::GptNeox(cfg) => ("gpt_neox", gpt_neox::layout(cfg)),
        Architecture::Llama(cfg) => (llama::architecture(cfg.family), llama::layout(cfg)),
    };
    // The first slot of each label: tied slots hold the same parameter.
    let mut by_label: BTreeMap<&str, (KeyPath, &Parameter)> = BTreeMap::new();
    for (path, p) in parameters(model) {
        by_label.entry(&p.label).or_insert((path, p));
    }
    let mut claimed = BTreeSet::new();
    let mut tensors = Vec::with_capacity(rows.len());
    for row in &rows {
        let values = row
            .labels()
            .into_iter()
            .enumerate()
            .map(|(i, label)| {
                claimed.insert(label);
                parameter_value(&by_label, row, i, label)
            })
            .collect::<Result<Vec<_>, _>>()?;
        tensors.push((row.name.clone(), host_tensor(row, &values)?));
    }
    if let Some((label, (path, _))) = by_label.iter().find(|(l, _)| !claimed.contains(**l)) {
        return Err(HfError::UnmappedParameter {
            label: (*label).to_owned(),
            path: path.to_string(),
            architecture,
        });
    }
    Ok(tensors)
}

/// The value of parameter `label` (the row's `i`th), checked against the axes `row` gives it.
fn parameter_value<'m>(
    by_label: &BTreeMap<&str, (KeyPath, &'m Parameter)>,
    row: &TensorMap,
    i: usize,
    label: &str,
) -> Result<&'m NamedArray, HfError> {
    let Some((_, p)) = by_label.get(label) else {
        return Err(HfError::MissingParameter {
            label: label.to_owned(),
            tensor: row.name.clone(),
        });
    };
    let expected = row.parameter_axes(i);
    let actual: Vec<(String, usize)> = p
        .value
        .named_shape()
        .iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    let actual_refs: Vec<(&str, usize)> = actual.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    if !p.value.positional_shape().is_empty()
        || describe_axes(&expected) != describe_axes(&actual_refs)
    {
        return Err(HfError::ParameterShape {
            label: label.to_owned(),
            tensor: row.name.clone(),
            expected: describe_axes(&expected),
            actual: p.value.full_shape().to_string(),
        });
    }
    Ok(&p.value)
}

/// The row's tensor, row-major in HF's layout, from its parameters' values.
fn host_tensor(row: &TensorMap, values: &[&NamedArray]) -> Result<HostTensor, HfError> {
    let axis_error = |e| IoError::Axis {
        file: SINGLE_FILE_NAME.to_owned(),
        tensor: row.name.clone(),
        source: Box::new(e),
    };
    let whole = match &row.target {
        Target::One(_) => values[0].clone(),
        Target::Rows { parts } => {
            // Each part in its own row-major order, one after another (as f32: the parts of a
            // grouped-query qkv_proj were regrouped, so no stored buffer is left to reuse).
            let mut data = Vec::new();
            for (value, (_, axes)) in values.iter().zip(parts) {
                let names: Vec<&str> = axes.iter().map(|(n, _)| *n).collect();
                data.extend(value.order_as(&names).map_err(axis_error)?.to_f32_vec());
            }
            return Ok(HostTensor {
                shape: row.shape.clone(),
                data: TensorData::F32(data),
            });
        }
        Target::Split { axis, .. } => {
            // Parts of one tensor share a dtype; if an edit made them differ, write f32.
            let same = values.iter().all(|v| v.dtype() == values[0].dtype());
            let owned: Vec<NamedArray> = values
                .iter()
                .map(|v| {
                    if same {
                        Ok((*v).clone())
                    } else {
                        v.cast(DType::F32)
                    }
                })
                .collect::<Result<_, _>>()
                .map_err(axis_error)?;
            NamedArray::stack(&owned, axis).map_err(axis_error)?
        }
    };
    let data = row_major(&whole.order_as(&row.axis_names()).map_err(axis_error)?);
    Ok(HostTensor {
        shape: row.shape.clone(),
        data,
    })
}

/// The values in logical row-major order, at the parameter's width (f16 and bf16 stay 16-bit,
/// anything else is written as f32). A loaded parameter put back in HF's axis order is its
/// original contiguous buffer, copied in one go; anything else goes element by element.
fn row_major(array: &NamedArray) -> TensorData {
    fn values<T: ArrayElement>(a: &SharedArray<T>) -> Vec<T> {
        a.as_slice()
            .map_or_else(|| a.view().iter().copied().collect(), <[T]>::to_vec)
    }
    match array.storage() {
        Storage::F32(a) => TensorData::F32(values(a)),
        Storage::F16(a) => TensorData::F16(values(a)),
        Storage::BF16(a) => TensorData::BF16(values(a)),
        _ => TensorData::F32(array.to_f32_vec()),
    }
}
