//! Tensor contraction by axis name, lowered to packed matrix multiplication.
//!
//! Both operands are permuted (a stride change) to `(batch.., M.., K..)` and
//! `(batch.., K.., N..)`; each batch slice is one matrix product (see `matmul`), fed the
//! strided views directly: the row axes and the column axes of a slice merge in place for
//! any permutation of one buffer, so neither attention's head-major operands nor a
//! checkpoint's `[out, in]` weights are copied. 16-bit operands are widened inside the
//! kernel, with f32 accumulation; the result is f32.

use ndarray::IxDyn;

use super::array::NamedArray;
use super::axes::unique_names;
use super::axis::AxisName;
use super::construct::checked_len;
use super::dtype::Storage;
use super::error::AxisError;
use super::matmul::{Operand, batched_matmul};
use super::shape::ArrayShape;
use super::tape;

/// How the axes of one contraction are split.
struct Plan {
    batch: Vec<AxisName>,
    left_free: Vec<AxisName>,
    right_free: Vec<AxisName>,
}

impl NamedArray {
    /// Sums the product of `self` and `other` over the named axes `names` (Penzai's
    /// `contract`). Both arrays must have every axis in `names`, with equal sizes. Axes on
    /// both sides but not contracted are batch axes (matched, not summed); the others are
    /// free. The result's logical order is: batch axes, then `self`'s free axes, then
    /// `other`'s. Both arrays must be floats without positional axes; `f16` and `bf16`
    /// operands (weights kept at their stored width) are widened inside the kernel, with f32
    /// accumulation, and the result is always `f32`.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::ones(&[("batch", 2), ("seq", 8), ("embedding", 64)])?;
    /// let w = NamedArray::ones(&[("embedding", 64), ("hidden", 256)])?;
    /// let h = x.contract(&w, &["embedding"])?;
    /// assert_eq!(h.named_shape().to_string(), "{batch: 2, seq: 8, hidden: 256}");
    /// assert_eq!(h.to_f32_vec()[0], 64.0);
    ///
    /// let typo = NamedArray::ones(&[("hidden", 256), ("embed", 64)])?;
    /// assert_eq!(
    ///     x.contract(&typo, &["embedding"]).unwrap_err().to_string(),
    ///     "cannot contract over \"embedding\": left is {batch: 2, seq: 8, embedding: 64}, \
    ///      right is {hidden: 256, embed: 64}"
    /// );
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn contract(&self, other: &NamedArray, names: &[&str]) -> Result<NamedArray, AxisError> {
        let out = self.contract_kernel(other, names);
        tape::record(
            "contract",
            &[self, other],
            out,
            tape::contraction(self, other),
        )
    }

    /// `contract` without recording.
    fn contract_kernel(&self, other: &NamedArray, names: &[&str]) -> Result<NamedArray, AxisError> {
        const OP: &str = "contract";
        let (Some(a), Some(b)) = (operand(&self.data), operand(&other.data)) else {
            return Err(AxisError::DType {
                op: OP,
                got: vec![self.dtype(), other.dtype()],
                expected: "floats (f32, f16 or bf16)",
            });
        };
        for array in [self, other] {
            if array.n_pos() != 0 {
                return Err(AxisError::HasPositional {
                    op: OP,
                    shape: array.full_shape(),
                });
            }
        }
        let plan = self.plan_contraction(other, names)?;
        let idx = |array: &NamedArray, names: &[AxisName]| -> Vec<usize> {
            // Every planned name was found on this side while planning.
            names
                .iter()
                .map(|n| array.named_axis(n).expect("planned axis"))
                .collect()
        };
        let summed: Vec<AxisName> = names.iter().map(|&n| AxisName::from(n)).collect();
        let left_perm = [
            idx(self, &plan.batch),
            idx(self, &plan.left_free),
            idx(self, &summed),
        ]
        .concat();
        let right_perm = [
            idx(other, &plan.batch),
            idx(other, &summed),
            idx(other, &plan.right_free),
        ]
        .concat();
        let size = |array: &NamedArray, names: &[AxisName]| -> usize {
            names.iter().filter_map(|n| array.axis_size(n)).product()
        };
        let (nb, m, k, n) = (
            size(self, &plan.batch),
            size(self, &plan.left_free),
            size(self, &summed),
            size(other, &plan.right_free),
        );
        let out_dims: Vec<usize> = plan
            .batch
            .iter()
            .chain(&plan.left_free)
            .map(|x| self.axis_size(x))
            .chain(plan.right_free.iter().map(|x| other.axis_size(x)))
            .map(|s| s.unwrap_or(0))
            .collect();
        let named = || {
            let named = out_dims.iter().zip(
                plan.batch
                    .iter()
                    .chain(&plan.left_free)
                    .chain(&plan.right_free),
            );
            super::shape::NamedShape::new(named.map(|(&s, name)| (name.clone(), s)))
        };
        let Some(out_len) = checked_len(out_dims.iter().copied()) else {
            return Err(AxisError::TooLarge {
                op: OP,
                shape: ArrayShape {
                    positional: Box::default(),
                    named: named(),
                },
            });
        };
        // The result is the one large allocation here: ask for it first, so a product too
        // large for the machine is an error rather than an abort.
        if Vec::<f32>::new().try_reserve_exact(out_len).is_err() {
            return Err(AxisError::OutOfMemory {
                op: OP,
                shape: named(),
                bytes: out_len.saturating_mul(4),
            });
        }
        let out = batched_matmul(
            a.permuted(left_perm),
            b.permuted(right_perm),
            (plan.batch.len(), names.len()),
            (nb, m, k, n),
        );
        // `out` is in standard layout with `nb * m * n` elements, as `out_dims` describes.
        let out = out
            .into_shape_with_order(IxDyn(&out_dims))
            .expect("standard layout, same size");
        let names = plan
            .batch
            .into_iter()
            .chain(plan.left_free)
            .chain(plan.right_free)
            .collect();
        Ok(NamedArray::from_parts(Storage::F32(out.into()), names))
    }

    /// Checks the contraction axes and splits the other axes into batch and free ones.
    fn plan_contraction(&self, other: &NamedArray, names: &[&str]) -> Result<Plan, AxisError> {
        unique_names("contract", names)?;
        for &name in names {
            match (self.axis_size(name), other.axis_size(name)) {
                (Some(l), Some(r)) if l != r => {
                    return Err(AxisError::ContractSize {
                        axis: name.into(),
                        left_size: l,
                        right_size: r,
                        left: self.full_shape(),
                        right: other.full_shape(),
                    });
                }
                (Some(_), Some(_)) => {}
                _ => {
                    return Err(AxisError::ContractMissing {
                        axis: name.into(),
                        left: self.full_shape(),
                        right: other.full_shape(),
                    });
                }
            }
        }
        let kept = |array: &NamedArray| -> Vec<AxisName> {
            array
                .names
                .iter()
                .filter(|n| !names.contains(&n.as_str()))
                .cloned()
                .collect()
        };
        let (left, right) = (kept(self), kept(other));
        let batch: Vec<AxisName> = left.iter().filter(|n| right.contains(n)).cloned().collect();
        let mismatched: Vec<(AxisName, usize, usize)> = batch
            .iter()
            .filter_map(|n| match (self.axis_size(n), other.axis_size(n)) {
                (Some(l), Some(r)) if l != r => Some((n.clone(), l, r)),
                _ => None,
            })
            .collect();
        if !mismatched.is_empty() {
            return Err(AxisError::SizeMismatch {
                op: "contract",
                sizes: mismatched,
                left: self.full_shape(),
                right: other.full_shape(),
            });
        }
        let left_free = left.into_iter().filter(|n| !batch.contains(n)).collect();
        let right_free = right.into_iter().filter(|n| !batch.contains(n)).collect();
        Ok(Plan {
            batch,
            left_free,
            right_free,
        })
    }

    /// A two-operand einsum by axis name: the result has exactly the axes `output`, in that
    /// order; every other axis is summed (by GEMM when both sides have it, by a reduction
    /// when only one does). Rename axes first when the two sides use different names for
    /// one axis, or one name for two axes.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // Attention scores: {seq, heads, head_dim} x {kv_seq, heads, head_dim} -> {seq, kv_seq, heads}
    /// let q = NamedArray::ones(&[("seq", 4), ("heads", 2), ("head_dim", 8)])?;
    /// let k = NamedArray::ones(&[("seq", 4), ("heads", 2), ("head_dim", 8)])?.rename("seq", "kv_seq")?;
    /// let scores = q.einsum(&k, &["seq", "kv_seq", "heads"])?;
    /// assert_eq!(scores.named_shape().to_string(), "{seq: 4, kv_seq: 4, heads: 2}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn einsum(&self, other: &NamedArray, output: &[&str]) -> Result<NamedArray, AxisError> {
        if !self.dtype().is_float() || !other.dtype().is_float() {
            return Err(AxisError::DType {
                op: "einsum",
                got: vec![self.dtype(), other.dtype()],
                expected: "floats (f32, f16 or bf16)",
            });
        }
        unique_names("einsum", output)?;
        if let Some(&missing) = output
            .iter()
            .find(|n| !self.has_axis(n) && !other.has_axis(n))
        {
            return Err(AxisError::EinsumOutput {
                axis: missing.into(),
                left: self.full_shape(),
                right: other.full_shape(),
            });
        }
        let sum_alone = |array: &NamedArray, peer: &NamedArray| -> Result<NamedArray, AxisError> {
            let alone: Vec<&str> = array
                .names
                .iter()
                .map(|n| n.as_str())
                .filter(|n| !output.contains(n) && !peer.has_axis(n))
                .collect();
            if alone.is_empty() {
                Ok(array.clone())
            } else {
                array.sum(&alone)
            }
        };
        let (left, right) = (sum_alone(self, other)?, sum_alone(other, self)?);
        let shared: Vec<&str> = left
            .names
            .iter()
            .map(|n| n.as_str())
            .filter(|n| !output.contains(n))
            .collect();
        left.contract(&right, &shared)?.move_to_front(output)
    }
}

/// A float array as a product operand (16-bit ones are widened inside the kernels).
fn operand(data: &Storage) -> Option<Operand<'_>> {
    match data {
        Storage::F32(a) => Some(Operand::F32(a.view())),
        Storage::F16(a) => Some(Operand::F16(a.view())),
        Storage::BF16(a) => Some(Operand::BF16(a.view())),
        Storage::I64(_) | Storage::Bool(_) => None,
    }
}

impl Operand<'_> {
    fn permuted(self, perm: Vec<usize>) -> Self {
        match self {
            Operand::F32(a) => Operand::F32(a.permuted_axes(perm)),
            Operand::F16(a) => Operand::F16(a.permuted_axes(perm)),
            Operand::BF16(a) => Operand::BF16(a.permuted_axes(perm)),
        }
    }
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
