"""LSTM and GRU against PyTorch (nn.LSTM / nn.GRU, float32) and against the
float64 reference in reference.py, through the command-line tool, for
several layer counts, sizes, with and without bias and projection. Also
checks that every chunking gives the same bits.

usage: test_oracle_rnn.py SEQCORE_BINARY TOOLS_DIR
Prints one line per case with the measured errors.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, sys.argv[2])
import safetensors_np  # noqa: E402
import native_model  # noqa: E402

import reference  # noqa: E402

try:
    import torch
except ImportError:  # CI installs python3-torch; say so loudly if it is missing
    print("FAIL: PyTorch (Debian package python3-torch) is required for the oracle test")
    sys.exit(1)

SEQCORE = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)

# Tolerances, measured with margin (docs/numerics.md): max |ours - ref| over
# all outputs, relative to the largest |ref|.
TOL_F64 = 2e-6
TOL_TORCH = 5e-6

CASES = [
    # kind, input, hidden, layers, bias, proj, T
    ("lstm", 7, 16, 1, True, 0, 60),
    ("lstm", 13, 33, 2, True, 0, 80),
    ("lstm", 5, 64, 3, False, 0, 70),
    ("lstm", 24, 40, 2, True, 9, 50),
    ("lstm", 32, 256, 2, True, 0, 40),
    ("gru", 7, 16, 1, True, 0, 60),
    ("gru", 11, 70, 2, False, 0, 80),
    ("gru", 9, 130, 3, True, 0, 50),
    ("gru", 32, 256, 2, True, 0, 40),
]


def run(model, x_path, out_path, chunk):
    subprocess.run([SEQCORE, "run", model, "--in", x_path, "--out", out_path, "--chunk", str(chunk)],
                   check=True, capture_output=True)
    return np.load(out_path)


def rel_err(a, ref):
    return float(np.max(np.abs(a.astype(np.float64) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def main():
    failures = 0
    worst_f64 = worst_torch = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for kind, I, H, L, bias, proj, T in CASES:
            if kind == "lstm":
                mod = torch.nn.LSTM(I, H, num_layers=L, bias=bias, proj_size=proj)
            else:
                mod = torch.nn.GRU(I, H, num_layers=L, bias=bias)
            # Twice PyTorch's init range: gates reach saturation, yet the
            # recurrence stays contractive enough for float32 to be meaningful.
            with torch.no_grad():
                for p in mod.parameters():
                    p.uniform_(-2 / H ** 0.5, 2 / H ** 0.5)
            w = {k: v.detach().numpy().copy() for k, v in mod.state_dict().items()}
            x = np.random.default_rng(T + H).uniform(-2, 2, size=(T, I)).astype(np.float32)
            with torch.no_grad():
                y_torch = mod(torch.from_numpy(x).unsqueeze(1))[0].squeeze(1).numpy()
            if kind == "lstm":
                y_ref = reference.lstm(x, w, L, H, proj)[0]
            else:
                y_ref = reference.gru(x, w, L, H)[0]

            # A bare PyTorch state dict: imported without any config.
            model = os.path.join(tmp, f"{kind}.safetensors")
            safetensors_np.save(model, w)
            xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(xp, x)
            y_one = run(model, xp, yp, 0)
            e64, et = rel_err(y_one, y_ref), rel_err(y_one, y_torch.astype(np.float64))
            base = rel_err(y_torch, y_ref)  # how far float32 PyTorch itself is from float64
            worst_f64, worst_torch = max(worst_f64, e64), max(worst_torch, et)
            chunks_same = all(np.array_equal(run(model, xp, yp, c), y_one) for c in (1, 7, 64))
            ok = e64 <= TOL_F64 and et <= TOL_TORCH and chunks_same
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {kind} I={I} H={H} L={L} bias={bias} proj={proj} T={T}: "
                  f"max rel err vs float64 {e64:.2e} (PyTorch's own: {base:.2e}), vs PyTorch {et:.2e}, "
                  f"chunkings 1/7/64 bitwise equal: {chunks_same}")

        # A language model imported with a seqcore.torch config: embedding ->
        # LSTM -> linear, compared on logits.
        V, E, H = 40, 12, 48
        emb, rnn, head = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, 2), torch.nn.Linear(H, V)
        toks = np.random.default_rng(1).integers(0, V, size=90).astype(np.int32)
        with torch.no_grad():
            logits_t = head(rnn(emb(torch.from_numpy(toks).long()).unsqueeze(1))[0].squeeze(1)).numpy()
        tensors = {f"embed.{k}": v.detach().numpy() for k, v in emb.state_dict().items()}
        tensors.update({f"rnn.{k}": v.detach().numpy() for k, v in rnn.state_dict().items()})
        tensors.update({f"head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
        cfg = ('{"modules": [{"type": "embedding", "prefix": "embed."}, {"type": "lstm", "prefix": "rnn."},'
               ' {"type": "linear", "prefix": "head."}], "output": {"kind": "logits"}}')
        model = os.path.join(tmp, "lm.safetensors")
        safetensors_np.save(model, tensors, {"seqcore.torch": cfg})
        tp, yp = os.path.join(tmp, "t.npy"), os.path.join(tmp, "y.npy")
        np.save(tp, toks)
        y = run(model, tp, yp, 0)
        w = {k[4:]: v for k, v in tensors.items() if k.startswith("rnn.")}
        h_ref = reference.lstm(tensors["embed.weight"][toks], w, 2, H)[0]
        ref = reference.linear(h_ref, tensors["head.weight"], tensors["head.bias"])
        e64, et = rel_err(y, ref), rel_err(y, logits_t.astype(np.float64))
        ok = e64 <= TOL_F64 and et <= TOL_TORCH and np.array_equal(run(model, tp, yp, 1), y)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} LM embedding+lstm+linear via seqcore.torch: "
              f"max rel err vs float64 {e64:.2e}, vs PyTorch {et:.2e}")

        # The same model converted to the native format gives the same bits.
        native = os.path.join(tmp, "lm_native.safetensors")
        subprocess.run([SEQCORE, "convert", model, native], check=True, capture_output=True)
        same = np.array_equal(run(native, tp, yp, 0), y)
        failures += not same
        print(f"{'ok  ' if same else 'FAIL'} converted to the native format: identical outputs: {same}")

    print(f"worst max relative error: vs float64 {worst_f64:.2e} (tolerance {TOL_F64:.0e}), "
          f"vs PyTorch {worst_torch:.2e} (tolerance {TOL_TORCH:.0e})")
    print(f"{len(CASES) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
