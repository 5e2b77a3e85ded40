//! Optimizers that update a model's parameters from [`Gradients`], step for step as
//! `torch.optim`'s single-tensor CPU implementations (the same operations in the same order,
//! in f32), so a run matches torch's within float rounding.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::nn::{Parameter, parameters, set_parameter};
use crate::nx::NamedArray;
use crate::tree::Tree;

use super::{GradError, Gradients};

/// Updates parameters from gradients, keeping per-parameter state (momentum, moments)
/// between steps, keyed by label.
pub trait Optimizer {
    /// Applies one update to every parameter of `model` that `grads` has a gradient for
    /// (tied slots are updated together).
    fn step(&mut self, model: &mut dyn Tree, grads: &Gradients) -> Result<()> {
        for (label, g) in grads.iter() {
            let p = current(model, label)?;
            let names: Vec<String> = p.value.axis_names().iter().map(|n| n.to_string()).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if g.named_shape() != p.value.named_shape() || !p.value.positional_shape().is_empty() {
                return Err(update_error(
                    label,
                    format!(
                        "the gradient has shape {} but the parameter {}",
                        g.full_shape(),
                        p.value.full_shape()
                    ),
                ));
            }
            let mut values = p.value.to_f32_vec();
            let grad = g.order_as(&names)?.to_f32_vec();
            self.update(label, &mut values, &grad);
            let updated =
                NamedArray::from_f32(p.value.named_shape(), values)?.cast(p.value.dtype())?;
            set_parameter(model, label, &updated);
        }
        Ok(())
    }

    /// Updates one parameter's values (flattened in its axis order) in place from its
    /// gradient.
    fn update(&mut self, label: &str, param: &mut [f32], grad: &[f32]);
}

fn update_error(label: &str, reason: String) -> crate::Error {
    GradError::Update {
        label: label.to_owned(),
        reason,
    }
    .into()
}

/// The first slot holding `label`.
fn current(model: &dyn Tree, label: &str) -> Result<Parameter> {
    parameters(model)
        .into_iter()
        .find(|(_, p)| &*p.label == label)
        .map(|(_, p)| p.clone())
        .ok_or_else(|| update_error(label, "the model has no parameter with this label".into()))
}

/// Stochastic gradient descent with momentum and (L2) weight decay, as `torch.optim.SGD`
/// (dampening 0, not Nesterov).
///
/// ```
/// use penzai::grad::{Optimizer, Sgd};
///
/// let mut sgd = Sgd::new(0.1).momentum(0.9);
/// let mut p = [1.0f32, -2.0];
/// sgd.update("w", &mut p, &[0.5, 0.5]);
/// assert_eq!(p, [0.95, -2.05]);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0 for plain SGD).
    pub momentum: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    buffers: BTreeMap<String, Vec<f32>>,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Sgd {
        Sgd {
            lr,
            momentum: 0.0,
            weight_decay: 0.0,
            buffers: BTreeMap::new(),
        }
    }

    /// With momentum.
    pub fn momentum(mut self, momentum: f32) -> Sgd {
        self.momentum = momentum;
        self
    }

    /// With weight decay.
    pub fn weight_decay(mut self, weight_decay: f32) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Sgd {
    fn update(&mut self, label: &str, param: &mut [f32], grad: &[f32]) {
        let g: Vec<f32> = param
            .iter()
            .zip(grad)
            .map(|(&p, &g)| {
                if self.weight_decay != 0.0 {
                    g + p * self.weight_decay
                } else {
                    g
                }
            })
            .collect();
        let g = if self.momentum != 0.0 {
            let buf = self.buffers.entry(label.to_owned()).or_default();
            if buf.len() != g.len() {
                // The first step starts the buffer at the gradient, as torch does.
                *buf = g;
            } else {
                for (b, &x) in buf.iter_mut().zip(&g) {
                    *b = *b * self.momentum + x;
                }
            }
            buf.clone()
        } else {
            g
        };
        for (p, x) in param.iter_mut().zip(&g) {
            *p += x * -self.lr;
        }
    }
}

/// The moments of one parameter.
#[derive(Clone, Debug, Default)]
struct Moments {
    step: i32,
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Adam (`torch.optim.Adam`, with L2 weight decay added to the gradient).
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay rates of the first and second moments.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    moments: BTreeMap<String, Moments>,
}

impl Adam {
    /// Adam with learning rate `lr` and torch's defaults: betas (0.9, 0.999), eps 1e-8, no
    /// weight decay.
    pub fn new(lr: f32) -> Adam {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            moments: BTreeMap::new(),
        }
    }

    /// With other moment decay rates.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Adam {
        self.betas = (beta1, beta2);
        self
    }

    /// With another epsilon.
    pub fn eps(mut self, eps: f32) -> Adam {
        self.eps = eps;
        self
    }

    /// With weight decay.
    pub fn weight_decay(mut self, weight_decay: f32) -> Adam {
        self.weight_decay = weight_decay;
        self
    }
}

/// One Adam step on `param`, after any weight decay; torch's operation order: `m` by lerp,
/// `v` by multiply-add, step size and bias corrections in f64 (Python floats), then
/// `p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps)` in f32.
fn adam_step(
    state: &mut Moments,
    (lr, beta1, beta2, eps): (f32, f32, f32, f32),
    param: &mut [f32],
    grad: &[f32],
) {
    if state.m.len() != grad.len() {
        *state = Moments {
            step: 0,
            m: vec![0.0; grad.len()],
            v: vec![0.0; grad.len()],
        };
    }
    state.step += 1;
    let bias1 = 1.0 - f64::from(beta1).powi(state.step);
    let bias2 = 1.0 - f64::from(beta2).powi(state.step);
    let step_size = (f64::from(lr) / bias1) as f32;
    let bias2_sqrt = bias2.sqrt() as f32;
    let weight = 1.0 - beta1;
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(state.m.iter_mut())
        .zip(state.v.iter_mut())
    {
        *m += weight * (g - *m);
        *v = *v * beta2 + (1.0 - beta2) * g * g;
        let denom = v.sqrt() / bias2_sqrt + eps;
        *p += -step_size * (*m / denom);
    }
}

impl Optimizer for Adam {
    fn update(&mut self, label: &str, param: &mut [f32], grad: &[f32]) {
        let g: Vec<f32> = if self.weight_decay != 0.0 {
            param
                .iter()
                .zip(grad)
                .map(|(&p, &g)| g + p * self.weight_decay)
                .collect()
        } else {
            grad.to_vec()
        };
        let state = self.moments.entry(label.to_owned()).or_default();
        let hyper = (self.lr, self.betas.0, self.betas.1, self.eps);
        adam_step(state, hyper, param, &g);
    }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay,
/// `p *= 1 - lr * weight_decay` before the Adam step.
#[derive(Clone, Debug)]
pub struct AdamW {
    /// Learning rate.
    pub lr: f32,
    /// Decay rates of the first and second moments.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
    /// Decoupled weight decay.
    pub weight_decay: f32,
    moments: BTreeMap<String, Moments>,
}

impl AdamW {
    /// AdamW with learning rate `lr` and torch's defaults: betas (0.9, 0.999), eps 1e-8,
    /// weight decay 0.01.
    pub fn new(lr: f32) -> AdamW {
        AdamW {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
            moments: BTreeMap::new(),
        }
    }

    /// With other moment decay rates.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> AdamW {
        self.betas = (beta1, beta2);
        self
    }

    /// With another epsilon.
    pub fn eps(mut self, eps: f32) -> AdamW {
        self.eps = eps;
        self
    }

    /// With another weight decay.
    pub fn weight_decay(mut self, weight_decay: f32) -> AdamW {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for AdamW {
    fn update(&mut self, label: &str, param: &mut [f32], grad: &[f32]) {
        let decay = 1.0 - self.lr * self.weight_decay;
        for p in param.iter_mut() {
            *p *= decay;
        }
        let state = self.moments.entry(label.to_owned()).or_default();
        let hyper = (self.lr, self.betas.0, self.betas.1, self.eps);
        adam_step(state, hyper, param, grad);
    }
}
