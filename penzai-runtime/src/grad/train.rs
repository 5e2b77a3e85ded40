//! A training loop: `value_and_grad` and an optimizer step per step, a progress line on a
//! terminal, and the loss curve as an SVG plot.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;

use crate::error::Result;
use crate::nx::NamedArray;
use crate::tree::Tree;

use super::{Optimizer, Trainable, value_and_grad};

/// The losses of a training run, one per step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingLog {
    /// The loss before each step's update.
    pub losses: Vec<f32>,
}

impl TrainingLog {
    /// The loss curve as a self-contained SVG document (steps across, loss up).
    pub fn to_svg(&self) -> String {
        let (w, h, pad) = (480.0f32, 240.0f32, 36.0f32);
        let finite: Vec<f32> = self
            .losses
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let lo = finite.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        let n = self.losses.len().max(2) - 1;
        let mut points = String::new();
        for (i, &v) in self.losses.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x = pad + (w - 2.0 * pad) * i as f32 / n as f32;
            let y = h - pad - (h - 2.0 * pad) * (v - lo) / (hi - lo);
            let _ = write!(points, "{x:.1},{y:.1} ");
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
             <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/>\
             <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#888\"/>\
             <text x=\"{pad}\" y=\"{t}\">loss {hi:.4}</text>\
             <text x=\"{pad}\" y=\"{bl}\">{lo:.4}</text>\
             <text x=\"{r}\" y=\"{bl}\" text-anchor=\"end\">step {steps}</text>\
             <polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1.5\" points=\"{points}\"/>\
             </svg>\n",
            b = h - pad,
            r = w - pad,
            t = pad - 6.0,
            bl = h - pad + 14.0,
            steps = self.losses.len(),
            points = points.trim_end(),
        )
    }

    /// Writes [`to_svg`](TrainingLog::to_svg) to `path`.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        std::fs::write(path, self.to_svg())?;
        Ok(())
    }
}

/// Trains `model` in place for `steps` steps: at each step, `loss(model, step)` is
/// differentiated with respect to the [`Trainable`] parameters and `optimizer` updates them.
/// On a terminal, a progress line on stderr shows the step and the loss.
///
/// ```
/// use penzai::grad::{Sgd, Trainable, train};
/// use penzai::nn::Parameter;
/// use penzai::nx::NamedArray;
///
/// // Fit w to 3 by least squares.
/// let mut w = Parameter::new("w", NamedArray::from_f32(&[("a", 1)], vec![0.0])?);
/// let log = train(&mut w, &Trainable::all(), &mut Sgd::new(0.25), 20, |w, _| {
///     Ok((&w.value - 3.0)?.square()?.sum_all()?)
/// })?;
/// assert!(log.losses[19] < 1e-3 * log.losses[0]);
/// assert!((w.value.to_f32_vec()[0] - 3.0).abs() < 1e-2);
/// # Ok::<(), penzai::Error>(())
/// ```
pub fn train<M: Tree + Clone>(
    model: &mut M,
    trainable: &Trainable,
    optimizer: &mut dyn Optimizer,
    steps: usize,
    mut loss: impl FnMut(&M, usize) -> Result<NamedArray>,
) -> Result<TrainingLog> {
    let show = std::io::stderr().is_terminal();
    let mut log = TrainingLog::default();
    for step in 0..steps {
        let (value, grads) = value_and_grad(model, trainable, |m| loss(m, step))?;
        optimizer.step(model, &grads)?;
        log.losses.push(value);
        if show {
            let filled = (step + 1) * 30 / steps.max(1);
            let bar = format!("{}{}", "=".repeat(filled), " ".repeat(30 - filled));
            let _ = write!(
                std::io::stderr(),
                "\rtrain [{bar}] {}/{steps} loss {value:.4}",
                step + 1
            );
        }
    }
    if show {
        let _ = writeln!(std::io::stderr());
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_plots_every_finite_loss() {
        let log = TrainingLog {
            losses: vec![4.0, 2.0, f32::NAN, 1.0],
        };
        let svg = log.to_svg();
        assert!(svg.starts_with("<svg"));
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 3);
        // The first point is the highest loss: at the top of the plot area.
        assert!(points.starts_with("36.0,36.0"));
        assert!(svg.contains("step 4"));
    }
}
