//! Interpretability recipes built on selectors: capture, ablation, patching, LoRA, logit
//! lens and linear probes.
