#!/usr/bin/env python3
"""GPU benchmarks, libseqcore and its peers side by side in one run (the GPU machine).

usage: bench_gpu.py SEQCORE_BINARY OUT_DIR [--quick]

Needs torch with CUDA (and transformers for the Mamba peers). Writes OUT_DIR/bench_gpu.md and
OUT_DIR/bench_gpu.json. Figures:
  * device read bandwidth: torch sum over a 1 GiB fp32 tensor, best of 20 (CUDA events); the
    floor of a batch-1 step is the weight bytes the step reads over it;
  * LSTM 2 x 1024 fp32 (torch.nn.LSTM weights, imported through the state dict): step at batch 1
    and 64, and a 2048-position sequence at batch 1, against cuDNN through PyTorch on the same
    weights. A step is timed from call to result (synchronised), for both libraries;
  * Mamba-130m and Mamba-2-130m shapes (bench/make_random_hf.py), with bf16 and with fp32
    weight matrices: a greedy generation step at batch 1 (token in, token out; the logits stay
    on the device), aggregate positions/s of generate_many at 8, 64 and 256 streams, prefill
    of 2048 and 16384 positions (last logits), against transformers (its PyTorch path, no
    custom kernels) in the same dtype on the same directory: prefill = one forward over 2048
    tokens, step = greedy generate of 64 tokens with the cache, per token. The floor is the
    bytes a step reads (step_read_bytes at that dtype) over the measured bandwidth;
  * a sweep over the number of streams (1 to 256) of both Mamba shapes at both dtypes:
    latency of one generate_many call and positions/s, plotted to OUT_DIR/streams.png.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))


def ours(binary, model, *extra):
    cmd = [binary, "bench", model, "--device", "cuda", "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bandwidth():
    x = torch.empty(1 << 28, dtype=torch.float32, device="cuda").uniform_()
    best = 1e9
    for _ in range(20):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        x.sum()
        b.record()
        torch.cuda.synchronize()
        best = min(best, a.elapsed_time(b) / 1e3)
    return x.numel() * 4 / best


def wall_median(fn, n, warm=20):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        lat.append(time.perf_counter() - t0)
    return float(np.median(lat))


def bench_lstm(binary, tmp, quick):
    from safetensors.torch import save_file
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(1024, 1024, num_layers=2).cuda().eval()
    path = os.path.join(tmp, "lstm2x1024.safetensors")
    save_file({k: v.detach().cpu().contiguous() for k, v in rnn.state_dict().items()}, path)
    res = {"model": "LSTM 2x1024 fp32", "weight_bytes": sum(p.numel() * 4 for p in rnn.parameters())}
    o = ours(binary, path, "--steps", "300" if quick else "2000", "--positions", "2048", "--repeats", "3",
             "--output", "last", "--batch", "64")
    res.update(ours_step_us=o["step_us_p50"], ours_b64_us=o["batch_step_us_p50"],
               ours_seq=o["forward_positions_per_s"])
    with torch.no_grad():
        for B, key in ((1, "cudnn_step_us"), (64, "cudnn_b64_us")):
            x = torch.randn(1, B, 1024, device="cuda")
            st = [None]

            def step():
                _, st[0] = rnn(x, st[0])
            res[key] = wall_median(step, 300 if quick else 2000) * 1e6
        xs = torch.randn(2048, 1, 1024, device="cuda")
        res["cudnn_seq"] = 2048 / wall_median(lambda: rnn(xs), 5 if quick else 20, warm=3)
    return res


def bench_mamba(binary, tmp, shape, dtype, quick):
    """One Mamba shape at one weight dtype: ours (token in, sampled token out: generate and
    generate_many, greedy, the logits never leave the device) and transformers' generate."""
    d = os.path.join(tmp, shape)
    if not os.path.isdir(d):
        subprocess.run([sys.executable, os.path.join(HERE, "make_random_hf.py"), shape, d], check=True,
                       capture_output=True)
    res = {"model": f"{shape} {dtype}"}
    common = ("--dtype", dtype, "--generate")
    o = ours(binary, d, *common, "--steps", "300" if quick else "1000", "--positions", "2048", "--repeats", "3",
             "--output", "last")
    res.update(ours_step_us=o["step_us_p50"], ours_prefill=o["forward_positions_per_s"],
               step_read_bytes=o["step_read_bytes"])
    o16 = ours(binary, d, "--dtype", dtype, "--steps", "10", "--positions", "16384", "--repeats", "2",
               "--output", "last")
    res["ours_prefill16k"] = o16["forward_positions_per_s"]
    for B in (8, 64, 256):
        ob = ours(binary, d, *common, "--steps", "100", "--positions", "256", "--repeats", "1", "--output", "last",
                  "--batch", str(B))
        res[f"ours_b{B}_pos_s"] = ob["batch_positions_per_s"]
    try:
        import transformers
        cls = transformers.MambaForCausalLM if shape.startswith("mamba-") else transformers.Mamba2ForCausalLM
        tdt = torch.bfloat16 if dtype == "bf16" else torch.float32
        model = cls.from_pretrained(d, torch_dtype=tdt).cuda().eval()
        ids = torch.randint(0, 50000, (1, 2048), device="cuda")
        with torch.no_grad():
            res["hf_prefill"] = 2048 / wall_median(lambda: model(ids[:, :2048], use_cache=False), 2 if quick else 3,
                                                   warm=1)
            n = 64

            def gen():
                model.generate(ids[:, :1], max_new_tokens=n, min_new_tokens=n, do_sample=False)
            res["hf_step_us"] = wall_median(gen, 1 if quick else 3, warm=1) / n * 1e6
        del model
        torch.cuda.empty_cache()
    except Exception as e:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
        res["hf_error"] = f"{type(e).__name__}: {e}"[:300]
    return res


SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def sweep_streams(binary, tmp, shape, dtype):
    d = os.path.join(tmp, shape)
    out = []
    for B in SWEEP:
        o = ours(binary, d, "--dtype", dtype, "--generate", "--steps", "40", "--positions", "64", "--repeats", "1",
                 "--output", "last", "--batch", str(B))
        out.append({"streams": B, "step_us": o["batch_step_us_p50"], "pos_s": o["batch_positions_per_s"]})
    return out


def plot(sweeps, gpu, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, pts in sweeps.items():
        x = [p["streams"] for p in pts]
        a.plot(x, [p["step_us"] for p in pts], marker="o", label=name)
        b.plot(x, [p["pos_s"] for p in pts], marker="o", label=name)
    for ax, title, unit in ((a, "latency of one generate_many call", "us"), (b, "throughput", "positions/s")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("streams stepped together")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"libseqcore CUDA backend, greedy generation, {gpu}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seqcore")
    ap.add_argument("out")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bw = bandwidth()
    gpu = torch.cuda.get_device_name()
    rows = {"gpu": gpu, "bandwidth_gbs": bw / 1e9, "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        rows["lstm"] = bench_lstm(a.seqcore, tmp, a.quick)
        rows["mamba"] = [bench_mamba(a.seqcore, tmp, s, dt, a.quick) for s in ("mamba-130m", "mamba2-130m")
                         for dt in ("bf16", "f32")]
        rows["sweep"] = {f"{s} {dt}": sweep_streams(a.seqcore, tmp, s, dt) for s in ("mamba-130m", "mamba2-130m")
                         for dt in ("bf16", "f32")}
    try:
        plot(rows["sweep"], gpu, os.path.join(a.out, "streams.png"))
    except Exception as e:  # noqa: BLE001 - the table matters more than the picture
        print(f"no plot: {type(e).__name__}: {e}", file=sys.stderr)
    with open(os.path.join(a.out, "bench_gpu.json"), "w") as f:
        json.dump(rows, f, indent=2)

    L = rows["lstm"]
    fl = L["weight_bytes"] / bw * 1e6
    lines = [f"GPU: {gpu}; read bandwidth {bw / 1e9:.0f} GB/s (torch sum, 1 GiB); torch {torch.__version__}", "",
             "| model | floor | step b1, ours | step b1, cuDNN | ratio | step b64, ours | step b64, cuDNN | ratio "
             "| seq 2048, ours | seq 2048, cuDNN | ratio |", "|---|---|---|---|---|---|---|---|---|---|---|",
             f"| {L['model']} | {fl:.1f} us | {L['ours_step_us']:.1f} us | {L['cudnn_step_us']:.1f} us "
             f"| {L['cudnn_step_us'] / L['ours_step_us']:.2f}x | {L['ours_b64_us']:.1f} us | {L['cudnn_b64_us']:.1f} us "
             f"| {L['cudnn_b64_us'] / L['ours_b64_us']:.2f}x | {L['ours_seq']:,.0f} pos/s | {L['cudnn_seq']:,.0f} pos/s "
             f"| {L['ours_seq'] / L['cudnn_seq']:.2f}x |", "",
             "| model | floor | step b1, ours | ours / floor | step b1, transformers | 8 streams | 64 streams "
             "| 256 streams | prefill 2048, ours | prefill 2048, transformers | prefill 16384, ours |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in rows["mamba"]:
        fl = m["step_read_bytes"] / bw * 1e6
        hs = f"{m['hf_step_us']:.0f} us" if "hf_step_us" in m else "-"
        hp = f"{m['hf_prefill']:,.0f} pos/s" if "hf_prefill" in m else "-"
        lines.append(f"| {m['model']} | {fl:.1f} us | {m['ours_step_us']:.1f} us | {m['ours_step_us'] / fl:.2f} "
                     f"| {hs} | {m['ours_b8_pos_s']:,.0f} pos/s "
                     f"| {m['ours_b64_pos_s']:,.0f} pos/s | {m['ours_b256_pos_s']:,.0f} pos/s "
                     f"| {m['ours_prefill']:,.0f} pos/s | {hp} | {m['ours_prefill16k']:,.0f} pos/s |")
        if "hf_error" in m:
            lines.append(f"\n(transformers on {m['model']}: {m['hf_error']})\n")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(a.out, "bench_gpu.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
