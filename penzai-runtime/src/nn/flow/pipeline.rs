//! `Flow`: the axes at one point of a `model!` pipeline, with the mistake (if any) of the
//! step that led there.

use super::axes::{Axis, AxisSet};
use super::error::{Blame, FlowError};
use super::message::Place;
use super::ops;
use super::signature::Signature;

/// The axes at one point of a `model!` pipeline, with the error of the step that produced
/// them.
///
/// `model!` makes each step's flow a `const` item, evaluated from the previous one by the
/// rules in this module, and reports a step's [`error`](Flow::error) from a `const` of its
/// own, spanned to the offending token. The expansion evaluates the same flow again when
/// it builds the model (then sizes written as Rust expressions are known). After a mistake
/// the flow is *poisoned*: later steps report nothing until the axes are stated again
/// (`CheckAxes`, the end of a residual), so one mistake is one error.
#[derive(Clone, Copy, Debug)]
pub struct Flow<'a> {
    axes: AxisSet<'a>,
    error: Option<FlowError<'a>>,
    poisoned: bool,
}

impl<'a> Flow<'a> {
    /// Axes that are unknown (after a step that did not parse): later steps report nothing
    /// until the axes are stated again.
    pub const UNKNOWN: Flow<'static> = Flow {
        axes: AxisSet::EMPTY,
        error: None,
        poisoned: true,
    };

    /// The flow of exactly these axes.
    pub const fn new(axes: &[Axis<'a>]) -> Flow<'a> {
        Flow::of(AxisSet::of(axes))
    }

    /// The flow of exactly these axes.
    pub const fn of(axes: AxisSet<'a>) -> Flow<'a> {
        let mut flow = Flow {
            axes,
            error: None,
            poisoned: false,
        };
        if axes.overflowed() {
            flow = flow.fail(FlowError::too_many_axes(Place::Input));
        }
        flow
    }

    /// A flow with these parts (for planners).
    pub(crate) const fn with(
        axes: AxisSet<'a>,
        error: Option<FlowError<'a>>,
        poisoned: bool,
    ) -> Flow<'a> {
        Flow {
            axes,
            error,
            poisoned,
        }
    }

    /// The axes.
    pub const fn axes(&self) -> &AxisSet<'a> {
        &self.axes
    }

    /// The error of the step that produced this flow.
    pub const fn error(&self) -> Option<&FlowError<'a>> {
        self.error.as_ref()
    }

    /// This flow's error message, or nothing.
    pub const fn message(&self) -> &str {
        match &self.error {
            Some(e) => e.as_str(),
            None => "",
        }
    }

    /// Where in its step this flow's error lies, if it has one.
    pub const fn blame(&self) -> Option<Blame> {
        match &self.error {
            Some(e) => Some(e.blame()),
            None => None,
        }
    }

    /// The error's message when it lies at `blame` (what `model!`'s spanned checks read).
    pub const fn message_at(&self, blame: Blame) -> Option<&str> {
        match &self.error {
            Some(e) if blame_eq(e.blame(), blame) => Some(e.as_str()),
            _ => None,
        }
    }

    /// True after a mistake, until the axes are stated again.
    pub const fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// This flow's axes as the start of the next step (without this step's error).
    pub const fn next(&self) -> Flow<'a> {
        Flow {
            axes: self.axes,
            error: None,
            poisoned: self.poisoned,
        }
    }

    /// This flow with a mistake: the first of a step is the one reported, and a flow
    /// already poisoned reports nothing more.
    pub const fn fail(mut self, error: FlowError<'a>) -> Flow<'a> {
        if self.error.is_none() && !self.poisoned {
            self.error = Some(error);
        }
        self.poisoned = true;
        self
    }

    /// The next flow: `result`'s axes, or these axes and its error.
    pub const fn step(&self, result: Result<AxisSet<'a>, FlowError<'a>>) -> Flow<'a> {
        let next = self.next();
        match result {
            Ok(axes) => Flow {
                axes,
                error: None,
                poisoned: next.poisoned,
            },
            Err(e) => next.fail(e),
        }
    }

    /// The flow after a layer named `layer` with signature `sig`, its input from `place`.
    pub const fn then(&self, sig: &Signature<'a>, layer: &str, place: Place<'_>) -> Flow<'a> {
        self.step(ops::apply(&self.axes, sig, layer, place))
    }

    /// The flow after a body that must end as it started (`self` is where it ended):
    /// `start`'s axes, with an error when the two differ. `what` names the body.
    pub const fn end_as_started(&self, start: &Flow<'a>, what: &str) -> Flow<'a> {
        let next = start.next();
        if self.poisoned {
            return next;
        }
        match ops::end_as_started(&start.axes, &self.axes, what) {
            Ok(_) => next,
            Err(e) => next.fail(e),
        }
    }

    /// Compares branch `index`'s end (`other`) with the first branch's (`self`): the first
    /// branch's axes, with an error when they differ.
    pub const fn branch(&self, other: &Flow<'a>, index: usize, layer: &str) -> Flow<'a> {
        let next = Flow {
            axes: self.axes,
            error: None,
            poisoned: self.poisoned || other.poisoned,
        };
        if self.poisoned || other.poisoned {
            return next;
        }
        match ops::branches_agree(&self.axes, &other.axes, index, layer) {
            Ok(_) => next,
            Err(e) => next.fail(e),
        }
    }

    /// The flow after a `CheckAxes` of exactly `expected`: those axes from then on, and the
    /// flow is no longer poisoned (the axes are stated again), even when the check fails.
    pub const fn check(&self, expected: &[Axis<'a>], place: Place<'_>) -> Flow<'a> {
        let expected = AxisSet::of(expected);
        let fresh = Flow::of(expected);
        if self.poisoned {
            return fresh;
        }
        match ops::check(&self.axes, &expected, false, place) {
            Ok(axes) => Flow::of(axes),
            Err(e) => Flow {
                error: Some(e),
                ..fresh
            },
        }
    }

    /// Checks the model's end against its declared output.
    pub const fn output(&self, declared: &[Axis<'a>]) -> Flow<'a> {
        let declared = AxisSet::of(declared);
        let next = self.next();
        if self.poisoned {
            return next;
        }
        match ops::output(&self.axes, &declared) {
            Ok(axes) => Flow {
                axes,
                error: None,
                poisoned: false,
            },
            Err(e) => next.fail(e),
        }
    }

    /// The flow as a `Result`: its axes, or this step's error.
    pub const fn into_result(self) -> Result<AxisSet<'a>, FlowError<'a>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.axes),
        }
    }
}

const fn blame_eq(a: Blame, b: Blame) -> bool {
    match (a, b) {
        (Blame::Step, Blame::Step) | (Blame::Args, Blame::Args) => true,
        (Blame::Before(x), Blame::Before(y))
        | (Blame::After(x), Blame::After(y))
        | (Blame::Over(x), Blame::Over(y))
        | (Blame::Value(x), Blame::Value(y))
        | (Blame::OptionArg(x), Blame::OptionArg(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: Flow<'static> = Flow::new(&[Axis::any("batch"), Axis::sized("embedding", 64)]);
    const UP: Signature<'static> = Signature::new()
        .require(Axis::sized("embedding", 64))
        .remove("embedding")
        .add(Axis::sized("hidden", 256));

    #[test]
    fn a_step_after_a_mistake_reports_nothing() {
        const AFTER: Flow<'static> = INPUT
            .then(&UP, "Up", Place::Input)
            .then(&UP, "Up", Place::Input)
            .then(&UP, "Up", Place::Input);
        assert!(AFTER.error().is_none());
        assert!(AFTER.is_poisoned());
    }

    #[test]
    fn a_body_must_end_as_it_started() {
        const END: Flow<'static> = INPUT.then(&UP, "Up", Place::Input);
        const OUT: Flow<'static> = END.end_as_started(&INPUT, "the Residual body");
        assert_eq!(OUT.axes(), INPUT.axes());
        assert_eq!(OUT.blame(), Some(Blame::Step));
        assert!(OUT.message_at(Blame::Step).is_some());
        assert!(OUT.message_at(Blame::Args).is_none());
    }

    #[test]
    fn a_check_states_the_axes_again() {
        const BAD: Flow<'static> =
            INPUT
                .then(&UP, "Up", Place::Input)
                .then(&UP, "Up", Place::Input);
        const CHECKED: Flow<'static> =
            BAD.check(&[Axis::any("batch"), Axis::any("x")], Place::Input);
        assert!(!CHECKED.is_poisoned());
        assert!(CHECKED.error().is_none());
    }
}
