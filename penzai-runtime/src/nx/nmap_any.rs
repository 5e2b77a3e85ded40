//! `nmap` over arrays of any dtype, with one or several outputs.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use super::align::NamedUnion;
use super::array::NamedArray;
use super::construct::checked_len;
use super::dtype::{DType, Element, Storage};
use super::error::AxisError;
use super::shape::ArrayShape;
use super::tape;

impl NamedArray {
    /// Penzai's `nmap` for any dtypes: calls `f` once per element of the union of the
    /// arguments' named axes, with each argument's slice there (an array with only its
    /// positional axes, sharing its data), and assembles what `f` returns.
    ///
    /// The rules are Penzai's: the named axes of all arguments are unioned (first-seen
    /// order); an axis shared by several arguments must have one size (no stretching of
    /// size 1); an argument without an axis is repeated along it. `f` returns an array with
    /// positional axes only, of the same shape and dtype for every slice; the result has the
    /// union's named axes around those positional axes. Arguments may be `f32`, `f16`,
    /// `bf16`, `i64` or `bool`, mixed; `f` uses any positional operation
    /// ([`index`](NamedArray::index) after [`tag`](NamedArray::tag), [`cast`](NamedArray::cast),
    /// elementwise arithmetic, ...). With no named axes at all, `f` is called once.
    ///
    /// Where the f32-only [`nmap`](NamedArray::nmap) hands `f` ndarray views, this one hands
    /// it `NamedArray`s, so that index and mask logic needs no casts.
    ///
    /// ```
    /// use penzai::nx::{DType, NamedArray};
    ///
    /// // Per row, the position of the first `true` in a mask (bool in, i64 out).
    /// let mask = NamedArray::from_bool(&[("row", 2), ("col", 3)], vec![
    ///     false, true, true,
    ///     true, false, false,
    /// ])?;
    /// let first = NamedArray::nmap_any(&[&mask.untag(&["col"])?], |s| {
    ///     let at = s[0].to_bool_vec().iter().position(|&b| b).unwrap_or(0);
    ///     Ok(NamedArray::scalar_i64(at as i64))
    /// })?;
    /// assert_eq!(first.dtype(), DType::I64);
    /// assert_eq!(first.named_shape().to_string(), "{row: 2}");
    /// assert_eq!(first.to_i64_vec(), [1, 0]);
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn nmap_any(
        args: &[&NamedArray],
        mut f: impl FnMut(&[NamedArray]) -> Result<NamedArray, AxisError>,
    ) -> Result<NamedArray, AxisError> {
        let mut outs = NamedArray::nmap_many(args, |slices| Ok(vec![f(slices)?]))?;
        // `nmap_many` returns exactly as many arrays as each call did: one.
        Ok(outs.swap_remove(0))
    }

    /// Like [`nmap_any`](NamedArray::nmap_any) for a function with several outputs (Penzai's
    /// nmap over a function returning a tuple): output `i` of the result assembles output
    /// `i` of every call, and each gets the union's named axes.
    ///
    /// ```
    /// use penzai::nx::NamedArray;
    ///
    /// let x = NamedArray::from_f32(&[("b", 2), ("d", 2)], vec![3., 1., 2., 5.])?;
    /// // Per row of `b`: the largest value and where it is.
    /// let outs = NamedArray::nmap_many(&[&x.untag(&["d"])?], |s| {
    ///     let v = s[0].to_f32_vec();
    ///     let at = if v[1] > v[0] { 1 } else { 0 };
    ///     Ok(vec![NamedArray::scalar(v[at]), NamedArray::scalar_i64(at as i64)])
    /// })?;
    /// assert_eq!(outs[0].to_f32_vec(), [3., 5.]);
    /// assert_eq!(outs[1].to_i64_vec(), [0, 1]);
    /// assert_eq!(outs[1].named_shape().to_string(), "{b: 2}");
    /// # Ok::<(), penzai::nx::AxisError>(())
    /// ```
    pub fn nmap_many(
        args: &[&NamedArray],
        mut f: impl FnMut(&[NamedArray]) -> Result<Vec<NamedArray>, AxisError>,
    ) -> Result<Vec<NamedArray>, AxisError> {
        let union = NamedUnion::of(args);
        if !union.conflicts.is_empty() {
            return Err(union.inconsistent("nmap", args));
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
        // Per call, per output: the results, checked against the first call's kinds.
        let mut results: Vec<Vec<NamedArray>> = vec![];
        let mut kinds: Option<(Vec<DType>, Vec<Vec<usize>>)> = None;
        let mut slices: Vec<NamedArray> = Vec::with_capacity(args.len());
        for index in ndarray::indices(IxDyn(&union.sizes)) {
            slices.clear();
            for arg in args {
                let mut s = (*arg).clone();
                for (k, name) in union.names.iter().enumerate() {
                    if s.has_axis(name) {
                        s = s.index_axis(name, index[k])?;
                    }
                }
                slices.push(s);
            }
            let outs = f(&slices)?;
            for (i, out) in outs.iter().enumerate() {
                if !out.names.is_empty() {
                    return Err(AxisError::NmapNamedOutput {
                        output: i,
                        shape: out.full_shape(),
                    });
                }
            }
            let dtypes: Vec<DType> = outs.iter().map(NamedArray::dtype).collect();
            let shapes: Vec<Vec<usize>> = outs.iter().map(NamedArray::positional_shape).collect();
            match &kinds {
                None => kinds = Some((dtypes, shapes)),
                Some((d, s)) if *d != dtypes || *s != shapes => {
                    return Err(AxisError::NmapOutputKind {
                        first: describe(d, s),
                        got: describe(&dtypes, &shapes),
                    });
                }
                Some(_) => {}
            }
            results.push(outs);
        }
        let (dtypes, shapes) = kinds.unwrap_or_default();
        (0..dtypes.len())
            .map(|i| {
                let column: Vec<&NamedArray> = results.iter().map(|outs| &outs[i]).collect();
                let out = assemble(&column, dtypes[i], &shapes[i], &union);
                // Built from recorded nx ops in every call: a real gradient, slice by slice.
                // Otherwise a closure made the values from raw data, and a gradient through
                // them is an error rather than a silent zero.
                if column.iter().all(|o| o.trace.is_some()) {
                    let rule = tape::unstack_calls(&union.names, &union.sizes);
                    tape::record("nmap_any", &column, out, rule)
                } else {
                    tape::record_opaque("nmap_any", args, out)
                }
            })
            .collect()
    }
}

fn describe(dtypes: &[DType], shapes: &[Vec<usize>]) -> String {
    let each: Vec<String> = dtypes
        .iter()
        .zip(shapes)
        .map(|(d, s)| format!("{d}{s:?}"))
        .collect();
    format!("{} output(s) [{}]", each.len(), each.join(", "))
}

/// Stacks one output of every call (same dtype and positional shape) into an array with
/// the union's named axes.
fn assemble(
    column: &[&NamedArray],
    dtype: DType,
    shape: &[usize],
    union: &NamedUnion,
) -> Result<NamedArray, AxisError> {
    fn stacked<T: Element>(column: &[&NamedArray], dims: &[usize]) -> Option<Storage> {
        let views: Vec<ArrayViewD<'_, T>> = column
            .iter()
            .map(|a| T::view_of(&a.data))
            .collect::<Option<_>>()?;
        let flat: ArrayD<T> = ndarray::stack(Axis(0), &views).ok()?;
        // `to_shape` copies when `stack` kept a column-major layout from its inputs.
        let shaped = flat.to_shape(IxDyn(dims)).ok()?.into_owned();
        Some(T::into_storage(shaped))
    }
    let dims = [union.sizes.as_slice(), shape].concat();
    let data = match dtype {
        DType::F32 => stacked::<f32>(column, &dims),
        DType::F16 => stacked::<half::f16>(column, &dims),
        DType::BF16 => stacked::<half::bf16>(column, &dims),
        DType::I64 => stacked::<i64>(column, &dims),
        DType::Bool => stacked::<bool>(column, &dims),
        _ => None,
    };
    let too_large = || AxisError::TooLarge {
        op: "nmap",
        shape: ArrayShape {
            positional: shape.into(),
            named: union.named_shape(),
        },
    };
    let data = data.ok_or_else(too_large)?;
    // Named axes lead in the stacked data; move them behind the positional ones.
    let n_named = union.names.len();
    let perm: Vec<usize> = (n_named..dims.len()).chain(0..n_named).collect();
    let data = super::dtype::map_storage!(&data, a => a.permuted_axes(&perm[..]));
    Ok(NamedArray::from_parts(data, union.names.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(shape: &[(&str, usize)], data: Vec<i64>) -> NamedArray {
        NamedArray::from_i64(shape, data).unwrap()
    }

    #[test]
    fn mixed_dtypes_map_and_keep_the_output_dtype() {
        let x = ids(&[("a", 2), ("b", 3)], vec![1, 2, 3, 4, 5, 6]);
        let keep = NamedArray::from_bool(&[("b", 3)], vec![true, false, true]).unwrap();
        let out = NamedArray::nmap_any(&[&x, &keep], |s| {
            let v = s[0].to_i64_vec()[0];
            Ok(NamedArray::scalar_i64(if s[1].to_bool_vec()[0] {
                v
            } else {
                -v
            }))
        })
        .unwrap();
        assert_eq!(out.dtype(), DType::I64);
        assert_eq!(out.axis_names(), ["a", "b"]);
        assert_eq!(out.to_i64_vec(), [1, -2, 3, 4, -5, 6]);
    }

    #[test]
    fn outputs_keep_positional_axes_after_the_named_ones_are_added() {
        let x = NamedArray::arange("a", 2).unwrap();
        let out = NamedArray::nmap_any(&[&x], |s| {
            let v = s[0].to_i64_vec()[0];
            Ok(NamedArray::wrap_i64(
                ndarray::arr1(&[v, v * 10, v * 100]).into_dyn(),
            ))
        })
        .unwrap();
        assert_eq!(out.positional_shape(), [3]);
        assert_eq!(out.named_shape().to_string(), "{a: 2}");
        assert_eq!(
            out.tag(&["k"])
                .unwrap()
                .move_to_front(&["a"])
                .unwrap()
                .to_i64_vec(),
            [0, 0, 0, 1, 10, 100]
        );
    }

    #[test]
    fn half_precision_arguments_are_seen_as_they_are() {
        let h = NamedArray::from_bf16(&[("a", 2)], vec![half::bf16::from_f32(1.5); 2]).unwrap();
        let out = NamedArray::nmap_any(&[&h], |s| {
            assert_eq!(s[0].dtype(), DType::BF16);
            s[0].cast(DType::F32)
        })
        .unwrap();
        assert_eq!(
            (out.dtype(), out.to_f32_vec()),
            (DType::F32, vec![1.5, 1.5])
        );
    }

    #[test]
    fn sizes_must_agree_and_outputs_must_be_consistent() {
        let x = ids(&[("a", 2)], vec![0, 1]);
        let y = ids(&[("a", 3)], vec![0, 1, 2]);
        assert_eq!(
            NamedArray::nmap_any(&[&x, &y], |s| Ok(s[0].clone()))
                .unwrap_err()
                .to_string(),
            "inconsistent named axes in nmap for [\"a\"]: args[0] is {a: 2}, args[1] is {a: 3}"
        );
        let err = NamedArray::nmap_any(&[&x], |s| {
            Ok(if s[0].to_i64_vec()[0] == 0 {
                NamedArray::scalar_i64(0)
            } else {
                NamedArray::scalar(0.0)
            })
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "nmap: the function returned 1 output(s) [i64[]] for the first slice but \
             1 output(s) [f32[]] for a later one; it must return the same every time"
        );
        let err = NamedArray::nmap_many(&[&x], |s| Ok(vec![s[0].insert_axis("z")?])).unwrap_err();
        assert!(matches!(err, AxisError::NmapNamedOutput { output: 0, .. }));
        let e = NamedArray::zeros(&[("a", 0)]).unwrap();
        assert!(matches!(
            NamedArray::nmap_any(&[&e], |s| Ok(s[0].clone())).unwrap_err(),
            AxisError::NmapEmpty { .. }
        ));
    }

    #[test]
    fn no_named_axes_means_one_call_and_several_outputs_line_up() {
        let mut calls = 0;
        let outs = NamedArray::nmap_many(&[], |_| {
            calls += 1;
            Ok(vec![NamedArray::scalar(1.0), NamedArray::scalar_i64(2)])
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(
            (outs[0].to_f32_vec(), outs[1].to_i64_vec()),
            (vec![1.0], vec![2])
        );
    }
}
