//! `Mlp`: a stack of affine layers with activations between them.

use crate::Result;
use crate::nn::{Activation, Affine, AnyLayer, Elementwise, Initializer, Steps};

crate::sequential_layer! {
    /// A multi-layer perceptron over one feature axis: steps `layer0`, `act0`, `layer1`,
    /// ... (an [`Affine`] per layer, an [`Elementwise`] activation between them).
    pub struct Mlp;
}

impl Mlp {
    /// An MLP with `sizes[0]` inputs and `sizes[i]` features after layer `i`, all along
    /// `feature_axis` (renamed in between so each weight has distinct input and output
    /// axes), with `activation` between layers and parameters labelled `label.layer{i}`.
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::nn::{Activation, Mlp};
    ///
    /// let mlp = Mlp::new(0, "mlp", "features", &[4, 16, 2], Activation::Relu)?;
    /// let y = mlp.call(NamedArray::ones(&[("batch", 3), ("features", 4)])?, &mut Context::new())?;
    /// assert_eq!(y.named_shape().to_string(), "{batch: 3, features: 2}");
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn new(
        seed: u64,
        label: &str,
        feature_axis: &str,
        sizes: &[usize],
        activation: Activation,
    ) -> Result<Mlp> {
        let mut steps = Steps::new();
        let out_axis = format!("{feature_axis}_out");
        for (i, pair) in sizes.windows(2).enumerate() {
            let layer_label = format!("{label}.layer{i}");
            let affine = Affine::new(
                seed,
                &layer_label,
                &[(feature_axis, pair[0])],
                &[(out_axis.as_str(), pair[1])],
                Initializer::XAVIER_UNIFORM,
            )?;
            let mut layer = Steps::new();
            layer.push_named("affine", AnyLayer::new(affine))?;
            layer.push_named(
                "rename",
                AnyLayer::new(crate::nn::RenameAxes::new(&out_axis, feature_axis)),
            )?;
            steps.push_named(
                format!("layer{i}"),
                AnyLayer::new(crate::nn::Sequential { steps: layer }),
            )?;
            if i + 2 < sizes.len() {
                steps.push_named(
                    format!("act{i}"),
                    AnyLayer::new(Elementwise::new(activation.clone())),
                )?;
            }
        }
        Ok(Mlp { steps })
    }
}
