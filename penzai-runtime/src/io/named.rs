//! The only place io touches `NamedArray`'s constructors and accessors: conversion between a
//! [`HostTensor`] with axis names and a [`NamedArray`].
//!
//! PLACEHOLDER: `NamedArray` is being built on the `nx` branch; until it lands, these two
//! functions speak to the placeholder (which stores only f32 values). When merging `nx`, replace
//! their bodies with `NamedArray::from_f32/from_i64/from_bool` and
//! `dtype/named_shape/to_*_vec`; nothing else in io needs to change.

use super::{HostTensor, TensorData};
use crate::nx::{AxisError, NamedArray};

/// Builds a `NamedArray` whose axes are `names` with the tensor's sizes, in that order.
pub(crate) fn host_to_named(names: &[&str], tensor: HostTensor) -> Result<NamedArray, AxisError> {
    if names.len() != tensor.shape.len() {
        return Err(AxisError(format!(
            "{} axis names {names:?} for shape {:?}",
            names.len(),
            tensor.shape
        )));
    }
    let data = match tensor.data {
        TensorData::F32(v) => v,
        TensorData::I64(v) => v.into_iter().map(|x| x as f32).collect(),
        TensorData::Bool(v) => v.into_iter().map(f32::from).collect(),
    };
    Ok(NamedArray { data })
}

/// The axis names (in storage order) and row-major values of `array`.
pub(crate) fn named_to_host(array: &NamedArray) -> (Vec<String>, HostTensor) {
    let tensor = HostTensor {
        shape: vec![array.data.len()],
        data: TensorData::F32(array.data.clone()),
    };
    (vec!["data".to_owned()], tensor)
}
