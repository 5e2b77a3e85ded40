//! Layers: the [`Layer`] trait, the run [`Context`], dynamic [`AnyLayer`] slots.

mod any_layer;
mod context;
mod layer;

pub use any_layer::AnyLayer;
pub use context::Context;
pub use layer::{Layer, LayerObject};
