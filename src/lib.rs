//! # penzai: models as data
//!
//! A neural network is a plain tree of structs whose forward pass is visible in the tree
//! itself, every array has named axes, and selectors return edited copies of a model.
//! See the README for a tour, and `examples/quickstart.rs` for the main job end to end.
//!
//! Build a model (its axes are checked while it compiles), run it, edit a copy, and look at
//! what changed:
//!
//! ```
//! use penzai::prelude::*;
//! use penzai::nn::Parameter;
//!
//! let model = model! {
//!     input: [batch, embedding: 8];
//!     up: Linear(embedding: 8 -> hidden: 16),
//!     act: Gelu,
//!     down: Linear(hidden: 16 -> embedding: 8),
//! }?;
//! let x = NamedArray::normal(0, &[("batch", 2), ("embedding", 8)], 0.0, 1.0)?;
//! let y = model.call(x.clone(), &mut Context::new())?;
//! assert_eq!(y.named_shape().to_string(), "{batch: 2, embedding: 8}");
//!
//! // Zero the output projection: an edited copy; `model` is untouched.
//! let edited = select(model.clone())
//!     .at_path("down.weights")?
//!     .try_apply(|_, p: Parameter| -> penzai::Result<Parameter> {
//!         Ok(p.with_value(NamedArray::zeros(p.value.named_shape())?))
//!     })?;
//! assert_eq!(edited.call(x, &mut Context::new())?.to_f32_vec(), vec![0.0; 16]);
//!
//! // The edit as a Treescope diff (a page with `.save_html(path)`, or text).
//! let diff = treescope::diff(&model, &edited);
//! assert!(!diff.is_empty());
//! # Ok::<(), penzai::Error>(())
//! ```
#![deny(missing_docs)]

pub use penzai_runtime::*;
