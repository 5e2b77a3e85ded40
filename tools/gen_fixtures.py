#!/usr/bin/env python3
"""Generates the tiny HuggingFace checkpoints under tests/fixtures/ (run by hand, never by CI).

Each fixture folder holds `config.json`, the weights (`model.safetensors`, or shards plus
`model.safetensors.index.json`), and `expected.json`:

    {
      "fixture": name, "layout": what the folder imitates, "weights_dtype": "F32" | "F16" | "BF16",
      "tensors": {name: {"dtype": ..., "shape": [...]}},   # every tensor the weights hold
      "prompts": [[token ids], ...],                        # 2 prompts of 8 tokens
      "logits": [[[vocab floats] x seq] x prompts],         # HF float32 eval-mode logits
      "greedy_new_tokens": [[8 ids] x prompts]              # argmax decoding, no EOS stop
    }

Every parameter, norms included, is re-initialised from a seeded normal(0, 0.2), so a loader that
drops or misplaces any tensor produces visibly different logits. The seeds were picked (by trying
a few) so that greedy decoding does not collapse onto one repeated token, which random tiny
models often do and which would make the generation check weak. gpt2-bf16 shares gpt2's seed;
its weights differ by the BF16 rounding and its prompts differ. Logits are computed in float32
with eager attention; the F16/BF16 fixtures store rounded weights and their logits come from the
same rounded weights upcast to float32.

Layouts (transformers 5 saves differently from the 4.x releases most published checkpoints
come from, so 4.x layouts are produced by post-processing the saved files):

    gpt2            transformers 5: names prefixed `transformer.`, tied lm_head omitted.
    gpt2-legacy     4.x / published-checkpoint layout: the same weights as `gpt2`, names without
                    the `transformer.` prefix, plus `h.{i}.attn.bias` (F32 [1,1,P,P] causal
                    mask) and `h.{i}.attn.masked_bias` (F32 scalar -1e4) buffers; 4.x-style
                    config (`torch_dtype`, `n_ctx`, `task_specific_params`).
    gpt2-bf16       transformers 5 layout, BF16 weights.
    llama-mha       transformers 5: `rope_parameters: {rope_type, rope_theta}`, untied.
    llama-gqa-tied  4.x config layout: top-level `rope_theta` (50000), `rope_scaling: null`;
                    4 query heads over 2 kv heads; tied embeddings (no lm_head.weight saved).
    llama-sharded   the `llama-mha` weights split into 2 shards + model.safetensors.index.json.
    llama-f16       transformers 5 layout, F16 weights.
    mistral-sliding transformers 5 layout, GQA, sliding_window 4 (shorter than the prompts).
    qwen2-mqa       transformers 5 layout, Qwen2: multi-query (4 query heads over 1 kv head),
                    biases on the query, key and value projections, untied.
    qwen2-sliding   Qwen2 with use_sliding_window, sliding_window 3 from layer 1 on
                    (max_window_layers 1): per-layer windows.
    llama3-rope     Llama 3.x shape in miniature: 4.x config with `rope_scaling` of type llama3
                    (factor 8, low/high 1/4, original 64 of 128), GQA, tied, BF16 weights.
    llama-linear    `rope_parameters` linear, factor 4.
    llama-dynamic   dynamic NTK, factor 2 over max_position_embeddings 4 (shorter than the
                    prompts, so the base grows).
    llama-yarn      YaRN, factor 4 over original_max_position_embeddings 16.
    llama-longrope  LongRoPE, short/long factors over original 4 (the long ones apply).
    qwen3-qknorm    Qwen3: query/key RMSNorms, GQA, sliding window 3 on layer 1.
    gemma-mqa       Gemma 1: multi-query, tanh-GELU, (1 + w) norms, sqrt(d) embedding scale, tied.
    gemma2-softcap  Gemma 2: soft caps 2 (attention) and 5 (logits) that bind,
                    query_pre_attn_scalar 16, sliding window 3 on layer 0, post-norms.
    phi3-longrope   Phi-3: fused qkv_proj and gate_up_proj, partial rotary 0.5, LongRoPE over
                    original 4 (long factors apply), sliding window 3 on every layer.
    phi3-gqa        Phi-3 with grouped-query attention (4 query heads over 2 kv heads): a fused
                    qkv_proj of unequal parts; partial rotary 0.5.
    gemma3-text     Gemma 3 text: query/key norms, local RoPE base 1e4 on sliding layers
                    (window 3, pattern 2) and global base 1e6 with linear scaling 2.
    neox-parallel   GPT-NeoX / Pythia in the published 4.x layout: parallel residual, rotary_pct
                    0.25 of 16-wide heads, rotary_emb_base, attention biases, untied embed_out,
                    4.x config keys, plus the `attention.bias` (BOOL causal mask),
                    `attention.masked_bias` and `attention.rotary_emb.inv_freq` buffers.
    neox-sequential GPT-NeoX, transformers 5 layout: use_parallel_residual false, partial
                    rotary 0.5, rope_theta 1000, no attention biases.

The checkpoints with a tokenizer.json (gpt2-text, llama-text) and the tokenizer fixtures come
from the sibling script tools/gen_tokenizer_fixtures.py, which reuses the helpers here.

Usage (a venv outside the repo; CPU wheels from PyPI):
    python3 -m venv /work/venv-fixtures
    /work/venv-fixtures/bin/pip install torch transformers safetensors
    /work/venv-fixtures/bin/python tools/gen_fixtures.py [out_dir [family ...]]
        # default tests/fixtures; families gpt2, llama, mistral, qwen2 (default: all)
"""

import json
import os
import shutil
import sys

import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    GemmaConfig,
    GemmaForCausalLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3TextConfig,
    Gemma3ForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
)

SEQ = 8
PROMPTS = 2
NEW_TOKENS = 8
INIT_STD = 0.2


def reinit(model, seed):
    """Re-initialises every parameter (tied ones once) from a seeded normal(0, INIT_STD)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * INIT_STD)
    return model.eval()


def prompts(vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (PROMPTS, SEQ), generator=gen)


def greedy(model, ids):
    """Argmax decoding of NEW_TOKENS tokens, one full forward pass per step, no EOS stop."""
    out = ids
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            nxt = model(out).logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
    return out[:, ids.shape[1]:]


def tensor_table(folder):
    """{name: {dtype, shape}} over every safetensors file in `folder`."""
    table = {}
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".safetensors"):
            with safe_open(os.path.join(folder, fname), "pt") as f:
                for name in f.keys():
                    sl = f.get_slice(name)
                    table[name] = {"dtype": sl.get_dtype(), "shape": list(sl.get_shape())}
    return dict(sorted(table.items()))


def write_expected(folder, name, layout, model, ids, weights_dtype):
    with torch.no_grad():
        logits = model(ids).logits.float()
    expected = {
        "fixture": name,
        "layout": layout,
        "weights_dtype": weights_dtype,
        "tensors": tensor_table(folder),
        "prompts": ids.tolist(),
        "logits": logits.tolist(),
        "greedy_new_tokens": greedy(model, ids).tolist(),
    }
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")


def edit_config(folder, edit):
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    edit(config)
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def save(model, folder):
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    # transformers writes a generation_config.json we do not use.
    gen = os.path.join(folder, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)


def upcast(model, dtype):
    """Rounds the weights to `dtype` in place and returns the model back in float32."""
    return model.to(dtype).to(torch.float32)


def gpt2_config():
    return GPT2Config(
        n_embd=32, n_layer=2, n_head=4, vocab_size=97, n_positions=64,
        bos_token_id=0, eos_token_id=0, attn_implementation="eager",
    )


def llama_kwargs(**extra):
    kwargs = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        vocab_size=101, max_position_embeddings=64, bos_token_id=1, eos_token_id=2,
        attn_implementation="eager",
    )
    kwargs.update(extra)
    return kwargs


def make_gpt2(out):
    model = reinit(GPT2LMHeadModel(gpt2_config()), seed=17)
    ids = prompts(97, seed=101)

    folder = os.path.join(out, "gpt2")
    save(model, folder)
    write_expected(folder, "gpt2", "transformers-5", model, ids, "F32")

    # 4.x / published layout: strip `transformer.`, add the attention-mask buffers.
    legacy = os.path.join(out, "gpt2-legacy")
    shutil.rmtree(legacy, ignore_errors=True)
    os.makedirs(legacy)
    shutil.copy(os.path.join(folder, "config.json"), legacy)
    tensors = {}
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        for name in f.keys():
            tensors[name.removeprefix("transformer.")] = f.get_tensor(name)
    n_pos = model.config.n_positions
    for i in range(model.config.n_layer):
        tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n_pos, n_pos)).view(1, 1, n_pos, n_pos)
        tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(tensors, os.path.join(legacy, "model.safetensors"), metadata={"format": "pt"})

    def to_4x(c):
        c["torch_dtype"] = c.pop("dtype", "float32")
        c["n_ctx"] = c["n_positions"]
        c["task_specific_params"] = {"text-generation": {"do_sample": True, "max_length": 50}}
        c["transformers_version"] = "4.46.3"
        c.pop("add_cross_attention", None)

    edit_config(legacy, to_4x)
    write_expected(legacy, "gpt2-legacy", "transformers-4.x published", model, ids, "F32")

    bf16 = os.path.join(out, "gpt2-bf16")
    model_bf16 = reinit(GPT2LMHeadModel(gpt2_config()), seed=17)
    save(model_bf16.to(torch.bfloat16), bf16)
    write_expected(bf16, "gpt2-bf16", "transformers-5", upcast(model_bf16, torch.bfloat16),
                   prompts(97, seed=102), "BF16")


def make_llama(out):
    model = reinit(LlamaForCausalLM(LlamaConfig(**llama_kwargs())), seed=3)
    ids = prompts(101, seed=103)
    folder = os.path.join(out, "llama-mha")
    save(model, folder)
    write_expected(folder, "llama-mha", "transformers-5", model, ids, "F32")

    # The same weights in two shards with an index.
    sharded = os.path.join(out, "llama-sharded")
    shutil.rmtree(sharded, ignore_errors=True)
    os.makedirs(sharded)
    shutil.copy(os.path.join(folder, "config.json"), sharded)
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        names = sorted(f.keys())
        tensors = {n: f.get_tensor(n) for n in names}
    shard_names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    half = len(names) // 2
    weight_map = {}
    for shard, part in zip(shard_names, [names[:half], names[half:]]):
        save_file({n: tensors[n] for n in part}, os.path.join(sharded, shard),
                  metadata={"format": "pt"})
        weight_map.update({n: shard for n in part})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    with open(os.path.join(sharded, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")
    write_expected(sharded, "llama-sharded", "transformers-5, 2 shards", model, ids, "F32")

    gqa_cfg = LlamaConfig(**llama_kwargs(num_key_value_heads=2, tie_word_embeddings=True,
                                         rope_theta=50000.0))
    gqa = reinit(LlamaForCausalLM(gqa_cfg), seed=9)
    folder = os.path.join(out, "llama-gqa-tied")
    save(gqa, folder)

    def to_4x(c):
        params = c.pop("rope_parameters")
        assert params["rope_type"] == "default", params
        c["rope_theta"] = params["rope_theta"]
        c["rope_scaling"] = None
        c["torch_dtype"] = c.pop("dtype", "float32")
        c["transformers_version"] = "4.46.3"

    edit_config(folder, to_4x)
    write_expected(folder, "llama-gqa-tied", "transformers-4.x config (top-level rope_theta)",
                   gqa, prompts(101, seed=104), "F32")

    f16 = reinit(LlamaForCausalLM(LlamaConfig(**llama_kwargs(num_key_value_heads=2))), seed=5)
    folder = os.path.join(out, "llama-f16")
    save(f16.to(torch.float16), folder)
    write_expected(folder, "llama-f16", "transformers-5", upcast(f16, torch.float16),
                   prompts(101, seed=105), "F16")


def make_mistral(out):
    cfg = MistralConfig(**llama_kwargs(num_key_value_heads=2, sliding_window=4))
    model = reinit(MistralForCausalLM(cfg), seed=7)
    folder = os.path.join(out, "mistral-sliding")
    save(model, folder)
    write_expected(folder, "mistral-sliding", "transformers-5", model, prompts(101, seed=106),
                   "F32")


def make_qwen2(out):
    cfg = Qwen2Config(**llama_kwargs(num_key_value_heads=1, tie_word_embeddings=False))
    model = reinit(Qwen2ForCausalLM(cfg), seed=11)
    folder = os.path.join(out, "qwen2-mqa")
    save(model, folder)
    write_expected(folder, "qwen2-mqa", "transformers-5", model, prompts(101, seed=107), "F32")


def simple(out, name, model, seed, layout="transformers-5", edit=None, dtype=None):
    """Saves `model` under `name` (optionally with its config edited and its weights rounded to
    `dtype`) and writes the expected outputs for prompts drawn with `seed`."""
    folder = os.path.join(out, name)
    vocab = model.config.vocab_size
    if dtype is None:
        save(model, folder)
        weights = "F32"
    else:
        save(model.to(dtype), folder)
        model = upcast(model, dtype)
        weights = {torch.bfloat16: "BF16", torch.float16: "F16"}[dtype]
    if edit is not None:
        edit_config(folder, edit)
    write_expected(folder, name, layout, model, prompts(vocab, seed), weights)


def make_qwen2_sliding(out):
    cfg = Qwen2Config(**llama_kwargs(num_key_value_heads=2, use_sliding_window=True,
                                     sliding_window=3, max_window_layers=1))
    simple(out, "qwen2-sliding", reinit(Qwen2ForCausalLM(cfg), seed=12), seed=108)


def make_rope(out):
    # Llama 3.2-1B in miniature: llama3 RoPE, GQA, tied, bf16, 4.x config keys.
    cfg = LlamaConfig(**llama_kwargs(
        num_key_value_heads=2, tie_word_embeddings=True, max_position_embeddings=128,
        rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 64}))

    def to_4x(c):
        params = c.pop("rope_parameters")
        c["rope_theta"] = params.pop("rope_theta")
        c["rope_scaling"] = params
        c["torch_dtype"] = c.pop("dtype", "bfloat16")
        c["transformers_version"] = "4.46.3"

    simple(out, "llama3-rope", reinit(LlamaForCausalLM(cfg), seed=21), seed=109,
           layout="transformers-4.x config (rope_scaling llama3)", edit=to_4x,
           dtype=torch.bfloat16)
    kinds = {
        "llama-linear": ({"rope_type": "linear", "factor": 4.0}, {}),
        "llama-dynamic": ({"rope_type": "dynamic", "factor": 2.0},
                          {"max_position_embeddings": 4}),
        "llama-yarn": ({"rope_type": "yarn", "factor": 4.0,
                        "original_max_position_embeddings": 16}, {}),
        "llama-longrope": ({"rope_type": "longrope", "short_factor": [1.0, 1.5, 2.0, 3.0],
                            "long_factor": [1.0, 2.0, 4.0, 9.0],
                            "original_max_position_embeddings": 4}, {}),
    }
    for i, (name, (params, extra)) in enumerate(kinds.items()):
        params = dict(params, rope_theta=10000.0)
        cfg = LlamaConfig(**llama_kwargs(rope_parameters=params, **extra))
        simple(out, name, reinit(LlamaForCausalLM(cfg), seed=22 + i), seed=110 + i)


def make_qwen3(out):
    cfg = Qwen3Config(**llama_kwargs(num_key_value_heads=2, head_dim=8, use_sliding_window=True,
                                     sliding_window=3, max_window_layers=1))
    simple(out, "qwen3-qknorm", reinit(Qwen3ForCausalLM(cfg), seed=31), seed=120)


def make_gemma(out):
    cfg = GemmaConfig(**llama_kwargs(num_key_value_heads=1, head_dim=8, bos_token_id=2,
                                     eos_token_id=1, pad_token_id=0))
    simple(out, "gemma-mqa", reinit(GemmaForCausalLM(cfg), seed=41), seed=121)
    cfg = Gemma2Config(**llama_kwargs(num_key_value_heads=2, head_dim=8, bos_token_id=2,
                                      eos_token_id=1, pad_token_id=0, sliding_window=3,
                                      attn_logit_softcapping=2.0, final_logit_softcapping=5.0,
                                      query_pre_attn_scalar=16))
    simple(out, "gemma2-softcap", reinit(Gemma2ForCausalLM(cfg), seed=42), seed=122)
    cfg = Gemma3TextConfig(**llama_kwargs(
        num_key_value_heads=2, head_dim=8, bos_token_id=2, eos_token_id=1, pad_token_id=0,
        sliding_window=3, query_pre_attn_scalar=16,
        layer_types=["sliding_attention", "full_attention"],
        rope_parameters={
            "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
        }))
    simple(out, "gemma3-text", reinit(Gemma3ForCausalLM(cfg), seed=43), seed=123)


def make_phi3(out):
    cfg = Phi3Config(**llama_kwargs(
        sliding_window=3, original_max_position_embeddings=4, pad_token_id=0,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                         "partial_rotary_factor": 0.5, "short_factor": [1.0, 2.0],
                         "long_factor": [1.5, 5.0]}))
    simple(out, "phi3-longrope", reinit(Phi3ForCausalLM(cfg), seed=51), seed=124)
    # Grouped-query attention: qkv_proj holds 4 query heads' rows, then 2 key and 2 value
    # heads' rows; a quarter of each head rotated.
    cfg = Phi3Config(**llama_kwargs(
        num_key_value_heads=2, pad_token_id=0,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                         "partial_rotary_factor": 0.5}))
    simple(out, "phi3-gqa", reinit(Phi3ForCausalLM(cfg), seed=52), seed=125)


def neox_kwargs(**extra):
    kwargs = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        vocab_size=101, max_position_embeddings=16, bos_token_id=0, eos_token_id=0,
        attn_implementation="eager",
    )
    kwargs.update(extra)
    return kwargs


def make_neox(out):
    # Pythia's layout: parallel residual, a quarter of each head rotated, 4.x config keys and
    # the buffers the published checkpoints carry.
    cfg = GPTNeoXConfig(**neox_kwargs(
        use_parallel_residual=True, rope_parameters={"rope_type": "default",
                                                     "rope_theta": 10000.0,
                                                     "partial_rotary_factor": 0.25}))
    model = reinit(GPTNeoXForCausalLM(cfg), seed=63)
    folder = os.path.join(out, "neox-parallel")
    save(model, folder)
    path = os.path.join(folder, "model.safetensors")
    with safe_open(path, "pt") as f:
        tensors = {n: f.get_tensor(n) for n in f.keys()}
    n_pos = cfg.max_position_embeddings
    rotary = int(cfg.hidden_size // cfg.num_attention_heads * 0.25)
    for i in range(cfg.num_hidden_layers):
        p = f"gpt_neox.layers.{i}.attention."
        tensors[p + "bias"] = torch.tril(torch.ones(n_pos, n_pos, dtype=torch.bool)).view(
            1, 1, n_pos, n_pos)
        tensors[p + "masked_bias"] = torch.tensor(-1e9)
        tensors[p + "rotary_emb.inv_freq"] = 1.0 / (
            10000.0 ** (torch.arange(0, rotary, 2, dtype=torch.float) / rotary))
    save_file(tensors, path, metadata={"format": "pt"})

    def to_4x(c):
        params = c.pop("rope_parameters")
        c["rotary_emb_base"] = params["rope_theta"]
        c["rotary_pct"] = params["partial_rotary_factor"]
        c["torch_dtype"] = c.pop("dtype", "float32")
        c["transformers_version"] = "4.24.0"

    edit_config(folder, to_4x)
    write_expected(folder, "neox-parallel", "transformers-4.x published (Pythia)", model,
                   prompts(101, seed=130), "F32")

    cfg = GPTNeoXConfig(**neox_kwargs(
        use_parallel_residual=False, attention_bias=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1000.0,
                         "partial_rotary_factor": 0.5}))
    simple(out, "neox-sequential", reinit(GPTNeoXForCausalLM(cfg), seed=102), seed=131)


FAMILIES = {"gpt2": make_gpt2, "llama": make_llama, "mistral": make_mistral, "qwen2": make_qwen2,
            "qwen2-sliding": make_qwen2_sliding, "rope": make_rope, "qwen3": make_qwen3,
            "gemma": make_gemma, "phi3": make_phi3,
            "neox": make_neox}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
    torch.use_deterministic_algorithms(True)
    for family in sys.argv[2:] or FAMILIES:
        FAMILIES[family](out)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"safetensors {safetensors.__version__}")


if __name__ == "__main__":
    main()
