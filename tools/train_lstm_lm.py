#!/usr/bin/env python3
"""Train the bundled demo model, models/kjv-lstm.safetensors, on the CPU with PyTorch.

A byte-level language model, nn.Embedding(256, E) -> nn.LSTM(E, H, num_layers) ->
nn.Linear(H, 256), trained on the King James Bible as Debian ships it (tools/kjv_text.py
says how the text is laid out and split), written in libseqcore's native format
(tools/native_model.py).

Training: truncated backpropagation through time over B contiguous streams of the
training text (the hidden state is carried from one batch to the next, detached), AdamW,
gradient-norm clipping, linear warm-up then cosine decay of the learning rate, fixed seeds.
Runs on torch 1.13 (Debian) and torch 2.x.

    /usr/bin/python3 tools/train_lstm_lm.py --quick            # pipeline check, ~5 minutes
    nice -n 19 /usr/bin/python3 tools/train_lstm_lm.py          # the bundled model

Requires the `bible` command (`apt-get install bible-kjv`) unless --data-dir points at
kjv-train.txt / kjv-val.txt written by tools/kjv_text.py.
"""

import os

# OpenBLAS's own threads fight torch's OpenMP pool on small matrices (Debian's torch
# calls OpenBLAS): one BLAS thread is about twice as fast here. Must precede the imports.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv_text  # noqa: E402
import native_model  # noqa: E402

LN2 = math.log(2.0)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ByteLSTM(nn.Module):
    def __init__(self, embedding_dim, hidden_size, num_layers, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(256, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers,
                           batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, 256)
        with torch.no_grad():  # forget-gate bias 1 (gate order i, f, g, o)
            for k in range(num_layers):
                getattr(self.rnn, "bias_ih_l%d" % k)[hidden_size:2 * hidden_size].fill_(1.0)
                getattr(self.rnn, "bias_hh_l%d" % k)[hidden_size:2 * hidden_size].zero_()

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state


def detach(state):
    return tuple(s.detach() for s in state)


@torch.no_grad()
def evaluate(model, data, streams=8, chunk=256):
    """Bits per byte of `data` (1-D uint8 tensor), read as `streams` contiguous streams."""
    was_training = model.training
    model.eval()
    n = (len(data) - 1) // streams
    x_all = data[:streams * n].view(streams, n).long()
    y_all = data[1:streams * n + 1].view(streams, n).long()
    total, state = 0.0, None
    for p in range(0, n, chunk):
        logits, state = model(x_all[:, p:p + chunk], state)
        total += F.cross_entropy(logits.reshape(-1, 256), y_all[:, p:p + chunk].reshape(-1),
                                 reduction="sum").item()
    model.train(was_training)
    return total / (streams * n) / LN2


@torch.no_grad()
def sample(model, prompt, nbytes, temperature, seed):
    """Continue `prompt` (bytes) by `nbytes` sampled bytes; returns the new bytes."""
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    logits, state = model(torch.tensor([list(prompt)], dtype=torch.long))
    out = []
    for _ in range(nbytes):
        probs = F.softmax(logits[0, -1].double() / temperature, dim=-1)
        b = int(torch.multinomial(probs, 1, generator=gen).item())
        out.append(b)
        logits, state = model(torch.tensor([[b]], dtype=torch.long), state)
    model.train(was_training)
    return bytes(out)


def numpy_forward(graph, tensors, ids):
    """Reference forward pass of the stored model in numpy; returns logits [len(ids), 256]."""
    cfg = {b["name"]: b["config"] for b in graph["blocks"]}
    H, L = cfg["rnn"]["hidden_size"], cfg["rnn"]["num_layers"]
    t = {k: v.astype(np.float64) for k, v in tensors.items()}
    h = np.zeros((L, H)), np.zeros((L, H))
    hs, cs = h
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    out = []
    for i in ids:
        x = t["embed.weight"][i]
        for k in range(L):
            g = (t["rnn.weight_ih_l%d" % k] @ x + t["rnn.bias_ih_l%d" % k]
                 + t["rnn.weight_hh_l%d" % k] @ hs[k] + t["rnn.bias_hh_l%d" % k])
            ig, fg, gg, og = sig(g[:H]), sig(g[H:2 * H]), np.tanh(g[2 * H:3 * H]), sig(g[3 * H:])
            cs[k] = fg * cs[k] + ig * gg
            hs[k] = og * np.tanh(cs[k])
            x = hs[k]
        out.append(t["head.weight"] @ x + t["head.bias"])
    return np.array(out)


def load_text(args):
    if args.data_dir:
        with open(os.path.join(args.data_dir, "kjv-train.txt"), "rb") as f:
            train = f.read()
        with open(os.path.join(args.data_dir, "kjv-val.txt"), "rb") as f:
            val = f.read()
        return train, val
    train, val, _ = kjv_text.corpus(args.bible)
    return train.encode("ascii"), val.encode("ascii")


def main():
    ap = argparse.ArgumentParser(description="Train the byte-level KJV LSTM demo model.")
    ap.add_argument("--embedding-dim", type=int, default=64)
    ap.add_argument("--hidden-size", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.0, help="between LSTM layers")
    ap.add_argument("--batch", type=int, default=128, help="parallel streams")
    ap.add_argument("--bptt", type=int, default=64, help="bytes per truncated-BPTT window")
    ap.add_argument("--steps", type=int, default=4500)
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="training time budget (0: none). The learning-rate schedule "
                         "follows whichever of steps and time is closer to its end, so a "
                         "slow or busy machine still finishes the decay in time")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05,
                    help="final learning rate as a fraction of --lr (cosine decay)")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping")
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--out", default=None,
                    help="output model (default models/kjv-lstm.safetensors, "
                         "or /tmp/kjv-lstm-quick.safetensors with --quick)")
    ap.add_argument("--dtype", choices=["auto", "f32", "f16"], default="auto",
                    help="weight storage; auto: F32 if the file stays <= --max-bytes, else F16")
    ap.add_argument("--max-bytes", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--data-dir", default=None,
                    help="read kjv-train.txt / kjv-val.txt here instead of running `bible`")
    ap.add_argument("--bible", default="bible", help="the `bible` command")
    ap.add_argument("--prompt", default="In the beginning")
    ap.add_argument("--sample-bytes", type=int, default=400)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--sample-seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true",
                    help="pipeline check: 300 steps, evaluations every 100")
    args = ap.parse_args()
    command = shlex.join([sys.executable] + sys.argv) if hasattr(shlex, "join") else \
        " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    if args.quick:
        args.steps, args.eval_every, args.log_every = 300, 100, 25
    if args.out is None:
        args.out = ("/tmp/kjv-lstm-quick.safetensors" if args.quick
                    else os.path.join(REPO, "models", "kjv-lstm.safetensors"))

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    print("torch %s, %d threads, python %s" % (torch.__version__, torch.get_num_threads(),
                                               platform.python_version()), flush=True)

    train_bytes, val_bytes = load_text(args)
    print("data: train %d bytes, validation %d bytes" % (len(train_bytes), len(val_bytes)))
    # One '\n' closes the circle: when a stream wraps around, Revelation 22 is followed by
    # a blank line and Genesis 1, like any other chapter boundary.
    train = torch.frombuffer(bytearray(train_bytes + b"\n"), dtype=torch.uint8)
    val = torch.frombuffer(bytearray(val_bytes), dtype=torch.uint8)
    mid = len(train_bytes) // 2  # a fixed training slice as large as the validation set
    train_probe = train[mid:mid + len(val_bytes)]

    model = ByteLSTM(args.embedding_dim, args.hidden_size, args.layers, args.dropout)
    nparams = sum(p.numel() for p in model.parameters())
    print("model: E=%d H=%d layers=%d, %d parameters"
          % (args.embedding_dim, args.hidden_size, args.layers, nparams), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99),
                            weight_decay=args.weight_decay)

    budget_s = args.max_minutes * 60

    def progress(step, elapsed):
        """Fraction of the run done before `step` (0-based): steps or time, the larger."""
        p = step / args.steps
        if budget_s > 0:
            p = max(p, elapsed / budget_s)
        return p

    def lr_factor(step, p):
        if step < args.warmup:
            return (step + 1) / args.warmup
        # cosine over the part of the run after warm-up
        p0 = progress(args.warmup, 0.0)
        t = min(1.0, max(0.0, (p - p0) / max(1e-9, 1.0 - p0)))
        return args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t))

    B, T = args.batch, args.bptt
    n = len(train) // B  # bytes per stream
    windows = (n - 1) // T  # windows per pass
    epoch, w, state, streams = 0, 0, None, None
    t0 = time.time()
    run_loss, run_count, last_log = 0.0, 0, t0
    history = []
    steps_done = 0
    stopped_early = False
    def eta(done, elapsed):
        left = elapsed / done * (args.steps - done)
        return min(left, budget_s - elapsed) if budget_s > 0 else left

    lr = args.lr
    for step in range(args.steps):
        p = progress(step, time.time() - t0)
        if p >= 1.0:
            print("time budget of %.1f minutes used up after %d steps"
                  % (args.max_minutes, step), flush=True)
            stopped_early = True
            break
        lr = args.lr * lr_factor(step, p)
        for group in opt.param_groups:
            group["lr"] = lr
        if w == windows:  # end of a pass over the training text
            epoch, streams = epoch + 1, None
        if streams is None:
            # each pass starts the streams at a different offset into the (circular) text
            shift = (epoch * 1000003) % len(train)
            streams = torch.roll(train, -shift)[:B * n].view(B, n).long()
            w, state = 0, None
        x = streams[:, w * T:(w + 1) * T]
        y = streams[:, w * T + 1:(w + 1) * T + 1]
        w += 1
        logits, state = model(x, state)
        state = detach(state)
        loss = F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        steps_done = step + 1
        run_loss += loss.item()
        run_count += 1
        if steps_done % args.log_every == 0 or steps_done == args.steps:
            now = time.time()
            el = now - t0
            print("step %5d/%d  epoch %.2f  lr %.2e  train %.3f bits/byte  %.0f bytes/s  "
                  "elapsed %.1f min  eta %.1f min"
                  % (steps_done, args.steps, (steps_done * B * T) / len(train),
                     lr, run_loss / run_count / LN2,
                     run_count * B * T / (now - last_log), el / 60,
                     eta(steps_done, el) / 60), flush=True)
            history.append({"step": steps_done, "train_bpb": round(run_loss / run_count / LN2, 4)})
            run_loss, run_count, last_log = 0.0, 0, now
        if steps_done % args.eval_every == 0 and steps_done != args.steps:
            v = evaluate(model, val)
            print("step %5d  validation %.4f bits/byte" % (steps_done, v), flush=True)
            history.append({"step": steps_done, "val_bpb": round(v, 4)})
    train_seconds = time.time() - t0

    val_bpb = evaluate(model, val)
    train_bpb = evaluate(model, train_probe)
    print("final: validation %.4f bits/byte, train (%d-byte slice) %.4f bits/byte, "
          "%d steps in %.1f minutes" % (val_bpb, len(train_probe), train_bpb, steps_done,
                                        train_seconds / 60), flush=True)

    # ---- write the native model -------------------------------------------------------
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    tensors = {"embed.weight": sd["embed.weight"],
               "head.weight": sd["head.weight"], "head.bias": sd["head.bias"]}
    for k in range(args.layers):
        for w_ in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            tensors["rnn.%s_l%d" % (w_, k)] = sd["rnn.%s_l%d" % (w_, k)]
    f32_bytes = sum(a.nbytes for a in tensors.values())
    dtype = args.dtype
    if dtype == "auto":
        dtype = "f32" if f32_bytes + 8192 <= args.max_bytes else "f16"
    if dtype == "f16":
        tensors = {k: v.astype(np.float16) for k, v in tensors.items()}

    graph = native_model.lstm_lm_graph(256, args.embedding_dim, args.hidden_size, args.layers)
    hyper = {k: getattr(args, k) for k in (
        "embedding_dim", "hidden_size", "layers", "dropout", "batch", "bptt", "steps", "lr",
        "min_lr_frac", "warmup", "weight_decay", "clip", "seed", "threads", "max_minutes")}
    hyper["optimizer"] = "AdamW(betas=(0.9, 0.99))"
    hyper["schedule"] = "linear warm-up, then cosine decay to min_lr_frac * lr"
    src_version = kjv_text.debian_version("bible-kjv-text")
    prompt = args.prompt.encode("utf-8")
    text = sample(model, prompt, args.sample_bytes, args.temperature, args.sample_seed)
    meta = {
        "name": "kjv-lstm",
        "description": "Byte-level language model: %d-layer LSTM (embedding %d, hidden %d, "
                       "%d parameters) trained on the King James Bible. Feed it bytes, "
                       "sample bytes." % (args.layers, args.embedding_dim, args.hidden_size,
                                          nparams),
        "license": "Training text: the King James Version of the Bible, public domain. "
                   "Weights: distributed under the libseqcore project's license.",
        "data": {
            "source": "Debian package bible-kjv-text%s, read with `bible -l1000000 "
                      "Gen1:1-Rev22:21` (package bible-kjv)"
                      % (" " + src_version if src_version else ""),
            "layout": "per chapter: a heading line 'Book N', then one verse per line "
                      "'N:V text'; a blank line between chapters; ASCII",
            "split": "chapters 0..1188 in canonical order; chapter i is validation when "
                     "i % 50 == 49 (23 chapters), training otherwise",
            "train_bytes": len(train_bytes), "val_bytes": len(val_bytes),
        },
        "command": command,
        "hyperparameters": hyper,
        "parameters": nparams,
        "steps": steps_done,
        "ended_by": "time budget" if stopped_early else "steps",
        "bytes_seen": steps_done * B * T,
        "epochs": round(steps_done * B * T / len(train), 2),
        "train_minutes": round(train_seconds / 60, 1),
        "machine": "%s, torch %s, %d threads" % (platform.machine(), torch.__version__,
                                                 args.threads),
        "val_bits_per_byte": round(val_bpb, 4),
        "train_bits_per_byte": round(train_bpb, 4),
        "weights_dtype": dtype.upper(),
        "sample": {"prompt": args.prompt, "temperature": args.temperature,
                   "seed": args.sample_seed,
                   "text": text.decode("ascii", errors="replace")},
        "history": history,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    native_model.write_native(args.out, graph, tensors, meta)
    print("wrote %s (%d bytes, %s weights)" % (args.out, os.path.getsize(args.out),
                                               dtype.upper()))

    # ---- check the file: reload, numpy reference forward vs torch ----------------------
    g2, t2, m2 = native_model.read_native(args.out)
    assert g2 == graph and m2 == meta
    ids = list(val_bytes[:200])
    ref = numpy_forward(g2, t2, ids)
    check = ByteLSTM(args.embedding_dim, args.hidden_size, args.layers)
    check.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in t2.items()})
    with torch.no_grad():
        got = check.eval()(torch.tensor([ids]))[0][0].double().numpy()
        orig = model.eval()(torch.tensor([ids]))[0][0].double().numpy()
    print("file check: numpy vs torch logits max |diff| %.2e; stored vs trained weights "
          "logits max |diff| %.2e" % (np.abs(ref - got).max(), np.abs(got - orig).max()))
    if np.abs(ref - got).max() > 1e-3:
        sys.exit("the written model does not reproduce the torch model")

    print("\nsample (prompt %r, temperature %g, seed %d):\n%s%s\n"
          % (args.prompt, args.temperature, args.sample_seed, args.prompt,
             text.decode("ascii", errors="replace")))


if __name__ == "__main__":
    main()
