//! Linear probes: closed-form ridge regression from activations to class labels.

use super::linalg::cholesky_solve;
use crate::grad::{Optimizer, Trainable, TrainingLog, train};
use crate::nn::{AddBias, Affine, AnyLayer, Context, LayerError, Linear, Parameter, Steps};
use crate::nx::{DType, NamedArray};
use crate::{Error, Result};

/// The axis of class scores a probe produces.
const CLASSES: &str = "classes";

/// A linear classifier over one feature axis of captured activations, fitted in closed
/// form: ridge regression onto one-hot targets (with an unpenalized bias), solved by
/// Cholesky factorization in f64. It predicts the class with the highest score.
///
/// The fitted map is an [`Affine`] layer (`feature_axis` to `classes`), so a probe can be
/// inserted into a model like any layer.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::interpret::LinearProbe;
///
/// // Two clusters along `embedding`, one per class.
/// let x = NamedArray::from_f32(&[("sample", 4), ("embedding", 2)],
///     vec![1.0, 0.9, 1.1, 1.0, -1.0, -0.8, -0.9, -1.2])?;
/// let y = NamedArray::from_i64(&[("sample", 4)], vec![1, 1, 0, 0])?;
/// let probe = LinearProbe::fit(&x, &y, "embedding", 1e-3)?;
/// assert_eq!(probe.accuracy(&x, &y)?, 1.0);
/// assert_eq!(probe.predict(&x)?.to_i64_vec(), [1, 1, 0, 0]);
/// # Ok::<(), penzai::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearProbe {
    /// The fitted map from `feature_axis` to `classes` scores.
    pub layer: Affine,
    /// The axis of the activations the probe reads.
    pub feature_axis: String,
    /// Number of classes.
    pub classes: usize,
}

fn config(message: String) -> Error {
    Error::Layer(LayerError::Config(message))
}

impl LinearProbe {
    /// Fits a probe: `features` has the sample axes (those of `labels`) and
    /// `feature_axis`; `labels` holds class ids `0..c` as `i64`. `ridge` (>= 0) is the
    /// penalty on the weights.
    pub fn fit(
        features: &NamedArray,
        labels: &NamedArray,
        feature_axis: &str,
        ridge: f64,
    ) -> Result<LinearProbe> {
        let (d, sample_axes, y, classes) = prepare(features, labels, feature_axis, ridge)?;
        let sample_refs: Vec<&str> = sample_axes.iter().map(String::as_str).collect();
        let mut order = sample_refs.clone();
        order.push(feature_axis);
        let x = features.to_ndarray_f32(&order)?;
        let x: Vec<f32> = x.iter().copied().collect();
        let n = y.len();

        // Normal equations with a bias column: (X^T X + ridge I') w = X^T Y.
        let k = d + 1;
        let mut a = vec![0.0f64; k * k];
        let mut b = vec![0.0f64; k * classes];
        let mut row = vec![0.0f64; k];
        for (s, &label) in y.iter().enumerate() {
            for (r, v) in row.iter_mut().zip(&x[s * d..(s + 1) * d]) {
                *r = f64::from(*v);
            }
            row[d] = 1.0;
            for i in 0..k {
                let ri = row[i];
                for j in 0..=i {
                    a[i * k + j] += ri * row[j];
                }
                b[i * classes + label as usize] += ri;
            }
        }
        for i in 0..k {
            for j in 0..i {
                a[j * k + i] = a[i * k + j];
            }
        }
        for i in 0..d {
            a[i * k + i] += ridge;
        }
        cholesky_solve(&mut a, &mut b, k, classes).map_err(|pivot| {
            config(format!(
                "the probe's normal equations are singular at feature {pivot} ({n} samples, \
                 {d} features); use a larger ridge penalty"
            ))
        })?;

        let weights: Vec<f32> = b[..d * classes].iter().map(|&v| v as f32).collect();
        let bias: Vec<f32> = b[d * classes..].iter().map(|&v| v as f32).collect();
        let weights = NamedArray::from_f32(&[(feature_axis, d), (CLASSES, classes)], weights)?;
        let bias = NamedArray::from_f32(&[(CLASSES, classes)], bias)?;
        assemble(feature_axis, classes, weights, bias)
    }

    /// Fits the same probe as [`fit`](LinearProbe::fit) (the ridge least-squares objective
    /// onto one-hot targets, bias unpenalized) by gradient descent instead: `steps` steps of
    /// `optimizer` from zero weights, on the mean over samples of the squared error plus
    /// `ridge` times the squared weights (the closed form's objective divided by the sample
    /// count, so the same minimum). Returns the probe and its training log.
    pub fn fit_by_gradient(
        features: &NamedArray,
        labels: &NamedArray,
        feature_axis: &str,
        ridge: f64,
        steps: usize,
        optimizer: &mut dyn Optimizer,
    ) -> Result<(LinearProbe, TrainingLog)> {
        let (d, sample_axes, y, classes) = prepare(features, labels, feature_axis, ridge)?;
        let n = y.len();
        let mut one_hot = vec![0.0f32; n * classes];
        for (s, &c) in y.iter().enumerate() {
            one_hot[s * classes + c as usize] = 1.0;
        }
        let mut target_shape: Vec<(&str, usize)> = sample_axes
            .iter()
            .map(|a| (a.as_str(), features.axis_size(a).unwrap_or(0)))
            .collect();
        target_shape.push((CLASSES, classes));
        let targets = NamedArray::from_f32(&target_shape, one_hot)?;
        let zeros = NamedArray::zeros(&[(feature_axis, d), (CLASSES, classes)])?;
        let mut probe = assemble(
            feature_axis,
            classes,
            zeros,
            NamedArray::zeros(&[(CLASSES, classes)])?,
        )?;
        let ridge = ridge as f32;
        let count = n.max(1) as f32;
        let log = train(
            &mut probe.layer,
            &Trainable::all(),
            optimizer,
            steps,
            |layer, _| {
                let scores = Context::new().run(layer, features.clone())?;
                let error = (&scores - &targets)?.square()?.sum_all()?;
                let weights = &crate::nn::parameters(layer)
                    .into_iter()
                    .find(|(_, p)| &*p.label == "probe.weights")
                    .map(|(_, p)| p.value.clone())
                    .ok_or_else(|| config("the probe lost its weights".to_owned()))?;
                let penalty = (weights.square()?.sum_all()? * ridge)?;
                Ok(((&error + &penalty)? / count)?)
            },
        )?;
        Ok((probe, log))
    }

    /// The class scores: `features` with `feature_axis` replaced by `classes`.
    pub fn scores(&self, features: &NamedArray) -> Result<NamedArray> {
        Context::new().run(&self.layer, features.clone())
    }

    /// The predicted class ids (`i64`), over the sample axes.
    pub fn predict(&self, features: &NamedArray) -> Result<NamedArray> {
        Ok(self.scores(features)?.argmax(CLASSES)?)
    }

    /// The fraction of samples whose predicted class equals the label.
    pub fn accuracy(&self, features: &NamedArray, labels: &NamedArray) -> Result<f32> {
        check_samples(features, labels, &self.feature_axis)?;
        let hits = self.predict(features)?.eq_elem(labels)?;
        let n = hits.len().max(1) as f32;
        Ok(hits.to_f32_vec().iter().sum::<f32>() / n)
    }
}

/// The sample axes (those of `labels`), checked against the features' other axes.
/// The probe with these weights (`{feature_axis, classes}`) and bias (`{classes}`).
fn assemble(
    feature_axis: &str,
    classes: usize,
    weights: NamedArray,
    bias: NamedArray,
) -> Result<LinearProbe> {
    let linear = Linear::from_weights(
        Parameter::new("probe.weights", weights),
        vec![feature_axis.into()],
        vec![CLASSES.into()],
    )?;
    let mut steps = Steps::new();
    steps.push_named("linear", AnyLayer::new(linear))?;
    steps.push_named(
        "bias",
        AnyLayer::new(AddBias {
            bias: Parameter::new("probe.bias", bias),
        }),
    )?;
    Ok(LinearProbe {
        layer: Affine { steps },
        feature_axis: feature_axis.to_owned(),
        classes,
    })
}

/// The checks shared by both fits: the feature size, the sample axes, the labels (row-major
/// over the sample axes) and the class count.
fn prepare(
    features: &NamedArray,
    labels: &NamedArray,
    feature_axis: &str,
    ridge: f64,
) -> Result<(usize, Vec<String>, Vec<i64>, usize)> {
    let d = features.axis_size(feature_axis).ok_or_else(|| {
        config(format!(
            "the features {} have no axis {feature_axis:?}",
            features.named_shape()
        ))
    })?;
    let sample_axes = check_samples(features, labels, feature_axis)?;
    if labels.dtype() != DType::I64 {
        return Err(config(format!(
            "probe labels must be i64 class ids; got {:?}",
            labels.dtype()
        )));
    }
    if ridge.is_nan() || ridge < 0.0 {
        return Err(config(format!(
            "the ridge penalty must be >= 0; got {ridge}"
        )));
    }
    let sample_refs: Vec<&str> = sample_axes.iter().map(String::as_str).collect();
    let y = labels.move_to_front(&sample_refs)?.to_i64_vec();
    if let Some(bad) = y.iter().find(|&&c| c < 0) {
        return Err(config(format!("probe labels must be >= 0; got {bad}")));
    }
    let classes = y.iter().max().map_or(0, |&m| m as usize + 1);
    Ok((d, sample_axes, y, classes))
}

fn check_samples(
    features: &NamedArray,
    labels: &NamedArray,
    feature_axis: &str,
) -> Result<Vec<String>> {
    let features_shape = features.named_shape();
    let labels_shape = labels.named_shape();
    let matches = features.positional_shape().is_empty()
        && labels.positional_shape().is_empty()
        && features_shape.len() == labels_shape.len() + 1
        && !labels.has_axis(feature_axis)
        && labels_shape
            .iter()
            .all(|(axis, size)| features_shape.get(axis) == Some(size));
    if !matches {
        return Err(config(format!(
            "the labels' axes {labels_shape} must be the features' axes {features_shape} \
             without {feature_axis:?}"
        )));
    }
    Ok(labels_shape.names().map(|a| a.to_string()).collect())
}
