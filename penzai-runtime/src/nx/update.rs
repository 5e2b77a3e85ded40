//! Indexed updates: `x.at(&idx!{..}).set(v)`, `.add`, `.mul`, `.min`, `.max`, `.apply`
//! (Penzai's `x.at[{..}].set(v)`), with scatter-add for repeated indices.

use half::{bf16, f16};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use super::array::NamedArray;
use super::dtype::{Element, Storage};
use super::error::AxisError;
use super::index::OutOfRange;
use super::indexer::Indexer;
use super::tape;

/// How an update combines the old element with the new value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Combine {
    Set,
    Add,
    Mul,
    Min,
    Max,
}

impl Combine {
    pub(crate) fn op(self) -> &'static str {
        match self {
            Combine::Set => "at(..).set",
            Combine::Add => "at(..).add",
            Combine::Mul => "at(..).mul",
            Combine::Min => "at(..).min",
            Combine::Max => "at(..).max",
        }
    }
}

/// An element that updates know how to combine.
trait Combinable: Element {
    fn combine(self, value: Self, how: Combine) -> Self;
}

impl Combinable for f32 {
    fn combine(self, v: f32, how: Combine) -> f32 {
        match how {
            Combine::Set => v,
            Combine::Add => self + v,
            Combine::Mul => self * v,
            Combine::Min => self.min(v),
            Combine::Max => self.max(v),
        }
    }
}

impl Combinable for f16 {
    fn combine(self, v: f16, how: Combine) -> f16 {
        f16::from_f32(self.to_f32().combine(v.to_f32(), how))
    }
}

impl Combinable for bf16 {
    fn combine(self, v: bf16, how: Combine) -> bf16 {
        bf16::from_f32(self.to_f32().combine(v.to_f32(), how))
    }
}

impl Combinable for i64 {
    fn combine(self, v: i64, how: Combine) -> i64 {
        // Wrapping, as integer arithmetic in JAX and numpy.
        match how {
            Combine::Set => v,
            Combine::Add => self.wrapping_add(v),
            Combine::Mul => self.wrapping_mul(v),
            Combine::Min => self.min(v),
            Combine::Max => self.max(v),
        }
    }
}

impl Combinable for bool {
    fn combine(self, v: bool, how: Combine) -> bool {
        // As numpy on booleans: add is or, mul is and.
        match how {
            Combine::Set => v,
            Combine::Add | Combine::Max => self || v,
            Combine::Mul | Combine::Min => self && v,
        }
    }
}

/// The target of an indexed update: an array and the part of it an [`Indexer`] names.
/// Made by [`NamedArray::at`]; each method returns the updated copy (the original is
/// unchanged, its storage shared until written).
///
/// Where the indexer repeats a position (an index array with repeated entries),
/// [`add`](IndexedUpdate::add) accumulates every value, which is scatter-add;
/// [`set`](IndexedUpdate::set) keeps the last one. Array indices out of range are dropped,
/// as in JAX's updates; negative ones count from the end.
///
/// The value is broadcast against the indexed part by name (its named axes must be axes of
/// the part, with the same sizes; missing ones repeat) and right-aligned over positional
/// axes, then cast to the array's dtype.
///
/// ```
/// use penzai::idx;
/// use penzai::nx::NamedArray;
///
/// let x = NamedArray::zeros(&[("seq", 4), ("embedding", 2)])?;
/// let y = x.at(&idx! { "seq" => 3 }).set(&NamedArray::scalar(7.0))?;
/// assert_eq!(y.order_as(&["seq", "embedding"])?.to_f32_vec(), [0., 0., 0., 0., 0., 0., 7., 7.]);
///
/// // Scatter-add: repeated ids accumulate.
/// let grads = NamedArray::zeros(&[("vocab", 3)])?;
/// let ids = NamedArray::from_i64(&[("tok", 4)], vec![2, 0, 2, 2])?;
/// let ones = NamedArray::ones(&[("tok", 4)])?;
/// let counts = grads.at(&idx! { "vocab" => &ids }).add(&ones)?;
/// assert_eq!(counts.to_f32_vec(), [1., 0., 3.]);
/// # Ok::<(), penzai::nx::AxisError>(())
/// ```
#[derive(Clone, Debug)]
pub struct IndexedUpdate<'a> {
    array: &'a NamedArray,
    indexer: Indexer,
}

impl NamedArray {
    /// The part of this array `indexer` names, to update with
    /// [`set`](IndexedUpdate::set), [`add`](IndexedUpdate::add), ... (Penzai's `x.at[..]`).
    pub fn at(&self, indexer: &Indexer) -> IndexedUpdate<'_> {
        IndexedUpdate {
            array: self,
            indexer: indexer.clone(),
        }
    }
}

impl IndexedUpdate<'_> {
    /// The indexed part, as [`NamedArray::index`] reads it.
    pub fn get(&self) -> Result<NamedArray, AxisError> {
        self.array.index(&self.indexer)
    }

    /// Puts `value` in the indexed part.
    pub fn set(&self, value: &NamedArray) -> Result<NamedArray, AxisError> {
        self.update(value, Combine::Set)
    }

    /// Adds `value` to the indexed part (accumulating over repeated positions).
    pub fn add(&self, value: &NamedArray) -> Result<NamedArray, AxisError> {
        self.update(value, Combine::Add)
    }

    /// Multiplies the indexed part by `value`.
    pub fn mul(&self, value: &NamedArray) -> Result<NamedArray, AxisError> {
        self.update(value, Combine::Mul)
    }

    /// Replaces the indexed part by its elementwise minimum with `value`.
    pub fn min(&self, value: &NamedArray) -> Result<NamedArray, AxisError> {
        self.update(value, Combine::Min)
    }

    /// Replaces the indexed part by its elementwise maximum with `value`.
    pub fn max(&self, value: &NamedArray) -> Result<NamedArray, AxisError> {
        self.update(value, Combine::Max)
    }

    /// Replaces the indexed part `p` by `f(p)`, which must keep its shape (or broadcast to
    /// it). Positions the indexer names twice see `f` once.
    pub fn apply(
        &self,
        f: impl FnOnce(NamedArray) -> Result<NamedArray, AxisError>,
    ) -> Result<NamedArray, AxisError> {
        let part = self.array.index_with(&self.indexer, OutOfRange::Fill)?;
        self.update(&f(part)?, Combine::Set)
    }

    fn update(&self, value: &NamedArray, how: Combine) -> Result<NamedArray, AxisError> {
        let op = how.op();
        let x = self.array;
        let len = x.len();
        // Flat positions (1-based; 0 marks a dropped write) of every element of the part.
        let positions: Vec<i64> = (1..=i64::try_from(len).unwrap_or(i64::MAX)).collect();
        let iota = ArrayD::from_shape_vec(IxDyn(x.data.shape()), positions).map_err(|_| {
            AxisError::TooLarge {
                op,
                shape: x.full_shape(),
            }
        })?;
        let iota = NamedArray::from_parts(Storage::I64(iota.into()), x.names.clone());
        let part = iota.index_with(&self.indexer, OutOfRange::Fill)?;
        let original = value;
        let value = broadcast_value(op, value, &part)?.cast(x.dtype())?;
        let targets = part.to_i64_vec();
        fn scatter<T: Combinable>(
            dest: ArrayViewD<'_, T>,
            values: ArrayViewD<'_, T>,
            targets: &[i64],
            how: Combine,
        ) -> ArrayD<T> {
            let shape = dest.shape().to_vec();
            let mut flat: Vec<T> = dest.iter().copied().collect();
            for (&t, &v) in targets.iter().zip(values.iter()) {
                // Positions are 1-based indices into `flat`, or 0 for dropped writes.
                if let Some(slot) = usize::try_from(t - 1).ok().and_then(|i| flat.get_mut(i)) {
                    *slot = slot.combine(v, how);
                }
            }
            ArrayD::from_shape_vec(IxDyn(&shape), flat).expect("same element count")
        }
        let data = match (&x.data, &value.data) {
            (Storage::F32(d), Storage::F32(v)) => {
                Storage::F32(scatter(d.view(), v.view(), &targets, how).into())
            }
            (Storage::F16(d), Storage::F16(v)) => {
                Storage::F16(scatter(d.view(), v.view(), &targets, how).into())
            }
            (Storage::BF16(d), Storage::BF16(v)) => {
                Storage::BF16(scatter(d.view(), v.view(), &targets, how).into())
            }
            (Storage::I64(d), Storage::I64(v)) => {
                Storage::I64(scatter(d.view(), v.view(), &targets, how).into())
            }
            (Storage::Bool(d), Storage::Bool(v)) => {
                Storage::Bool(scatter(d.view(), v.view(), &targets, how).into())
            }
            // `value` was cast to the array's dtype just above.
            _ => {
                return Err(AxisError::DType {
                    op,
                    got: vec![x.dtype(), value.dtype()],
                    expected: "a value castable to the array's dtype",
                });
            }
        };
        let out = Ok(NamedArray::from_parts(data, x.names.clone()));
        tape::record(op, &[x, original], out, |_| {
            tape::indexed_update(tape::UpdateRecord {
                how,
                x: x.clone(),
                value: original.clone(),
                written: value.to_f32_vec(),
                part,
                targets,
            })
        })
    }
}

/// `value` laid out like `part`: same named axes in the same order (missing ones
/// repeated), positional axes broadcast right-aligned. Named axes `part` lacks are errors.
fn broadcast_value(
    op: &'static str,
    value: &NamedArray,
    part: &NamedArray,
) -> Result<NamedArray, AxisError> {
    if let Some(extra) = value.names.iter().find(|n| !part.has_axis(n)) {
        return Err(AxisError::MissingAxis {
            op,
            axis: extra.clone(),
            shape: part.full_shape(),
        });
    }
    let mismatched: Vec<_> = value
        .names
        .iter()
        .filter_map(|n| match (value.axis_size(n), part.axis_size(n)) {
            (Some(a), Some(b)) if a != b => Some((n.clone(), a, b)),
            _ => None,
        })
        .collect();
    let (vp, pp) = (value.positional_shape(), part.positional_shape());
    let positional_fits = vp.len() <= pp.len()
        && vp
            .iter()
            .rev()
            .zip(pp.iter().rev())
            .all(|(&a, &b)| a == b || a == 1);
    if !mismatched.is_empty() || !positional_fits {
        return Err(if mismatched.is_empty() {
            AxisError::PositionalBroadcast {
                op,
                left: part.full_shape(),
                right: value.full_shape(),
            }
        } else {
            AxisError::SizeMismatch {
                op,
                sizes: mismatched,
                left: value.full_shape(),
                right: part.full_shape(),
            }
        });
    }
    let part_shape = part.named_shape();
    let missing: Vec<(&str, usize)> = part_shape
        .iter()
        .filter(|(n, _)| !value.has_axis(n))
        .map(|(n, s)| (n.as_str(), s))
        .collect();
    let named = value.broadcast_to(missing.as_slice())?;
    let order: Vec<&str> = part.names.iter().map(|n| n.as_str()).collect();
    let named = named.move_to_front(&order)?;
    // Leading unit axes, then ndarray broadcasting does the rest (sizes checked above).
    let lead = pp.len() - vp.len();
    let dims = part.data.shape().to_vec();
    let data = super::dtype::map_storage!(&named.data, a => {
        let mut view = a.view();
        for _ in 0..lead {
            view = view.insert_axis(Axis(0));
        }
        view.broadcast(IxDyn(&dims)).expect("shapes checked above").to_owned().into()
    });
    Ok(NamedArray::from_parts(data, part.names.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nx::Slice;

    fn seq(n: usize) -> NamedArray {
        NamedArray::arange_f32("s", n).unwrap()
    }

    #[test]
    fn set_add_mul_min_max_touch_only_the_indexed_part() {
        let x = seq(5);
        let at = x.at(&crate::idx! { "s" => 1..3 });
        let v = NamedArray::scalar(10.0);
        assert_eq!(at.set(&v).unwrap().to_f32_vec(), [0., 10., 10., 3., 4.]);
        assert_eq!(at.add(&v).unwrap().to_f32_vec(), [0., 11., 12., 3., 4.]);
        assert_eq!(at.mul(&v).unwrap().to_f32_vec(), [0., 10., 20., 3., 4.]);
        let v = NamedArray::scalar(1.5);
        assert_eq!(at.min(&v).unwrap().to_f32_vec(), [0., 1., 1.5, 3., 4.]);
        assert_eq!(at.max(&v).unwrap().to_f32_vec(), [0., 1.5, 2., 3., 4.]);
        assert_eq!(x.to_f32_vec(), [0., 1., 2., 3., 4.]);
    }

    #[test]
    fn apply_maps_the_indexed_part() {
        let x = seq(4);
        let y = x
            .at(&crate::idx! { "s" => Slice::reversed() })
            .apply(|p| p.powf(2.0))
            .unwrap();
        assert_eq!(y.to_f32_vec(), [0., 1., 4., 9.]);
        let odd = x.at(&crate::idx! { "s" => Slice::new(Some(1), None, 2) });
        assert_eq!(odd.get().unwrap().to_f32_vec(), [1., 3.]);
        assert_eq!(
            odd.apply(|p| &p * -1.0).unwrap().to_f32_vec(),
            [0., -1., 2., -3.]
        );
    }

    #[test]
    fn values_are_matched_by_name_whatever_their_order() {
        let x = NamedArray::zeros(&[("a", 2), ("b", 3)]).unwrap();
        let v = NamedArray::from_f32(&[("b", 2), ("a", 2)], vec![1., 2., 3., 4.]).unwrap();
        let y = x.at(&crate::idx! { "b" => 1..3 }).set(&v).unwrap();
        // (a, b) = v[b - 1, a].
        assert_eq!(y.to_f32_vec(), [0., 1., 3., 0., 2., 4.]);
    }

    #[test]
    fn scatter_add_accumulates_and_set_keeps_the_last() {
        let x = NamedArray::zeros(&[("v", 3)]).unwrap();
        let ids = NamedArray::from_i64(&[("t", 5)], vec![0, 2, 2, -1, 7]).unwrap();
        let vals = NamedArray::from_f32(&[("t", 5)], vec![1., 2., 3., 4., 5.]).unwrap();
        let at = x.at(&crate::idx! { "v" => &ids });
        // -1 is the last position; 7 is out of range and dropped, as in JAX updates.
        assert_eq!(at.add(&vals).unwrap().to_f32_vec(), [1., 0., 9.]);
        assert_eq!(at.set(&vals).unwrap().to_f32_vec(), [1., 0., 4.]);
    }

    #[test]
    fn integer_and_bool_arrays_update_in_their_dtype() {
        let x = NamedArray::arange("s", 3).unwrap();
        let y = x
            .at(&crate::idx! { "s" => 0 })
            .add(&NamedArray::scalar(2.9))
            .unwrap();
        assert_eq!(
            (y.dtype(), y.to_i64_vec()),
            (crate::nx::DType::I64, vec![2, 1, 2])
        );
        let m = NamedArray::full_bool(&[("s", 3)], false).unwrap();
        let m = m
            .at(&crate::idx! { "s" => 1.. })
            .set(&NamedArray::wrap_bool(ndarray::arr0(true).into_dyn()));
        assert_eq!(m.unwrap().to_bool_vec(), [false, true, true]);
        let h = NamedArray::from_f16(&[("s", 2)], vec![f16::from_f32(1.0); 2]).unwrap();
        let h = h
            .at(&crate::idx! { "s" => 1 })
            .mul(&NamedArray::scalar(3.0))
            .unwrap();
        assert_eq!(
            (h.dtype(), h.to_f32_vec()),
            (crate::nx::DType::F16, vec![1., 3.])
        );
    }

    #[test]
    fn values_with_foreign_or_mis_sized_axes_are_errors() {
        let x = seq(4);
        let at = x.at(&crate::idx! { "s" => 0..2 });
        assert_eq!(
            at.set(&NamedArray::zeros(&[("q", 2)]).unwrap())
                .unwrap_err()
                .to_string(),
            "at(..).set: no axis \"q\" in {s: 2}"
        );
        assert_eq!(
            at.set(&NamedArray::zeros(&[("s", 3)]).unwrap())
                .unwrap_err()
                .to_string(),
            "cannot at(..).set: axis \"s\" has size 3 on the left but 2 on the right: \
             left is {s: 3}, right is {s: 2}"
        );
    }
}
