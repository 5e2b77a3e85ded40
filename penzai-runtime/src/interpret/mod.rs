//! Interpretability recipes built on selectors: capture, ablation, activation patching,
//! LoRA, logit lens and linear probes. Each is a library function used in a few lines.
//!
//! | Recipe | Functions |
//! |---|---|
//! | record activations | [`capture`], [`with_captures`], [`Capture`] |
//! | zero / mean / resample ablation, head masks | [`ablate`], [`resample`], [`Ablate`] |
//! | activation patching, sweeps over sites x positions | [`patch`], [`patch_sweep`] |
//! | attribution patching; gradients w.r.t. ablation masks | [`attribution_patching`], [`ablation_mask_gradient`] |
//! | low-rank adapters, trained with `grad::train` | [`loraify`], [`lora_trainable`], [`merge_lora`], [`LowRankAdapter`] |
//! | logit lens | [`logit_lens`], [`logit_lens_at`] |
//! | linear probes (closed-form ridge, or by gradient) | [`LinearProbe`] |
//! | per-token scores for token views | [`top_tokens`], [`next_token_loss`] |
//!
//! Recipes that insert layers use [`Selection::chain_after_with`](crate::select::Selection::chain_after_with),
//! which never turns a tap into an extra branch of a combinator: a capture leaves the
//! model's function unchanged.

mod ablate;
mod attribution;
mod capture;
mod checkpoint;
mod linalg;
mod logit_lens;
mod lora;
mod patch;
mod probe;
mod token_scores;

pub use ablate::{Ablate, Replacement, ablate, resample};
pub use attribution::{SITE_AXIS, ablation_mask_gradient, attribution_patching};
pub use capture::{Capture, Captured, capture, with_captures};
pub use checkpoint::checkpoint;
pub use logit_lens::{logit_lens, logit_lens_at};
pub use lora::{LowRankAdapter, RANK_AXIS, lora_trainable, loraify, merge_lora};
pub use patch::{PatchFromWorld, PatchingSweep, WORLDS, logit_difference, patch, patch_sweep};
pub use probe::LinearProbe;
pub use token_scores::{TokenLoss, TopTokens, next_token_loss, top_tokens};
