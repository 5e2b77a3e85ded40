#!/usr/bin/env python3
"""The transformers + torch side of the real-size comparison (run by hand, never by CI).

For one checkpoint folder (built by tools/make_realsize.py), prints one JSON object:
    {"model", "threads", "load_s", "forward_s", "decode_tokens_per_s", "peak_rss_bytes",
     "sgemm_1024_gflops"}
measured as shared/reference/realsize.md describes: torch on 2 threads (or --threads N);
`from_pretrained(dir, dtype=torch.float32)` timed in-process (import excluded; a bf16 file is
widened to f32, as torch computes in f32 on CPU); forward of batch 1 x --seq random token ids
(default 128) under no_grad, one warm-up then the median of 3; greedy `generate` of exactly
--new tokens (default 32) from an 8-token prompt with the KV cache; peak RSS from ru_maxrss.
The sgemm figure is torch's 1024^3 f32 matmul on the same threads, for the ceiling.

Usage:
    /work/venv-fixtures/bin/python tools/bench_torch_realsize.py /work/realsize/gpt2-small
"""

import argparse
import json
import resource
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def median_time(f, repeats=3):
    f()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--skip-decode", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    a = torch.rand(1024, 1024)
    b = torch.rand(1024, 1024)
    gemm_s = median_time(lambda: a @ b, repeats=10)

    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model.eval()
    load_s = time.perf_counter() - t

    vocab = model.config.vocab_size
    tokens = torch.randint(0, vocab, (1, args.seq))
    with torch.no_grad():
        forward_s = median_time(lambda: model(tokens))

    decode = None
    if not args.skip_decode:
        prompt = torch.randint(0, vocab, (1, 8))
        with torch.no_grad():
            model.generation_config.eos_token_id = None
            model.generation_config.pad_token_id = 0
            gen = lambda: model.generate(  # noqa: E731
                prompt,
                max_new_tokens=args.new,
                min_new_tokens=args.new,
                do_sample=False,
                use_cache=True,
            )
            decode_s = median_time(gen, repeats=1)
        decode = args.new / decode_s

    print(
        json.dumps(
            {
                "model": args.model,
                "threads": args.threads,
                "load_s": round(load_s, 3),
                "forward_s": round(forward_s, 4),
                "decode_tokens_per_s": decode and round(decode, 2),
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "sgemm_1024_gflops": round(2 * 1024**3 / gemm_s / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
