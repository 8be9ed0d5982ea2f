#!/usr/bin/env python3
"""Train the bundled Mamba demo model (models/kjv-mamba/) on the King James Bible.

Runs on the GPU machine with HuggingFace transformers (MambaForCausalLM, its pure-PyTorch
path: no mamba_ssm kernels needed) and tokenizers. Steps:

  1. a byte-level BPE tokenizer (vocabulary 2048, GPT-2/NeoX-style ByteLevel pre-tokenizer and
     decoder, special token <|endoftext|>) trained on the training split;
  2. a Mamba-1 LM: d_model 256, 4 layers, state 16, expand 2, conv 4, tied embeddings;
  3. AdamW (lr 3e-3, betas 0.9/0.95, weight decay 0.1), cosine decay with 100 warm-up steps,
     batches of 32 x 256 tokens, bf16 autocast, until --steps or --max-minutes;
  4. validation loss on the held-out chapters (tools/kjv_text.py's split), in nats per token
     and bits per byte; a greedy sample;
  5. save_pretrained in bfloat16 + tokenizer.json + training.json (recipe and results).

The data is made on the CPU machine by tools/kjv_text.py (Debian's bible-kjv) and carried:
    python3 tools/train_mamba_lm.py --train kjv-train.txt --val kjv-val.txt --out DIR
"""

import argparse
import json
import math
import os
import time

import torch


def train_tokenizer(text, vocab):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(text.split("\n"), trainer)
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--max-minutes", type=float, default=7.0)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    from transformers import MambaConfig, MambaForCausalLM
    import transformers

    train_text = open(a.train, encoding="utf-8").read()
    val_text = open(a.val, encoding="utf-8").read()
    t0 = time.time()
    tok = train_tokenizer(train_text, a.vocab)
    train_ids = torch.tensor(tok.encode(train_text).ids, dtype=torch.long)
    val_ids = torch.tensor(tok.encode(val_text).ids, dtype=torch.long)
    print(f"tokenizer: vocab {tok.get_vocab_size()}, train {len(train_ids)} tokens "
          f"({len(train_text.encode()) / len(train_ids):.2f} bytes/token), val {len(val_ids)}, "
          f"{time.time() - t0:.0f}s", flush=True)

    cfg = MambaConfig(vocab_size=tok.get_vocab_size(), hidden_size=256, state_size=16,
                      num_hidden_layers=4, expand=2, conv_kernel=4, time_step_rank="auto",
                      tie_word_embeddings=True, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = MambaForCausalLM(cfg).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters, transformers {transformers.__version__}, "
          f"torch {torch.__version__}, {dev}", flush=True)

    B, T = 32, 256
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "A_log" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "A_log" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.95))
    warm = 100

    def lr_at(step, total):
        if step < warm:
            return (step + 1) / warm
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    def evaluate():
        model.eval()
        losses = []
        with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            for i in range(0, len(val_ids) - T - 1, T):
                x = val_ids[i:i + T].unsqueeze(0).to(dev)
                y = val_ids[i + 1:i + T + 1].unsqueeze(0).to(dev)
                logits = model(x).logits.float()
                losses.append(torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1)).item())
        model.train()
        return sum(losses) / len(losses)

    g = torch.Generator().manual_seed(a.seed)
    start = time.time()
    total = a.steps
    step = 0
    log = []
    while step < total:
        ix = torch.randint(0, len(train_ids) - T - 1, (B,), generator=g)
        x = torch.stack([train_ids[i:i + T] for i in ix]).to(dev)
        y = torch.stack([train_ids[i + 1:i + T + 1] for i in ix]).to(dev)
        for grp in opt.param_groups:
            grp["lr"] = 3e-3 * lr_at(step, total)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            logits = model(x).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        elapsed = (time.time() - start) / 60
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.3f} lr {opt.param_groups[0]['lr']:.2e} {elapsed:.1f} min", flush=True)
            log.append({"step": step, "loss": round(loss.item(), 4)})
        if elapsed > a.max_minutes and total == a.steps:
            total = step  # the time budget ends the run (the schedule was for a.steps)
    val = evaluate()
    bytes_per_tok = len(val_text.encode()) / len(val_ids)
    bpb = val / math.log(2) / bytes_per_tok
    print(f"validation: {val:.4f} nats/token, {bpb:.3f} bits/byte after {step} steps", flush=True)

    model.eval()
    prompt = tok.encode("In the beginning").ids
    ids = torch.tensor([prompt], device=dev)
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=60, do_sample=False)
    sample = tok.decode(out[0].tolist())
    print("sample:", sample, flush=True)

    os.makedirs(a.out, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(a.out, safe_serialization=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump({"script": "tools/train_mamba_lm.py", "args": vars(a) | {"train": "kjv-train.txt", "val": "kjv-val.txt", "out": "."},
                   "steps_done": step, "batch": [B, T], "parameters": n_params,
                   "val_nats_per_token": round(val, 4), "val_bits_per_byte": round(bpb, 4),
                   "bytes_per_token_val": round(bytes_per_tok, 3), "greedy_sample": sample,
                   "transformers": transformers.__version__, "torch": torch.__version__,
                   "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                   "loss_log": log}, f, indent=1)
    print("saved", sorted(os.listdir(a.out)))


if __name__ == "__main__":
    main()
