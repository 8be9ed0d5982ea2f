#!/usr/bin/env python3
"""GPU peers of libseqcore's Mamba kernels, run from source: mamba_ssm's and flash-linear-attention's
Triton kernels on the Mamba-130m and Mamba-2-130m shapes, side by side in one run (the GPU machine;
issue 5).

usage: bench_peers.py --mamba-src MAMBA_REPO --fla-src FLA_REPO --out OUT.json [--quick]
                      [--state-dtype f32|bf16]

MAMBA_REPO and FLA_REPO are checkouts of state-spaces/mamba and fla-org/flash-linear-attention (their
roots, holding mamba_ssm/ and fla/). Needs torch with CUDA and triton; nothing is installed or compiled.
Writes OUT.json and prints the same figures as markdown tables.

Importing the peers:
  * mamba_ssm: its __init__ imports compiled CUDA extensions (selective_scan_cuda, causal_conv1d),
    so the packages mamba_ssm, mamba_ssm.ops, mamba_ssm.ops.triton and mamba_ssm.utils are made here as
    empty modules whose __path__ is the source folder, and only the Triton modules are imported:
    ops.triton.selective_state_update, ops.triton.ssd_combined, ops.triton.layernorm_gated,
    ops.triton.layer_norm and ops.selective_scan_interface (for its pure-torch selective_scan_ref);
  * fla: the repository root goes on sys.path (for the import only) and fla.ops.simple_gla is
    imported; if fla's own __init__ fails, fla and fla.ops are made as empty packages and the import
    is tried again. Either failure is recorded and the other peer still runs;
  * einops: if it is not installed, a small shim stands in for it: rearrange/repeat/reduce over the
    einops pattern syntax (names, (groups), '...', '1'), einsum through torch.einsum. causal_conv1d is
    never needed: the modules above import it under try/except ImportError and the paths called here
    do not use it.
  JSON "shims" says which of these were used.

Shapes: d_model 768, 24 layers, bf16 activations. Mamba-1: d_inner 1536, d_state 16, dt_rank 48,
d_conv 4. Mamba-2: d_inner 1536, 24 heads of 64, d_state 128, 1 group, d_conv 4, chunk 256.
SSM states are fp32 (--state-dtype bf16 for mamba_ssm's own inference default, the model dtype).

Figures:
  * ssm_step: one model step of the SSM alone, 24 calls (one per layer, each layer with its own
    state and inputs) captured in one CUDA graph, at batch 1, 8, 64 and 256:
      - mamba_ssm selective_state_update, Mamba-1 form (state [B,1536,16], z gate, dt_bias, softplus);
      - mamba_ssm selective_state_update, Mamba-2 multi-head form as Mamba2.step calls it (state
        [B,24,64,128]; A, dt, dt_bias and D broadcast over the head dim with stride 0, no z: the gate
        is in the gated RMSNorm after it);
      - fla fused_recurrent_simple_gla on the same problem as a simple GLA, one position: q = C and
        k = B (broadcast to the 24 heads, materialised), v = x*dt, g = dt*A (log decay), scale 1,
        initial_state = the layer's state [B,24,128,64], output_final_state=True. Its inputs are
        prepared outside the graph (the kernel alone), and fla's API writes the new state to a fresh
        tensor: it is not copied back (fla's own caches swap the reference), so the bytes moved are
        those of an in-place update.
    Reported: us per model step (all 24 layers) and per layer.
  * ssm_prefill: the SSM of the whole model over T = 2048 and 16384 positions (batch 1), 24 calls:
      - mamba_ssm mamba_chunk_scan_combined (x [1,T,24,64], dt [1,T,24], A [24], B, C [1,T,1,128],
        chunk 256, D, z, dt_bias, dt_softplus=True, return_final_states=True);
      - fla chunk_simple_gla on the same problem (inputs prepared outside, output_final_state=True).
    Captured in a CUDA graph where capture works, else timed eagerly ("graph": false). Reported:
    positions/s of the SSM part (T / time of the 24 layers) and ms per layer.
  * model: "what a PyTorch user gets with the peer's kernels": a plain PyTorch Mamba-130m and
    Mamba-2-130m with random bf16 weights: tied embedding 50280 x 768, fused add + RMSNorm pre-norm
    (mamba_ssm's layer_norm.rms_norm_fn, residual in fp32; torch if it does not import), in_proj,
    depthwise causal conv1d (torch F.conv1d for prefill, the rolling conv state of Mamba(2).step
    without causal_conv1d for a step), SiLU, x_proj/dt_proj (Mamba-1), the SSM by the peer kernel,
    the gated RMSNorm of Mamba-2 (mamba_ssm's layernorm_gated.rmsnorm_fn, else torch), out_proj,
    residual, final norm, LM head on the last (prefill) or the one (step) position, greedy argmax.
    Variants: mamba-130m and mamba2-130m with mamba_ssm's kernels, mamba2-130m/fla with fla's.
      - step_b1_us: one CUDA graph of the whole step (token in, argmax token out, fed back to the
        input), median wall time of one replay including the synchronisation;
      - streams_pos_per_s at 8, 64, 256 streams: one graph per batch size, batch / replay time;
      - prefill_pos_per_s at 2048 and 16384 positions: eager (no graph), CUDA events, median of 3,
        last position's logits. Eager, the Triton wrappers' Python launch cost (about 1.3 ms per
        mamba_chunk_scan_combined call on an H100 host) outweighs the GPU work at 2048 positions, so
        Mamba-2 prefill is also captured in a CUDA graph and timed like the SSM figures
        (prefill_graph_pos_per_s). Mamba-1 has no Triton prefill in mamba_ssm (its scan is the
        selective_scan_cuda extension); its pure-torch selective_scan_ref (a Python loop over
        positions) is used where its projected time stays under REF_SCAN_LIMIT_S, else the figure
        is recorded as not available;
      - check: a prefill of 64 positions against 64 steps from the same zero state; the max relative
        difference of the last logits (max |a-b| / max |b|) must stay under 5e-2.
Run time on an H100: about 3.5 minutes, about 2.5 with --quick (peers of 2026-07/08, cold Triton cache);
about 90 s of it is the peers' Triton compilation and autotuning, mostly of the chunked-scan kernels.
Graph timing: the captured sequence is first run 3 times on a side stream (Triton compilation and
autotuning happen there, before capture), then replayed in batches of N replays between CUDA events
(N sized to about 40 ms, 15 ms with --quick), and the median batch is reported.

JSON (OUT.json), all times in microseconds unless the key says otherwise:
  {"gpu", "torch", "triton", "quick", "state_dtype",
   "peers": {"mamba_ssm": {"src", "commit"}, "fla": {"src", "commit", "import"}},
   "shims": [str], "notes": {key: str}, "errors": {where: "Type: message (file:line)"},
   "ssm_step": {name: {"step_us": {"1": us, "8":, "64":, "256":}, "layer_us": {...}, "graph": {...}}},
   "ssm_prefill": {name: {"pos_per_s": {"2048":, "16384":}, "layer_ms": {...}, "graph": {...}}},
   "model": {variant: {"ssm", "norm", "gated_norm", "step_b1_us", "streams_step_us": {"8":, ..},
                       "streams_pos_per_s": {"8":, ..}, "prefill_pos_per_s": {"2048":, ..},
                       "prefill_ms": {..}, "prefill_graph_pos_per_s": {..}, "prefill_graph_ms": {..},
                       "prefill_note", "check": {"positions", "max_rel_diff", "ok"}}},
   "seconds": total run time}
Names: mamba_ssm/selective_state_update/mamba1, mamba_ssm/selective_state_update/mamba2,
fla/fused_recurrent_simple_gla/mamba2, mamba_ssm/mamba_chunk_scan_combined/mamba2,
fla/chunk_simple_gla/mamba2. A figure that could not be measured is absent and its error is in
"errors".
"""
import argparse
import gc
import importlib
import importlib.machinery
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import traceback
import types

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # --help works without torch
    torch = F = None

LAYERS = 24
D_MODEL = 768
VOCAB = 50280
EPS = 1e-5
D_CONV = 4
M1_DI, M1_N, M1_RANK = 1536, 16, 48
M2_DI, M2_H, M2_P, M2_N, M2_CHUNK = 1536, 24, 64, 128, 256
M2_CONV = M2_DI + 2 * M2_N  # x, B, C go through the conv
STEP_BATCHES = (1, 8, 64, 256)
STREAMS = (8, 64, 256)
PREFILL_LENGTHS = (2048, 16384)
CHECK_POSITIONS = 64
CHECK_LIMIT = 5e-2
REF_SCAN_LIMIT_S = 8.0  # selective_scan_ref prefill runs only if projected under this (one prefill)
DEV = "cuda"


def log(msg):
    print(f"[bench_peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def error_text(e):
    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {e}"[:600] + where


def record_error(res, where, e):
    res["errors"][where] = error_text(e)
    log(f"error in {where}: {res['errors'][where]}")


# ---------------------------------------------------------------------------------------------
# einops shim: only used when einops is not installed.

def _parse_side(side):
    """'b (h p) ... 1' -> [['b'], ['h', 'p'], ['...'], []]: one list of axis names per dimension."""
    groups, cur = [], None
    for tok in re.findall(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+", side):
        if tok == "(":
            if cur is not None:
                raise ValueError(f"einops shim: nested parentheses in {side!r}")
            cur = []
        elif tok == ")":
            groups.append(cur)
            cur = None
        elif tok.isdigit():
            if tok != "1":
                raise ValueError(f"einops shim: only the anonymous axis 1 is supported, not {tok!r}")
            if cur is None:
                groups.append([])
        elif cur is not None:
            cur.append(tok)
        else:
            groups.append([tok])
    if cur is not None:
        raise ValueError(f"einops shim: unbalanced parentheses in {side!r}")
    return groups


def _expand_ellipsis(groups, names):
    out = []
    for g in groups:
        if g == ["..."]:
            out.extend([a] for a in names)
        elif "..." in g:
            i = g.index("...")
            out.append(g[:i] + names + g[i + 1:])
        else:
            out.append(g)
    return out


def _einops_prepare(x, pattern, sizes):
    """Reshape x to its elementary axes; returns (x, left names, right groups, axis sizes)."""
    left, right = (_parse_side(s) for s in pattern.split("->"))
    ell = []
    if any("..." in g for g in left):
        ell = [f"_ell{i}" for i in range(x.dim() - (len(left) - 1))]
    left, right = _expand_ellipsis(left, ell), _expand_ellipsis(right, ell)
    if len(left) != x.dim():
        raise ValueError(f"einops shim: {pattern!r} does not fit a tensor of {x.dim()} dims")
    known = dict(sizes)
    for g, d in zip(left, x.shape):
        unknown = [a for a in g if a not in known]
        prod = math.prod(known[a] for a in g if a in known)
        if len(unknown) > 1:
            raise ValueError(f"einops shim: cannot infer {unknown} in {pattern!r}")
        if unknown:
            if d % prod:
                raise ValueError(f"einops shim: {d} is not divisible by {prod} in {pattern!r}")
            known[unknown[0]] = d // prod
        elif prod != d:
            raise ValueError(f"einops shim: size {d} does not match {g} in {pattern!r}")
    names = [a for g in left for a in g]
    shape = [known[a] for a in names]
    return (x if list(x.shape) == shape else x.reshape(shape)), names, right, known


def _einops_finish(x, right, known):
    shape = [math.prod(known[a] for a in g) for g in right]
    return x if list(x.shape) == shape else x.reshape(shape)


def _rearrange(x, pattern, **sizes):
    x, names, right, known = _einops_prepare(x, pattern, sizes)
    rnames = [a for g in right for a in g]
    if sorted(rnames) != sorted(names):
        raise ValueError(f"einops shim: rearrange {pattern!r} must keep the same axes")
    x = x.permute([names.index(a) for a in rnames])
    return _einops_finish(x, right, known)


def _repeat(x, pattern, **sizes):
    x, names, right, known = _einops_prepare(x, pattern, sizes)
    rnames = [a for g in right for a in g]
    kept = [a for a in rnames if a in names]
    if sorted(kept) != sorted(names):
        raise ValueError(f"einops shim: repeat {pattern!r} must keep every input axis")
    x = x.permute([names.index(a) for a in kept])
    x = x.reshape([known[a] if a in names else 1 for a in rnames]).expand([known[a] for a in rnames])
    return _einops_finish(x, right, known)  # a stride-0 view unless new axes are merged


def _reduce(x, pattern, reduction, **sizes):
    x, names, right, known = _einops_prepare(x, pattern, sizes)
    rnames = [a for g in right for a in g]
    gone = [i for i, a in enumerate(names) if a not in rnames]
    if gone:
        op = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}[reduction]
        x = getattr(x, op)(dim=gone)
    left = [a for a in names if a in rnames]
    x = x.permute([left.index(a) for a in rnames])
    return _einops_finish(x, right, known)


def _einsum(*args):
    """einops.einsum(*tensors, pattern): axis names mapped to letters for torch.einsum."""
    *tensors, pattern = args
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    names = {}

    def letter(m):
        if m.group(0) == "...":
            return "..."
        return names.setdefault(m.group(0), next(letters))
    return torch.einsum(re.sub(r"\.\.\.|[A-Za-z_][A-Za-z0-9_]*", letter, pattern).replace(" ", ""), *tensors)


def einops_shim():
    mod = types.ModuleType("einops")
    mod.rearrange, mod.repeat, mod.reduce, mod.einsum = _rearrange, _repeat, _reduce, _einsum
    mod.__version__ = "0+bench_peers_shim"
    return mod


# ---------------------------------------------------------------------------------------------
# Importing the peers from source.

def bare_package(name, path):
    """A package module with no __init__ code run: submodules are found in path."""
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    mod.__package__ = name
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [path]
    mod.__spec__ = spec
    sys.modules[name] = mod
    return mod


def git_commit(src):
    """HEAD of src if src is the root of a git checkout, else the first line of src/COMMIT (an exported
    copy, e.g. `git archive HEAD mamba_ssm` plus `git rev-parse HEAD > COMMIT`), else 'unknown'."""
    try:
        with open(os.path.join(src, "COMMIT")) as f:
            line = f.readline().strip()
        if line:
            return line
    except OSError:
        pass
    try:
        r = subprocess.run(["git", "-C", src, "rev-parse", "--show-toplevel", "HEAD"], capture_output=True,
                           text=True, timeout=20)
        lines = r.stdout.splitlines()
        if r.returncode == 0 and len(lines) == 2 and os.path.realpath(lines[0]) == os.path.realpath(src):
            return lines[1]
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def install_shims(res):
    try:
        import einops  # noqa: F401
        res["shims"].append(f"einops: installed {getattr(einops, '__version__', '?')}, no shim")
    except ImportError:
        sys.modules["einops"] = einops_shim()
        res["shims"].append("einops: not installed; shim module (rearrange/repeat/reduce/einsum) in "
                            "sys.modules['einops']")
    try:
        import causal_conv1d  # noqa: F401
        res["shims"].append("causal_conv1d: installed (not called)")
    except Exception as e:  # noqa: BLE001 - absent or broken: the peers' try/except covers ImportError
        res["shims"].append(f"causal_conv1d: not importable ({type(e).__name__}); none needed, the mamba_ssm "
                            "modules import it under try/except ImportError and no path used here calls it")


def import_mamba(src, res):
    """mamba_ssm's Triton modules, without its package __init__ (compiled extensions)."""
    k = {}
    root = os.path.join(os.path.abspath(src), "mamba_ssm")
    if not os.path.isdir(root):
        res["errors"]["mamba_ssm/import"] = f"no mamba_ssm folder in {src}"
        return k
    for name in ("mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.utils"):
        bare_package(name, os.path.join(root, *name.split(".")[1:]))
    res["shims"].append("mamba_ssm, mamba_ssm.ops, mamba_ssm.ops.triton, mamba_ssm.utils: empty package modules "
                        "over the source folders (mamba_ssm/__init__.py imports compiled CUDA extensions)")
    wanted = {
        "mamba_ssm.ops.triton.selective_state_update": ["selective_state_update"],
        "mamba_ssm.ops.triton.ssd_combined": ["mamba_chunk_scan_combined"],
        "mamba_ssm.ops.triton.layernorm_gated": ["rmsnorm_fn"],
        "mamba_ssm.ops.triton.layer_norm": ["rms_norm_fn"],
        "mamba_ssm.ops.selective_scan_interface": ["selective_scan_ref"],
    }
    for mod_name, fns in wanted.items():
        try:
            mod = importlib.import_module(mod_name)
            for fn in fns:
                k[fn] = getattr(mod, fn)
        except Exception as e:  # noqa: BLE001 - reported, the rest still runs
            record_error(res, f"mamba_ssm/import/{mod_name}", e)
    return k


def import_fla(src, res):
    """fla.ops.simple_gla from the source tree; bare fla/fla.ops packages if fla's __init__ fails."""
    root = os.path.abspath(src)
    if not os.path.isdir(os.path.join(root, "fla")):
        res["errors"]["fla/import"] = f"no fla folder in {src}"
        return {}
    sys.path.insert(0, root)
    try:
        try:
            mod = importlib.import_module("fla.ops.simple_gla")
            res["peers"]["fla"]["import"] = "package"
        except Exception as e:  # noqa: BLE001 - fla's __init__ pulls in layers/models and all ops
            record_error(res, "fla/import", e)
            for name in [m for m in sys.modules if m == "fla" or m.startswith("fla.")]:
                del sys.modules[name]
            fla = bare_package("fla", os.path.join(root, "fla"))
            with open(os.path.join(root, "fla", "__init__.py")) as f:  # fla.utils imports fla.__version__
                m = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read())
            fla.__version__ = m.group(1) if m else "0"
            bare_package("fla.ops", os.path.join(root, "fla", "ops"))
            res["shims"].append("fla, fla.ops: empty package modules over the source folders (fla's own "
                                "__init__ failed, see errors)")
            mod = importlib.import_module("fla.ops.simple_gla")
            res["peers"]["fla"]["import"] = "bare fla, fla.ops packages"
        loaded = os.path.realpath(sys.modules["fla"].__path__[0])
        if not loaded.startswith(os.path.realpath(root)):
            raise ImportError(f"fla was loaded from {loaded}, not from {root}")
        return {"chunk_simple_gla": mod.chunk_simple_gla, "fused_recurrent_simple_gla": mod.fused_recurrent_simple_gla}
    except Exception as e:  # noqa: BLE001
        record_error(res, "fla/import_bare", e)
        return {}
    finally:
        sys.path.remove(root)  # the checkout's other top-level folders (utils, tests, ...) must not shadow


# ---------------------------------------------------------------------------------------------
# Timing.

def free():
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()


def warm_and_capture(fn):
    """Run fn 3 times on a side stream (Triton compiles/autotunes there), then capture one call."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g


def event_ms(run, n):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(n):
        run()
    b.record()
    b.synchronize()
    return a.elapsed_time(b) / n


def batched_median_ms(run, cfg):
    """Median over cfg.batches batches of N calls of run, N sized to about cfg.target_ms."""
    run()
    est = event_ms(run, 1)
    n = max(2, min(2000, int(cfg.target_ms / max(est, 1e-3))))
    return statistics.median(event_ms(run, n) for _ in range(cfg.batches))


def time_fn(fn, cfg, res, where):
    """(ms per call of fn, graphed): CUDA graph replays, else eager calls after a warm-up."""
    try:
        g = warm_and_capture(fn)
    except Exception as e:  # noqa: BLE001 - some peers cannot be captured: time them eagerly
        res["notes"][f"{where}/graph"] = f"capture failed, eager timing: {error_text(e)}"
        log(f"{where}: capture failed ({type(e).__name__}), timing eagerly")
        try:
            torch.cuda.synchronize()
        except Exception:  # noqa: BLE001
            pass
        fn()
        torch.cuda.synchronize()
        return batched_median_ms(fn, cfg), False
    ms = batched_median_ms(g.replay, cfg)
    del g
    return ms, True


def wall_replay_us(g, n):
    """Median wall time of one replay including the synchronisation."""
    g.replay()
    torch.cuda.synchronize()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        g.replay()
        torch.cuda.synchronize()
        lat.append(time.perf_counter() - t0)
    return statistics.median(lat) * 1e6


# ---------------------------------------------------------------------------------------------
# Random parameters and inputs.

def rnd(*shape, scale=1.0, dtype=None):
    return (torch.randn(*shape, device=DEV) * scale).to(dtype or torch.bfloat16)


def dt_bias(n):
    """Mamba's dt_bias init: softplus^-1 of dt log-uniform in [1e-3, 1e-1]."""
    dt = torch.exp(torch.rand(n, device=DEV) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
    return dt + torch.log(-torch.expm1(-dt))


def m1_A():
    return -torch.arange(1, M1_N + 1, device=DEV, dtype=torch.float32).repeat(M1_DI, 1)


def m2_A():
    return -torch.empty(M2_H, device=DEV).uniform_(1, 16)


# ---------------------------------------------------------------------------------------------
# SSM step of the whole model (24 layers, one graph).

def step_m1_mamba(k, B, sdt):
    ps = [dict(state=torch.zeros(B, M1_DI, M1_N, device=DEV, dtype=sdt), x=rnd(B, M1_DI), dt=rnd(B, M1_DI, scale=0.5),
               A=m1_A(), B=rnd(B, M1_N), C=rnd(B, M1_N), D=torch.ones(M1_DI, device=DEV), z=rnd(B, M1_DI),
               dt_bias=dt_bias(M1_DI)) for _ in range(LAYERS)]
    ssu = k["selective_state_update"]

    def fn():
        for p in ps:
            ssu(p["state"], p["x"], p["dt"], p["A"], p["B"], p["C"], p["D"], z=p["z"], dt_bias=p["dt_bias"],
                dt_softplus=True)
    return fn


def step_m2_mamba(k, B, sdt):
    H, P, N = M2_H, M2_P, M2_N
    ps = []
    for _ in range(LAYERS):
        A, D, dtb = m2_A(), torch.ones(H, device=DEV), dt_bias(H)
        ps.append(dict(state=torch.zeros(B, H, P, N, device=DEV, dtype=sdt), x=rnd(B, H, P),
                       dt=rnd(B, H, scale=0.5)[:, :, None].expand(B, H, P), A=A[:, None, None].expand(H, P, N),
                       B=rnd(B, 1, N), C=rnd(B, 1, N), D=D[:, None].expand(H, P), dt_bias=dtb[:, None].expand(H, P)))
    ssu = k["selective_state_update"]

    def fn():
        for p in ps:
            ssu(p["state"], p["x"], p["dt"], p["A"], p["B"], p["C"], p["D"], z=None, dt_bias=p["dt_bias"],
                dt_softplus=True)
    return fn


def step_m2_fla(k, B, sdt):
    H, P, N = M2_H, M2_P, M2_N
    ps = []
    for _ in range(LAYERS):
        dts = F.softplus(torch.randn(B, 1, H, device=DEV) * 0.5 + dt_bias(H))
        ps.append(dict(h0=torch.zeros(B, H, N, P, device=DEV, dtype=sdt),
                       q=rnd(B, 1, 1, N).expand(B, 1, H, N).contiguous(),
                       k=rnd(B, 1, 1, N).expand(B, 1, H, N).contiguous(),
                       v=rnd(B, 1, H, P), g=(dts * m2_A()).contiguous()))
    fr = k["fused_recurrent_simple_gla"]

    def fn():
        for p in ps:
            fr(p["q"], p["k"], p["v"], g=p["g"], scale=1.0, initial_state=p["h0"], output_final_state=True)
    return fn


def bench_ssm_step(kern, cfg, res):
    cases = [("mamba_ssm/selective_state_update/mamba1", step_m1_mamba, "selective_state_update"),
             ("mamba_ssm/selective_state_update/mamba2", step_m2_mamba, "selective_state_update"),
             ("fla/fused_recurrent_simple_gla/mamba2", step_m2_fla, "fused_recurrent_simple_gla")]
    for name, build, need in cases:
        if need not in kern:
            continue
        out = res["ssm_step"][name] = {"step_us": {}, "layer_us": {}, "graph": {}}
        for B in STEP_BATCHES:
            try:
                ms, graphed = time_fn(build(kern, B, cfg.state_dtype), cfg, res, f"ssm_step/{name}/{B}")
                out["step_us"][str(B)] = ms * 1e3
                out["layer_us"][str(B)] = ms * 1e3 / LAYERS
                out["graph"][str(B)] = graphed
                log(f"ssm_step {name} B={B}: {ms * 1e3:.1f} us")
            except Exception as e:  # noqa: BLE001
                record_error(res, f"ssm_step/{name}/{B}", e)
            free()


# ---------------------------------------------------------------------------------------------
# SSM prefill of the whole model, Mamba-2 shape.

def prefill_m2_mamba(k, T):
    H, P, N = M2_H, M2_P, M2_N
    ps = [dict(x=rnd(1, T, H, P), dt=rnd(1, T, H, scale=0.5), A=m2_A(), B=rnd(1, T, 1, N), C=rnd(1, T, 1, N),
               D=torch.ones(H, device=DEV), z=rnd(1, T, H, P), dt_bias=dt_bias(H)) for _ in range(LAYERS)]
    scan = k["mamba_chunk_scan_combined"]

    def fn():
        for p in ps:
            scan(p["x"], p["dt"], p["A"], p["B"], p["C"], M2_CHUNK, D=p["D"], z=p["z"], dt_bias=p["dt_bias"],
                 dt_softplus=True, return_final_states=True)
    return fn


def prefill_m2_fla(k, T):
    H, P, N = M2_H, M2_P, M2_N
    ps = []
    for _ in range(LAYERS):
        dts = F.softplus(torch.randn(1, T, H, device=DEV) * 0.5 + dt_bias(H))
        ps.append(dict(q=rnd(1, T, 1, N).expand(1, T, H, N).contiguous(),
                       k=rnd(1, T, 1, N).expand(1, T, H, N).contiguous(),
                       v=rnd(1, T, H, P), g=(dts * m2_A()).contiguous()))
    chunk = k["chunk_simple_gla"]

    def fn():
        for p in ps:
            chunk(p["q"], p["k"], p["v"], g=p["g"], scale=1.0, output_final_state=True)
    return fn


def bench_ssm_prefill(kern, cfg, res):
    cases = [("mamba_ssm/mamba_chunk_scan_combined/mamba2", prefill_m2_mamba, "mamba_chunk_scan_combined"),
             ("fla/chunk_simple_gla/mamba2", prefill_m2_fla, "chunk_simple_gla")]
    for name, build, need in cases:
        if need not in kern:
            continue
        out = res["ssm_prefill"][name] = {"pos_per_s": {}, "layer_ms": {}, "graph": {}}
        for T in cfg.lengths:
            try:
                ms, graphed = time_fn(build(kern, T), cfg, res, f"ssm_prefill/{name}/{T}")
                out["pos_per_s"][str(T)] = T / (ms / 1e3)
                out["layer_ms"][str(T)] = ms / LAYERS
                out["graph"][str(T)] = graphed
                log(f"ssm_prefill {name} T={T}: {ms:.2f} ms for 24 layers")
            except Exception as e:  # noqa: BLE001
                record_error(res, f"ssm_prefill/{name}/{T}", e)
            free()


# ---------------------------------------------------------------------------------------------
# Whole-model peer: plain PyTorch around the peer's kernels.

def conv_weights(channels):
    return dict(conv_w=((torch.rand(channels, D_CONV, device=DEV) * 2 - 1) * 0.5).to(torch.bfloat16),
                conv_b=rnd(channels, scale=0.1))


def m1_layer():
    w = dict(norm=torch.ones(D_MODEL, device=DEV, dtype=torch.bfloat16),
             in_proj=rnd(2 * M1_DI, D_MODEL, scale=D_MODEL ** -0.5),
             x_proj=rnd(M1_RANK + 2 * M1_N, M1_DI, scale=M1_DI ** -0.5),
             dt_proj=((torch.rand(M1_DI, M1_RANK, device=DEV) * 2 - 1) * M1_RANK ** -0.5).to(torch.bfloat16),
             dt_bias=dt_bias(M1_DI), A=m1_A(), D=torch.ones(M1_DI, device=DEV),
             out_proj=rnd(D_MODEL, M1_DI, scale=M1_DI ** -0.5 / math.sqrt(2 * LAYERS)), **conv_weights(M1_DI))
    w["conv_w3"] = w["conv_w"].unsqueeze(1)
    return w


def m2_layer():
    H, P, N = M2_H, M2_P, M2_N
    A, D, dtb = m2_A(), torch.ones(H, device=DEV), dt_bias(H)
    w = dict(norm=torch.ones(D_MODEL, device=DEV, dtype=torch.bfloat16),
             in_proj=rnd(2 * M2_DI + 2 * N + H, D_MODEL, scale=D_MODEL ** -0.5), A=A, D=D, dt_bias=dtb,
             A_hpn=A[:, None, None].expand(H, P, N), D_hp=D[:, None].expand(H, P), dt_bias_hp=dtb[:, None].expand(H, P),
             gnorm=torch.ones(M2_DI, device=DEV, dtype=torch.bfloat16),
             out_proj=rnd(D_MODEL, M2_DI, scale=M2_DI ** -0.5 / math.sqrt(2 * LAYERS)), **conv_weights(M2_CONV))
    w["conv_w3"] = w["conv_w"].unsqueeze(1)
    return w


def conv_step(conv_state, x, w, b):
    """Mamba(2).step without causal_conv1d: roll the (B, C, 4) state, dot with the taps, SiLU."""
    conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
    conv_state[:, :, -1] = x
    return F.silu(torch.sum(conv_state * w, dim=-1) + b).to(x.dtype)


def conv_prefill(x, w3, b):
    """Mamba(2).forward without causal_conv1d: x (1, T, C) -> (1, C, T) after F.conv1d and SiLU."""
    T = x.shape[1]
    return F.silu(F.conv1d(x.transpose(1, 2), w3, b, padding=D_CONV - 1, groups=w3.shape[0])[..., :T])


class PeerModel:
    """Random-weight Mamba-130m ('mamba1') or Mamba-2-130m ('mamba2') in plain PyTorch, the SSM by the
    peer's kernels ('mamba_ssm' or 'fla')."""

    def __init__(self, kind, ssm, k, state_dtype):
        self.kind, self.ssm, self.k, self.sdt = kind, ssm, k, state_dtype
        self.emb = rnd(VOCAB, D_MODEL, scale=0.02)
        self.final_norm = torch.ones(D_MODEL, device=DEV, dtype=torch.bfloat16)
        self.layers = [m1_layer() if kind == "mamba1" else m2_layer() for _ in range(LAYERS)]

    # -- norms
    def add_norm(self, h, res, w, prenorm=True):
        """Residual add (fp32 residual) and RMSNorm, fused by mamba_ssm where it imports."""
        if "rms_norm_fn" in self.k:
            return self.k["rms_norm_fn"](h, w, None, residual=res, prenorm=prenorm, residual_in_fp32=True, eps=EPS)
        res = h.float() if res is None else res + h.float()
        y = F.rms_norm(res.to(h.dtype), (h.shape[-1],), w, EPS)
        return (y, res) if prenorm else y

    def gated_norm(self, y, z, w):
        """Mamba-2's RMSNorm(y * silu(z)) (norm_before_gate=False, one group)."""
        if "rmsnorm_fn" in self.k:
            return self.k["rmsnorm_fn"](y, w, None, z=z, eps=EPS, group_size=y.shape[-1], norm_before_gate=False)
        g = y.float() * F.silu(z.float())
        return F.rms_norm(g, (g.shape[-1],), w.float(), EPS).to(z.dtype)

    # -- states
    def states(self, B):
        out = []
        for _ in range(LAYERS):
            if self.kind == "mamba1":
                conv = torch.zeros(B, D_CONV, M1_DI, device=DEV, dtype=torch.bfloat16).transpose(1, 2)
                ssm = torch.zeros(B, M1_DI, M1_N, device=DEV, dtype=self.sdt)
            else:
                conv = torch.zeros(B, D_CONV, M2_CONV, device=DEV, dtype=torch.bfloat16).transpose(1, 2)
                shape = (B, M2_H, M2_P, M2_N) if self.ssm == "mamba_ssm" else (B, M2_H, M2_N, M2_P)
                ssm = torch.zeros(*shape, device=DEV, dtype=self.sdt)
            out.append((conv, ssm))
        return out

    # -- Mamba-1 layers
    def m1_step(self, p, h, res, conv, ssm):
        u, res = self.add_norm(h, res, p["norm"])
        x, z = F.linear(u, p["in_proj"]).chunk(2, dim=-1)
        x = conv_step(conv, x, p["conv_w"], p["conv_b"])
        dt, Bm, Cm = torch.split(F.linear(x, p["x_proj"]), [M1_RANK, M1_N, M1_N], dim=-1)
        dt = F.linear(dt, p["dt_proj"])
        y = self.k["selective_state_update"](ssm, x, dt, p["A"], Bm, Cm, p["D"], z=z, dt_bias=p["dt_bias"],
                                             dt_softplus=True)
        return F.linear(y, p["out_proj"]), res

    def m1_prefill(self, p, h, res):
        u, res = self.add_norm(h, res, p["norm"])
        x, z = F.linear(u, p["in_proj"]).chunk(2, dim=-1)
        x = conv_prefill(x, p["conv_w3"], p["conv_b"])  # (1, DI, T)
        dt, Bm, Cm = torch.split(F.linear(x.transpose(1, 2), p["x_proj"]), [M1_RANK, M1_N, M1_N], dim=-1)
        dt = F.linear(dt, p["dt_proj"])
        y = self.k["selective_scan_ref"](x, dt.transpose(1, 2), p["A"], Bm.transpose(1, 2), Cm.transpose(1, 2),
                                         p["D"], z=z.transpose(1, 2), delta_bias=p["dt_bias"], delta_softplus=True,
                                         return_last_state=True)[0]
        return F.linear(y.transpose(1, 2), p["out_proj"]), res

    # -- Mamba-2 layers
    def m2_split(self, p, u):
        z, xBC, dt = torch.split(F.linear(u, p["in_proj"]), [M2_DI, M2_CONV, M2_H], dim=-1)
        return z, xBC, dt

    def m2_step(self, p, h, res, conv, ssm):
        u, res = self.add_norm(h, res, p["norm"])
        z, xBC, dt = self.m2_split(p, u)
        xBC = conv_step(conv, xBC, p["conv_w"], p["conv_b"])
        x, Bm, Cm = torch.split(xBC, [M2_DI, M2_N, M2_N], dim=-1)
        xh = x.unflatten(-1, (M2_H, M2_P))
        if self.ssm == "mamba_ssm":
            y = self.k["selective_state_update"](ssm, xh, dt[:, :, None].expand(-1, M2_H, M2_P), p["A_hpn"],
                                                 Bm[:, None], Cm[:, None], p["D_hp"], z=None,
                                                 dt_bias=p["dt_bias_hp"], dt_softplus=True)
        else:
            dts = F.softplus(dt.float() + p["dt_bias"])  # (B, H)
            q = Cm[:, None, None].expand(-1, 1, M2_H, M2_N)
            kk = Bm[:, None, None].expand(-1, 1, M2_H, M2_N)
            v = (xh.float() * dts[..., None]).to(xh.dtype)[:, None]
            o, ht = self.k["fused_recurrent_simple_gla"](q, kk, v, g=(dts * p["A"])[:, None], scale=1.0,
                                                         initial_state=ssm, output_final_state=True)
            ssm.copy_(ht)
            y = (o[:, 0].float() + xh.float() * p["D"][:, None]).to(xh.dtype)
        y = self.gated_norm(y.flatten(-2), z, p["gnorm"])
        return F.linear(y, p["out_proj"]), res

    def m2_prefill(self, p, h, res):
        u, res = self.add_norm(h, res, p["norm"])
        z, xBC, dt = self.m2_split(p, u)
        xBC = conv_prefill(xBC, p["conv_w3"], p["conv_b"]).transpose(1, 2)  # (1, T, C)
        x, Bm, Cm = torch.split(xBC, [M2_DI, M2_N, M2_N], dim=-1)
        xh = x.unflatten(-1, (M2_H, M2_P))
        if self.ssm == "mamba_ssm":
            y, _ = self.k["mamba_chunk_scan_combined"](xh, dt, p["A"], Bm.unflatten(-1, (1, M2_N)),
                                                       Cm.unflatten(-1, (1, M2_N)), M2_CHUNK, D=p["D"], z=None,
                                                       dt_bias=p["dt_bias"], dt_softplus=True,
                                                       return_final_states=True)
        else:
            dts = F.softplus(dt.float() + p["dt_bias"])  # (1, T, H)
            q = Cm[:, :, None].expand(-1, -1, M2_H, -1)
            kk = Bm[:, :, None].expand(-1, -1, M2_H, -1)
            v = (xh.float() * dts[..., None]).to(xh.dtype)
            o, _ = self.k["chunk_simple_gla"](q, kk, v, g=dts * p["A"], scale=1.0, output_final_state=True)
            y = (o.float() + xh.float() * p["D"][:, None]).to(xh.dtype)
        y = self.gated_norm(y.flatten(-2), z, p["gnorm"])
        return F.linear(y, p["out_proj"]), res

    # -- whole model
    def prefill(self, ids):
        """ids (1, T) -> logits of the last position (1, VOCAB)."""
        layer = self.m1_prefill if self.kind == "mamba1" else self.m2_prefill
        h, res = F.embedding(ids, self.emb), None
        for p in self.layers:
            h, res = layer(p, h, res)
        hn = self.add_norm(h[:, -1].contiguous(), res[:, -1].contiguous(), self.final_norm, prenorm=False)
        return F.linear(hn, self.emb)

    def step(self, tok, states):
        """tok (B,) -> logits (B, VOCAB); states updated in place."""
        layer = self.m1_step if self.kind == "mamba1" else self.m2_step
        h, res = F.embedding(tok, self.emb), None
        for p, (conv, ssm) in zip(self.layers, states):
            h, res = layer(p, h, res, conv, ssm)
        return F.linear(self.add_norm(h, res, self.final_norm, prenorm=False), self.emb)


def model_check(model):
    """Prefill of CHECK_POSITIONS positions against as many steps from zero: max relative difference."""
    ids = torch.randint(0, VOCAB, (1, CHECK_POSITIONS), device=DEV)
    a = model.prefill(ids)[0].float()
    states = model.states(1)
    for t in range(CHECK_POSITIONS):
        logits = model.step(ids[:, t], states)
    b = logits[0].float()
    return float((a - b).abs().max() / b.abs().max())


def model_step_us(model, B, n):
    """One CUDA graph of a greedy step at batch B (token in, argmax out and fed back): us per replay."""
    states = model.states(B)
    tok = torch.randint(0, VOCAB, (B,), device=DEV)

    def greedy():
        tok.copy_(torch.argmax(model.step(tok, states), dim=-1))
    g = warm_and_capture(greedy)
    return wall_replay_us(g, n)


def model_prefill(model, T, out, cfg):
    ids = torch.randint(0, VOCAB, (1, T), device=DEV)
    run = (lambda: model.prefill(ids))
    reps = 3
    if model.kind == "mamba1":  # selective_scan_ref: a Python loop over positions
        short = 256
        ms = event_ms(lambda: model.prefill(ids[:, :short]), 1)
        projected = ms / 1e3 * T / short
        if projected > REF_SCAN_LIMIT_S:
            out["prefill_note"] = (f"not available: mamba_ssm's Mamba-1 prefill scan is a compiled CUDA extension "
                                   f"(selective_scan_cuda); its pure-torch selective_scan_ref projects to "
                                   f"{projected:.0f} s for {T} positions")
            return
        reps = 1 if projected > 2 else 3
        out["prefill_note"] = ("Mamba-1 prefill by mamba_ssm's pure-torch selective_scan_ref "
                               "(a Python loop over positions)")
    else:
        run()
    torch.cuda.synchronize()
    ms = statistics.median(event_ms(run, 1) for _ in range(reps))
    out["prefill_ms"][str(T)] = ms
    out["prefill_pos_per_s"][str(T)] = T / (ms / 1e3)
    log(f"model {model.kind}/{model.ssm} prefill T={T}: {ms:.1f} ms")
    if model.kind == "mamba2":  # eager prefill is bound by the Triton wrappers' launch cost: the graph too
        g = warm_and_capture(run)
        ms = batched_median_ms(g.replay, cfg)
        del g
        out["prefill_graph_ms"][str(T)] = ms
        out["prefill_graph_pos_per_s"][str(T)] = T / (ms / 1e3)
        log(f"model {model.kind}/{model.ssm} prefill T={T}, CUDA graph: {ms:.1f} ms")


def bench_model(kern, cfg, res, name, kind, ssm):
    need = {("mamba1", "mamba_ssm"): ["selective_state_update", "selective_scan_ref"],
            ("mamba2", "mamba_ssm"): ["selective_state_update", "mamba_chunk_scan_combined"],
            ("mamba2", "fla"): ["fused_recurrent_simple_gla", "chunk_simple_gla"]}[(kind, ssm)]
    if any(n not in kern for n in need):
        res["errors"][f"model/{name}"] = f"skipped: missing {[n for n in need if n not in kern]}"
        return
    out = res["model"][name] = {
        "ssm": {"mamba_ssm": "mamba_ssm Triton", "fla": "fla Triton"}[ssm] + f" ({', '.join(need)})",
        "norm": "mamba_ssm layer_norm.rms_norm_fn" if "rms_norm_fn" in kern else "torch F.rms_norm",
        "gated_norm": None if kind == "mamba1" else
        "mamba_ssm layernorm_gated.rmsnorm_fn" if "rmsnorm_fn" in kern else "torch",
        "streams_step_us": {}, "streams_pos_per_s": {}, "prefill_pos_per_s": {}, "prefill_ms": {},
        "prefill_graph_pos_per_s": {}, "prefill_graph_ms": {}}
    try:
        model = PeerModel(kind, ssm, kern, cfg.state_dtype)
    except Exception as e:  # noqa: BLE001
        record_error(res, f"model/{name}/build", e)
        return
    try:
        with torch.no_grad():
            rel = model_check(model)
        out["check"] = {"positions": CHECK_POSITIONS, "max_rel_diff": rel, "ok": rel < CHECK_LIMIT}
        log(f"model {name} check: max rel diff {rel:.3g}")
    except Exception as e:  # noqa: BLE001
        record_error(res, f"model/{name}/check", e)
    free()
    for B in (1, *STREAMS):
        try:
            with torch.no_grad():
                us = model_step_us(model, B, cfg.step_replays if B == 1 else cfg.stream_replays)
            if B == 1:
                out["step_b1_us"] = us
            else:
                out["streams_step_us"][str(B)] = us
                out["streams_pos_per_s"][str(B)] = B / (us / 1e6)
            log(f"model {name} step B={B}: {us:.1f} us")
        except Exception as e:  # noqa: BLE001
            record_error(res, f"model/{name}/step/{B}", e)
        free()
    for T in cfg.lengths:
        try:
            with torch.no_grad():
                model_prefill(model, T, out, cfg)
        except Exception as e:  # noqa: BLE001
            record_error(res, f"model/{name}/prefill/{T}", e)
        free()
    del model
    free()


# ---------------------------------------------------------------------------------------------
# Report.

def fmt(v, unit="", digits=1):
    return "-" if v is None else f"{v:,.{digits}f}{unit}"


def markdown(res):
    L = [f"GPU: {res['gpu']}; torch {res['torch']}, triton {res['triton']}; SSM state dtype {res['state_dtype']}"
         f"{'; --quick' if res['quick'] else ''}",
         f"mamba_ssm {res['peers']['mamba_ssm']['commit']} ({res['peers']['mamba_ssm']['src']}); "
         f"fla {res['peers']['fla']['commit']} ({res['peers']['fla']['src']})", "",
         "Shims: " + "; ".join(res["shims"]), "",
         "SSM step of the whole model (24 layers, one CUDA graph): us per step (us per layer)", "",
         "| kernel | " + " | ".join(f"batch {b}" for b in STEP_BATCHES) + " |",
         "|---|" + "---|" * len(STEP_BATCHES)]
    for name, r in res["ssm_step"].items():
        cells = [f"{fmt(r['step_us'].get(str(b)))} ({fmt(r['layer_us'].get(str(b)), digits=2)})"
                 + ("" if r["graph"].get(str(b), True) else " eager") for b in STEP_BATCHES]
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L += ["", "SSM prefill of the whole model (24 layers, batch 1): positions/s (ms per layer)", "",
          "| kernel | " + " | ".join(f"T = {t}" for t in PREFILL_LENGTHS) + " |",
          "|---|" + "---|" * len(PREFILL_LENGTHS)]
    for name, r in res["ssm_prefill"].items():
        cells = [f"{fmt(r['pos_per_s'].get(str(t)), digits=0)} ({fmt(r['layer_ms'].get(str(t)), digits=3)})"
                 + ("" if r["graph"].get(str(t), True) else " eager") for t in PREFILL_LENGTHS]
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L += ["", "Whole model, plain PyTorch around the peer's kernels (bf16, greedy): step b1 = one graph replay "
          "incl. sync; streams in positions/s; prefill in positions/s (last logits)", "",
          "| model | SSM | step b1 | " + " | ".join(f"{b} streams" for b in STREAMS) + " | "
          + " | ".join(f"prefill {t}" for t in PREFILL_LENGTHS) + " | "
          + " | ".join(f"prefill {t}, graph" for t in PREFILL_LENGTHS) + " | check (rel diff) |",
          "|---|---|---|" + "---|" * (len(STREAMS) + 2 * len(PREFILL_LENGTHS)) + "---|"]
    for name, r in res["model"].items():
        chk = r.get("check")
        chk_s = "-" if chk is None else f"{chk['max_rel_diff']:.2g} {'ok' if chk['ok'] else 'FAIL'}"
        L.append(f"| {name} | {r['ssm']} | {fmt(r.get('step_b1_us'), ' us')} | "
                 + " | ".join(fmt(r["streams_pos_per_s"].get(str(b)), digits=0) for b in STREAMS) + " | "
                 + " | ".join(fmt(r["prefill_pos_per_s"].get(str(t)), digits=0) for t in PREFILL_LENGTHS) + " | "
                 + " | ".join(fmt(r["prefill_graph_pos_per_s"].get(str(t)), digits=0) for t in PREFILL_LENGTHS)
                 + f" | {chk_s} |")
        if r.get("prefill_note"):
            L.append(f"\n({name}: {r['prefill_note']})\n")
    if res["notes"]:
        L += ["", "Notes:"] + [f"- {k}: {v}" for k, v in res["notes"].items()]
    if res["errors"]:
        L += ["", "Errors:"] + [f"- {k}: {v}" for k, v in res["errors"].items()]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------------

def save(res, path):
    with open(path, "w") as f:
        json.dump(res, f, indent=2)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mamba-src", required=True, help="root of a state-spaces/mamba checkout (holds mamba_ssm/)")
    ap.add_argument("--fla-src", required=True, help="root of a flash-linear-attention checkout (holds fla/)")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, no T = 16384")
    ap.add_argument("--state-dtype", choices=("f32", "bf16"), default="f32",
                    help="dtype of the SSM states (mamba_ssm's own inference keeps them in the model dtype)")
    return ap.parse_args()


def main():
    a = parse_args()
    if torch is None or not torch.cuda.is_available():
        sys.exit("bench_peers.py needs torch with CUDA")
    t_start = time.time()
    cfg = types.SimpleNamespace(
        quick=a.quick, state_dtype=torch.float32 if a.state_dtype == "f32" else torch.bfloat16,
        lengths=PREFILL_LENGTHS[:1] if a.quick else PREFILL_LENGTHS, batches=3 if a.quick else 5,
        target_ms=15.0 if a.quick else 40.0, step_replays=100 if a.quick else 300,
        stream_replays=20 if a.quick else 60)
    import triton
    res = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__,
           "quick": a.quick, "state_dtype": str(cfg.state_dtype).replace("torch.", ""),
           "peers": {"mamba_ssm": {"src": a.mamba_src, "commit": git_commit(a.mamba_src)},
                     "fla": {"src": a.fla_src, "commit": git_commit(a.fla_src), "import": None}},
           "shims": [], "notes": {}, "errors": {}, "ssm_step": {}, "ssm_prefill": {}, "model": {}}
    res["notes"]["fla/fused_recurrent_simple_gla"] = (
        "SSM step: q, k (B, C broadcast to heads), v = x*dt, g = dt*A prepared outside the graph; the new state is "
        "fla's fresh output tensor, not copied back. In the whole model (mamba2-130m/fla) the preparation and "
        "a copy of the new state into the layer's state are part of the step")
    res["notes"]["mamba_ssm/selective_state_update/mamba2"] = "z=None as Mamba2.step (the gate is in the gated RMSNorm)"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    log(f"mamba_ssm {res['peers']['mamba_ssm']['commit']}, fla {res['peers']['fla']['commit']}")
    torch.manual_seed(0)
    install_shims(res)
    kern = {}
    kern.update(import_mamba(a.mamba_src, res))
    kern.update(import_fla(a.fla_src, res))
    log(f"kernels: {sorted(kern)}")
    sections = [("ssm_step", lambda: bench_ssm_step(kern, cfg, res)),
                ("ssm_prefill", lambda: bench_ssm_prefill(kern, cfg, res)),
                ("mamba2-130m", lambda: bench_model(kern, cfg, res, "mamba2-130m", "mamba2", "mamba_ssm")),
                ("mamba2-130m/fla", lambda: bench_model(kern, cfg, res, "mamba2-130m/fla", "mamba2", "fla")),
                ("mamba-130m", lambda: bench_model(kern, cfg, res, "mamba-130m", "mamba1", "mamba_ssm"))]
    with torch.no_grad():
        for name, run in sections:
            t0 = time.time()
            try:
                run()
            except Exception as e:  # noqa: BLE001 - one section's failure must not lose the others
                record_error(res, name, e)
            log(f"{name}: {time.time() - t0:.0f} s")
            res["seconds"] = time.time() - t_start
            save(res, a.out)
    print(markdown(res))


if __name__ == "__main__":
    main()
