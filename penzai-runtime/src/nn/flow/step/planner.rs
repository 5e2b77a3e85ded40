//! `Planner`: the check of one step, from the axes flowing in to the axes after it.

use crate::nn::flow::axes::{Axis, AxisSet};
use crate::nn::flow::error::{Blame, FlowError, Mistake};
use crate::nn::flow::message::{Message, str_eq};
use crate::nn::flow::ops;
use crate::nn::flow::pipeline::Flow;
use crate::nn::flow::signature::Signature;

use super::syntax::{Syntax, check_syntax};
use super::written::{Literal, Written};

/// Checks one step against the axes flowing in: the step's own arguments against the
/// layer's [`Syntax`], then whatever the layer asks (sizes it needs, its signature, checks
/// of its own). The first mistake is the step's error, blamed on the token that causes it.
///
/// A layer's `model!` plan is a `const fn` over a planner:
///
/// ```
/// use penzai::nn::{AxesForm, Flow, Planner, Signature, Syntax, Written};
///
/// const SYNTAX: Syntax = Syntax { example: "Pool(over seq)", axes: AxesForm::Over, values: 0, bare: false, options: &[] };
///
/// const fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
///     let mut p = Planner::new(input, step, &SYNTAX);
///     let mut sig = Signature::new();
///     let over = step.over_axes();
///     let mut i = 0;
///     while i < over.len() {
///         sig = sig.require(over[i]).remove(over[i].name);
///         i += 1;
///     }
///     p.then(&sig);
///     p.finish()
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Planner<'s> {
    step: Written<'s>,
    input: Flow<'static>,
    axes: AxisSet<'static>,
    error: Option<FlowError<'static>>,
    /// The error is an axis mistake: the axes after the step are a guess.
    poisons: bool,
    /// The step states the axes after it (`CheckAxes`): the flow is known again.
    restated: bool,
}

impl<'s> Planner<'s> {
    /// A planner for `step` on the flow `input`; checks the step's arguments against
    /// `syntax` first.
    pub const fn new(input: &Flow<'static>, step: &Written<'s>, syntax: &Syntax) -> Planner<'s> {
        let mut p = Planner {
            step: *step,
            input: *input,
            axes: *input.axes(),
            error: None,
            poisons: false,
            restated: false,
        };
        if let Some(e) = check_syntax(step, syntax) {
            p.error = Some(e);
        }
        p
    }

    /// The step.
    pub const fn step(&self) -> &Written<'s> {
        &self.step
    }

    /// The layer's name as written.
    pub const fn name(&self) -> &'static str {
        self.step.name
    }

    /// Positional value `i`, if written.
    pub const fn value(&self, i: usize) -> Option<Literal<'s>> {
        if i < self.step.values.len() {
            Some(self.step.values[i])
        } else {
            None
        }
    }

    /// The axes flowing in.
    pub const fn input(&self) -> &AxisSet<'static> {
        self.input.axes()
    }

    /// The axes after what the planner applied so far.
    pub const fn axes(&self) -> &AxisSet<'static> {
        &self.axes
    }

    /// Whether a mistake was found already.
    pub const fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Records a mistake of the step's own arguments (reported even after an earlier
    /// step's mistake).
    pub const fn fail(&mut self, error: FlowError<'static>, blame: Blame) {
        if self.error.is_none() {
            self.error = Some(error.at(blame));
        }
    }

    /// Records a mistake about the axes flowing in (after an earlier mistake the axes are
    /// a guess, so it is not reported then); `poisons` when the axes after the step are
    /// unknown because of it.
    pub const fn fail_flow(&mut self, error: FlowError<'static>, blame: Blame, poisons: bool) {
        if self.error.is_none() && !self.input.is_poisoned() {
            self.error = Some(error.at(blame));
            self.poisons = poisons;
        }
    }

    /// Records `message` as a mistake at `blame` (see [`fail`](Planner::fail)).
    pub const fn fail_with(&mut self, message: Message, blame: Blame) {
        self.fail(FlowError::other(message), blame);
    }

    /// Checks that the sizes of `axes` (written in the step at `blame`) are known, written
    /// or from the flow: the layer needs them to build its parameters.
    pub const fn need_sizes(&mut self, axes: &[Axis<'static>]) {
        let mut i = 0;
        while i < axes.len() {
            if !axes[i].size.is_stated() {
                let at = match self.step.blame_of(axes[i].name) {
                    Some(b) => b,
                    None => Blame::Step,
                };
                if let Err(e) = ops::size_of(
                    self.input.axes(),
                    axes[i].name,
                    self.step.name,
                    self.step.place,
                ) {
                    self.fail_flow(e, at, false);
                }
            }
            i += 1;
        }
    }

    /// Checks that `axes` have their sizes written in the step: the layer creates them.
    pub const fn need_written_sizes(&mut self, axes: &[Axis<'static>]) {
        let mut i = 0;
        while i < axes.len() {
            if !axes[i].size.is_stated() {
                let at = match self.step.blame_of(axes[i].name) {
                    Some(b) => b,
                    None => Blame::Step,
                };
                let mut m = Message::new();
                m.push(self.step.name)
                    .push(" needs the size of its output axis ")
                    .quoted(axes[i].name)
                    .push(": write `")
                    .push(axes[i].name)
                    .push(": 256`");
                self.fail_with(m, at);
            }
            i += 1;
        }
    }

    /// Checks that no axis is written twice in `axes` (`what` names them in the message).
    pub const fn need_distinct(&mut self, axes: &[Axis<'static>], what: &str) {
        let mut i = 0;
        while i < axes.len() {
            let mut j = 0;
            while j < i {
                if str_eq(axes[i].name, axes[j].name) {
                    let mut m = Message::new();
                    m.push("axis ")
                        .quoted(axes[i].name)
                        .push(" is listed twice in ")
                        .push(what);
                    let at = match self.step.blame_of(axes[i].name) {
                        Some(b) => b,
                        None => Blame::Step,
                    };
                    self.fail_with(m, at);
                }
                j += 1;
            }
            i += 1;
        }
    }

    /// Applies the signature `sig` to the axes: a missing or clashing axis is blamed on
    /// where the step writes it (or the whole step, for axes it does not write).
    pub const fn then(&mut self, sig: &Signature<'static>) {
        if self.poisons {
            return;
        }
        let result = ops::apply(&self.axes, sig, self.step.name, self.step.place);
        self.set_result(result);
    }

    /// Takes the result of a rule applied to the axes (a rename, a check): its axes, or
    /// its mistake blamed on where the step writes the axis.
    pub const fn set_result(&mut self, result: Result<AxisSet<'static>, FlowError<'static>>) {
        if self.poisons {
            return;
        }
        match result {
            Ok(axes) => self.axes = axes,
            Err(e) => {
                let at = self.blame_of_mistake(&e);
                self.fail_flow(e, at, true);
                self.poisons = true;
            }
        }
    }

    /// States the axes after the step (`CheckAxes`): `expected` from here on, known again
    /// even after an earlier mistake; `result` is the check of the axes flowing in.
    pub const fn restate(
        &mut self,
        expected: AxisSet<'static>,
        result: Result<AxisSet<'static>, FlowError<'static>>,
    ) {
        match result {
            Ok(axes) => self.axes = axes,
            Err(e) => {
                self.fail_flow(e, Blame::Step, false);
                self.axes = expected;
            }
        }
        self.restated = true;
    }

    const fn blame_of_mistake(&self, e: &FlowError<'static>) -> Blame {
        let at = match e.mistake() {
            Mistake::NeedsAxis(axis) => self.step.blame_of(axis.name),
            Mistake::AddsPresent(axis) | Mistake::UnknownSize(axis) => self.step.blame_of(axis),
            Mistake::Other => None,
        };
        match at {
            Some(b) => b,
            None => Blame::Step,
        }
    }

    /// The flow after the step, with its first mistake.
    pub const fn finish(self) -> Flow<'static> {
        if self.restated {
            return Flow::with(self.axes, self.error, false);
        }
        let poisoned = self.input.is_poisoned() || self.poisons;
        let axes = if self.poisons {
            *self.input.axes()
        } else {
            self.axes
        };
        Flow::with(axes, self.error, poisoned)
    }
}
