//! Named-axis arrays. PLACEHOLDER: replaced wholesale by the NamedArray work.

/// Placeholder named array (replaced by the real one).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NamedArray {
    /// Placeholder data.
    pub data: Vec<f32>,
}

/// Placeholder axis error (replaced by the real one).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct AxisError(pub String);
