//! Combinators: layers made of layers (`Residual`, branches, `Identity`, checks, renames).

use std::collections::BTreeMap;

use crate::Result;
use crate::nn::check::{AxesSpec, SizeSpec};
use crate::nn::flow::{
    AxesForm, AxisSet, Blame, Flow, FlowCheck, FlowResult, HasSignature, MAX_AXES, Message,
    ModelStep, Planner, StepBuild, StepInput, Syntax, Written, ops, spec_axes,
};
use crate::nn::{AnyLayer, Context, Layer, LayerError, Signature};
use crate::nx::{AxisName, NamedArray};
use crate::tree::Key;

/// Returns its input unchanged.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    penzai_macros::Tree,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Identity;

impl Layer for Identity {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok(x)
    }

    fn signature(&self) -> Option<Signature<'_>> {
        Some(Signature::PASS_THROUGH)
    }
}

#[diagnostic::do_not_recommend]
impl HasSignature for Identity {
    const SIGNATURE: Signature<'static> = Signature::PASS_THROUGH;
}

/// `delta(x) + x`: a skip connection. The body must end with the axes it started with.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
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

    /// The body's flow, which must end with the axes it started with; the residual's
    /// output has its input's axes.
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        let end = check.child(Key::field("delta"), self.delta.get(), x)?;
        if let (Some(start), Some(end)) = (&x, &end) {
            ops::end_as_started(start, end, "the Residual body")
                .map_err(|e| check.fail("Residual", e))?;
        }
        Ok(x)
    }
}

fn same_axes(a: &crate::nx::NamedShape, b: &crate::nx::NamedShape) -> bool {
    a.len() == b.len() && a.iter().all(|(name, size)| b.get(name) == Some(size))
}

/// The flow of branch combinators: every branch gets the input, and they must agree.
fn flow_branches<'a>(
    layer: &'static str,
    branches: &'a [AnyLayer],
    x: Option<AxisSet<'a>>,
    check: &mut FlowCheck,
) -> FlowResult<'a> {
    let mut first: Option<AxisSet<'a>> = None;
    let mut known = true;
    for (i, branch) in branches.iter().enumerate() {
        let end = check.descend([Key::field("branches"), Key::Index(i)], branch.get(), x)?;
        match (&first, end) {
            (_, None) => known = false,
            (None, Some(end)) if i == 0 => first = Some(end),
            (Some(first), Some(end)) => {
                ops::branches_agree(first, &end, i, layer).map_err(|e| check.fail(layer, e))?;
            }
            (None, Some(_)) => {}
        }
    }
    Ok(if known { first } else { None })
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
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
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

    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        flow_branches("BranchAndAdd", &self.branches, x, check)
    }
}

/// Product of every branch applied to the same input (gated MLPs; Penzai's
/// `BranchAndMultiplyTogether`).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
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

    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        flow_branches("BranchAndMultiply", &self.branches, x, check)
    }
}

/// Asserts the input's named shape, then passes it through (Penzai's `CheckStructure`).
///
/// Size variables are bound within one check: `[seq: S, kv_seq: S]` requires equal sizes.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
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

    /// The checked axes: known again from here on, even after a layer that states none.
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        let expected = spec_axes(&self.expected);
        match x {
            Some(x) => ops::check(&x, &expected, self.expected.allow_others, check.place())
                .map(Some)
                .map_err(|e| check.fail("CheckAxes", e)),
            None => Ok((!self.expected.allow_others).then_some(expected)),
        }
    }
}

/// Renames axes: `old[i]` becomes `new[i]` (with its size).
///
/// In `model!`: `RenameAxes(seq -> kv_seq)` (several at once: `RenameAxes(a, b -> b, a)`).
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct RenameAxes {
    /// Names before.
    #[tree(skip)]
    pub old: Vec<AxisName>,
    /// Names after.
    #[tree(skip)]
    pub new: Vec<AxisName>,
}

impl RenameAxes {
    /// Renames `old` to `new` (one axis).
    pub fn new(old: &str, new: &str) -> RenameAxes {
        RenameAxes {
            old: vec![old.into()],
            new: vec![new.into()],
        }
    }

    /// The flow of renaming `from[i]` to `to[i]`: what `model!` and flow checks share.
    pub const fn rename<'a>(
        x: &AxisSet<'a>,
        from: &[&'a str],
        to: &[&'a str],
        place: crate::nn::flow::Place<'_>,
    ) -> std::result::Result<AxisSet<'a>, crate::nn::FlowError<'a>> {
        ops::rename(x, from, to, "RenameAxes", place)
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
        let old: Vec<&str> = self.old.iter().map(AxisName::as_str).collect();
        let new: Vec<&str> = self.new.iter().map(AxisName::as_str).collect();
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

    /// Requires and removes the old names, adds the new ones (the sizes carried over are
    /// not expressible in a signature; [`flow`](Layer::flow) follows them exactly).
    fn signature(&self) -> Option<Signature<'_>> {
        let mut sig = Signature::new();
        for name in &self.old {
            sig = sig.remove(name);
        }
        for name in &self.new {
            sig = sig.add(crate::nn::Axis::any(name));
        }
        Some(sig)
    }

    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        let Some(x) = x else { return Ok(None) };
        let old: Vec<&str> = self.old.iter().map(AxisName::as_str).collect();
        let new: Vec<&str> = self.new.iter().map(AxisName::as_str).collect();
        RenameAxes::rename(&x, &old, &new, check.place())
            .map(Some)
            .map_err(|e| check.fail("RenameAxes", e))
    }
}

const RENAME_SYNTAX: Syntax = Syntax {
    example: "RenameAxes(seq -> kv_seq)",
    axes: AxesForm::Arrow,
    values: 0,
    bare: false,
    options: &[],
};

/// `RenameAxes(a -> b)`: renames the axes before `->` to the ones after, in order.
const fn plan_rename(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &RENAME_SYNTAX);
    if !p.failed() && step.before.len() != step.after.len() {
        let mut m = Message::new();
        m.push("RenameAxes renames each axis before `->` to the one at the same place after it: write as many on each side, like `RenameAxes(a, b -> c, d)`");
        p.fail_with(m, Blame::Args);
    }
    let mut from = [""; MAX_AXES];
    let mut to = [""; MAX_AXES];
    let mut i = 0;
    while i < step.before.len() && i < step.after.len() && i < MAX_AXES {
        from[i] = step.before[i].name;
        to[i] = step.after[i].name;
        i += 1;
    }
    let result = RenameAxes::rename(p.input(), from.split_at(i).0, to.split_at(i).0, step.place);
    p.set_result(result);
    p.finish()
}

impl<S: StepInput> ModelStep<S> for RenameAxes {
    const FLOW: Flow<'static> = plan_rename(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_rename(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<RenameAxes> {
        Ok(RenameAxes {
            old: StepBuild::names(step.step.before),
            new: StepBuild::names(step.step.after),
        })
    }
}

const CHECK_SYNTAX: Syntax = Syntax {
    example: "CheckAxes(batch, seq, embedding: 64)",
    axes: AxesForm::List,
    values: 0,
    bare: false,
    options: &[],
};

/// `CheckAxes(batch, seq, embedding: 64)`: exactly these axes, known from here on.
const fn plan_check(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &CHECK_SYNTAX);
    p.need_distinct(step.before, "`CheckAxes`");
    let expected = AxisSet::of(step.before);
    let result = ops::check(p.input(), &expected, false, step.place);
    p.restate(expected, result);
    p.finish()
}

impl<S: StepInput> ModelStep<S> for CheckAxes {
    const FLOW: Flow<'static> = plan_check(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_check(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<CheckAxes> {
        let axes = step
            .step
            .before
            .iter()
            .map(|axis| {
                let size = match axis.size.known() {
                    Some(n) => SizeSpec::Fixed(n),
                    None => SizeSpec::Any,
                };
                (axis.name.to_owned(), size)
            })
            .collect();
        Ok(CheckAxes {
            expected: AxesSpec {
                axes,
                allow_others: false,
            },
        })
    }
}
