//! The axis flow in constant evaluation: how `model!` checks steps whose signature only the
//! compiler knows (custom layers, and every step after one).

use super::message::{Message, find, same_axes};
use super::{SignatureAxis, StaticSignature};

/// The most axes a flow follows; more is reported as an error rather than cut silently.
pub const MAX_AXES: usize = 32;

/// The axes at one point of a `model!` pipeline, computed by constant evaluation, with the
/// error (if any) of the step that produced them.
///
/// Each step's flow is its own `const` item; `model!` reports a step's [`error`] from a
/// `const` of its own, spanned to the step (the `panic!` is written there, so the
/// compiler's message points at the step and nowhere else). After a mistake the flow is
/// *poisoned*: later steps report nothing until the axes are stated again (`CheckAxes`,
/// the end of a residual), so one mistake is one error.
///
/// [`error`]: StaticFlow::error
#[derive(Clone, Copy, Debug)]
pub struct StaticFlow {
    axes: [SignatureAxis<'static>; MAX_AXES],
    len: usize,
    error: Option<Message>,
    poisoned: bool,
}

const EMPTY: SignatureAxis<'static> = SignatureAxis::any("");

impl StaticFlow {
    /// The flow of exactly these axes.
    pub const fn new(axes: &[SignatureAxis<'static>]) -> StaticFlow {
        let mut flow = StaticFlow {
            axes: [EMPTY; MAX_AXES],
            len: 0,
            error: None,
            poisoned: false,
        };
        let mut i = 0;
        while i < axes.len() {
            flow.push(axes[i]);
            i += 1;
        }
        flow
    }

    /// The axes.
    pub const fn axes(&self) -> &[SignatureAxis<'static>] {
        self.axes.split_at(self.len).0
    }

    const fn push(&mut self, axis: SignatureAxis<'static>) {
        if self.len == MAX_AXES {
            let mut m = Message::new();
            m.push("model! follows at most 32 axes; this pipeline has more");
            self.error = Some(m);
            return;
        }
        self.axes[self.len] = axis;
        self.len += 1;
    }

    const fn remove(&mut self, name: &str) {
        let mut i = 0;
        let mut kept = 0;
        while i < self.len {
            if !super::message::str_eq(self.axes[i].name, name) {
                self.axes[kept] = self.axes[i];
                kept += 1;
            }
            i += 1;
        }
        self.len = kept;
    }

    const fn fail_with(&mut self, message: Message) {
        // The first problem of a step is the one reported, as at run time; a step after a
        // mistake reports nothing.
        if self.error.is_none() && !self.poisoned {
            self.error = Some(message);
        }
        self.poisoned = true;
    }

    /// This flow's axes as the start of the next step.
    const fn next(&self) -> StaticFlow {
        StaticFlow {
            axes: self.axes,
            len: self.len,
            error: None,
            poisoned: self.poisoned,
        }
    }

    /// The flow after a layer with signature `sig`, named `layer` in messages; `place`
    /// says where the input axes come from (`after step 2 'up'`).
    pub const fn then(&self, sig: &StaticSignature, layer: &str, place: &str) -> StaticFlow {
        let mut next = self.next();
        let mut i = 0;
        while i < sig.requires.len() {
            next.require(sig.requires[i], self.axes(), layer, place);
            i += 1;
        }
        i = 0;
        while i < sig.removes.len() {
            next.require(
                SignatureAxis::any(sig.removes[i]),
                self.axes(),
                layer,
                place,
            );
            next.remove(sig.removes[i]);
            i += 1;
        }
        i = 0;
        while i < sig.adds.len() {
            let add = sig.adds[i];
            if find(next.axes(), add.name).is_some() {
                next.fail_with(Message::adds_present(layer, add.name, self.axes(), place));
            } else {
                next.push(add);
            }
            i += 1;
        }
        next
    }

    const fn require(
        &mut self,
        want: SignatureAxis<'_>,
        here: &[SignatureAxis<'_>],
        layer: &str,
        place: &str,
    ) {
        let ok = match find(here, want.name) {
            None => false,
            Some(have) => match (want.size, have.size) {
                (Some(w), Some(h)) => w == h,
                _ => true,
            },
        };
        if !ok {
            self.fail_with(Message::needs_axis(
                layer, want.name, want.size, here, place,
            ));
        }
    }

    /// The flow after renaming `from` to `to` (the size goes along).
    pub const fn rename(&self, from: &str, to: &'static str, place: &str) -> StaticFlow {
        let mut next = self.next();
        match find(self.axes(), from) {
            None => next.fail_with(Message::needs_axis(
                "RenameAxes",
                from,
                None,
                self.axes(),
                place,
            )),
            Some(old) => {
                next.remove(from);
                if find(next.axes(), to).is_some() {
                    next.fail_with(Message::adds_present("RenameAxes", to, self.axes(), place));
                } else {
                    next.push(SignatureAxis {
                        name: to,
                        size: old.size,
                    });
                }
            }
        }
        next
    }

    /// The flow after a body that must end as it started (`self` is where it ended):
    /// `start`'s axes, with an error when the two differ. `what` names the body.
    pub const fn end_as_started(&self, start: &StaticFlow, what: &str) -> StaticFlow {
        let mut next = start.next();
        if !self.poisoned && !same_axes(start.axes(), self.axes()) {
            next.fail_with(Message::must_end_as_started(
                what,
                start.axes(),
                self.axes(),
            ));
        }
        next
    }

    /// Compares branch `index`'s end (`other`) with the first branch's (`self`): the first
    /// branch's axes, with an error when they differ.
    pub const fn branch(&self, other: &StaticFlow, index: usize, layer: &str) -> StaticFlow {
        let mut next = self.next();
        if !other.poisoned && !same_axes(self.axes(), other.axes()) {
            next.fail_with(Message::branches_differ(
                layer,
                self.axes(),
                index,
                other.axes(),
            ));
        }
        next
    }

    /// The flow after a `CheckAxes` of `expected`: exactly those axes from then on.
    pub const fn check_axes(&self, expected: &[SignatureAxis<'static>], place: &str) -> StaticFlow {
        let mut next = StaticFlow::new(expected);
        if !self.poisoned && !same_axes(expected, self.axes()) {
            next.fail_with(Message::check_failed(expected, self.axes(), place));
        }
        next
    }

    /// Checks the model's end against its declared output.
    pub const fn output(&self, declared: &[SignatureAxis<'static>]) -> StaticFlow {
        let mut next = StaticFlow::new(declared);
        if !self.poisoned && !same_axes(declared, self.axes()) {
            next.fail_with(Message::output_differs(declared, self.axes()));
        }
        next
    }

    /// The size of `axis` here, for a built-in layer (`layer`) that needs it to build its
    /// parameters; an error when it is not known. A missing axis gives 0: the step's own
    /// check reports it.
    // The message is returned by value: constant evaluation cannot box it.
    #[allow(clippy::result_large_err)]
    pub const fn size(&self, axis: &str, layer: &str, place: &str) -> Result<usize, Message> {
        match find(self.axes(), axis) {
            None => Ok(0),
            Some(SignatureAxis {
                size: Some(size), ..
            }) => Ok(size),
            Some(SignatureAxis { size: None, .. }) if self.poisoned => Ok(0),
            Some(SignatureAxis { size: None, .. }) => {
                Err(Message::unknown_size(layer, axis, place))
            }
        }
    }

    /// The error of the step that produced this flow.
    pub const fn error(&self) -> Option<&Message> {
        self.error.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: StaticFlow = StaticFlow::new(&[
        SignatureAxis::any("batch"),
        SignatureAxis::sized("embedding", 64),
    ]);
    const UP: StaticSignature = StaticSignature {
        requires: &[SignatureAxis::sized("embedding", 64)],
        removes: &["embedding"],
        adds: &[SignatureAxis::sized("hidden", 256)],
    };

    #[test]
    fn a_signature_removes_and_adds_axes() {
        const AFTER: StaticFlow = INPUT.then(&UP, "Up", "at the input");
        assert!(AFTER.error().is_none());
        assert_eq!(
            AFTER.axes(),
            &[
                SignatureAxis::any("batch"),
                SignatureAxis::sized("hidden", 256)
            ]
        );
    }

    #[test]
    fn a_missing_axis_is_reported() {
        const AFTER: StaticFlow =
            INPUT
                .then(&UP, "Up", "at the input")
                .then(&UP, "Up", "after step 1 'up'");
        assert_eq!(
            AFTER.error().map(|m| m.as_str()),
            Some(
                "Up needs input axis 'embedding' of size 64, but the axes here are [batch, hidden: 256] (after step 1 'up')"
            )
        );
    }

    #[test]
    fn a_body_must_end_as_it_started() {
        const END: StaticFlow = INPUT.then(&UP, "Up", "at the input");
        const OUT: StaticFlow = END.end_as_started(&INPUT, "the Residual body");
        assert_eq!(OUT.axes(), INPUT.axes());
        assert!(OUT.error().is_some());
    }

    #[test]
    fn sizes_are_read_from_the_flow() {
        assert_eq!(
            INPUT.size("embedding", "RMSNorm", "at the input").ok(),
            Some(64)
        );
        assert!(INPUT.size("batch", "RMSNorm", "at the input").is_err());
    }

    #[test]
    fn a_step_after_a_mistake_reports_nothing() {
        const AFTER: StaticFlow = INPUT
            .then(&UP, "Up", "at the input")
            .then(&UP, "Up", "after step 1 'up'")
            .then(&UP, "Up", "after step 2 'up'");
        assert!(AFTER.error().is_none());
    }
}
