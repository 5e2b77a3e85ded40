//! The axis flow at run time: checks a model built without `model!` with the same rules
//! and the same messages as `model!` checks at compile time.

use crate::nn::check::{AxesSpec, SizeSpec};
use crate::nn::{
    AnyLayer, Attention, BranchAndAdd, BranchAndMultiply, CheckAxes, KVCachingAttention, Layer,
    LayerError, NamedGroup, RenameAxes, Residual, Sequential, Signature, Steps,
};
use crate::nx::AxisName;
use crate::tree::{Key, KeyPath, Tree};
use crate::{Error, Result};

use super::SignatureAxis;
use super::message::Message;

/// The axes at one point of a model: names with sizes where known.
///
/// Displays like the `model!` syntax: `[batch, seq, embedding: 64]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowAxes(pub Vec<(AxisName, Option<usize>)>);

impl FlowAxes {
    fn views(&self) -> Vec<SignatureAxis<'_>> {
        self.0
            .iter()
            .map(|(name, size)| SignatureAxis {
                name: name.as_str(),
                size: *size,
            })
            .collect()
    }

    fn get(&self, name: &str) -> Option<Option<usize>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    fn from_spec(spec: &AxesSpec) -> FlowAxes {
        FlowAxes(
            spec.axes
                .iter()
                .map(|(name, size)| {
                    let size = match size {
                        SizeSpec::Fixed(n) => Some(*n),
                        SizeSpec::Any | SizeSpec::Var(_) => None,
                    };
                    (AxisName::from(name.as_str()), size)
                })
                .collect(),
        )
    }

    /// The axes as a spec (sizes where known).
    pub fn to_spec(&self) -> AxesSpec {
        AxesSpec {
            axes: self
                .0
                .iter()
                .map(|(n, s)| {
                    let size = s.map_or(SizeSpec::Any, SizeSpec::Fixed);
                    (n.to_string(), size)
                })
                .collect(),
            allow_others: false,
        }
    }

    /// True when the two definitely agree (an unknown size matches any).
    fn same_as(&self, other: &FlowAxes) -> bool {
        super::message::same_axes(&self.views(), &other.views())
    }
}

impl std::fmt::Display for FlowAxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = Message::new();
        m.axes(&self.views());
        f.write_str(m.as_str())
    }
}

/// Follows the named axes `input` (written like `[batch, seq, embedding: 64]`) through
/// `layer` without running it, and returns the axes it ends with (`None` when a layer on
/// the way states no signature, so the end is unknown).
///
/// Combinators are followed into their bodies (`Sequential`, `NamedGroup`, `Residual`,
/// branches, `Attention`'s slots), `CheckAxes` and `RenameAxes` are understood, and every
/// other layer is checked against its [`Layer::signature`] (a `sequential_layer!` type
/// whose steps do not compose into one signature is followed step by step). A layer without one makes the
/// axes unknown until the next `CheckAxes` (or the end of the enclosing residual, which
/// always returns its input's axes). Errors read like `model!`'s compile errors, located
/// at the offending layer:
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
///     "at again (Linear): Linear needs input axis 'embedding' of size 4, but the axes here are [batch, hidden: 8] (after step 1 'up')"
/// );
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn check_flow(layer: &dyn Layer, input: &AxesSpec) -> Result<Option<FlowAxes>> {
    if input.allow_others {
        return Err(LayerError::Config(format!(
            "check_flow needs the exact input axes; {input} allows others"
        ))
        .into());
    }
    let mut checker = Checker { path: Vec::new() };
    checker.layer(layer, Some(FlowAxes::from_spec(input)), "at the input")
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
    let Some(end) = check_flow(layer, input)? else {
        return Ok(());
    };
    let declared = FlowAxes::from_spec(output);
    if output.allow_others || declared.same_as(&end) {
        return Ok(());
    }
    let message = Message::output_differs(&declared.views(), &end.views());
    Err(Error::AtLayer {
        path: KeyPath::root(),
        layer: layer.type_name(),
        source: Box::new(LayerError::Check(message.as_str().to_owned()).into()),
    })
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
    ///     "Linear needs input axis 'hidden' of size 4, but the axes here are [batch, embedding: 4] (after step 1 'norm')"
    /// );
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn checked(input: &str, steps: Steps) -> Result<Sequential> {
        let model = Sequential { steps };
        check_flow(&model, &input.parse()?)?;
        Ok(model)
    }
}

/// Where the input of a sequence's first step comes from.
fn start_place(path: &KeyPath) -> String {
    if path.is_empty() {
        "at the input".to_owned()
    } else {
        format!("at the start of '{path}'")
    }
}

/// Where the input of step `index` (0-based) of a sequence comes from.
fn step_place(steps: &Steps, index: usize, path: &KeyPath) -> String {
    match index.checked_sub(1).and_then(|i| steps.iter().nth(i)) {
        None => start_place(path),
        Some(previous) => match &previous.name {
            Some(name) => format!("after step {index} '{name}'"),
            None => format!("after step {index}"),
        },
    }
}

struct Checker {
    path: Vec<Key>,
}

impl Checker {
    fn key_path(&self) -> KeyPath {
        KeyPath::from_keys(self.path.iter().cloned())
    }

    fn error(&self, layer: &dyn Layer, message: Message) -> Error {
        Error::AtLayer {
            path: self.key_path(),
            layer: layer.type_name(),
            source: Box::new(LayerError::Check(message.as_str().to_owned()).into()),
        }
    }

    fn child<T>(&mut self, key: Key, f: impl FnOnce(&mut Checker) -> T) -> T {
        self.path.push(key);
        let out = f(self);
        self.path.pop();
        out
    }

    /// The axes after `layer`, given the axes `x` at `place` (`None`: unknown).
    fn layer(
        &mut self,
        layer: &dyn Layer,
        x: Option<FlowAxes>,
        place: &str,
    ) -> Result<Option<FlowAxes>> {
        let node: &dyn Tree = layer.as_tree_node();
        if let Some(slot) = node.downcast_ref::<AnyLayer>() {
            // A layer boxed twice (`AnyLayer::new(any_layer)`) is the layer inside.
            return self.layer(slot.get(), x, place);
        }
        if (node.is::<Sequential>() || node.is::<NamedGroup>())
            && let Some(steps) = layer.as_steps()
        {
            return self.steps(steps, x);
        }
        if let Some(residual) = node.downcast_ref::<Residual>() {
            return self.residual(layer, residual, x);
        }
        if let Some(add) = node.downcast_ref::<BranchAndAdd>() {
            return self.branches(layer, &add.branches, x);
        }
        if let Some(mul) = node.downcast_ref::<BranchAndMultiply>() {
            return self.branches(layer, &mul.branches, x);
        }
        if let Some(attention) = node.downcast_ref::<Attention>() {
            return self.attention(attention, x);
        }
        if let Some(cached) = node.downcast_ref::<KVCachingAttention>() {
            return self.attention(&cached.attention, x);
        }
        if let Some(check) = node.downcast_ref::<CheckAxes>() {
            return match x {
                Some(x) => self.check_axes(layer, check, x, place).map(Some),
                // Unknown axes stay unknown, except where a check states them again.
                None => Ok(
                    (!check.expected.allow_others).then(|| FlowAxes::from_spec(&check.expected))
                ),
            };
        }
        if let Some(rename) = node.downcast_ref::<RenameAxes>() {
            return match x {
                Some(x) => self.rename(layer, rename, x, place).map(Some),
                None => Ok(None),
            };
        }
        match (layer.signature(), layer.as_steps()) {
            (Some(sig), _) => match x {
                Some(x) => self.apply(layer, &sig, x, place).map(Some),
                None => Ok(None),
            },
            // A sequence whose steps do not compose into one signature (an attention in
            // a block): follow its steps one by one.
            (None, Some(steps)) => self.steps(steps, x),
            (None, None) => Ok(None),
        }
    }

    fn steps(&mut self, steps: &Steps, mut x: Option<FlowAxes>) -> Result<Option<FlowAxes>> {
        let path = self.key_path();
        for (i, step) in steps.iter().enumerate() {
            let place = step_place(steps, i, &path);
            let key = match &step.name {
                Some(name) => Key::Field(name.clone().into()),
                None => Key::Index(i),
            };
            x = self.child(key, |c| c.layer(step.layer.get(), x, &place))?;
        }
        Ok(x)
    }

    fn residual(
        &mut self,
        layer: &dyn Layer,
        residual: &Residual,
        x: Option<FlowAxes>,
    ) -> Result<Option<FlowAxes>> {
        let place = start_place(&self.key_path());
        let end = self.child(Key::field("delta"), |c| {
            c.layer(residual.delta.get(), x.clone(), &place)
        })?;
        if let (Some(start), Some(end)) = (&x, &end)
            && !start.same_as(end)
        {
            return Err(self.error(
                layer,
                Message::must_end_as_started("the Residual body", &start.views(), &end.views()),
            ));
        }
        Ok(x)
    }

    fn branches(
        &mut self,
        layer: &dyn Layer,
        branches: &[crate::nn::AnyLayer],
        x: Option<FlowAxes>,
    ) -> Result<Option<FlowAxes>> {
        let place = start_place(&self.key_path());
        let mut ends = Vec::with_capacity(branches.len());
        for (i, branch) in branches.iter().enumerate() {
            let end = self.child(Key::field("branches"), |c| {
                c.child(Key::Index(i), |c| c.layer(branch.get(), x.clone(), &place))
            })?;
            ends.push(end);
        }
        let Some(Some(first)) = ends.first().cloned() else {
            return Ok(None);
        };
        for (i, end) in ends.iter().enumerate().skip(1) {
            match end {
                Some(end) if !first.same_as(end) => {
                    return Err(self.error(
                        layer,
                        Message::branches_differ(
                            layer.type_name(),
                            &first.views(),
                            i,
                            &end.views(),
                        ),
                    ));
                }
                Some(_) => {}
                None => return Ok(None),
            }
        }
        Ok(Some(first))
    }

    /// Follows attention's slots: queries and keys are contracted over the head axis,
    /// weights and values over the key axis.
    fn attention(&mut self, attn: &Attention, x: Option<FlowAxes>) -> Result<Option<FlowAxes>> {
        let place = start_place(&self.key_path());
        let slot = |c: &mut Checker, name: &'static str, layer: &dyn Layer, x| {
            c.child(Key::field(name), |c| c.layer(layer, x, &place))
        };
        let q = slot(self, "query", attn.query.get(), x.clone())?;
        let k = slot(self, "key", attn.key.get(), x.clone())?;
        let v = slot(self, "value", attn.value.get(), x)?;
        let (Some(q), Some(k), Some(v)) = (q, k, v) else {
            return Ok(None);
        };
        let Some(scores) = contract(&q, &k, &attn.head_axis) else {
            return Ok(None);
        };
        let Some(weights) = slot(self, "scores", attn.scores.get(), Some(scores))? else {
            return Ok(None);
        };
        let Some(mixed) = contract(&weights, &v, &attn.kv_axis) else {
            return Ok(None);
        };
        slot(self, "output", attn.output.get(), Some(mixed))
    }

    fn check_axes(
        &self,
        layer: &dyn Layer,
        check: &CheckAxes,
        x: FlowAxes,
        place: &str,
    ) -> Result<FlowAxes> {
        let expected = FlowAxes::from_spec(&check.expected);
        if check.expected.allow_others {
            let missing = expected.0.iter().any(|(n, s)| match x.get(n) {
                None => true,
                Some(have) => matches!((s, have), (Some(a), Some(b)) if *a != b),
            });
            if missing {
                return Err(self.error(
                    layer,
                    Message::check_failed(&expected.views(), &x.views(), place),
                ));
            }
            return Ok(x);
        }
        if !expected.same_as(&x) {
            return Err(self.error(
                layer,
                Message::check_failed(&expected.views(), &x.views(), place),
            ));
        }
        Ok(expected)
    }

    fn rename(
        &self,
        layer: &dyn Layer,
        rename: &RenameAxes,
        x: FlowAxes,
        place: &str,
    ) -> Result<FlowAxes> {
        let mut out = x.clone();
        let mut moved = Vec::new();
        for old in &rename.old {
            let Some(size) = x.get(old) else {
                return Err(self.error(
                    layer,
                    Message::needs_axis("RenameAxes", old, None, &x.views(), place),
                ));
            };
            out.remove(old);
            moved.push(size);
        }
        for (new, size) in rename.new.iter().zip(moved) {
            if out.get(new).is_some() {
                return Err(self.error(
                    layer,
                    Message::adds_present("RenameAxes", new, &x.views(), place),
                ));
            }
            out.0.push((AxisName::from(new.as_str()), size));
        }
        Ok(out)
    }

    fn apply(
        &self,
        layer: &dyn Layer,
        sig: &Signature,
        x: FlowAxes,
        place: &str,
    ) -> Result<FlowAxes> {
        let name = layer.type_name();
        let needs = |axis: &str, size: Option<usize>| {
            self.error(
                layer,
                Message::needs_axis(name, axis, size, &x.views(), place),
            )
        };
        let required = sig
            .requires
            .iter()
            .map(|(n, s)| (n, *s))
            .chain(sig.removes.iter().map(|n| (n, None)));
        for (axis, size) in required {
            match (x.get(axis), size) {
                (None, _) => return Err(needs(axis, size)),
                (Some(Some(have)), Some(want)) if have != want => return Err(needs(axis, size)),
                _ => {}
            }
        }
        let mut out = x.clone();
        for axis in &sig.removes {
            out.remove(axis);
        }
        for (axis, size) in &sig.adds {
            if out.get(axis).is_some() {
                return Err(self.error(layer, Message::adds_present(name, axis, &x.views(), place)));
            }
            out.0.push((axis.clone(), *size));
        }
        Ok(out)
    }
}

/// The axes of a contraction of `a` and `b` over `axis` (both keep their other axes,
/// shared ones once); `None` when either side lacks `axis`, which the run reports.
fn contract(a: &FlowAxes, b: &FlowAxes, axis: &str) -> Option<FlowAxes> {
    a.get(axis)?;
    b.get(axis)?;
    let mut out = a.clone();
    out.remove(axis);
    for (name, size) in &b.0 {
        if name != axis && out.get(name).is_none() {
            out.0.push((name.clone(), *size));
        }
    }
    Some(out)
}
