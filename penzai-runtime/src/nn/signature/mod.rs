//! Axis signatures: what a layer needs and does to the named axes of its input.
//!
//! A signature lists the axes a layer **requires** (optionally with sizes), the axes it
//! **removes** and the axes it **adds** (optionally with sizes); every other axis passes
//! through unchanged. Built-in layers report theirs through
//! [`Layer::signature`](crate::nn::Layer::signature); a custom
//! layer states its own with `#[layer(...)]` on its `impl Layer` block, which also gives it
//! the compile-time constant [`HasSignature::SIGNATURE`] that `model!` checks against.
//!
//! The same rules, and the same messages, run in three places: inside `model!` (for
//! built-in steps), in constant evaluation (for custom layers in `model!`, see
//! `StaticFlow`) and at run time ([`check_flow`],
//! [`Sequential::checked`](crate::nn::Sequential::checked)).

mod compose;
mod flow;
mod message;
mod static_flow;

use std::fmt;

use crate::nx::AxisName;

pub use flow::{FlowAxes, check_flow, check_flow_to};
#[doc(hidden)]
pub use message::Message;
#[doc(hidden)]
pub use static_flow::StaticFlow;

/// One axis of a signature: a name and, when the layer fixes it, a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignatureAxis<'a> {
    /// The axis name.
    pub name: &'a str,
    /// The size the layer needs or produces, if fixed.
    pub size: Option<usize>,
}

impl<'a> SignatureAxis<'a> {
    /// An axis of any size.
    pub const fn any(name: &'a str) -> Self {
        SignatureAxis { name, size: None }
    }

    /// An axis of a fixed size.
    pub const fn sized(name: &'a str, size: usize) -> Self {
        SignatureAxis {
            name,
            size: Some(size),
        }
    }
}

/// A signature known at compile time: the form `#[layer(...)]` writes into
/// [`HasSignature::SIGNATURE`], usable in `const` evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticSignature {
    /// Axes the input must have (with a size, when fixed).
    pub requires: &'static [SignatureAxis<'static>],
    /// Axes the layer removes (the input must have them too).
    pub removes: &'static [&'static str],
    /// Axes the layer adds (the input must not have them).
    pub adds: &'static [SignatureAxis<'static>],
}

impl StaticSignature {
    /// The signature of a layer that passes every axis through.
    pub const PASS_THROUGH: StaticSignature = StaticSignature {
        requires: &[],
        removes: &[],
        adds: &[],
    };
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
    const SIGNATURE: StaticSignature;
}

/// A layer's axis signature at run time (owned names), as returned by
/// [`Layer::signature`](crate::nn::Layer::signature).
///
/// ```
/// use penzai::nn::{Initializer, Linear, Signature};
/// use penzai::prelude::*;
///
/// let up = Linear::new(0, "up", &[("embedding", 4)], &[("hidden", 8)], &[], Initializer::Zeros)?;
/// let sig = up.signature().expect("Linear states its signature");
/// assert_eq!(sig.to_string(), "requires [embedding: 4], removes [embedding], adds [hidden: 8]");
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    /// Axes the input must have (with a size, when fixed).
    pub requires: Vec<(AxisName, Option<usize>)>,
    /// Axes the layer removes (the input must have them too).
    pub removes: Vec<AxisName>,
    /// Axes the layer adds (the input must not have them).
    pub adds: Vec<(AxisName, Option<usize>)>,
}

impl Signature {
    /// The signature of a layer that passes every axis through.
    pub fn pass_through() -> Signature {
        Signature::default()
    }

    /// A signature that requires `axes` and changes nothing.
    pub fn requiring<'a>(axes: impl IntoIterator<Item = (&'a str, Option<usize>)>) -> Signature {
        Signature {
            requires: axes.into_iter().map(|(n, s)| (n.into(), s)).collect(),
            ..Signature::default()
        }
    }

    /// The owned form of a static signature.
    pub fn from_static(sig: &StaticSignature) -> Signature {
        let owned = |axes: &[SignatureAxis<'_>]| -> Vec<(AxisName, Option<usize>)> {
            axes.iter().map(|a| (a.name.into(), a.size)).collect()
        };
        Signature {
            requires: owned(sig.requires),
            removes: sig.removes.iter().map(|&n| n.into()).collect(),
            adds: owned(sig.adds),
        }
    }
}

impl From<&StaticSignature> for Signature {
    fn from(sig: &StaticSignature) -> Signature {
        Signature::from_static(sig)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sized = |axes: &[(AxisName, Option<usize>)]| -> String {
            let views: Vec<SignatureAxis<'_>> = axes
                .iter()
                .map(|(n, s)| SignatureAxis {
                    name: n.as_str(),
                    size: *s,
                })
                .collect();
            let mut m = Message::new();
            m.axes(&views);
            m.as_str().to_owned()
        };
        let removes: Vec<(AxisName, Option<usize>)> =
            self.removes.iter().map(|n| (n.clone(), None)).collect();
        write!(
            f,
            "requires {}, removes {}, adds {}",
            sized(&self.requires),
            sized(&removes),
            sized(&self.adds)
        )
    }
}
