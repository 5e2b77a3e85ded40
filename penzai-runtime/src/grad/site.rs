//! Gradients with respect to activations: [`GradSite`] layers mark where, and the run that
//! computes parameter gradients collects them too.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::error::Result;
use crate::nn::{Context, Layer};
use crate::nx::{NamedArray, Tape};
use crate::tree::Tree;

use super::{GradError, Gradients, Trainable, watch_parameters};

thread_local! {
    /// The activations marked by `GradSite`s during the current gradient run, in order.
    static SITES: RefCell<Option<Vec<(String, NamedArray)>>> = const { RefCell::new(None) };
}

/// A pass-through layer whose input's gradient is reported under `name` by
/// [`value_and_grad`](super::value_and_grad) ([`Gradients::site`]). Outside a gradient run it
/// does nothing. Insert it at selected sites (after each attention block, say) to attribute
/// a loss or an effect to activations: attribution patching multiplies such a gradient by
/// an activation difference.
///
/// A site that runs several times in one forward reports each run under `name#k`
/// (`k` = 1, 2, ...) after the first.
#[derive(Clone, Debug, PartialEq, penzai_macros::Tree, serde::Serialize, serde::Deserialize)]
pub struct GradSite {
    /// The name its gradient is reported under.
    #[tree(skip)]
    pub name: String,
}

impl GradSite {
    /// A site reported under `name`.
    pub fn new(name: impl Into<String>) -> GradSite {
        GradSite { name: name.into() }
    }
}

impl Layer for GradSite {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        let collecting = SITES.with(|s| s.borrow().is_some());
        if !collecting || !Tape::is_recording() || !x.dtype().is_float() {
            return Ok(x);
        }
        let y = Tape::watch_current(&x).map_err(GradError::from)?;
        SITES.with(|s| {
            if let Some(list) = s.borrow_mut().as_mut() {
                let seen = list
                    .iter()
                    .filter(|(n, _)| n == &self.name || n.starts_with(&format!("{}#", self.name)))
                    .count();
                let key = if seen == 0 {
                    self.name.clone()
                } else {
                    format!("{}#{seen}", self.name)
                };
                list.push((key, y.clone()));
            }
        });
        Ok(y)
    }
}

/// Clears the site list when a run ends, even by an error or a panic in the loss.
struct SiteGuard;

impl Drop for SiteGuard {
    fn drop(&mut self) {
        let _ = SITES.try_with(|s| s.borrow_mut().take());
    }
}

/// The loss and the gradients of trainable parameters and of every [`GradSite`] reached.
pub(super) fn run<M: Tree + Clone>(
    model: &M,
    trainable: &Trainable,
    loss: impl FnOnce(&M) -> Result<NamedArray>,
) -> Result<(f32, Gradients)> {
    let tape = Tape::start().map_err(GradError::from)?;
    let mut copy = model.clone();
    let (watched, paths) = watch_parameters(&tape, &mut copy, trainable)?;
    if watched.is_empty() && trainable.names_something() {
        let known: Vec<String> = crate::nn::parameters(model)
            .into_iter()
            .take(5)
            .map(|(_, p)| format!("{:?}", &*p.label))
            .collect();
        return Err(GradError::NothingTrainable {
            selection: format!("{trainable:?}"),
            known: if known.is_empty() {
                "the model has no parameters".to_owned()
            } else {
                known.join(", ")
            },
        }
        .into());
    }
    SITES.with(|s| *s.borrow_mut() = Some(vec![]));
    let guard = SiteGuard;
    let value = loss(&copy)?;
    let sites = SITES.with(|s| s.borrow_mut().take()).unwrap_or_default();
    drop(guard);
    let scalar = value
        .cast(crate::nx::DType::F32)
        .map(|v| v.to_f32_vec())
        .map_err(crate::Error::from)?;
    let labels: Vec<_> = watched.keys().cloned().collect();
    let mut wrt: Vec<&NamedArray> = watched.values().collect();
    wrt.extend(sites.iter().map(|(_, a)| a));
    let mut grads = tape.gradients(&value, &wrt).map_err(GradError::from)?;
    let site_grads = grads.split_off(labels.len());
    let mut by_label = BTreeMap::new();
    for ((label, g), p) in labels.into_iter().zip(grads).zip(watched.values()) {
        let g = match g {
            Some(g) => g,
            None => NamedArray::zeros(p.named_shape())?,
        };
        by_label.insert(label, g);
    }
    let mut site_map = BTreeMap::new();
    for ((name, a), g) in sites.into_iter().zip(site_grads) {
        let g = match g {
            Some(g) => g,
            None => NamedArray::zeros(a.named_shape())?,
        };
        site_map.insert(name, g);
    }
    let value = match scalar.as_slice() {
        [v] => *v,
        _ => {
            return Err(GradError::Tape(crate::nx::GradError::LossNotScalar {
                shape: value.full_shape(),
            })
            .into());
        }
    };
    Ok((
        value,
        Gradients {
            by_label,
            paths,
            sites: site_map,
        },
    ))
}

/// [`value_and_grad`](super::value_and_grad), named for the attribution use: the returned
/// [`Gradients`] also hold the gradient at every [`GradSite`] the forward passed.
pub fn value_and_grad_with_sites<M: Tree + Clone>(
    model: &M,
    trainable: &Trainable,
    loss: impl FnOnce(&M) -> Result<NamedArray>,
) -> Result<(f32, Gradients)> {
    run(model, trainable, loss)
}
