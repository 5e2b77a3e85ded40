//! `Signature`: what a layer requires, removes and adds; every other axis passes through.

use std::fmt;

use super::axes::{Axis, AxisSet};
use super::message::Message;

/// A layer's effect on the named axes of its input: the axes it **requires** (with sizes,
/// when fixed), the axes it **removes** and the axes it **adds** (with sizes, when fixed).
/// Every other axis passes through unchanged.
///
/// Built with `const fn`s, so the same signature serves `model!` (constant evaluation),
/// [`check_flow`](crate::nn::check_flow) and the check every run makes of a layer's output
/// (see [`Layer::signature`](crate::nn::Layer::signature)).
///
/// ```
/// use penzai::nn::{Axis, Initializer, Linear, Signature};
/// use penzai::prelude::*;
///
/// let up = Linear::new(0, "up", &[("embedding", 4)], &[("hidden", 8)], &[], Initializer::Zeros)?;
/// let sig = up.signature().expect("Linear states its signature");
/// assert_eq!(sig.to_string(), "requires [embedding: 4], removes [embedding], adds [hidden: 8]");
///
/// const POOL: Signature<'static> = Signature::new().require(Axis::any("seq")).remove("seq");
/// assert_eq!(POOL.to_string(), "requires [seq], removes [seq], adds []");
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Signature<'a> {
    /// Axes the input must have (with a size, when fixed).
    pub requires: AxisSet<'a>,
    /// Axes the layer removes (the input must have them too); sizes are not used.
    pub removes: AxisSet<'a>,
    /// Axes the layer adds (the input must not have them).
    pub adds: AxisSet<'a>,
}

impl<'a> Signature<'a> {
    /// The signature of a layer that passes every axis through.
    pub const PASS_THROUGH: Signature<'static> = Signature::new();

    /// A layer that passes every axis through; add to it with the builder methods.
    pub const fn new() -> Signature<'a> {
        Signature {
            requires: AxisSet::new(),
            removes: AxisSet::new(),
            adds: AxisSet::new(),
        }
    }

    /// A signature from its three lists (the form `#[layer(...)]` writes).
    pub const fn of(
        requires: &[Axis<'a>],
        removes: &[&'a str],
        adds: &[Axis<'a>],
    ) -> Signature<'a> {
        Signature {
            requires: AxisSet::of(requires),
            removes: AxisSet::of_names(removes),
            adds: AxisSet::of(adds),
        }
    }

    /// A signature that requires `axes` and changes nothing.
    pub const fn requiring(axes: &AxisSet<'a>) -> Signature<'a> {
        Signature {
            requires: *axes,
            removes: AxisSet::new(),
            adds: AxisSet::new(),
        }
    }

    /// This signature, also requiring `axis`.
    pub const fn require(mut self, axis: Axis<'a>) -> Signature<'a> {
        self.requires.insert(axis);
        self
    }

    /// This signature, also removing `name`.
    pub const fn remove(mut self, name: &'a str) -> Signature<'a> {
        self.removes.insert(Axis::any(name));
        self
    }

    /// This signature, also adding `axis`.
    pub const fn add(mut self, axis: Axis<'a>) -> Signature<'a> {
        self.adds.insert(axis);
        self
    }

    /// Whether a part overflowed [`MAX_AXES`](super::MAX_AXES).
    pub const fn overflowed(&self) -> bool {
        self.requires.overflowed() || self.removes.overflowed() || self.adds.overflowed()
    }

    /// The signature of running `self`, then `next`: what the pair requires of the input,
    /// removes from it and adds. `None` when `next` needs an axis `self` removed, or adds
    /// one that is there already (a flow check then locates the mistake).
    pub const fn then(&self, next: &Signature<'a>) -> Option<Signature<'a>> {
        let mut out = *self;
        let mut i = 0;
        // What `next` needs is either added by `self` or required of the input.
        while i < next.requires.len() + next.removes.len() {
            let want = if i < next.requires.len() {
                next.requires.as_slice()[i]
            } else {
                next.removes.as_slice()[i - next.requires.len()]
            };
            i += 1;
            if let Some(added) = out.adds.get(want.name) {
                if !added.size.agrees(want.size) {
                    return None;
                }
                out.adds.insert(want);
            } else if out.removes.contains(want.name) {
                return None;
            } else if let Some(required) = out.requires.get(want.name) {
                if !required.size.agrees(want.size) {
                    return None;
                }
                out.requires.insert(want);
            } else {
                out.requires.insert(want);
            }
        }
        let removes = next.removes.as_slice();
        let mut j = 0;
        while j < removes.len() {
            if out.adds.remove(removes[j].name).is_none() {
                out.removes.insert(removes[j]);
            }
            j += 1;
        }
        let adds = next.adds.as_slice();
        let mut k = 0;
        while k < adds.len() {
            let name = adds[k].name;
            let in_input = out.requires.contains(name) && !out.removes.contains(name);
            if out.adds.contains(name) || in_input {
                return None;
            }
            out.adds.insert(adds[k]);
            k += 1;
        }
        if out.overflowed() { None } else { Some(out) }
    }
}

impl fmt::Display for Signature<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = Message::new();
        m.push("requires ").axes(&self.requires);
        m.push(", removes ").axes(&self.removes);
        m.push(", adds ").axes(&self.adds);
        f.write_str(m.as_str())
    }
}

/// A custom layer's axis signature, as a constant `model!` can check at compile time.
///
/// Implemented by `#[layer(...)]`; write the attribute rather than this impl, so that
/// [`Layer::signature`](crate::nn::Layer::signature) reports the same signature at run
/// time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no axis signature, so `model!` cannot check this step",
    label = "this layer states no signature",
    note = "add `#[layer(requires = [..], removes = [..], adds = [..])]` to `impl Layer for {Self}`",
    note = "or write the step as a block with its output axes: `{{ expression }} as [batch, seq, ..]`"
)]
pub trait HasSignature {
    /// The signature.
    const SIGNATURE: Signature<'static>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Signature<'static> = Signature::new()
        .require(Axis::sized("embedding", 4))
        .remove("embedding")
        .add(Axis::sized("hidden", 8));
    const DOWN: Signature<'static> = Signature::new()
        .require(Axis::sized("hidden", 8))
        .remove("hidden")
        .add(Axis::sized("out", 2));

    #[test]
    fn signatures_compose_through_what_the_first_adds() {
        let both = UP.then(&DOWN).unwrap();
        assert_eq!(
            both.to_string(),
            "requires [embedding: 4], removes [embedding], adds [out: 2]"
        );
    }

    #[test]
    fn a_step_needing_a_removed_axis_does_not_compose() {
        assert!(UP.then(&UP).is_none());
        let resized = Signature::new().require(Axis::sized("hidden", 9));
        assert!(UP.then(&resized).is_none());
    }
}
