//! `TensorReader`: reads the tensors of a layout from a checkpoint, checking names, dtypes
//! and shapes, and remembers which tensors were used so leftovers can be reported.

use std::collections::BTreeSet;

use super::HfError;
use super::layout::TensorMap;
use crate::io::{Checkpoint, TensorView};
use crate::nx::NamedArray;

/// Reads a checkpoint's tensors by layout row, tracking which were consumed.
pub(crate) struct TensorReader<'a> {
    checkpoint: &'a Checkpoint,
    architecture: &'static str,
    used: BTreeSet<&'a str>,
}

impl<'a> TensorReader<'a> {
    pub fn new(checkpoint: &'a Checkpoint, architecture: &'static str) -> TensorReader<'a> {
        TensorReader {
            checkpoint,
            architecture,
            used: BTreeSet::new(),
        }
    }

    /// Whether the checkpoint has a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.checkpoint.get(name).is_some()
    }

    /// The tensor `name`, marked used; [`HfError::MissingTensor`] if absent.
    pub fn view(&mut self, name: &str) -> Result<TensorView<'a>, HfError> {
        let Some(view) = self.checkpoint.get(name) else {
            return Err(HfError::MissingTensor {
                checkpoint: self.checkpoint.source().to_owned(),
                tensor: name.to_owned(),
                architecture: self.architecture,
            });
        };
        self.used.insert(view.name());
        Ok(view)
    }

    /// Checks that the tensor of `row` exists with a float dtype and the row's shape.
    pub fn check(&mut self, row: &TensorMap) -> Result<(), HfError> {
        check(&self.view(&row.name)?, &row.shape)
    }

    /// Reads the tensor of `row` as a `NamedArray` with the row's axes, at its stored width:
    /// F32, F16 and BF16 borrow the mapped bytes (no copy when aligned), F64 becomes f32.
    pub fn read(&mut self, row: &TensorMap) -> Result<NamedArray, HfError> {
        let view = self.view(&row.name)?;
        check(&view, &row.shape)?;
        Ok(view.to_named_array_as(&row.axes)?)
    }

    /// Marks `name` used without reading it (known buffers such as GPT-2's `attn.bias`).
    pub fn skip(&mut self, name: &str) {
        if let Some(view) = self.checkpoint.get(name) {
            self.used.insert(view.name());
        }
    }

    /// Errors on the first tensor (by name) that was neither used nor skipped.
    pub fn check_all_used(&self) -> Result<(), HfError> {
        match self
            .checkpoint
            .tensors()
            .find(|t| !self.used.contains(t.name()))
        {
            Some(extra) => Err(HfError::UnexpectedTensor {
                file: extra.file().to_owned(),
                tensor: extra.name().to_owned(),
                offset: extra.data_offset(),
                architecture: self.architecture,
            }),
            None => Ok(()),
        }
    }
}

/// Checks that `view` holds floats of `shape`.
pub(crate) fn check(view: &TensorView<'_>, shape: &[usize]) -> Result<(), HfError> {
    if !view.dtype().is_float() {
        return Err(HfError::NotFloat {
            file: view.file().to_owned(),
            tensor: view.name().to_owned(),
            dtype: view.dtype().safetensors_name().to_owned(),
            offset: view.data_offset(),
        });
    }
    if view.shape() != shape {
        return Err(HfError::ShapeMismatch {
            file: view.file().to_owned(),
            tensor: view.name().to_owned(),
            expected: shape.to_vec(),
            actual: view.shape().to_vec(),
            offset: view.data_offset(),
        });
    }
    Ok(())
}
