//! The only place io touches `NamedArray`'s constructors and accessors: conversion between a
//! [`HostTensor`] with axis names and a [`NamedArray`].

use super::{HostTensor, TensorData};
use crate::nx::{AxisError, DType, NamedArray};

/// Builds a `NamedArray` whose axes are `names` with the tensor's sizes, in that order.
///
/// The caller has checked that there is one name per dimension; repeated names are an
/// `AxisError` from the constructor.
pub(crate) fn host_to_named(names: &[&str], tensor: HostTensor) -> Result<NamedArray, AxisError> {
    let shape: Vec<(&str, usize)> = names.iter().copied().zip(tensor.shape).collect();
    match tensor.data {
        TensorData::F32(v) => NamedArray::from_f32(shape.as_slice(), v),
        TensorData::I64(v) => NamedArray::from_i64(shape.as_slice(), v),
        TensorData::Bool(v) => NamedArray::from_bool(shape.as_slice(), v),
    }
}

/// The row-major values of `array` in the order of its named axes, or `None` if it has
/// positional axes (which have no name to store).
pub(crate) fn named_to_host(array: &NamedArray) -> Option<HostTensor> {
    if !array.positional_shape().is_empty() {
        return None;
    }
    let shape = array.named_shape().iter().map(|(_, size)| size).collect();
    let data = match array.dtype() {
        DType::F32 => TensorData::F32(array.to_f32_vec()),
        DType::I64 => TensorData::I64(array.to_i64_vec()),
        DType::Bool => TensorData::Bool(array.to_bool_vec()),
    };
    Some(HostTensor { shape, data })
}
