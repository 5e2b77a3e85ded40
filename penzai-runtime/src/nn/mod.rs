//! Layers: the [`Layer`] trait, the run [`Context`], parameters and initializers,
//! combinators and the layer library.

mod any_layer;
mod attention;
mod basic;
pub mod check;
mod combinators;
mod context;
mod einsum;
mod embed;
mod error;
mod init;
mod layer;
mod linear;
mod mask;
mod mlp;
mod norm;
mod options;
mod parameter;
pub mod rope;
mod sequential;
pub mod side_inputs;
pub mod signature;

pub use any_layer::AnyLayer;
pub use attention::{Attention, KVCache, KVCachingAttention};
pub use basic::{
    Activation, CastToDType, ConstantRescale, Dropout, Elementwise, NamedFn, Softmax, TanhSoftCap,
};
pub use check::{AxesSpec, SizeSpec};
pub use combinators::{BranchAndAdd, BranchAndMultiply, CheckAxes, Identity, RenameAxes, Residual};
pub use context::{AnyState, Context, Mode, label_hash, split_seed};
pub use einsum::{NamedEinsum, einsum2};
pub use embed::{AddPositionalEmbedding, EmbeddingDecode, EmbeddingLookup, EmbeddingTable};
pub use error::LayerError;
pub use init::{Distribution, FanMode, Initializer, WeightAxes};
pub use layer::{AsLayer, Layer, LayerCapability, LayerObject};
pub use linear::{AddBias, Affine, Linear};
pub use mask::{ApplyCausalMask, ApplyCausalSlidingWindowMask, ApplyExplicitMask, MASKED_SCORE};
pub use mlp::Mlp;
pub use norm::{LayerNorm, RMSNorm, RMSStandardize, Standardize};
pub use parameter::{Parameter, parameters, set_parameter};
pub use rope::{ApplyRoPE, ApplyRoPEToSubset};
pub use sequential::{NamedGroup, Sequential, Step, Steps};
pub use signature::{
    FlowAxes, HasSignature, Signature, SignatureAxis, StaticSignature, check_flow, check_flow_to,
};
