//! The axis flow at run time: follows a model built without `model!` through each layer's
//! own [`Layer::flow`], with the same rules and messages as `model!`'s compile-time checks.

use crate::nn::check::{AxesSpec, SizeSpec};
use crate::nn::{Layer, LayerError, Sequential, Steps};
use crate::tree::{Key, KeyPath};
use crate::{Error, Result};

use super::axes::{Axis, AxisSet};
use super::error::FlowError;
use super::message::Place;
use super::ops;
use super::signature::Signature;

/// A mistake found while following the axes: the layer where it lies (path and type) and
/// what it is.
#[derive(Clone, Debug)]
pub struct FlowFailure<'a> {
    /// The path of the layer, from the model's root.
    pub path: KeyPath,
    /// The layer's type name.
    pub layer: &'static str,
    /// The mistake.
    pub error: FlowError<'a>,
}

impl From<FlowFailure<'_>> for Error {
    fn from(f: FlowFailure<'_>) -> Error {
        Error::AtLayer {
            path: f.path,
            layer: f.layer,
            source: Box::new(LayerError::Check(f.error.as_str().to_owned()).into()),
        }
    }
}

/// What [`Layer::flow`] returns: the axes after the layer (`None`: unknown), or the
/// mistake.
pub type FlowResult<'a> = std::result::Result<Option<AxisSet<'a>>, FlowFailure<'a>>;

/// Where a flow check is: the path of the layer being followed and where its input comes
/// from. Layers' [`Layer::flow`] methods use it to follow their children.
#[derive(Debug, Default)]
pub struct FlowCheck {
    path: Vec<Key>,
    place: OwnedPlace,
}

#[derive(Clone, Debug, Default)]
enum OwnedPlace {
    #[default]
    Input,
    Start(String),
    After {
        index: usize,
        name: Option<String>,
        group: String,
    },
}

impl FlowCheck {
    /// A check at a model's root.
    pub fn new() -> FlowCheck {
        FlowCheck::default()
    }

    /// The path of the layer being followed.
    pub fn path(&self) -> KeyPath {
        KeyPath::from_keys(self.path.iter().cloned())
    }

    /// Where the current layer's input comes from.
    pub fn place(&self) -> Place<'_> {
        match &self.place {
            OwnedPlace::Input => Place::Input,
            OwnedPlace::Start(group) => Place::Start(group),
            OwnedPlace::After { index, name, group } => Place::After {
                index: *index,
                name: name.as_deref(),
                group,
            },
        }
    }

    /// The mistake `error`, located at the current layer.
    pub fn fail<'a>(&self, layer: &'static str, error: FlowError<'a>) -> FlowFailure<'a> {
        FlowFailure {
            path: self.path(),
            layer,
            error,
        }
    }

    /// The axes after a layer named `layer` with signature `sig`, at the current place.
    pub fn apply<'a>(
        &self,
        layer: &'static str,
        x: &AxisSet<'a>,
        sig: &Signature<'a>,
    ) -> std::result::Result<AxisSet<'a>, FlowFailure<'a>> {
        ops::apply(x, sig, layer, self.place()).map_err(|e| self.fail(layer, e))
    }

    /// Follows `child`, reached from the current layer by `key`, its input coming from the
    /// start of the current layer.
    pub fn child<'a>(
        &mut self,
        key: Key,
        child: &'a dyn Layer,
        x: Option<AxisSet<'a>>,
    ) -> FlowResult<'a> {
        self.descend([key], child, x)
    }

    /// Follows `child`, several keys below the current layer (`branches`, `[1]`), its input
    /// coming from the start of the current layer.
    pub fn descend<'a, const N: usize>(
        &mut self,
        keys: [Key; N],
        child: &'a dyn Layer,
        x: Option<AxisSet<'a>>,
    ) -> FlowResult<'a> {
        let start = self.start();
        let saved = std::mem::replace(&mut self.place, start);
        let depth = self.path.len();
        self.path.extend(keys);
        let out = child.flow(x, self);
        self.path.truncate(depth);
        self.place = saved;
        out
    }

    /// The place of the first input inside the current layer: its start (the model's input
    /// at the root).
    fn start(&self) -> OwnedPlace {
        if self.path.is_empty() {
            OwnedPlace::Input
        } else {
            OwnedPlace::Start(self.path().to_string())
        }
    }

    /// Follows `steps` in order (the steps of the current layer): the first gets the
    /// current layer's start, each other one the step before it.
    pub fn steps<'a>(&mut self, steps: &'a Steps, mut x: Option<AxisSet<'a>>) -> FlowResult<'a> {
        let depth = self.path.len();
        let group = if depth == 0 {
            String::new()
        } else {
            self.path().to_string()
        };
        let saved = self.start();
        let saved = std::mem::replace(&mut self.place, saved);
        let mut previous: Option<&str> = None;
        let mut result = Ok(());
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                self.place = OwnedPlace::After {
                    index: i - 1,
                    name: previous.map(str::to_owned),
                    group: group.clone(),
                };
            }
            self.path.push(match &step.name {
                Some(name) => crate::tree::KeyRef::Field(name).to_owned_key(),
                None => Key::Index(i),
            });
            let out = step.layer.get().flow(x, self);
            self.path.truncate(depth);
            match out {
                Ok(next) => x = next,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            previous = step.name.as_deref();
        }
        self.place = saved;
        result.map(|()| x)
    }
}

/// A set of axes as an owned spec (an axis of a size known only as an expression is any
/// size there).
pub fn to_spec(axes: &AxisSet<'_>) -> AxesSpec {
    AxesSpec {
        axes: axes
            .iter()
            .map(|a| {
                let size = a.size.known().map_or(SizeSpec::Any, SizeSpec::Fixed);
                (a.name.to_owned(), size)
            })
            .collect(),
        allow_others: false,
    }
}

/// The axes of a spec, as the flow sees them (size variables are any size).
pub fn spec_axes(spec: &AxesSpec) -> AxisSet<'_> {
    spec.axes
        .iter()
        .map(|(name, size)| match size {
            SizeSpec::Fixed(n) => Axis::sized(name, *n),
            SizeSpec::Any | SizeSpec::Var(_) => Axis::any(name),
        })
        .collect()
}

/// Follows the named axes `input` (written like `[batch, seq, embedding: 64]`) through
/// `layer` without running it, and returns the axes it ends with, printed the same way
/// (`None` when a layer on the way states no signature, so the end is unknown).
///
/// Each layer says how its axes flow ([`Layer::flow`]): a layer through its signature, a
/// combinator (`Sequential`, `Residual`, branches, `Attention`, `CheckAxes`, ...) by
/// following its children. A layer without either makes the axes unknown until the next
/// `CheckAxes` (or the end of the enclosing residual, which always returns its input's
/// axes). Errors read like `model!`'s compile errors, located at the offending layer:
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Initializer, Linear, Sequential, check_flow};
///
/// let up = Linear::new(0, "up", &[("embedding", 4)], &[("hidden", 8)], &[], Initializer::Zeros)?;
/// let model = Sequential::new().then_named("up", up.clone())?.then_named("again", up)?;
/// let err = check_flow(&model, &"[batch, embedding: 4]".parse()?).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "at again (Linear): Linear needs input axis 'embedding' of size 4, but the axes here are [batch, hidden: 8] (after step 0 'up')"
/// );
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn check_flow(layer: &dyn Layer, input: &AxesSpec) -> Result<Option<AxesSpec>> {
    Ok(follow(layer, input)?.as_ref().map(to_spec))
}

fn follow<'a>(layer: &'a dyn Layer, input: &'a AxesSpec) -> Result<Option<AxisSet<'a>>> {
    if input.allow_others {
        return Err(LayerError::Config(format!(
            "check_flow needs the exact input axes; {input} allows others"
        ))
        .into());
    }
    let mut check = FlowCheck::new();
    Ok(layer.flow(Some(spec_axes(input)), &mut check)?)
}

/// [`check_flow`], and then that the axes at the end are `output` (when they are known):
/// the run-time form of `model!`'s `output: [..];` declaration.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{Initializer, Linear, check_flow_to};
///
/// let up = Linear::new(0, "up", &[("embedding", 4)], &[("heads", 2), ("logits", 3)], &[], Initializer::Zeros)?;
/// let err = check_flow_to(&up, &"[batch, embedding: 4]".parse()?, &"[batch, logits: 3]".parse()?)
///     .unwrap_err();
/// assert_eq!(
///     err.root_cause().to_string(),
///     "the model's declared output is [batch, logits: 3], but it ends with [batch, heads: 2, logits: 3]: surplus axis 'heads'"
/// );
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn check_flow_to(layer: &dyn Layer, input: &AxesSpec, output: &AxesSpec) -> Result<()> {
    let Some(end) = follow(layer, input)? else {
        return Ok(());
    };
    if output.allow_others {
        return Ok(());
    }
    let declared = spec_axes(output);
    ops::output(&end, &declared).map_err(|e| {
        Error::from(FlowFailure {
            path: KeyPath::root(),
            layer: layer.type_name(),
            error: e,
        })
    })?;
    Ok(())
}

impl Sequential {
    /// A sequence of `steps` whose axis flow from `input` (written like
    /// `[batch, seq, embedding: 64]`) is checked before it is returned: the run-time
    /// counterpart of `model!`'s compile-time checks, with the same messages.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::nn::{Initializer, Linear, RMSNorm, Sequential, Steps};
    ///
    /// let mut steps = Steps::new();
    /// steps.push_named("norm", AnyLayer::new(RMSNorm::new(0, "norm", &[("embedding", 4)], 1e-6)?))?;
    /// steps.push_named("up", AnyLayer::new(Linear::new(0, "up", &[("hidden", 4)], &[("out", 2)], &[], Initializer::Zeros)?))?;
    /// let err = Sequential::checked("[batch, embedding: 4]", steps).unwrap_err();
    /// assert_eq!(
    ///     err.root_cause().to_string(),
    ///     "Linear needs input axis 'hidden' of size 4, but the axes here are [batch, embedding: 4] (after step 0 'norm')"
    /// );
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn checked(input: &str, steps: Steps) -> Result<Sequential> {
        let model = Sequential { steps };
        let spec: AxesSpec = input.parse()?;
        check_flow(&model, &spec)?;
        Ok(model)
    }
}
