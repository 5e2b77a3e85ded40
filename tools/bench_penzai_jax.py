#!/usr/bin/env python3
"""The Penzai + JAX side of `penzai bench` (run by hand, never by CI).

Prints one JSON object per case, with the case names `penzai bench` (no --model) and
examples/bench_json.rs print, measured as /work/shared/reference/penzai-baseline.md describes:
`time.perf_counter()` around the call plus `jax.block_until_ready`, `seconds` the median of
repeated calls, `_first` cases one cold call in this process (tracing and XLA compilation
included). Jitted cases use `jax.jit` on `pz.freeze_params(model)`; the capture forward uses
`toolshed.jit_wrapper.Jitted`, which writes the saved values back.

Usage (a venv with penzai 0.2.5 and jax[cpu]):
    JAX_PLATFORMS=cpu /work/venv-penzai/bin/python tools/bench_penzai_jax.py [--quick]
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import treescope
from penzai import pz
from penzai.models.transformer.variants import llamalike_common
from penzai.toolshed import jit_wrapper, save_intermediates


def timed(f, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def report(case, seconds, **extra):
    print(json.dumps({"case": case, "seconds": round(seconds, 6), **extra}), flush=True)


def config(layers, d, heads, hd, mlp, vocab):
    return llamalike_common.LlamalikeTransformerConfig(
        num_kv_heads=heads,
        query_head_multiplier=1,
        embedding_dim=d,
        projection_dim=hd,
        mlp_hidden_dim=mlp,
        num_decoder_blocks=layers,
        vocab_size=vocab,
        mlp_variant="swiglu",
        tie_embedder_and_logits=False,
    )


def build(cfg):
    return llamalike_common.build_llamalike_transformer(cfg, init_base_rng=jax.random.key(0))


def tokens(batch, seq, vocab):
    ids = (np.arange(batch * seq) * 7919) % vocab
    return pz.nx.wrap(jnp.asarray(ids.reshape(batch, seq), dtype=jnp.int32)).tag("batch", "seq")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    reps = (lambda n: max(1, -(-n // 4))) if args.quick else (lambda n: n)

    small_cfg = config(2, 64, 4, 16, 256, 256)
    big_cfg = config(12, 256, 8, 32, 1024, 1024)

    s, small = timed(lambda: build(small_cfg), 1)
    report("a_build_small_first", s)
    s, _ = timed(lambda: build(small_cfg), reps(5))
    report("a_build_small", s)

    x = tokens(1, 32, 256)
    frozen = pz.freeze_params(small)
    fwd = jax.jit(lambda m, t: m(t))
    s, _ = timed(lambda: fwd(frozen, x), 1)
    report("b_forward_small_first", s, note="jax.jit first call")
    s, _ = timed(lambda: fwd(frozen, x), reps(20))
    report("b_forward_small", s, note="jax.jit")

    s, big = timed(lambda: build(big_cfg), 1)
    report("c_build_big", s)
    x = tokens(4, 128, 1024)
    frozen_big = pz.freeze_params(big)
    fwd_big = jax.jit(lambda m, t: m(t))
    s, _ = timed(lambda: fwd_big(frozen_big, x), 1)
    report("c_forward_big_first", s, note="jax.jit first call")
    s, _ = timed(lambda: fwd_big(frozen_big, x), reps(10))
    report("c_forward_big", s, tokens_per_s=round(512 / s), note="jax.jit")

    linear = pz.nn.Linear
    s, count = timed(lambda: pz.select(big).at_instances_of(linear).count(), reps(50))
    report("d_select_count_linear", s, count=count)
    s, _ = timed(lambda: pz.select(big).at_instances_of(pz.Parameter).count(), reps(50))
    report("d_select_count_parameters", s)
    s, _ = timed(
        lambda: pz.select(big).at_instances_of(linear).insert_after(pz.nn.Identity()), reps(20)
    )
    report("d_insert_after_linear_identity", s)
    s, _ = timed(lambda: pz.select(big).at_instances_of(linear).apply(lambda l: l), reps(20))
    report("d_apply_linear_identity_fn", s)

    s, html = timed(lambda: treescope.render_to_html(big), reps(3))
    report("e_treescope_model_html", s, bytes=len(html))
    s, text = timed(lambda: treescope.render_to_text(big), reps(3))
    report("e_treescope_model_text", s, bytes=len(text))
    a = np.random.default_rng(0).normal(size=(512, 512)).astype(np.float32)
    s, page = timed(lambda: treescope.render_array(a)._repr_html_(), reps(5))
    report("e_render_array_512", s, bytes=len(page))

    from penzai.models.transformer import model_parts

    def with_captures():
        return (
            pz.select(big)
            .at_instances_of(model_parts.TransformerBlock)
            .insert_after(None, and_select=True)
            .apply(lambda _: save_intermediates.SaveIntermediate())
        )

    s, captured = timed(with_captures, reps(20))
    report("f_capture_insert", s)
    jitted = jit_wrapper.Jitted(captured)
    s, _ = timed(lambda: jitted(x), 1)
    report("f_capture_forward_first", s, note="Jitted first call")
    s, _ = timed(lambda: jitted(x), reps(5))
    report("f_capture_forward", s, note="Jitted")

    lin = pz.nn.Linear.from_config(
        name="g", init_base_rng=jax.random.key(1), input_axes={"embedding": 64},
        output_axes={"out": 64},
    )
    v = pz.nx.wrap(jnp.ones((64,), jnp.float32)).tag("embedding")
    lin_jit = jax.jit(lambda l, t: l(t))
    frozen_lin = pz.freeze_params(lin)
    timed(lambda: lin_jit(frozen_lin, v), 1)
    s, _ = timed(lambda: lin_jit(frozen_lin, v), reps(200))
    report("g_linear64", s, note="jax.jit")


if __name__ == "__main__":
    main()
