"""Gradient fixtures from torch autograd for the tiny test checkpoints.

Run by hand, never by CI:

    /work/venv-fixtures/bin/python tools/gen_grad_fixtures.py tests/fixtures [checkpoint ...]

For each checkpoint folder in CHECKPOINTS (made by tools/gen_fixtures.py) this loads the model
with transformers in float32, eval mode, feeds the first prompt of its `expected.json`, and
writes `<folder>/grad.safetensors` and `<folder>/grad.json`:

- the loss: the mean next-token cross-entropy over the sequence (logits at positions 0..n-2
  against the tokens at 1..n-1), as `penzai grad` computes it;
- the gradient of that loss with respect to every parameter, under the tensor's name in the
  checkpoint and in its layout (a tied embedding's gradient is the sum of both uses, as
  torch accumulates it).

Also writes `tests/fixtures/optim/expected.json`: 10 steps of torch.optim SGD (momentum,
nesterov off, weight decay), Adam and AdamW on a fixed quadratic-plus-sine loss: torch's
gradient before every step and the parameters after it.
"""

import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

CHECKPOINTS = ["gpt2", "llama-mha", "neox-parallel"]

# Parameters transformers 5 renames at load, by their stored names (GPT-NeoX's unembedding).
STORED_NAMES = {"lm_head.weight": "embed_out.weight"}


def grad_fixture(folder):
    with open(os.path.join(folder, "expected.json")) as f:
        expected = json.load(f)
    ids = torch.tensor([expected["prompts"][0]])
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
    model.eval()
    logits = model(ids).logits[0]
    loss = torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:])
    loss.backward()
    # Names as stored in the checkpoint file.
    from safetensors import safe_open

    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        stored = set(f.keys())
    grads = {}
    for name, p in model.named_parameters():
        if name not in stored:
            name = STORED_NAMES.get(name, name)
        if name in stored and p.grad is not None:
            grads[name] = p.grad.detach().contiguous().clone()
    missing = stored - set(grads)
    save_file(grads, os.path.join(folder, "grad.safetensors"))
    with open(os.path.join(folder, "grad.json"), "w") as f:
        json.dump(
            {
                "tokens": expected["prompts"][0],
                "loss": loss.item(),
                "parameters": sorted(grads),
                "without_gradient": sorted(missing),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
            },
            f,
            indent=1,
        )


def optim_fixture(out):
    start = [0.5, -1.5, 2.0, 0.25, -0.75, 1.0]

    def loss_fn(p):
        t = torch.arange(len(start), dtype=torch.float32)
        return ((p - t) ** 2 * (1 + t)).sum() + torch.sin(3 * p).sum()

    runs = {}
    configs = {
        "sgd": lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9, weight_decay=0.01),
        "sgd_plain": lambda p: torch.optim.SGD([p], lr=0.05),
        "adam": lambda p: torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    }
    for name, make in configs.items():
        p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
        opt = make(p)
        steps, grads = [], []
        for _ in range(10):
            opt.zero_grad()
            loss_fn(p).backward()
            grads.append(p.grad.tolist())
            opt.step()
            steps.append(p.detach().tolist())
        runs[name] = {"grads": grads, "params": steps}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"start": start, "runs": runs, "torch": torch.__version__}, f, indent=1)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    # Optionally only some checkpoints (then the optimizer fixture is left alone).
    for name in sys.argv[2:] or CHECKPOINTS:
        grad_fixture(os.path.join(root, name))
    if not sys.argv[2:]:
        optim_fixture(os.path.join(root, "optim"))


if __name__ == "__main__":
    main()
