#!/usr/bin/env python3
"""Builds real-size checkpoints with random weights for the performance comparisons (run by hand).

Nothing is downloaded: transformers builds each model from a config, the weights are redrawn from
a seeded normal N(0, 0.02) (norm scales 1 + N(0, 0.02), biases N(0, 0.02)) so activations stay in
range, and the model is saved with `save_pretrained` (one safetensors file). The shapes are those
of shared/reference/realsize.md:

    gpt2-small         transformers' GPT2Config() defaults: 12 layers, d 768, 12 heads,
                       vocab 50257, tied embeddings; saved as F32 (about 498 MB).
    llama-1b           Llama-3.2-1B's shape: vocab 128256, hidden 2048, intermediate 8192,
                       16 layers, 32 heads over 8 KV heads, head_dim 64, rms_norm_eps 1e-5,
                       tied embeddings, rope_theta 500000, rope scaling `llama3` (factor 32,
                       low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings
                       8192); saved as BF16 (about 2.47 GB).
    llama-1b-plain-rope  the same weights (hard links to llama-1b's files) with plain RoPE, for
                       loaders that do not support `llama3` rope scaling yet.

Usage (the fixtures venv has torch and transformers; the folder must be outside the repo):
    /work/venv-fixtures/bin/python tools/make_realsize.py [out_dir] [gpt2-small|llama-1b ...]
        # default out_dir /work/realsize, default: every model
"""

import json
import os
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

SEED = 1234
STD = 0.02

LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 32.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}


def is_norm_scale(name):
    """LayerNorm / RMSNorm scales (1 + noise), as opposed to matrices and biases (noise)."""
    leaf = name.rsplit(".", 1)[-1]
    owner = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
    return leaf == "weight" and ("norm" in owner or owner.startswith("ln_"))


@torch.no_grad()
def randomize(model):
    gen = torch.Generator().manual_seed(SEED)
    for name, p in model.named_parameters():
        noise = torch.empty(p.shape, dtype=torch.float32)
        noise.normal_(0.0, STD, generator=gen)
        if is_norm_scale(name):
            noise += 1.0
        p.copy_(noise.to(p.dtype))


def gpt2_small(out):
    config = GPT2Config()
    model = GPT2LMHeadModel(config)
    randomize(model)
    model.save_pretrained(out, max_shard_size="50GB")


def llama_1b(out, plain_out):
    config = LlamaConfig(
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        rms_norm_eps=1e-5,
        max_position_embeddings=131072,
        tie_word_embeddings=True,
        rope_parameters=dict(LLAMA3_ROPE),
        bos_token_id=128000,
        eos_token_id=128001,
    )
    # Built on the meta device and materialized in bf16: 2.5 GB instead of 5 GB of f32.
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu").to(torch.bfloat16)
    # Materializing gives lm_head its own storage: tie it back to the embedding.
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    randomize(model)
    model.config.dtype = torch.bfloat16
    model.save_pretrained(out, max_shard_size="50GB")

    os.makedirs(plain_out, exist_ok=True)
    for name in os.listdir(out):
        if name == "config.json":
            continue
        target = os.path.join(plain_out, name)
        if os.path.exists(target):
            os.remove(target)
        os.link(os.path.join(out, name), target)
    with open(os.path.join(out, "config.json")) as f:
        plain = json.load(f)
    plain["rope_parameters"] = {"rope_type": "default", "rope_theta": 500000.0}
    plain.pop("rope_scaling", None)
    with open(os.path.join(plain_out, "config.json"), "w") as f:
        json.dump(plain, f, indent=2)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/realsize"
    which = sys.argv[2:] or ["gpt2-small", "llama-1b"]
    os.makedirs(out_dir, exist_ok=True)
    if "gpt2-small" in which:
        gpt2_small(os.path.join(out_dir, "gpt2-small"))
    if "llama-1b" in which:
        llama_1b(os.path.join(out_dir, "llama-1b"), os.path.join(out_dir, "llama-1b-plain-rope"))
    for name in sorted(os.listdir(out_dir)):
        folder = os.path.join(out_dir, name)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{folder}: {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
