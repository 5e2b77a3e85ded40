//! Gradients of models: `value_and_grad` over selected parameters, activation sites, and
//! optimizers (`SGD`, `Adam`, `AdamW`, matching `torch.optim`).
//!
//! Differentiation itself is the `nx` tape ([`crate::nx::Tape`], whose module
//! documentation explains the design): this module decides *what* is differentiated. As in
//! Penzai, where `freeze_params`/`unbind_params` split a model into trainable variables and
//! frozen constants, [`Trainable`] says which parameters get gradients (by label, by label
//! prefix, or the subtrees a selection picks: [`Trainable::subtrees`]); every other
//! parameter is a constant. Tied slots hold one parameter (one label), so a tied embedding's
//! gradient is the sum of its uses, as torch reports it.
//!
//! A gradient step keeps every activation the backward reads; `penzai::interpret::checkpoint`
//! wraps selected layers (the transformer blocks) in [`Checkpointed`](crate::nn::Checkpointed)
//! layers that
//! keep only their input and recompute the rest during the backward, for the same gradients
//! (measured in `BENCHMARKS.md`: 4.1x less peak memory for about one more forward).
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::grad::{Trainable, value_and_grad};
//! use penzai::models::{Gpt2Config, TransformerLm};
//!
//! let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0)?;
//! let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![1, 2, 3, 4])?;
//! let (loss, grads) = value_and_grad(&model, &Trainable::all(), |m| {
//!     penzai::grad::next_token_loss(m, &tokens)
//! })?;
//! assert!(loss > 0.0);
//! // One gradient per trainable label, with the parameter's axes.
//! for (label, g) in grads.iter() {
//!     let p = penzai::nn::parameters(&model).into_iter().find(|(_, p)| &*p.label == label).unwrap().1;
//!     assert_eq!(g.named_shape(), p.value.named_shape());
//! }
//! # Ok::<(), penzai::Error>(())
//! ```

mod loss;
mod optim;
mod site;
mod train;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::Result;
use crate::nn::Parameter;
use crate::nx::{self, NamedArray, Tape};
use crate::tree::{KeyPath, Tree, TreeExt, Walk};

pub use loss::{cross_entropy, next_token_loss};
pub use optim::{Adam, AdamW, Optimizer, Sgd};
pub use site::{GradSite, value_and_grad_with_sites};
pub use train::{TrainingLog, train};

/// Why a gradient computation or a training step failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradError {
    /// The tape could not differentiate the loss.
    #[error(transparent)]
    Tape(#[from] nx::GradError),
    /// The trainable selection matched no parameter of the model.
    #[error("no parameter is trainable: {selection} matches none of the model's labels ({known})")]
    NothingTrainable {
        /// The selection, as written.
        selection: String,
        /// Some of the model's labels.
        known: String,
    },
    /// A path given to [`value_and_grad_arrays`] does not hold an array.
    #[error("no array at {path}: found {found}")]
    NotAnArray {
        /// The path.
        path: String,
        /// What is there.
        found: &'static str,
    },
    /// An optimizer was given a gradient for a label it cannot find in the model, or whose
    /// axes differ from the parameter's.
    #[error("cannot update parameter {label:?}: {reason}")]
    Update {
        /// The parameter's label.
        label: String,
        /// What is wrong.
        reason: String,
    },
}

/// Which parameters get gradients; the others are frozen constants.
#[derive(Clone, Debug)]
pub enum Trainable {
    /// Every parameter.
    All,
    /// Exactly these labels.
    Labels(Vec<String>),
    /// Labels starting with any of these prefixes (`"blocks.0."`).
    Prefixes(Vec<String>),
    /// Every parameter inside the subtrees at these paths of the model (a selection's
    /// paths: `select(model.as_dyn()).at_instances_of::<Attention>().paths()`), as Penzai's
    /// `freeze_params`/`unbind_params` split. A parameter tied across slots is one
    /// variable: it is trainable when any of its slots is inside a selected subtree.
    Subtrees(Vec<KeyPath>),
}

impl Trainable {
    /// Every parameter is trainable.
    pub fn all() -> Trainable {
        Trainable::All
    }

    /// Only the parameters with these labels.
    pub fn labels<S: Into<String>>(labels: impl IntoIterator<Item = S>) -> Trainable {
        Trainable::Labels(labels.into_iter().map(Into::into).collect())
    }

    /// The parameters whose label starts with one of `prefixes`.
    pub fn prefixes<S: Into<String>>(prefixes: impl IntoIterator<Item = S>) -> Trainable {
        Trainable::Prefixes(prefixes.into_iter().map(Into::into).collect())
    }

    /// The parameters inside the subtrees at `paths` of the model: pass a selection's
    /// `paths()` to train what a selector picks (the
    /// selection must be made on the model given to [`value_and_grad`], or on one of the
    /// same structure).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::grad::{Trainable, next_token_loss, value_and_grad};
    /// use penzai::models::{Gpt2Config, TransformerLm};
    /// use penzai::nn::Attention;
    ///
    /// let model = TransformerLm::gpt2(&Gpt2Config::tiny(), 0)?;
    /// let attention = select(model.as_dyn()).at_instances_of::<Attention>();
    /// let trainable = Trainable::subtrees(attention.paths().to_vec());
    /// let tokens = NamedArray::from_i64(&[("seq", 4)], vec![1, 2, 3, 4])?;
    /// let (_, grads) = value_and_grad(&model, &trainable, |m| next_token_loss(m, &tokens))?;
    /// // Only attention parameters get gradients; the rest of the model is frozen.
    /// assert!(grads.len() > 0);
    /// assert!(grads.iter().all(|(label, _)| label.contains(".attn.")));
    /// assert_eq!(grads.len(), trainable.labels_in(&model).len());
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn subtrees(paths: impl IntoIterator<Item = KeyPath>) -> Trainable {
        Trainable::Subtrees(paths.into_iter().collect())
    }

    /// True when the parameter labelled `label` is trainable. A [`Trainable::Subtrees`]
    /// answers by paths, which need the model: it is `false` here, and
    /// [`labels_in`](Trainable::labels_in) gives its labels.
    pub fn contains(&self, label: &str) -> bool {
        match self {
            Trainable::All => true,
            Trainable::Labels(labels) => labels.iter().any(|l| l == label),
            Trainable::Prefixes(prefixes) => prefixes.iter().any(|p| label.starts_with(p.as_str())),
            Trainable::Subtrees(_) => false,
        }
    }

    /// The labels of `model`'s trainable parameters, in the order they are first met.
    pub fn labels_in(&self, model: &dyn Tree) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = vec![];
        for (path, p) in crate::nn::parameters(model) {
            let inside = match self {
                Trainable::Subtrees(roots) => roots.iter().any(|r| path.starts_with(r)),
                _ => self.contains(&p.label),
            };
            if inside && !out.contains(&p.label) {
                out.push(p.label.clone());
            }
        }
        out
    }

    /// True when matching no parameter is a mistake worth an error: an empty label list
    /// freezes everything on purpose (attribution wants activation gradients only), while
    /// a selection of subtrees that holds no parameter (an empty selection included) is
    /// almost surely a wrong selector.
    fn names_something(&self) -> bool {
        match self {
            Trainable::All => false,
            Trainable::Labels(l) => !l.is_empty(),
            Trainable::Prefixes(p) => !p.is_empty(),
            Trainable::Subtrees(_) => true,
        }
    }
}

/// Gradients keyed by parameter label, with the paths of the slots that hold each label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gradients {
    by_label: BTreeMap<Arc<str>, NamedArray>,
    paths: BTreeMap<Arc<str>, Vec<KeyPath>>,
    sites: BTreeMap<String, NamedArray>,
}

impl Gradients {
    /// The gradient of the parameter labelled `label` (zeros when the loss does not depend
    /// on it), or `None` when it was not trainable.
    pub fn get(&self, label: &str) -> Option<&NamedArray> {
        self.by_label.get(label)
    }

    /// Every (label, gradient) pair, in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &NamedArray)> {
        self.by_label.iter().map(|(l, g)| (&**l, g))
    }

    /// The number of trainable parameters (labels).
    pub fn len(&self) -> usize {
        self.by_label.len()
    }

    /// True when no parameter was trainable.
    pub fn is_empty(&self) -> bool {
        self.by_label.is_empty()
    }

    /// The paths of the slots holding the parameter `label` (several when tied).
    pub fn paths(&self, label: &str) -> &[KeyPath] {
        self.paths.get(label).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The gradient with respect to the activation that passed the [`GradSite`] named
    /// `name` (see [`value_and_grad_with_sites`]).
    pub fn site(&self, name: &str) -> Option<&NamedArray> {
        self.sites.get(name)
    }

    /// Every (site name, gradient) pair.
    pub fn sites(&self) -> impl Iterator<Item = (&str, &NamedArray)> {
        self.sites.iter().map(|(n, g)| (n.as_str(), g))
    }

    /// A copy of `model` whose trainable parameters hold their gradients instead of their
    /// values (same labels and axes): what to hand to code that lays parameters out, such
    /// as `io::hf::export_tensors`, to get gradients in a checkpoint's names and layouts.
    pub fn in_model<M: Tree + Clone>(&self, model: &M) -> M {
        let mut copy = model.clone();
        for (label, g) in &self.by_label {
            crate::nn::set_parameter(&mut copy, label, g);
        }
        copy
    }

    /// The Euclidean norm of all parameter gradients together.
    pub fn global_norm(&self) -> f32 {
        self.by_label
            .values()
            .flat_map(|g| g.to_f32_vec())
            .map(|v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32
    }
}

/// The value of `loss(model)` and its gradient with respect to every [`Trainable`]
/// parameter. `loss` must return a one-element array (a mean over a batch, say); it runs on
/// a copy of `model` whose trainable parameters are watched by a gradient [`Tape`].
pub fn value_and_grad<M: Tree + Clone>(
    model: &M,
    trainable: &Trainable,
    loss: impl FnOnce(&M) -> Result<NamedArray>,
) -> Result<(f32, Gradients)> {
    let (value, grads) = site::run(model, trainable, loss)?;
    Ok((value, grads))
}

/// Replaces each trainable parameter's value by a watched copy (one per label, so tied slots
/// stay one variable); returns the watched arrays and the paths of each label.
/// The watched arrays by label, and the paths of the slots holding each label.
type Watched = (
    BTreeMap<Arc<str>, NamedArray>,
    BTreeMap<Arc<str>, Vec<KeyPath>>,
);

fn watch_parameters(tape: &Tape, model: &mut dyn Tree, trainable: &Trainable) -> Result<Watched> {
    let mut watched: BTreeMap<Arc<str>, NamedArray> = BTreeMap::new();
    let mut paths: BTreeMap<Arc<str>, Vec<KeyPath>> = BTreeMap::new();
    let mut failure = None;
    let labels = trainable.labels_in(&*model);
    model.walk_mut(&mut |frame, node| {
        if let Some(p) = node.downcast_mut::<Parameter>()
            && labels.contains(&p.label)
        {
            let value = match watched.get(&p.label) {
                Some(v) => v.clone(),
                None => match tape.watch(&p.value) {
                    Ok(v) => {
                        watched.insert(p.label.clone(), v.clone());
                        v
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                        return Walk::Continue;
                    }
                },
            };
            paths
                .entry(p.label.clone())
                .or_default()
                .push(frame.to_key_path());
            p.value = value;
        }
        Walk::Continue
    });
    if let Some(e) = failure {
        return Err(GradError::from(e).into());
    }
    Ok((watched, paths))
}

/// The value of `loss(model)` and its gradient with respect to plain arrays stored in the
/// model (an `Ablate` layer's mask, a steering vector), given by their
/// paths (`blocks[0].attn.delta.attention.scores[1].mask`); parameters are frozen. A path
/// that does not lead to a float `NamedArray` is an error naming it.
///
/// The gradient with respect to a head-ablation mask at zero attributes an effect to every
/// head at once: each entry is the first-order change of the loss from ablating that head.
pub fn value_and_grad_arrays<M: Tree + Clone>(
    model: &M,
    paths: &[KeyPath],
    loss: impl FnOnce(&M) -> Result<NamedArray>,
) -> Result<(f32, BTreeMap<KeyPath, NamedArray>)> {
    let tape = Tape::start().map_err(GradError::from)?;
    let mut copy = model.clone();
    let mut watched: BTreeMap<KeyPath, NamedArray> = BTreeMap::new();
    let mut failure: Option<crate::Error> = None;
    copy.walk_mut(&mut |frame, node| {
        let path = frame.to_key_path();
        if paths.contains(&path) {
            match node.downcast_mut::<NamedArray>() {
                Some(array) => match tape.watch(array) {
                    Ok(w) => {
                        *array = w.clone();
                        watched.insert(path, w);
                    }
                    Err(e) => {
                        failure.get_or_insert(GradError::from(e).into());
                    }
                },
                None => {
                    failure.get_or_insert(
                        GradError::NotAnArray {
                            path: path.to_string(),
                            found: node.type_name(),
                        }
                        .into(),
                    );
                }
            }
        }
        Walk::Continue
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(missing) = paths.iter().find(|p| !watched.contains_key(*p)) {
        return Err(GradError::NotAnArray {
            path: missing.to_string(),
            found: "nothing (no node at this path)",
        }
        .into());
    }
    let value = loss(&copy)?;
    let scalar = value.cast(crate::nx::DType::F32)?.to_f32_vec();
    let wrt: Vec<&NamedArray> = watched.values().collect();
    let grads = tape.gradients(&value, &wrt).map_err(GradError::from)?;
    let mut out = BTreeMap::new();
    for ((path, w), g) in watched.iter().zip(grads) {
        let g = match g {
            Some(g) => g,
            None => NamedArray::zeros(w.named_shape())?,
        };
        out.insert(path.clone(), g);
    }
    let [value] = scalar.as_slice() else {
        return Err(GradError::Tape(nx::GradError::LossNotScalar {
            shape: value.full_shape(),
        })
        .into());
    };
    Ok((*value, out))
}
