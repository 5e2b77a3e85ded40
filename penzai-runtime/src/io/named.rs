//! The only place io touches `NamedArray`'s constructors and accessors: conversion between a
//! [`HostTensor`] with axis names and a [`NamedArray`].

use super::{HostTensor, TensorData};
use std::ops::Range;
use std::sync::Arc;

use crate::nx::{AxisError, ByteRegion, DType, NamedArray, SharedArray, Storage};

/// Builds a `NamedArray` of row-major `data` whose axes are `shape`; a count that differs is
/// an `AxisError`.
pub(crate) fn host_to_named_as(
    shape: &[(&str, usize)],
    data: TensorData,
) -> Result<NamedArray, AxisError> {
    match data {
        TensorData::F32(v) => NamedArray::from_f32(shape, v),
        TensorData::F16(v) => NamedArray::from_f16(shape, v),
        TensorData::BF16(v) => NamedArray::from_bf16(shape, v),
        TensorData::I64(v) => NamedArray::from_i64(shape, v),
        TensorData::Bool(v) => NamedArray::from_bool(shape, v),
    }
}

/// A `NamedArray` of axes `shape` whose elements are `bytes[range]` in place (row-major,
/// little-endian), for F32, F16 and BF16; `None` when they cannot be borrowed (another dtype,
/// misaligned bytes, a big-endian host, no elements), and the caller copies instead.
pub(crate) fn borrowed_named(
    dtype: DType,
    bytes: &ByteRegion,
    range: Range<usize>,
    shape: &[(&str, usize)],
) -> Option<Result<NamedArray, AxisError>> {
    let sizes: Vec<usize> = shape.iter().map(|(_, s)| *s).collect();
    let region = Arc::clone(bytes);
    let data = match dtype {
        DType::F32 => Storage::F32(SharedArray::borrow_bytes(region, range, &sizes)?),
        DType::F16 => Storage::F16(SharedArray::borrow_bytes(region, range, &sizes)?),
        DType::BF16 => Storage::BF16(SharedArray::borrow_bytes(region, range, &sizes)?),
        _ => return None,
    };
    Some(NamedArray::from_storage("load", shape, data))
}

/// The row-major values of `array` in the order of its named axes, or `None` if it has
/// positional axes (which have no name to store).
pub(crate) fn named_to_host(array: &NamedArray) -> Option<HostTensor> {
    if !array.positional_shape().is_empty() {
        return None;
    }
    let shape = array.named_shape().iter().map(|(_, size)| size).collect();
    let data = match array.storage() {
        Storage::F32(_) => TensorData::F32(array.to_f32_vec()),
        Storage::F16(a) => TensorData::F16(a.view().iter().copied().collect()),
        Storage::BF16(a) => TensorData::BF16(a.view().iter().copied().collect()),
        Storage::I64(_) => TensorData::I64(array.to_i64_vec()),
        Storage::Bool(_) => TensorData::Bool(array.to_bool_vec()),
    };
    Some(HostTensor { shape, data })
}
