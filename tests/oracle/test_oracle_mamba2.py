"""recurrent/mamba2 against the float64 reference in mamba2_reference.py,
through the command-line tool, on native model files with random weights:
n_groups 1 and 2 and H = G, odd head counts, head_dim 8/16/64, d_state
16/24/128, conv widths 2-4, with and without conv and projection biases, both
gated-norm groupings (transformers' whole-width RMS and mamba_ssm's per-group
RMS), dt limits, and chunk sizes smaller than the sequence.

For each configuration:
  - steps (--chunk 1, the exact recurrence) and one forward (the chunked SSD
    algorithm) against float64, and forward against steps; with prefill
    "scan", forward and every chunking equal the steps bit for bit;
  - other chunkings of the forward within the same tolerance;
  - the same bits with SEQC_ISA=scalar / avx2 and with one thread;
  - for n_groups > 1: the other norm grouping is far from our output (the
    test tells the two conventions apart).
Also checks the reference's own SSD form against its step loop in float64.

usage: test_oracle_mamba2.py SEQCORE_BINARY TOOLS_DIR
Prints one line per case with the measured errors.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, sys.argv[2])
import native_model  # noqa: E402

import mamba2_reference as ref  # noqa: E402

SEQCORE = sys.argv[1]
T = 150

# max |ours - ref| over all outputs relative to max |ref| (docs/numerics.md).
TOL_STEP = 2e-6   # the exact recurrence vs float64
TOL_FWD = 2e-6    # the chunked forward vs float64, and vs the steps (conformance: 1e-5)
TOL_SSD64 = 1e-10  # the reference's SSD form vs its step loop, both float64

CASES = [
    dict(d_model=12, d_inner=24, n_heads=3, head_dim=8, d_state=16, d_conv=4, chunk_size=16, prefill="ssd"),
    dict(d_model=10, d_inner=64, n_heads=4, head_dim=16, d_state=24, n_groups=2, d_conv=3, conv_bias=False,
         bias=True, norm_group_size=32, dt_min=0.01, dt_max=0.5, chunk_size=64, prefill="ssd"),
    dict(d_model=10, d_inner=64, n_heads=4, head_dim=16, d_state=24, n_groups=2, d_conv=3, conv_bias=False,
         bias=True, norm_group_size=0, dt_min=0.01, dt_max=0.5, chunk_size=64, prefill="ssd"),
    dict(d_model=8, d_inner=40, n_heads=5, head_dim=8, d_state=16, n_groups=5, d_conv=2, norm_group_size=8,
         chunk_size=7, prefill="ssd"),
    dict(d_model=16, d_inner=112, n_heads=7, head_dim=16, d_state=24, d_conv=4, bias=True, dt_min=0.05,
         chunk_size=150, prefill="ssd"),
    dict(d_model=48, d_inner=128, n_heads=2, head_dim=64, d_state=128, d_conv=4, chunk_size=256, prefill="ssd"),
    # prefill "scan": the forward runs the step recurrence, bit for bit the steps.
    dict(d_model=10, d_inner=64, n_heads=4, head_dim=16, d_state=24, n_groups=2, d_conv=3, bias=True,
         norm_group_size=32, dt_max=0.5, prefill="scan"),
]
# A two-layer pre-norm stack (residual groups of rmsnorm + mamba2).
STACK = dict(d_model=24, d_inner=48, n_heads=6, head_dim=8, d_state=16, n_groups=3, d_conv=4, chunk_size=32,
             prefill="ssd")


def dims(cfg):
    return ref.Dims(cfg)


def random_weights(rng, cfg):
    """Weights in the ranges of trained models, with some stiff heads: A in
    [1, 16] (transformers' init), dt from softplus(dt_bias + ...) spanning
    0.02..1.3, so that decays per step range from ~1 down to 1e-9."""
    d = dims(cfg)
    NP = 2 * d.Di + 2 * d.G * d.N + d.H

    def u(shape, s):
        return rng.uniform(-s, s, size=shape).astype(np.float32)

    w = {
        "in_proj.weight": u((NP, d.D), 1 / d.D ** 0.5),
        "conv1d.weight": u((d.Cd, 1, d.K), 1 / d.K ** 0.5),
        "dt_bias": rng.uniform(-4, 1, size=d.H).astype(np.float32),
        "A_log": np.log(rng.uniform(1, 16, size=d.H)).astype(np.float32),
        "D": rng.uniform(0.5, 1.5, size=d.H).astype(np.float32),
        "norm.weight": rng.uniform(0.5, 1.5, size=d.Di).astype(np.float32),
        "out_proj.weight": u((d.D, d.Di), 1 / d.Di ** 0.5),
    }
    if cfg.get("conv_bias", True):
        w["conv1d.bias"] = u((d.Cd,), 1 / d.K ** 0.5)
    if cfg.get("bias", False):
        w["in_proj.bias"] = u((NP,), 1 / d.D ** 0.5)
        w["out_proj.bias"] = u((d.D,), 1 / d.Di ** 0.5)
    return w


def run(model, x_path, out_path, chunk, env=None, threads=None):
    cmd = [SEQCORE, "run", model, "--in", x_path, "--out", out_path, "--chunk", str(chunk)]
    if threads:
        cmd += ["--threads", str(threads)]
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, **(env or {})))
    return np.load(out_path)


def rel_err(a, b):
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)), 1e-30))


def check_model(tmp, name, graph, tensors, x, y_ref, tol_step, tol_fwd, scan=False):
    """Runs the model every way; returns (ok, message, errors). scan: the forward
    must equal the steps bit for bit (prefill "scan")."""
    model = os.path.join(tmp, name + ".safetensors")
    native_model.write_native(model, graph, tensors)
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, x)
    y_step = run(model, xp, yp, 1)
    y_fwd = run(model, xp, yp, 0)
    e_step, e_fwd, e_fs = rel_err(y_step, y_ref), rel_err(y_fwd, y_ref), rel_err(y_fwd, y_step)
    ys_chunks = [run(model, xp, yp, c) for c in (5, 37, 64)]
    e_chunks = max(rel_err(y, y_step) for y in ys_chunks)
    bitwise = all(np.array_equal(y, y_step) for y in ys_chunks + [y_fwd])
    same_isa = all(np.array_equal(run(model, xp, yp, c, env={"SEQC_ISA": isa}), y)
                   for isa in ("scalar", "avx2") for c, y in ((1, y_step), (0, y_fwd)))
    same_threads = (np.array_equal(run(model, xp, yp, 0, threads=1), y_fwd)
                    and np.array_equal(run(model, xp, yp, 1, threads=1), y_step))
    ok = (e_step <= tol_step and e_fwd <= tol_fwd and e_fs <= tol_fwd and e_chunks <= tol_fwd
          and same_isa and same_threads and (bitwise or not scan))
    msg = (f"steps vs float64 {e_step:.2e}, forward vs float64 {e_fwd:.2e}, forward vs steps {e_fs:.2e}, "
           f"chunkings 5/37/64 vs steps {e_chunks:.2e}, same bits on scalar/avx2: {same_isa}, "
           f"on 1 thread: {same_threads}" + (f", forward and chunkings bitwise equal to steps: {bitwise}" if scan else ""))
    return ok, msg, (e_step, max(e_fwd, e_fs, e_chunks), y_step)


def main():
    rng = np.random.default_rng(2024)
    failures = 0
    worst_step = worst_fwd = worst_ssd64 = 0.0
    n_checks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, cfg in enumerate(CASES):
            d = dims(cfg)
            w = random_weights(rng, cfg)
            x = rng.uniform(-2, 2, size=(T, d.D)).astype(np.float32)
            y_ref, _ = ref.mixer(x, w, cfg)
            y_ssd, _ = ref.mixer_ssd(x, w, cfg)
            e_ssd64 = rel_err(y_ssd, y_ref)
            worst_ssd64 = max(worst_ssd64, e_ssd64)
            graph = {"input": {"kind": "frames", "width": d.D},
                     "blocks": [{"name": "m", "plugin": "recurrent/mamba2", "config": cfg}]}
            ok, msg, (e_step, e_fwd, y_step) = check_model(
                tmp, f"case{i}", graph, {"m." + k: v for k, v in w.items()}, x, y_ref, TOL_STEP, TOL_FWD,
                scan=cfg.get("prefill") == "scan")
            ok = ok and e_ssd64 <= TOL_SSD64
            msg += f"; reference SSD vs steps in float64 {e_ssd64:.1e}"
            if d.G > 1:
                # The other gated-norm convention must be far from what we computed.
                other = dict(cfg, norm_group_size=0 if cfg.get("norm_group_size", 0) else d.Di // d.G)
                e_other = rel_err(y_step, ref.mixer(x, w, other)[0])
                ok = ok and e_other > 1e-3
                msg += f"; the other norm grouping is {e_other:.1e} away"
            worst_step, worst_fwd = max(worst_step, e_step), max(worst_fwd, e_fwd)
            failures += not ok
            n_checks += 1
            print(f"{'ok  ' if ok else 'FAIL'} {json.dumps(cfg, separators=(',', ':'))}: {msg}")

        # Two residual layers: x + mixer(rmsnorm(x)), twice.
        d = dims(STACK)
        tensors, layers = {}, []
        blocks = []
        for l in range(2):
            w = random_weights(rng, STACK)
            nw = rng.uniform(0.5, 1.5, size=d.D).astype(np.float32)
            layers.append((nw, w))
            tensors[f"l{l}_norm.weight"] = nw
            tensors.update({f"l{l}_mixer.{k}": v for k, v in w.items()})
            blocks.append({"residual": [
                {"name": f"l{l}_norm", "plugin": "layer/rmsnorm", "config": {"dim": d.D, "eps": 1e-5}},
                {"name": f"l{l}_mixer", "plugin": "recurrent/mamba2", "config": STACK}]})
        graph = {"input": {"kind": "frames", "width": d.D}, "blocks": blocks}
        x = rng.uniform(-2, 2, size=(T, d.D)).astype(np.float32)
        h = x.astype(np.float64)
        for nw, w in layers:
            n = h / np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + 1e-5) * nw
            h = h + ref.mixer(n, w, STACK)[0]
        ok, msg, (e_step, e_fwd, _) = check_model(tmp, "stack", graph, tensors, x, h, TOL_STEP, TOL_FWD)
        worst_step, worst_fwd = max(worst_step, e_step), max(worst_fwd, e_fwd)
        failures += not ok
        n_checks += 1
        print(f"{'ok  ' if ok else 'FAIL'} 2 x residual(rmsnorm, mamba2) {json.dumps(STACK, separators=(',', ':'))}: "
              f"{msg}")

    print(f"worst max relative error: steps vs float64 {worst_step:.2e} (tolerance {TOL_STEP:.0e}), "
          f"forward (SSD) vs float64 and vs steps {worst_fwd:.2e} (tolerance {TOL_FWD:.0e}), "
          f"float64 SSD vs steps {worst_ssd64:.1e} (tolerance {TOL_SSD64:.0e})")
    print(f"{n_checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
