//! Combinators: layers made of layers (`Residual`, branches, `Identity`, checks, renames).

use std::collections::BTreeMap;

use crate::Result;
use crate::nn::check::AxesSpec;
use crate::nn::{AnyLayer, Context, Layer, LayerError, Signature};
use crate::nx::NamedArray;
use crate::tree::Key;

/// Returns its input unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, penzai_macros::Tree)]
pub struct Identity;

impl Layer for Identity {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }

    fn signature(&self) -> Option<Signature> {
        Some(Signature::pass_through())
    }
}

/// `delta(x) + x`: a skip connection. The body must end with the axes it started with.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree)]
pub struct Residual {
    /// The residual branch.
    pub delta: AnyLayer,
}

impl Residual {
    /// A skip connection around `delta`.
    pub fn new(delta: impl Layer) -> Residual {
        Residual {
            delta: AnyLayer::new(delta),
        }
    }
}

impl Layer for Residual {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let before = x.named_shape();
        let y = cx.call_child(Key::field("delta"), self.delta.get(), x.clone())?;
        if !same_axes(&before, &y.named_shape()) {
            return Err(LayerError::Check(format!(
                "the residual branch must end with the axes it started with: it got {before} and returned {}",
                y.named_shape()
            ))
            .into());
        }
        Ok((&y + &x)?)
    }

    /// What the body requires; known when the body's signature is and ends with the
    /// axes it started with.
    fn signature(&self) -> Option<Signature> {
        let body = self.delta.get().signature()?;
        let mut removed: Vec<&str> = body.removes.iter().map(|n| n.as_str()).collect();
        let mut added: Vec<&str> = body.adds.iter().map(|(n, _)| n.as_str()).collect();
        removed.sort_unstable();
        added.sort_unstable();
        if removed != added {
            return None;
        }
        let mut requires = body.requires;
        for name in &body.removes {
            if !requires.iter().any(|(n, _)| n == name) {
                requires.push((name.clone(), None));
            }
        }
        Some(Signature {
            requires,
            ..Signature::default()
        })
    }
}

fn same_axes(a: &crate::nx::NamedShape, b: &crate::nx::NamedShape) -> bool {
    a.len() == b.len() && a.iter().all(|(name, size)| b.get(name) == Some(size))
}

fn run_branches(
    branches: &[AnyLayer],
    x: NamedArray,
    cx: &mut Context,
    combine: fn(&NamedArray, &NamedArray) -> Result<NamedArray>,
) -> Result<NamedArray> {
    let Some((first, rest)) = branches.split_first() else {
        return Err(
            LayerError::Config("a branch combinator needs at least one branch".into()).into(),
        );
    };
    let branch_key = |i: usize| [Key::field("branches"), Key::Index(i)];
    let mut acc = cx.call_descendant(branch_key(0), first.get(), x.clone())?;
    for (i, branch) in rest.iter().enumerate() {
        let y = cx.call_descendant(branch_key(i + 1), branch.get(), x.clone())?;
        acc = combine(&acc, &y)?;
    }
    Ok(acc)
}

/// Sum of every branch applied to the same input (Penzai's `BranchAndAddTogether`).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree)]
pub struct BranchAndAdd {
    /// The branches.
    pub branches: Vec<AnyLayer>,
}

impl BranchAndAdd {
    /// The sum of `branches`; at least one is needed.
    pub fn new(branches: Vec<AnyLayer>) -> Result<BranchAndAdd> {
        if branches.is_empty() {
            return Err(LayerError::Config("BranchAndAdd needs at least one branch".into()).into());
        }
        Ok(BranchAndAdd { branches })
    }
}

impl Layer for BranchAndAdd {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        run_branches(&self.branches, x, cx, |a, b| Ok((a + b)?))
    }
}

/// Product of every branch applied to the same input (gated MLPs; Penzai's
/// `BranchAndMultiplyTogether`).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree)]
pub struct BranchAndMultiply {
    /// The branches.
    pub branches: Vec<AnyLayer>,
}

impl BranchAndMultiply {
    /// The product of `branches`; at least one is needed.
    pub fn new(branches: Vec<AnyLayer>) -> Result<BranchAndMultiply> {
        if branches.is_empty() {
            return Err(
                LayerError::Config("BranchAndMultiply needs at least one branch".into()).into(),
            );
        }
        Ok(BranchAndMultiply { branches })
    }
}

impl Layer for BranchAndMultiply {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        run_branches(&self.branches, x, cx, |a, b| Ok((a * b)?))
    }
}

/// Asserts the input's named shape, then passes it through (Penzai's `CheckStructure`).
///
/// Size variables are bound within one check: `[seq: S, kv_seq: S]` requires equal sizes.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree)]
pub struct CheckAxes {
    /// The expected axes.
    #[tree(skip)]
    pub expected: AxesSpec,
}

impl CheckAxes {
    /// A check of the axes written like `[batch, seq: S, embedding: 64]`.
    pub fn parse(spec: &str) -> Result<CheckAxes> {
        Ok(CheckAxes {
            expected: spec.parse()?,
        })
    }
}

impl Layer for CheckAxes {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        self.expected
            .check(&x.named_shape(), &mut BTreeMap::new())?;
        Ok(x)
    }
}

/// Renames axes: `old[i]` becomes `new[i]`.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree)]
pub struct RenameAxes {
    /// Names before.
    #[tree(skip)]
    pub old: Vec<String>,
    /// Names after.
    #[tree(skip)]
    pub new: Vec<String>,
}

impl RenameAxes {
    /// Renames `old` to `new` (one axis).
    pub fn new(old: &str, new: &str) -> RenameAxes {
        RenameAxes {
            old: vec![old.to_owned()],
            new: vec![new.to_owned()],
        }
    }
}

impl Layer for RenameAxes {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        if self.old.len() != self.new.len() {
            return Err(LayerError::Config(format!(
                "RenameAxes has {} old names but {} new ones",
                self.old.len(),
                self.new.len()
            ))
            .into());
        }
        let old: Vec<&str> = self.old.iter().map(String::as_str).collect();
        let new: Vec<&str> = self.new.iter().map(String::as_str).collect();
        for axis in &old {
            crate::nn::check::require_axis(&x, axis, None)?;
        }
        if new.iter().all(|n| !old.contains(n)) {
            // Renaming in place keeps the axis order, which reads better when printed.
            let mut y = x;
            for (o, n) in old.iter().zip(&new) {
                y = y.rename(o, n)?;
            }
            return Ok(y);
        }
        // Untag then tag renames several axes at once, so swaps (a<->b) work too.
        Ok(x.untag(&old)?.tag(&new)?)
    }

    /// Requires and removes the old names, adds the new ones; the sizes carried over are
    /// not expressible in a signature (flow checks follow renames exactly).
    fn signature(&self) -> Option<Signature> {
        Some(Signature {
            requires: Vec::new(),
            removes: self.old.iter().map(|n| n.as_str().into()).collect(),
            adds: self.new.iter().map(|n| (n.as_str().into(), None)).collect(),
        })
    }
}
