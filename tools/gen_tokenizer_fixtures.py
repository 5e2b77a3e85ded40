#!/usr/bin/env python3
"""Generates the tokenizer fixtures (run by hand, never by CI).

Trains small BPE tokenizers with the Python `tokenizers` package on
tests/fixtures/tokenizers/corpus.txt (text the repo ships: English, accents, CJK, emoji, quotes,
tabs and newlines) and writes, laid out as the published checkpoints' `tokenizer.json` files:

    tests/fixtures/tokenizers/gpt2-bytelevel/     byte-level BPE as GPT-2: ByteLevel pre-tokenizer
                                                  (GPT-2 regex), ByteLevel decoder and
                                                  post-processor, <|endoftext|>; no unknown token.
    tests/fixtures/tokenizers/llama3-bytelevel/   byte-level BPE as Llama 3: a Split pre-tokenizer
                                                  with Llama 3's regex, then ByteLevel without its
                                                  own regex; `ignore_merges`; a template adding
                                                  <|begin_of_text|>.
    tests/fixtures/tokenizers/llama2-sentencepiece/
                                                  SentencePiece-style BPE as Llama 2: normalizer
                                                  Prepend("▁") + Replace(" ", "▁"), no
                                                  pre-tokenizer, byte fallback (<0x00>..<0xFF>
                                                  at ids 3..258), fused <unk>, decoder
                                                  Replace + ByteFallback + Fuse + Strip, a
                                                  template adding <s>.

Each folder holds `tokenizer.json` and `expected.json`:

    {
      "tokenizer": name, "vocab_size": n (with added tokens),
      "cases": [{"text", "ids", "tokens", "ids_plain" (no special tokens),
                 "decoded", "decoded_skip_special"}],       # encode(text) and decode(ids)
      "decode_cases": [{"ids", "decoded", "decoded_skip_special"}]
                                                            # seeded random ids (model output)
    }

With `--checkpoints`, it also writes two tiny checkpoints whose vocabulary is a tokenizer's
(made by transformers like tools/gen_fixtures.py's, whose helpers it reuses):

    tests/fixtures/gpt2-text/    GPT-2 (n_embd 32, 2 layers) + the gpt2-bytelevel tokenizer.json
    tests/fixtures/llama-text/   Llama (hidden 32, 2 layers, GQA 4/2) + the llama2-sentencepiece one

Their expected.json is gen_fixtures.py's (random prompts, logits, greedy tokens) plus
"text_prompts": [{"text", "ids" (encoded with special tokens), "greedy_new_tokens" (8, no EOS
stop), "output_ids", "output_text" (decode(output_ids, skip_special_tokens=True))}].

BPE training breaks ties in hash order: a re-run can give a different (equally valid)
vocabulary, so re-run with --checkpoints to keep the checkpoints' vocabularies in step.

Usage (the venv of tools/gen_fixtures.py; the tokenizers-only part needs just `tokenizers`):
    /work/venv-fixtures/bin/python tools/gen_tokenizer_fixtures.py [--checkpoints]
"""

import json
import os
import random
import shutil
import sys

import tokenizers
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
TOKENIZERS = os.path.join(FIXTURES, "tokenizers")
CORPUS = os.path.join(TOKENIZERS, "corpus.txt")

# Llama 3's pre-tokenizer pattern (as in its tokenizer.json).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Prompts: what people type. Several hold characters the corpus lacks (Greek, 🦀, 🧪, rare CJK),
# so byte-level merges stop at raw bytes and SentencePiece falls back to <0x..> tokens.
PROMPTS = [
    "Hello, world! The model is plain data.",
    "Les modèles prédisent « le mot suivant » — déjà vu?",
    "日本語のテキストと中文，还有한국어。",
    "Emoji: 🙂🚀 and unseen ones 🦀🧪 plus ✨.",
    "Tabs\tand\nnewlines\n\n  double  spaces   and a trailing space ",
    "She said “don't”, ‘it's’ and \"quoted\" 'single'.",
    "Code:\n\tfn main() { println!(\"hi\"); }\r\n",
    " leading space, ünïcödé and Ωμέγα Ελληνικά 龘",
    "<s> literal special tokens </s> <|endoftext|> <|begin_of_text|>",
    "",
]

# The checkpoints' text prompts (one per checkpoint, short enough for 64 positions).
TEXT_PROMPTS = {
    "gpt2-text": "The quick brown fox — «déjà vu» 🦀\tdone.\n",
    "llama-text": "Der Bäcker sagt: “日本語 🙂” and\tmore.\n",
}


def corpus_lines():
    with open(CORPUS, encoding="utf-8") as f:
        return f.read().splitlines(keepends=True)


def gpt2_bytelevel():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_lines(), trainer)
    return tok


def llama3_bytelevel():
    model = models.BPE(ignore_merges=True)
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_lines(), trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
            special_tokens=[("<|begin_of_text|>", bos)],
        ),
    ])
    return tok


def llama2_sentencepiece():
    """Trains on `▁`-prefixed words, then lays the vocabulary out as Llama 2's: specials,
    the 256 byte tokens, then the pieces; no pre-tokenizer at encode time (merges never
    cross a `▁`, so splitting first or not gives the same pieces)."""
    normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.normalizer = normalizer
    trainer_tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(
        vocab_size=320, limit_alphabet=120, special_tokens=["<unk>"], show_progress=False
    )
    trainer_tok.train_from_iterator(corpus_lines(), trainer)
    trained = json.loads(trainer_tok.to_str())["model"]

    specials = ["<unk>", "<s>", "</s>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]

    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizer
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
        decoders.Strip(" ", 1, 0),
    ])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", 1)]
    )
    return tok


TOKENIZER_BUILDERS = {
    "gpt2-bytelevel": gpt2_bytelevel,
    "llama3-bytelevel": llama3_bytelevel,
    "llama2-sentencepiece": llama2_sentencepiece,
}


def cases(tok):
    out = []
    for text in PROMPTS:
        enc = tok.encode(text)
        plain = tok.encode(text, add_special_tokens=False)
        out.append({
            "text": text,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "ids_plain": plain.ids,
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True),
        })
    return out


def decode_cases(tok, seed):
    rng = random.Random(seed)
    n = tok.get_vocab_size(with_added_tokens=True)
    out = []
    for length in [1, 2, 5, 12, 30]:
        ids = [rng.randrange(n) for _ in range(length)]
        out.append({
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    return out


def write_json(path, value, indent=None):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def make_tokenizers():
    made = {}
    for seed, (name, build) in enumerate(TOKENIZER_BUILDERS.items()):
        tok = build()
        folder = os.path.join(TOKENIZERS, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        tok.save(os.path.join(folder, "tokenizer.json"))
        # Read back what was written, as a user's program would.
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        write_json(os.path.join(folder, "expected.json"), {
            "tokenizer": name,
            "vocab_size": tok.get_vocab_size(with_added_tokens=True),
            "cases": cases(tok),
            "decode_cases": decode_cases(tok, seed=1000 + seed),
        }, indent=1)
        made[name] = tok
        print(f"{name}: vocab {tok.get_vocab_size(with_added_tokens=True)}")
    return made


def make_checkpoints(made):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    import gen_fixtures as gf

    torch.use_deterministic_algorithms(True)
    specs = {
        "gpt2-text": ("gpt2-bytelevel", 44, lambda vocab: GPT2LMHeadModel(GPT2Config(
            n_embd=32, n_layer=2, n_head=4, vocab_size=vocab, n_positions=64,
            bos_token_id=0, eos_token_id=0, attn_implementation="eager"))),
        "llama-text": ("llama2-sentencepiece", 29, lambda vocab: LlamaForCausalLM(LlamaConfig(
            **gf.llama_kwargs(vocab_size=vocab, num_key_value_heads=2))),
        ),
    }
    for name, (tok_name, seed, build) in specs.items():
        tok = made[tok_name]
        vocab = tok.get_vocab_size(with_added_tokens=True)
        model = gf.reinit(build(vocab), seed=seed)
        folder = os.path.join(FIXTURES, name)
        gf.save(model, folder)
        shutil.copy(os.path.join(TOKENIZERS, tok_name, "tokenizer.json"), folder)
        gf.write_expected(folder, name, "transformers-5 + tokenizer.json", model,
                          gf.prompts(vocab, seed=seed + 100), "F32")
        text = TEXT_PROMPTS[name]
        ids = tok.encode(text).ids
        new = gf.greedy(model, torch.tensor([ids])).tolist()[0]
        path = os.path.join(folder, "expected.json")
        with open(path, encoding="utf-8") as f:
            expected = json.load(f)
        expected["text_prompts"] = [{
            "text": text,
            "ids": ids,
            "greedy_new_tokens": new,
            "output_ids": ids + new,
            "output_text": tok.decode(ids + new, skip_special_tokens=True),
        }]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(expected, f, ensure_ascii=False)
            f.write("\n")
        print(f"{name}: vocab {vocab}, text prompt {len(ids)} tokens")


def main():
    made = make_tokenizers()
    if "--checkpoints" in sys.argv[1:]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        make_checkpoints(made)
    print(f"tokenizers {tokenizers.__version__}")


if __name__ == "__main__":
    main()
