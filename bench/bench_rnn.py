"""LSTM and GRU on the CPU, side by side with PyTorch on the same weights,
in one run: step latency at batch 1, forward throughput over 1024 positions,
and the bandwidth floor (weight bytes / measured read bandwidth).

usage: bench_rnn.py SEQCORE_BINARY TOOLS_DIR [--threads N] [--quick] [--out FILE.md]
Needs Debian's python3-torch. Prints a markdown table (and writes it to --out).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("seqcore")
p.add_argument("tools")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--quick", action="store_true")
p.add_argument("--out")
args = p.parse_args()
sys.path.insert(0, args.tools)
import safetensors_np  # noqa: E402

torch.set_num_threads(args.threads)
STEPS = 300 if args.quick else 3000
POSITIONS = 1024


def torch_step_us(mod, size, steps):
    x = torch.randn(1, 1, size)
    state = None
    with torch.no_grad():
        for _ in range(50):
            _, state = mod(x, state)
        lat = []
        for _ in range(steps):
            t0 = time.perf_counter()
            _, state = mod(x, state)
            lat.append(time.perf_counter() - t0)
    return float(np.median(lat)) * 1e6


def torch_forward_pos_s(mod, size):
    x = torch.randn(POSITIONS, 1, size)
    best = 1e30
    with torch.no_grad():
        mod(x)
        for _ in range(3):
            t0 = time.perf_counter()
            mod(x)
            best = min(best, time.perf_counter() - t0)
    return POSITIONS / best


def ours(path, steps):
    r = subprocess.run([args.seqcore, "bench", path, "--threads", str(args.threads), "--steps", str(steps),
                        "--positions", str(POSITIONS), "--json"], check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


rows = []
with tempfile.TemporaryDirectory() as tmp:
    for kind in ("lstm", "gru"):
        for hidden in (256, 1024):
            torch.manual_seed(0)
            cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            mod = cls(hidden, hidden, num_layers=2).eval()
            path = os.path.join(tmp, f"{kind}{hidden}.safetensors")
            safetensors_np.save(path, {k: v.numpy() for k, v in mod.state_dict().items()})
            steps = STEPS if hidden == 256 else STEPS // 3
            o = ours(path, steps)
            t_step = torch_step_us(mod, hidden, steps)
            t_fwd = torch_forward_pos_s(mod, hidden)
            rows.append({
                "model": f"{kind.upper()} 2x{hidden}",
                "weights_mib": o["weight_bytes"] / 2**20,
                "floor_us": o["floor_us"],
                "ours_step_us": o["step_us_p50"],
                "torch_step_us": t_step,
                "ours_fwd": o["forward_positions_per_s"],
                "torch_fwd": t_fwd,
                "bw": o["bandwidth_gbs"],
            })

cpu = platform.processor() or platform.machine()
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    pass
lines = [
    f"CPU: {cpu}, {os.cpu_count()} cores; threads: {args.threads} (libseqcore and PyTorch {torch.__version__}); "
    f"read bandwidth measured {rows[0]['bw']:.1f} GB/s",
    "",
    "| model | weights | floor (weights/bandwidth) | step, libseqcore | step, PyTorch | speed-up | step / floor "
    "| forward 1024, libseqcore | forward 1024, PyTorch | speed-up |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for r in rows:
    lines.append(
        f"| {r['model']} | {r['weights_mib']:.1f} MiB | {r['floor_us']:.1f} us | {r['ours_step_us']:.1f} us "
        f"| {r['torch_step_us']:.1f} us | {r['torch_step_us'] / r['ours_step_us']:.1f}x "
        f"| {r['ours_step_us'] / r['floor_us']:.2f} | {r['ours_fwd']:,.0f} pos/s | {r['torch_fwd']:,.0f} pos/s "
        f"| {r['ours_fwd'] / r['torch_fwd']:.1f}x |")
text = "\n".join(lines)
print(text)
if args.out:
    open(args.out, "w").write(text + "\n")
