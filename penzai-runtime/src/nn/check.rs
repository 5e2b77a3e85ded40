//! Named-shape specifications with size variables, and the input checks layers run.

use std::collections::BTreeMap;
use std::fmt;

use crate::Result;
use crate::nn::LayerError;
use crate::nx::{NamedArray, NamedShape};
use crate::tree::Invalid;

/// The size an axis must have in an [`AxesSpec`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SizeSpec {
    /// Any size.
    Any,
    /// Exactly this size.
    Fixed(usize),
    /// A size variable: every axis bound to the same variable must have the same size.
    Var(String),
}

/// A named shape to check against: axes with fixed sizes, size variables or any size.
///
/// Parsed from text such as `[batch, seq: S, embedding: 64]` (add `, ...` to allow other
/// axes too).
///
/// ```
/// use std::collections::BTreeMap;
/// use penzai::nn::AxesSpec;
/// use penzai::prelude::*;
///
/// let spec: AxesSpec = "[batch, seq: S, embedding: 4]".parse()?;
/// let x = NamedArray::zeros(&[("batch", 2), ("seq", 3), ("embedding", 4)])?;
/// spec.check(&x.named_shape(), &mut BTreeMap::new())?;
/// let y = NamedArray::zeros(&[("batch", 2), ("seq", 3), ("embedding", 5)])?;
/// let err = spec.check(&y.named_shape(), &mut BTreeMap::new()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "expected axes [batch, seq: S, embedding: 4]: axis \"embedding\" has size 5, not 4; got {batch: 2, seq: 3, embedding: 5}"
/// );
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxesSpec {
    /// The axes, in the order written.
    pub axes: Vec<(String, SizeSpec)>,
    /// Whether axes not listed are allowed.
    pub allow_others: bool,
}

impl AxesSpec {
    /// Checks `shape`, binding size variables in `vars` (already bound ones must match).
    pub fn check(&self, shape: &NamedShape, vars: &mut BTreeMap<String, usize>) -> Result<()> {
        let fail = |why: String| -> crate::Error {
            LayerError::Check(format!("expected axes {self}: {why}; got {shape}")).into()
        };
        for (name, size) in &self.axes {
            let Some(actual) = shape.get(name) else {
                return Err(fail(format!("axis {name:?} is missing")));
            };
            match size {
                SizeSpec::Any => {}
                SizeSpec::Fixed(n) if *n == actual => {}
                SizeSpec::Fixed(n) => {
                    return Err(fail(format!("axis {name:?} has size {actual}, not {n}")));
                }
                SizeSpec::Var(v) => match vars.get(v) {
                    Some(&bound) if bound != actual => {
                        return Err(fail(format!(
                            "axis {name:?} has size {actual}, but {v} = {bound} from an earlier axis"
                        )));
                    }
                    Some(_) => {}
                    None => {
                        vars.insert(v.clone(), actual);
                    }
                },
            }
        }
        if !self.allow_others
            && let Some((extra, _)) = shape
                .iter()
                .find(|(n, _)| !self.axes.iter().any(|(a, _)| a == n.as_str()))
        {
            return Err(fail(format!("unexpected axis {:?}", extra.as_str())));
        }
        Ok(())
    }
}

impl fmt::Display for AxesSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (name, size)) in self.axes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match size {
                SizeSpec::Any => write!(f, "{name}")?,
                SizeSpec::Fixed(n) => write!(f, "{name}: {n}")?,
                SizeSpec::Var(v) => write!(f, "{name}: {v}")?,
            }
        }
        if self.allow_others {
            f.write_str(if self.axes.is_empty() { "..." } else { ", ..." })?;
        }
        f.write_str("]")
    }
}

/// The spec as written (`[batch, seq: S, embedding: 64]`), which is also how Treescope and
/// `{:?}` show a `CheckAxes`.
impl fmt::Debug for AxesSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for AxesSpec {
    type Err = crate::Error;
    fn from_str(text: &str) -> Result<AxesSpec> {
        let bad = |why: &str| -> crate::Error {
            LayerError::Config(format!("axes spec {text:?}: {why}")).into()
        };
        let inner = text
            .trim()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| bad("write it in brackets, like [batch, seq: S, embedding: 64]"))?;
        let mut spec = AxesSpec {
            axes: Vec::new(),
            allow_others: false,
        };
        for item in inner.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "..." {
                spec.allow_others = true;
                continue;
            }
            let (name, size) = match item.split_once(':') {
                Some((n, s)) => (n.trim(), s.trim()),
                None => (item, ""),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(bad(&format!("{name:?} is not an axis name")));
            }
            if spec.axes.iter().any(|(n, _)| n == name) {
                return Err(bad(&format!("axis {name:?} is listed twice")));
            }
            let size = if size.is_empty() {
                SizeSpec::Any
            } else if let Ok(n) = size.parse::<usize>() {
                SizeSpec::Fixed(n)
            } else if size.chars().all(|c| c.is_alphanumeric() || c == '_') {
                SizeSpec::Var(size.to_owned())
            } else {
                return Err(bad(&format!(
                    "{size:?} is neither a size nor a size variable"
                )));
            };
            spec.axes.push((name.to_owned(), size));
        }
        Ok(spec)
    }
}

/// Checks that `x` has `axis` (with `size`, when given), else the layer error
/// `needs input axis "axis" (size); got {...}`.
pub fn require_axis(x: &NamedArray, axis: &str, size: Option<usize>) -> Result<()> {
    match (x.axis_size(axis), size) {
        (Some(actual), Some(expected)) if actual != expected => Err(needs_axis(x, axis, size)),
        (Some(_), _) => Ok(()),
        (None, _) => Err(needs_axis(x, axis, size)),
    }
}

/// Checks that `x` does not already have `axis`, which the layer is about to create.
pub fn forbid_axis(x: &NamedArray, axis: &str) -> Result<()> {
    if x.has_axis(axis) {
        return Err(LayerError::AxisClash {
            axis: axis.into(),
            got: x.named_shape(),
        }
        .into());
    }
    Ok(())
}

/// Checks that `x` has no positional axes.
pub fn require_named_only(x: &NamedArray) -> Result<()> {
    let positional = x.positional_shape();
    if positional.is_empty() {
        Ok(())
    } else {
        Err(LayerError::Positional {
            positional,
            named: x.named_shape(),
        }
        .into())
    }
}

fn needs_axis(x: &NamedArray, axis: &str, size: Option<usize>) -> crate::Error {
    LayerError::NeedsAxis {
        axis: axis.into(),
        expected: size,
        got: x.named_shape(),
    }
    .into()
}

/// Fields that can carry `#[axes(...)]`: parameters and named arrays (optional or boxed).
#[diagnostic::on_unimplemented(
    message = "`#[axes(...)]` needs a `Parameter` or `NamedArray` field; `{Self}` has no named axes",
    label = "this field's type has no named axes"
)]
pub trait AxesField {
    /// The named shape to check, or `None` when there is nothing (an empty `Option`).
    fn axes_of(&self) -> Option<NamedShape>;
}

impl AxesField for NamedArray {
    fn axes_of(&self) -> Option<NamedShape> {
        Some(self.named_shape())
    }
}

impl AxesField for crate::nn::Parameter {
    fn axes_of(&self) -> Option<NamedShape> {
        Some(self.value.named_shape())
    }
}

impl<T: AxesField> AxesField for Option<T> {
    fn axes_of(&self) -> Option<NamedShape> {
        self.as_ref().and_then(AxesField::axes_of)
    }
}

impl<T: AxesField> AxesField for Box<T> {
    fn axes_of(&self) -> Option<NamedShape> {
        (**self).axes_of()
    }
}

/// A size declared in `#[axes(...)]`.
#[derive(Clone, Copy, Debug)]
pub enum DeclaredSize {
    /// Any size.
    Any,
    /// Exactly this size.
    Fixed(usize),
    /// A size variable shared across the node's fields.
    Var(&'static str),
}

/// The check a derived `validate()` runs: each `#[axes]` field in turn, with size
/// variables bound by the first field that uses them.
#[derive(Debug, Default)]
pub struct AxesCheck {
    bound: Vec<(&'static str, usize, &'static str, &'static str)>,
}

impl AxesCheck {
    /// A check with no variable bound yet.
    pub fn new() -> AxesCheck {
        AxesCheck::default()
    }

    /// Checks one field's axes against its declaration.
    pub fn field(
        &mut self,
        field: &'static str,
        shape: Option<NamedShape>,
        axes: &[(&'static str, DeclaredSize)],
        allow_others: bool,
    ) -> std::result::Result<(), Invalid> {
        let Some(shape) = shape else { return Ok(()) };
        let fail = |problem: String| Invalid::at_field(field, problem);
        for &(axis, size) in axes {
            let Some(actual) = shape.get(axis) else {
                return Err(fail(format!("lacks axis {axis:?} (its axes are {shape})")));
            };
            match size {
                DeclaredSize::Any => {}
                DeclaredSize::Fixed(n) if n == actual => {}
                DeclaredSize::Fixed(n) => {
                    return Err(fail(format!(
                        "axis {axis:?} has size {actual}, expected {n} (its axes are {shape})"
                    )));
                }
                DeclaredSize::Var(var) => match self.bound.iter().find(|(v, ..)| *v == var) {
                    Some(&(_, n, other_field, other_axis)) if n != actual => {
                        return Err(fail(format!(
                            "axis {axis:?} has size {actual}, but {var} = {n} from {other_field} axis {other_axis:?}"
                        )));
                    }
                    Some(_) => {}
                    None => self.bound.push((var, actual, field, axis)),
                },
            }
        }
        if !allow_others
            && let Some((extra, _)) = shape
                .iter()
                .find(|(n, _)| !axes.iter().any(|(a, _)| *a == n.as_str()))
        {
            return Err(fail(format!(
                "has axis {:?}, which its #[axes(...)] does not declare (its axes are {shape})",
                extra.as_str()
            )));
        }
        Ok(())
    }
}
