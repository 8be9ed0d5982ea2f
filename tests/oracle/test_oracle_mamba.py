"""recurrent/mamba (Mamba-1) and layer/short_conv against the float64
references in mamba_reference.py, through the command-line tool: native
model files with random weights (a single mixer or conv over frames, and a
small language model with residual pre-norm blocks as the HF importer
builds them), run step by step
(--chunk 1), as one forward (--chunk 0) and in chunks of 7 and 64. The plugin
declares forward == steps bit for bit, so every chunking must give the same
bits; the float64 reference must agree within TOL.

usage: test_oracle_mamba.py SEQCORE_BINARY TOOLS_DIR
Prints one line per case with the measured errors.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, sys.argv[2])
import native_model  # noqa: E402

import mamba_reference as ref  # noqa: E402

SEQCORE = sys.argv[1]

# max |ours - ref| over all outputs, relative to the largest |ref|
# (docs/numerics.md, "Mamba-1"). Measured worst case 9.6e-7 on these cases.
TOL = 5e-6

CASES = [
    # d_model, d_inner, N, K, R, bias, conv_bias, bcdt_rms, T, extreme dt
    (12, 24, 5, 3, 2, False, True, False, 70, False),   # odd sizes
    (12, 24, 5, 1, 2, True, False, False, 50, False),   # K = 1: no conv state
    (16, 40, 16, 2, 1, False, False, True, 60, False),  # bcdt_rms, R = 1
    (20, 70, 7, 4, 3, True, True, True, 80, True),      # everything on, dt beyond 20 and very negative
    (33, 130, 16, 4, 0, False, True, False, 90, False),  # dt_rank auto = 3, three channel blocks
    (64, 192, 16, 3, 4, False, True, True, 40, True),
    (8, 40, 100, 4, 2, False, True, False, 50, False),   # large N: scan sub-blocks of 10 channels
]


def run(model, x_path, out_path, chunk):
    subprocess.run([SEQCORE, "run", model, "--in", x_path, "--out", out_path, "--chunk", str(chunk)],
                   check=True, capture_output=True)
    return np.load(out_path)


def rel_err(a, r):
    return float(np.max(np.abs(a.astype(np.float64) - r)) / max(np.max(np.abs(r)), 1e-30))


def mixer_weights(rng, Dm, Di, N, K, R, bias, conv_bias, extreme_dt):
    """Random weights in the ranges of transformers' initialisation."""
    R = R if R > 0 else -(-Dm // 16)

    def u(shape, scale):
        return rng.uniform(-scale, scale, size=shape).astype(np.float32)

    # dt_proj.bias = softplus^-1(dt) for dt log-uniform in [1e-3, 1e-1], as
    # MambaMixer initialises it; optionally a few values far outside.
    dt0 = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), size=Di))
    dt_bias = dt0 + np.log(-np.expm1(-dt0))
    if extreme_dt:
        dt_bias[:: 7] = 25.0   # softplus(x) = x beyond 20
        dt_bias[3:: 11] = -40.0  # exp underflows towards 0
    A = np.tile(np.arange(1, N + 1, dtype=np.float64), (Di, 1)) * rng.uniform(0.5, 1.5, size=(Di, N))
    w = {
        "in_proj.weight": u((2 * Di, Dm), 2 / Dm ** 0.5),
        "conv1d.weight": u((Di, 1, K), 1 / K ** 0.5),
        "x_proj.weight": u((R + 2 * N, Di), 2 / Di ** 0.5),
        "dt_proj.weight": u((Di, R), 1 / R ** 0.5),
        "dt_proj.bias": dt_bias.astype(np.float32),
        "A_log": np.log(A).astype(np.float32),
        "D": u((Di,), 1.0),
        "out_proj.weight": u((Dm, Di), 1 / Di ** 0.5),
    }
    if bias:
        w["in_proj.bias"] = u((2 * Di,), 0.5)
        w["out_proj.bias"] = u((Dm,), 0.5)
    if conv_bias:
        w["conv1d.bias"] = u((Di,), 0.5)
    return w


def check_case(tmp, name, graph, tensors, x, want):
    """Runs the model in four chunkings; returns (ok, error, all bitwise equal)."""
    model = os.path.join(tmp, name + ".safetensors")
    native_model.write_native(model, graph, tensors)
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, x)
    y_fwd = run(model, xp, yp, 0)
    y_steps = run(model, xp, yp, 1)
    same = np.array_equal(y_fwd, y_steps) and all(np.array_equal(run(model, xp, yp, c), y_fwd) for c in (7, 64))
    err = max(rel_err(y_fwd, want), rel_err(y_steps, want))
    return err <= TOL and same and np.all(np.isfinite(y_fwd)), err, same


def main():
    failures = 0
    cases = len(CASES) + 1
    worst = 0.0
    rng = np.random.default_rng(4)
    with tempfile.TemporaryDirectory() as tmp:
        for Dm, Di, N, K, R, bias, conv_bias, bcdt, T, extreme in CASES:
            cfg = {"d_model": Dm, "d_inner": Di, "d_state": N, "d_conv": K, "dt_rank": R, "bias": bias,
                   "conv_bias": conv_bias, "bcdt_rms": bcdt}
            if bcdt:
                cfg["rms_eps"] = 1e-5
            w = mixer_weights(rng, Dm, Di, N, K, R, bias, conv_bias, extreme)
            graph = {"input": {"kind": "frames", "width": Dm},
                     "blocks": [{"name": "mixer", "plugin": "recurrent/mamba", "config": cfg}]}
            x = rng.uniform(-2, 2, size=(T, Dm)).astype(np.float32)
            want = ref.mamba(x, w, cfg)[0]
            ok, err, same = check_case(tmp, "mamba", graph, {"mixer." + k: v for k, v in w.items()}, x, want)
            worst = max(worst, err)
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} mamba d_model={Dm} d_inner={Di} N={N} K={K} R={R} bias={bias} "
                  f"conv_bias={conv_bias} bcdt_rms={bcdt} T={T}{' extreme dt' if extreme else ''}: "
                  f"max rel err vs float64 {err:.2e} (tolerance {TOL:.0e}), "
                  f"chunkings 0/1/7/64 bitwise equal: {same}")

        # layer/short_conv, the conv on its own.
        for C, K, bias, act in [(13, 4, True, "none"), (24, 1, False, "silu"), (40, 3, True, "silu")]:
            w = {"conv.weight": rng.uniform(-1, 1, size=(C, 1, K)).astype(np.float32)}
            if bias:
                w["conv.bias"] = rng.uniform(-0.5, 0.5, size=C).astype(np.float32)
            graph = {"input": {"kind": "frames", "width": C},
                     "blocks": [{"name": "conv", "plugin": "layer/short_conv",
                                 "config": {"channels": C, "kernel_size": K, "bias": bias, "activation": act}}]}
            x = rng.uniform(-2, 2, size=(70, C)).astype(np.float32)
            want = ref.short_conv(x, w["conv.weight"], w.get("conv.bias"), act)
            ok, err, same = check_case(tmp, "conv", graph, w, x, want)
            worst = max(worst, err)
            failures += not ok
            cases += 1
            print(f"{'ok  ' if ok else 'FAIL'} short_conv C={C} K={K} bias={bias} activation={act}: "
                  f"max rel err vs float64 {err:.2e} (tolerance {TOL:.0e}), chunkings 0/1/7/64 bitwise equal: {same}")

        # A language model shaped like the HF import: embedding, residual
        # (rmsnorm, mamba) blocks, final rmsnorm, linear head; token input.
        V, Dm, Di, N, K, L, T = 50, 24, 48, 8, 4, 3, 100
        cfg = {"d_model": Dm, "d_inner": Di, "d_state": N, "d_conv": K, "dt_rank": 2}
        tensors = {"embed.weight": rng.uniform(-1, 1, size=(V, Dm)).astype(np.float32),
                   "norm_f.weight": rng.uniform(0.5, 1.5, size=Dm).astype(np.float32),
                   "lm_head.weight": rng.uniform(-0.2, 0.2, size=(V, Dm)).astype(np.float32)}
        blocks = [{"name": "embed", "plugin": "layer/embedding",
                   "config": {"num_embeddings": V, "embedding_dim": Dm}}]
        layers = []
        for i in range(L):
            w = mixer_weights(rng, Dm, Di, N, K, 2, False, True, False)
            nw = rng.uniform(0.5, 1.5, size=Dm).astype(np.float32)
            tensors[f"l{i}_norm.weight"] = nw
            tensors.update({f"l{i}_mixer.{k}": v for k, v in w.items()})
            layers.append((nw, w))
            blocks.append({"residual": [
                {"name": f"l{i}_norm", "plugin": "layer/rmsnorm", "config": {"dim": Dm, "eps": 1e-5}},
                {"name": f"l{i}_mixer", "plugin": "recurrent/mamba", "config": cfg}]})
        blocks += [{"name": "norm_f", "plugin": "layer/rmsnorm", "config": {"dim": Dm, "eps": 1e-5}},
                   {"name": "lm_head", "plugin": "layer/linear",
                    "config": {"in_features": Dm, "out_features": V, "bias": False}}]
        graph = {"input": {"kind": "tokens", "vocab": V}, "output": {"kind": "logits"}, "blocks": blocks}
        toks = rng.integers(0, V, size=T).astype(np.int32)
        hcur = tensors["embed.weight"][toks].astype(np.float64)
        for nw, w in layers:
            hcur = hcur + ref.mamba(ref.rmsnorm(hcur, nw, 1e-5), w, cfg)[0]
        want = ref.rmsnorm(hcur, tensors["norm_f.weight"], 1e-5) @ tensors["lm_head.weight"].astype(np.float64).T
        ok, err, same = check_case(tmp, "lm", graph, tensors, toks, want)
        worst = max(worst, err)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} LM embedding + {L} x residual(rmsnorm, mamba) + rmsnorm + head, T={T}: "
              f"max rel err vs float64 {err:.2e} (tolerance {TOL:.0e}), chunkings 0/1/7/64 bitwise equal: {same}")

    print(f"worst max relative error vs float64: {worst:.2e} (tolerance {TOL:.0e})")
    print(f"{cases - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
