//! One row of a checkpoint layout: an HF tensor, its shape, how its dimensions split into our
//! named axes, and which of our parameters it becomes. Both directions (load and export) read
//! the same rows, so they cannot drift apart.

/// Where an HF tensor goes in our model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// One parameter, by label.
    One(String),
    /// One parameter per index of `axis`, which the parameters themselves do not have
    /// (GPT-2's fused `c_attn` holds queries, keys and values side by side).
    Split {
        /// The axis the HF tensor is split along.
        axis: &'static str,
        /// One label per index.
        labels: Vec<String>,
    },
    /// Parameters of different sizes stacked along the tensor's first dimension (Phi-3's
    /// `qkv_proj` with grouped-query attention: the query rows, then the key rows, then the
    /// value rows). Each part names its own elements in row-major order, as `axes` does for a
    /// whole tensor; the tensor itself is read as `axes`, its first axis covering all rows.
    Rows {
        /// Each parameter's label and axes, in the tensor's row order.
        parts: Vec<(String, Vec<(&'static str, usize)>)>,
    },
}

/// One HF tensor and the parameter(s) it maps to.
///
/// `axes` name the stored tensor's elements in row-major order: each HF dimension is one
/// or more consecutive axes whose sizes multiply to it (`q_proj.weight` of shape
/// `[heads * head_dim, hidden]` is `heads, projection, embedding`). Since a row-major
/// buffer reshapes for free, the stored bytes become a `NamedArray` with these axes
/// without moving any element; our parameters' logical axis order is a storage detail.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorMap {
    /// The tensor's name in the checkpoint.
    pub name: String,
    /// Its shape in the checkpoint.
    pub shape: Vec<usize>,
    /// Named axes of its elements, outermost first.
    pub axes: Vec<(&'static str, usize)>,
    /// The parameter(s) it becomes.
    pub target: Target,
}

impl TensorMap {
    /// A tensor that becomes the parameter `label`.
    pub fn one(
        name: impl Into<String>,
        shape: &[usize],
        axes: &[(&'static str, usize)],
        label: impl Into<String>,
    ) -> TensorMap {
        TensorMap {
            name: name.into(),
            shape: shape.to_vec(),
            axes: axes.to_vec(),
            target: Target::One(label.into()),
        }
    }

    /// A tensor split along `axis` (one of `axes`) into the parameters `labels`.
    pub fn split(
        name: impl Into<String>,
        shape: &[usize],
        axes: &[(&'static str, usize)],
        axis: &'static str,
        labels: Vec<String>,
    ) -> TensorMap {
        TensorMap {
            name: name.into(),
            shape: shape.to_vec(),
            axes: axes.to_vec(),
            target: Target::Split { axis, labels },
        }
    }

    /// A tensor whose rows are the parameters `parts` one after another.
    pub fn rows(
        name: impl Into<String>,
        shape: &[usize],
        axes: &[(&'static str, usize)],
        parts: Vec<(String, Vec<(&'static str, usize)>)>,
    ) -> TensorMap {
        TensorMap {
            name: name.into(),
            shape: shape.to_vec(),
            axes: axes.to_vec(),
            target: Target::Rows { parts },
        }
    }

    /// The axis names, outermost first.
    pub fn axis_names(&self) -> Vec<&'static str> {
        self.axes.iter().map(|(n, _)| *n).collect()
    }

    /// The axes of the `i`th parameter: `axes`, minus the split axis if any, or the part's.
    pub fn parameter_axes(&self, i: usize) -> Vec<(&'static str, usize)> {
        match &self.target {
            Target::One(_) => self.axes.clone(),
            Target::Split { axis, .. } => self
                .axes
                .iter()
                .filter(|(n, _)| n != axis)
                .copied()
                .collect(),
            Target::Rows { parts } => parts.get(i).map(|(_, a)| a.clone()).unwrap_or_default(),
        }
    }

    /// The labels of the parameters this tensor becomes.
    pub fn labels(&self) -> Vec<&str> {
        match &self.target {
            Target::One(label) => vec![label.as_str()],
            Target::Split { labels, .. } => labels.iter().map(String::as_str).collect(),
            Target::Rows { parts } => parts.iter().map(|(l, _)| l.as_str()).collect(),
        }
    }
}

/// Describes named axes like `{a: 2, b: 3}` for messages, whatever their order.
pub(crate) fn describe_axes(axes: &[(&str, usize)]) -> String {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    let inner: Vec<String> = sorted.iter().map(|(n, s)| format!("{n}: {s}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A LayerNorm's scale and bias (`{hf}.weight`, `{hf}.bias`) as `{ours}.scale.weights` and
/// `{ours}.bias`: GPT-2 and GPT-NeoX share this layout.
pub(crate) fn layer_norm(hf: &str, d: usize, ours: &str) -> [TensorMap; 2] {
    [
        TensorMap::one(
            format!("{hf}.weight"),
            &[d],
            &[("embedding", d)],
            format!("{ours}.scale.weights"),
        ),
        TensorMap::one(
            format!("{hf}.bias"),
            &[d],
            &[("embedding", d)],
            format!("{ours}.bias"),
        ),
    ]
}
