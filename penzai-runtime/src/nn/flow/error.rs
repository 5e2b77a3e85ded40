//! `FlowError`: one axis-flow mistake, worded once for `model!`, `check_flow` and the
//! run-time checks.

use super::axes::{Axis, AxisSet};
use super::message::{Message, Place};

/// Where in a `model!` step a mistake is: `model!` points its compile error at that token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// The whole step.
    Step,
    /// The step's arguments in parentheses (or its name, when it has none).
    Args,
    /// Axis `i` before `->` (or of the list, without an arrow).
    Before(usize),
    /// Axis `i` after `->`.
    After(usize),
    /// Axis `i` after `over`.
    Over(usize),
    /// Positional value `i`.
    Value(usize),
    /// Option `i` (`key = value`).
    OptionArg(usize),
}

/// What went wrong, as far as other layers need to know (the message says the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mistake<'a> {
    /// A layer needs this axis (of this size, when stated), and the axes there lack it or
    /// have another size.
    NeedsAxis(Axis<'a>),
    /// A layer adds this axis, and the axes there already have it.
    AddsPresent(&'a str),
    /// A layer needs the size of this axis to build its parameters, and it is not known.
    UnknownSize(&'a str),
    /// Anything else.
    Other,
}

/// An axis-flow mistake: what it is, where in a `model!` step it lies, and its message.
///
/// Every message is built by the constructors below, so the same mistake reads the same
/// in a `model!` compile error, in [`check_flow`](crate::nn::check_flow) and in a run.
#[derive(Clone, Copy, Debug)]
pub struct FlowError<'a> {
    mistake: Mistake<'a>,
    blame: Blame,
    message: Message,
}

impl<'a> FlowError<'a> {
    /// A mistake worded by a layer of its own (`message`).
    pub const fn other(message: Message) -> FlowError<'a> {
        FlowError {
            mistake: Mistake::Other,
            blame: Blame::Step,
            message,
        }
    }

    /// The same mistake, blamed on `blame` in the step.
    pub const fn at(mut self, blame: Blame) -> FlowError<'a> {
        self.blame = blame;
        self
    }

    /// What went wrong.
    pub const fn mistake(&self) -> Mistake<'a> {
        self.mistake
    }

    /// Where in the `model!` step.
    pub const fn blame(&self) -> Blame {
        self.blame
    }

    /// The message.
    pub const fn message(&self) -> &Message {
        &self.message
    }

    /// The message as text.
    pub const fn as_str(&self) -> &str {
        self.message.as_str()
    }

    /// `Linear needs input axis 'hidden' of size 128, but the axes here are [..] (place)`.
    pub const fn needs_axis(
        layer: &str,
        want: Axis<'a>,
        here: &AxisSet<'_>,
        place: Place<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push(layer).push(" needs input axis ").quoted(want.name);
        if want.size.is_stated() {
            m.push(" of size ").size(want.size);
        }
        m.push(", but the axes here are ").axes(here).place(place);
        FlowError {
            mistake: Mistake::NeedsAxis(want),
            blame: Blame::Step,
            message: m,
        }
    }

    /// `Linear adds axis 'hidden', but the axes here already have it: [..] (place)`.
    pub const fn adds_present(
        layer: &str,
        axis: &'a str,
        here: &AxisSet<'_>,
        place: Place<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push(layer).push(" adds axis ").quoted(axis);
        m.push(", but the axes here already have it: ")
            .axes(here)
            .place(place);
        FlowError {
            mistake: Mistake::AddsPresent(axis),
            blame: Blame::Step,
            message: m,
        }
    }

    /// `Attention uses axis 'kv_seq' inside, so its input cannot have it: [..] (place)`: a
    /// combinator's own step adds an axis its input already has.
    pub const fn uses_inside(
        layer: &str,
        axis: &'a str,
        here: &AxisSet<'_>,
        place: Place<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push(layer).push(" uses axis ").quoted(axis);
        m.push(" inside, so its input cannot have it: ")
            .axes(here)
            .place(place);
        FlowError {
            mistake: Mistake::AddsPresent(axis),
            blame: Blame::Step,
            message: m,
        }
    }

    /// The mistake `inner`, found inside a combinator named `layer` whose input is `here`,
    /// as the combinator's own when its input causes it (it lacks an axis an inner step
    /// needs, or has one an inner step adds); `None` for a mistake of the inside.
    pub const fn as_input_mistake(
        inner: &FlowError<'a>,
        layer: &str,
        here: &AxisSet<'a>,
        place: Place<'_>,
    ) -> Option<FlowError<'a>> {
        match inner.mistake {
            Mistake::NeedsAxis(want) => match here.get(want.name) {
                Some(have) if have.size.agrees(want.size) => None,
                _ => Some(FlowError::needs_axis(layer, want, here, place)),
            },
            Mistake::AddsPresent(axis) if here.contains(axis) => {
                Some(FlowError::uses_inside(layer, axis, here, place))
            }
            _ => None,
        }
    }

    /// `RMSNorm needs the size of axis 'embedding', which is not known here (place): write
    /// it, like `embedding: 64``.
    pub const fn unknown_size(layer: &str, axis: &'a str, place: Place<'_>) -> FlowError<'a> {
        let mut m = Message::new();
        m.push(layer).push(" needs the size of axis ").quoted(axis);
        m.push(", which is not known here").place(place);
        m.push(": write it, like `").push(axis).push(": 64`");
        FlowError {
            mistake: Mistake::UnknownSize(axis),
            blame: Blame::Step,
            message: m,
        }
    }

    /// `the Residual body must end with the axes it starts with: it starts with [..] and
    /// ends with [..] (missing axis 'embedding', surplus axis 'hidden')`.
    pub const fn ends_differently(
        what: &str,
        start: &AxisSet<'_>,
        end: &AxisSet<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push(what)
            .push(" must end with the axes it starts with: it starts with ");
        m.axes(start).push(" and ends with ").axes(end);
        m.push(" (").difference(start, end).push(")");
        FlowError::other(m)
    }

    /// `the branches of BranchAndAdd must end with the same axes: branch 0 ends with [..],
    /// but branch 1 ends with [..] (surplus axis 'hidden')`.
    pub const fn branches_differ(
        layer: &str,
        first: &AxisSet<'_>,
        index: usize,
        other: &AxisSet<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push("the branches of ")
            .push(layer)
            .push(" must end with the same axes: branch 0 ends with ");
        m.axes(first).push(", but branch ").number(index);
        m.push(" ends with ").axes(other);
        m.push(" (").difference(first, other).push(")");
        FlowError::other(m)
    }

    /// `CheckAxes expects [..], but the axes here are [..] (place): surplus axis 'x'`.
    pub const fn check_failed(
        expected: &AxisSet<'_>,
        here: &AxisSet<'_>,
        place: Place<'_>,
    ) -> FlowError<'a> {
        let mut m = Message::new();
        m.push("CheckAxes expects ").axes(expected);
        m.push(", but the axes here are ").axes(here).place(place);
        m.push(": ").difference(expected, here);
        FlowError::other(m)
    }

    /// `the model's declared output is [..], but it ends with [..]: surplus axis 'heads'`.
    pub const fn output_differs(declared: &AxisSet<'_>, actual: &AxisSet<'_>) -> FlowError<'a> {
        let mut m = Message::new();
        m.push("the model's declared output is ").axes(declared);
        m.push(", but it ends with ").axes(actual);
        m.push(": ").difference(declared, actual);
        FlowError::other(m)
    }

    /// More axes than a flow follows.
    pub const fn too_many_axes(place: Place<'_>) -> FlowError<'a> {
        let mut m = Message::new();
        m.push("more than ")
            .number(super::axes::MAX_AXES)
            .push(" axes at once")
            .place(place);
        m.push(": penzai follows at most that many");
        FlowError::other(m)
    }
}

impl std::fmt::Display for FlowError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: AxisSet<'static> = AxisSet::of(&[
        Axis::any("batch"),
        Axis::any("seq"),
        Axis::sized("neurons", 256),
    ]);

    #[test]
    fn needs_axis_names_the_axis_the_axes_and_the_place() {
        let e = FlowError::needs_axis(
            "Linear",
            Axis::any("hidden"),
            &HERE,
            Place::of_step(2, Some("up"), "", true),
        );
        assert_eq!(
            e.as_str(),
            "Linear needs input axis 'hidden', but the axes here are [batch, seq, neurons: 256] (after step 1 'up')"
        );
        assert_eq!(e.mistake(), Mistake::NeedsAxis(Axis::any("hidden")));
    }

    #[test]
    fn difference_lists_missing_surplus_and_resized_axes() {
        let start = AxisSet::of(&[Axis::any("batch"), Axis::sized("embedding", 64)]);
        let end = AxisSet::of(&[Axis::any("batch"), Axis::sized("hidden", 256)]);
        let e = FlowError::ends_differently("the Residual body", &start, &end);
        assert_eq!(
            e.as_str(),
            "the Residual body must end with the axes it starts with: it starts with [batch, embedding: 64] and ends with [batch, hidden: 256] (missing axis 'embedding', surplus axis 'hidden')"
        );
        let resized = AxisSet::of(&[Axis::any("batch"), Axis::sized("embedding", 32)]);
        assert_eq!(
            FlowError::output_differs(&start, &resized).as_str(),
            "the model's declared output is [batch, embedding: 64], but it ends with [batch, embedding: 32]: axis 'embedding' has size 32, not 64"
        );
    }
}
