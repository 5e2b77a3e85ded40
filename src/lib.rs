//! # penzai: models as data
//!
//! A neural network is a plain tree of structs whose forward pass is visible in the tree
//! itself, every array has named axes, and selectors return edited copies of a model.
//! See the README for a tour.
#![warn(missing_docs)]

pub use penzai_runtime::*;
