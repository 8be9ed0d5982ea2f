#!/usr/bin/env python3
"""Make the HuggingFace goldens that CI checks libseqcore against.

Runs on the GPU machine (transformers 5.17, torch 2.11, tokenizers; no network), on its CPU:
the models are tiny. Writes, under OUT (default: tests/oracle):

  hf/<variant>/config.json, model.safetensors (or shards + index), golden.json
      tiny random-initialised Mamba, FalconMamba and Mamba-2 models saved with
      save_pretrained; every parameter is perturbed with noise so that no weight sits at its
      initialiser's special value (zeros, ones, the A_log ramp). golden.json holds
        prompt       token ids
        logits       [T][V] logits of the prompt, the model run in float64
        generated    greedy continuation ids (float64 model, full recomputation each step)
        gen_logits   [n][V] the logits each generated id was taken from
        fp32_vs_fp64 max |logit32 - logit64| / max |logit64| of transformers itself in float32
  tokenizer/<name>/tokenizer.json, golden.json
      byte-level BPE tokenizers trained with HF tokenizers on the KJV text, and
      [{"text", "ids"}] encodings of a fixed list of strings (ASCII, Unicode, whitespace,
      digits, contractions, special tokens, empty).

Usage (GPU machine, from the repository root, the KJV text carried along):
    python3 tests/oracle/make_hf_goldens.py --kjv .carry/kjv/kjv-train.txt --out $OUT
"""

import argparse
import json
import math
import os
import sys

import torch

PROMPT_LEN = 13
N_GEN = 6


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)
            if name.endswith("A_log"):
                p.add_(0.3 * noise)
            elif name.endswith("dt_bias") or name.endswith("dt_proj.bias"):
                p.add_(0.5 * noise)
            elif "norm" in name and name.endswith("weight"):
                p.add_(0.2 * noise)
            else:
                p.add_(0.15 * noise)


def run_golden(model, vocab, seed):
    g = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(0, vocab, (1, PROMPT_LEN), generator=g)
    m64 = model.to(torch.float64).eval()
    with torch.no_grad():
        logits = m64(prompt).logits[0]
        ids = prompt
        gen, gen_logits = [], []
        for _ in range(N_GEN):
            last = m64(ids).logits[0, -1]
            nxt = int(torch.argmax(last))
            gen.append(nxt)
            gen_logits.append(last.tolist())
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
        m32 = model.to(torch.float32)
        l32 = m32(prompt).logits[0].double()
    model.to(torch.float64)
    err = float((l32 - logits).abs().max() / logits.abs().max())
    return {
        "prompt": prompt[0].tolist(),
        "logits": logits.tolist(),
        "generated": gen,
        "gen_logits": gen_logits,
        "fp32_vs_fp64": err,
    }


def variants():
    from transformers import (FalconMambaConfig, FalconMambaForCausalLM, Mamba2Config,
                              Mamba2ForCausalLM, MambaConfig, MambaForCausalLM)
    return [
        ("mamba_tied", MambaForCausalLM, MambaConfig(
            vocab_size=97, hidden_size=32, state_size=8, num_hidden_layers=2, expand=2,
            conv_kernel=4, time_step_rank="auto", tie_word_embeddings=True), None),
        ("mamba_odd_untied_bias", MambaForCausalLM, MambaConfig(
            vocab_size=61, hidden_size=24, state_size=5, num_hidden_layers=3, expand=3,
            conv_kernel=3, time_step_rank=3, use_bias=True, use_conv_bias=False,
            tie_word_embeddings=False, layer_norm_epsilon=1e-5), None),
        ("falcon_mamba", FalconMambaForCausalLM, FalconMambaConfig(
            vocab_size=83, hidden_size=32, state_size=8, num_hidden_layers=2, expand=2,
            conv_kernel=4, mixer_rms_eps=1e-6, tie_word_embeddings=False), None),
        ("mamba2_g1", Mamba2ForCausalLM, Mamba2Config(
            vocab_size=89, hidden_size=16, expand=2, num_heads=4, head_dim=8, state_size=16,
            n_groups=1, conv_kernel=4, chunk_size=8, num_hidden_layers=2,
            tie_word_embeddings=True), None),
        ("mamba2_g2_odd_sharded", Mamba2ForCausalLM, Mamba2Config(
            vocab_size=71, hidden_size=12, expand=2, num_heads=6, head_dim=4, state_size=12,
            n_groups=2, conv_kernel=3, chunk_size=5, num_hidden_layers=3, use_bias=True,
            use_conv_bias=False, time_step_limit=(0.01, 5.0), tie_word_embeddings=False), "20KB"),
        ("mamba2_g3_heads3", Mamba2ForCausalLM, Mamba2Config(
            vocab_size=53, hidden_size=12, expand=2, num_heads=3, head_dim=8, state_size=8,
            n_groups=3, conv_kernel=4, chunk_size=4, num_hidden_layers=2,
            tie_word_embeddings=True), None),
    ]


TEXTS = [
    "", "a", "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.\n",
    "   leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n\nthree",
    "don't won't I'll you're they've he'd she's", "numbers 12345 67,890 3.14159 2026-11-23",
    "Café naïve résumé façade", "日本語のテキスト", "中文 汉字", "emoji 🙂🚀 and ✨ sparkles",
    "Ελληνικά και русский текст", "mixed\u00a0nbsp and\u2003em space", "<|endoftext|>",
    "before<|endoftext|>after", "a<|endoftext|><|endoftext|>b", "UPPER lower MiXeD",
    "punctuation!!! ??? ... ;;; :::", "x" * 300, "the the the the the", "\r\n windows line",
    "tab\t\tdouble", "a  b   c    d", "1:1 In the beginning", "Genesis 1\n1:1 In",
    "é" * 20, "🙂" * 5, "combining e\u0301 accent", "zero\u200bwidth",
]


def tokenizers_goldens(kjv_path, out):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    with open(kjv_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    made = {}
    for name, vocab, nfc, specials in [("kjv_bpe_2048", 2048, False, ["<|endoftext|>"]),
                                       ("kjv_bpe_nfc_specials", 700, True, ["<|endoftext|>", "<|padding|>"])]:
        tok = Tokenizer(models.BPE())
        if nfc:
            tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(lines, trainer)
        d = os.path.join(out, "tokenizer", name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"))
        gold = []
        for t in TEXTS:
            enc = tok.encode(t)
            gold.append({"text": t, "ids": enc.ids, "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
        with open(os.path.join(d, "golden.json"), "w", encoding="utf-8") as f:
            json.dump(gold, f, ensure_ascii=False, indent=0)
        made[name] = tok
        print(f"tokenizer {name}: vocab {tok.get_vocab_size()}, {len(gold)} goldens")
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kjv", required=True)
    ap.add_argument("--out", default="tests/oracle")
    a = ap.parse_args()
    import transformers
    print("transformers", transformers.__version__, "torch", torch.__version__)
    torch.manual_seed(0)
    for i, (name, cls, cfg, shard) in enumerate(variants()):
        model = cls(cfg).to(torch.float32)
        perturb(model, 1000 + i)
        d = os.path.join(a.out, "hf", name)
        os.makedirs(d, exist_ok=True)
        gold = run_golden(model, cfg.vocab_size, 1000 + i)
        model.to(torch.float32)
        kw = {"max_shard_size": shard} if shard else {}
        model.save_pretrained(d, safe_serialization=True, **kw)
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(gold, f)
        print(f"{name}: params {sum(p.numel() for p in model.parameters())}, "
              f"files {sorted(os.listdir(d))}, fp32_vs_fp64 {gold['fp32_vs_fp64']:.2e}, "
              f"gen {gold['generated']}")
    tokenizers_goldens(a.kjv, a.out)


if __name__ == "__main__":
    main()
