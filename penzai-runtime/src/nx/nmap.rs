//! `nmap`: run a positional-axes function on every slice of the named axes.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use super::align::NamedUnion;
use super::array::NamedArray;
use super::construct::checked_len;
use super::dtype::Storage;
use super::error::AxisError;
use super::shape::ArrayShape;

impl NamedArray {
    /// Calls `f` once per element of the union of the arguments' named axes, on views of
    /// their positional axes, and assembles the results (Penzai's `nmap`, §3.3).
    ///
    /// An axis shared by several arguments must have one size (no stretching); an argument
    /// without an axis is repeated along it. The result has every named axis of the union,
    /// in first-seen order, plus the positional axes of `f`'s result, which must have the
    /// same shape for every slice. Arguments must be `f32`. With no named axes at all, `f`
    /// is called once.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// // A dot product over the positional axis, vectorized over `batch`.
    /// let x = NamedArray::from_f32(&[("batch", 2), ("d", 3)], vec![1., 2., 3., 4., 5., 6.])?;
    /// let w = NamedArray::from_f32(&[("d", 3)], vec![1., 0., 1.])?;
    /// let dot = NamedArray::nmap(&[&x.untag(&["d"])?, &w.untag(&["d"])?], |v| {
    ///     ndarray::arr0(v[0].iter().zip(v[1].iter()).map(|(a, b)| a * b).sum::<f32>()).into_dyn()
    /// })?;
    /// assert_eq!(dot.named_shape().to_string(), "{batch: 2}");
    /// assert_eq!(dot.to_f32_vec(), [4., 10.]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn nmap(
        args: &[&NamedArray],
        mut f: impl FnMut(&[ArrayViewD<'_, f32>]) -> ArrayD<f32>,
    ) -> Result<NamedArray, AxisError> {
        let mut widened = Vec::with_capacity(args.len());
        for arg in args {
            if !arg.dtype().is_float() {
                let got = args.iter().map(|a| a.dtype()).collect();
                return Err(AxisError::DType {
                    op: "nmap",
                    got,
                    expected: "floats (f32, or f16/bf16 seen as f32)",
                });
            }
            widened.push(arg.data.to_f32());
        }
        let mut bases: Vec<ArrayViewD<'_, f32>> = widened.iter().map(|a| a.view()).collect();
        let union = NamedUnion::of(args);
        if !union.conflicts.is_empty() {
            return Err(union.inconsistent("nmap", args));
        }
        // Each argument's view with its named axes first, in union order: slicing the
        // leading axis then walks the union's axes in order.
        let mut present: Vec<Vec<bool>> = Vec::with_capacity(args.len());
        for (arg, base) in args.iter().zip(bases.iter_mut()) {
            let named = union.names.iter().filter_map(|n| arg.named_axis(n));
            let perm: Vec<usize> = named.chain(0..arg.n_pos()).collect();
            *base = base.clone().permuted_axes(perm);
            present.push(union.names.iter().map(|n| arg.has_axis(n)).collect());
        }
        let Some(count) = checked_len(union.sizes.iter().copied()) else {
            return Err(AxisError::TooLarge {
                op: "nmap",
                shape: ArrayShape {
                    positional: Box::default(),
                    named: union.named_shape(),
                },
            });
        };
        if count == 0 {
            return Err(AxisError::NmapEmpty {
                shape: union.named_shape(),
            });
        }
        let mut values: Vec<f32> = vec![];
        let mut out_shape: Option<Vec<usize>> = None;
        let mut views: Vec<ArrayViewD<'_, f32>> = Vec::with_capacity(args.len());
        for index in ndarray::indices(IxDyn(&union.sizes)) {
            views.clear();
            for (base, has) in bases.iter().zip(&present) {
                let mut v = base.clone();
                for (k, _) in has.iter().enumerate().filter(|&(_, &h)| h) {
                    v = v.index_axis_move(Axis(0), index[k]);
                }
                views.push(v);
            }
            let out = f(&views);
            match &out_shape {
                None => {
                    let total = checked_len(union.sizes.iter().chain(out.shape()).copied());
                    let Some(total) = total else {
                        let positional = out.shape().into();
                        let shape = ArrayShape {
                            positional,
                            named: union.named_shape(),
                        };
                        return Err(AxisError::TooLarge { op: "nmap", shape });
                    };
                    values.reserve(total);
                    out_shape = Some(out.shape().to_vec());
                }
                Some(first) if first.as_slice() != out.shape() => {
                    return Err(AxisError::NmapOutputShape {
                        first: first.clone(),
                        got: out.shape().to_vec(),
                    });
                }
                Some(_) => {}
            }
            values.extend(out.iter().copied());
        }
        let out_shape = out_shape.unwrap_or_default();
        let dims = [union.sizes.as_slice(), out_shape.as_slice()].concat();
        // One result of `out_shape` per slice, by construction.
        let data = ArrayD::from_shape_vec(IxDyn(&dims), values).expect("one result per slice");
        let n_named = union.names.len();
        let perm: Vec<usize> = (n_named..dims.len()).chain(0..n_named).collect();
        let out = Ok(NamedArray::from_parts(
            Storage::F32(data.permuted_axes(perm).into()),
            union.names,
        ));
        super::tape::record_opaque("nmap", args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr0;

    fn iota(shape: &[(&str, usize)]) -> NamedArray {
        let n: usize = shape.iter().map(|s| s.1).product();
        NamedArray::from_f32(shape, (0..n).map(|i| i as f32).collect()).unwrap()
    }

    fn sum(v: &[ArrayViewD<'_, f32>]) -> ArrayD<f32> {
        arr0(v[0].sum()).into_dyn()
    }

    #[test]
    fn maps_over_named_axes_and_sees_positional_ones() {
        let x = iota(&[("a", 2), ("b", 3)]);
        let s = NamedArray::nmap(&[&x.untag(&["b"]).unwrap()], sum).unwrap();
        assert_eq!(s.named_shape().to_string(), "{a: 2}");
        assert!(s.positional_shape().is_empty());
        assert_eq!(s, x.sum(&["b"]).unwrap());
    }

    #[test]
    fn absent_names_broadcast_and_the_union_is_first_seen() {
        let x = iota(&[("a", 2)]);
        let y = iota(&[("c", 3), ("a", 2)]);
        let out = NamedArray::nmap(&[&x, &y], |v| v[0].to_owned() * 10.0 + &v[1]).unwrap();
        assert_eq!(out.axis_names(), ["a", "c"]);
        assert_eq!(out, (&(&x * 10.0).unwrap() + &y).unwrap());
    }

    #[test]
    fn results_keep_their_positional_axes() {
        let x = iota(&[("a", 2), ("b", 3)]).untag(&["b"]).unwrap();
        let cum = NamedArray::nmap(&[&x], |v| {
            let mut acc = 0.0;
            v[0].mapv(|e| {
                acc += e;
                acc
            })
        })
        .unwrap();
        assert_eq!(cum.positional_shape(), [3]);
        assert_eq!(
            cum.tag(&["b"])
                .unwrap()
                .move_to_front(&["a"])
                .unwrap()
                .to_f32_vec(),
            [0., 1., 3., 3., 7., 12.]
        );
    }

    #[test]
    fn no_named_axes_means_one_call() {
        let mut calls = 0;
        let out = NamedArray::nmap(&[], |_| {
            calls += 1;
            arr0(1.0).into_dyn()
        })
        .unwrap();
        assert_eq!((calls, out.scalar_f32().unwrap()), (1, 1.0));
    }

    #[test]
    fn inconsistent_sizes_list_every_argument() {
        let x = iota(&[("a", 2), ("b", 3)]);
        let y = iota(&[("a", 5)]);
        assert_eq!(
            NamedArray::nmap(&[&x, &y], sum).unwrap_err().to_string(),
            "inconsistent named axes in nmap for [\"a\"]: args[0] is {a: 2, b: 3}, args[1] is {a: 5}"
        );
    }

    #[test]
    fn the_function_must_return_one_shape() {
        let x = iota(&[("a", 2)]);
        let mut n = 0;
        let err = NamedArray::nmap(&[&x], |_| {
            n += 1;
            ArrayD::zeros(vec![n])
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "nmap: the function returned shape [1] for the first slice but [2] for a later one; it must return one shape"
        );
    }

    #[test]
    fn empty_axes_and_other_dtypes_are_errors() {
        let e = NamedArray::zeros(&[("a", 0)]).unwrap();
        assert_eq!(
            NamedArray::nmap(&[&e], sum).unwrap_err().to_string(),
            "nmap over a zero-size named axis cannot infer the output shape: {a: 0}"
        );
        let ids = NamedArray::arange("a", 2).unwrap();
        assert!(matches!(
            NamedArray::nmap(&[&ids], sum).unwrap_err(),
            AxisError::DType { op: "nmap", .. }
        ));
    }
}
