#!/usr/bin/env python3
"""Mamba and Mamba-2 130m shapes on the CPU, libseqcore and llama.cpp side by side in one run.

usage: bench_mamba_cpu.py SEQCORE_BINARY MODELS_DIR [--llama-bench PATH] [--threads N]
                          [--rounds R] [--quick] [--out FILE.md]

MODELS_DIR holds, for each of mamba-130m and mamba2-130m, the HuggingFace directory that
`bench/make_random_hf.py SHAPE MODELS_DIR/SHAPE` writes, and beside it SHAPE-f32.gguf: the same
checkpoint converted by llama.cpp's own `convert_hf_to_gguf.py --outtype f32` (llama.cpp is
built from source outside this tree; nothing of it is part of libseqcore). Shapes without a
GGUF, or without --llama-bench, are measured for libseqcore alone.

Figures, all at the same thread count:
  * step: batch-1 decode latency. libseqcore: `seqcore bench` median over --steps tokens.
    llama.cpp: `llama-bench -n 128` (text generation from an empty context), converted from
    tokens/s to ms per token.
  * prefill 2048: positions/s consuming a 2048-token prompt and producing the last position's
    logits. libseqcore: `forward` with SEQC_OUTPUT_LAST. llama.cpp: `llama-bench -p 2048`
    (its default batch 2048, micro-batch 512).
  * floor: the weight bytes a step reads (every weight once, the tied embedding once as the
    LM head) over the read bandwidth `seqcore bench` measures with the same thread count.
The two libraries alternate for --rounds rounds; each cell is the best round (the machine is
shared, so the best round is the one least disturbed), and all rounds are printed too.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

SHAPES = ["mamba-130m", "mamba2-130m"]


def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def ours(args, hf_dir):
    cmd = [args.seqcore, "bench", hf_dir, "--threads", str(args.threads), "--steps", str(args.steps),
           "--positions", "2048", "--repeats", "2", "--output", "last", "--json"]
    o = json.loads(run_json(cmd).strip().splitlines()[-1])
    return {"step_ms": o["step_us_p50"] / 1e3, "prefill": o["forward_positions_per_s"],
            "floor_ms": o["floor_us"] / 1e3, "bw": o["bandwidth_gbs"], "bytes": o["step_read_bytes"]}


def llama(args, gguf):
    cmd = [args.llama_bench, "-m", gguf, "-t", str(args.threads), "-p", "2048", "-n", "128",
           "-r", "2" if args.quick else "3", "-o", "json"]
    res = json.loads(run_json(cmd))
    out = {}
    for r in res:
        if r["n_gen"] > 0:
            out["step_ms"] = 1e3 / r["avg_ts"]
        else:
            out["prefill"] = r["avg_ts"]
    out["build"] = f'{res[0].get("build_commit", "?")} ({res[0].get("backends", "?")})'
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("seqcore")
    p.add_argument("models")
    p.add_argument("--llama-bench")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out")
    args = p.parse_args()
    args.steps = 200 if args.quick else 1000

    rows, log = [], []
    for shape in SHAPES:
        hf = os.path.join(args.models, shape)
        gguf = os.path.join(args.models, shape + "-f32.gguf")
        if not os.path.isdir(hf):
            print(f"skipping {shape}: no {hf} (bench/make_random_hf.py {shape} {hf})", file=sys.stderr)
            continue
        peer = args.llama_bench and os.path.exists(gguf)
        o_runs, l_runs = [], []
        for rnd in range(args.rounds):
            o_runs.append(ours(args, hf))
            log.append(f"{shape} round {rnd + 1} libseqcore: step {o_runs[-1]['step_ms']:.2f} ms, "
                       f"prefill {o_runs[-1]['prefill']:.0f} pos/s, bandwidth {o_runs[-1]['bw']:.1f} GB/s")
            if peer:
                l_runs.append(llama(args, gguf))
                log.append(f"{shape} round {rnd + 1} llama.cpp:  step {l_runs[-1]['step_ms']:.2f} ms, "
                           f"prefill {l_runs[-1]['prefill']:.0f} pos/s")
            print(log[-1], file=sys.stderr)
        best = {"step_ms": min(r["step_ms"] for r in o_runs), "prefill": max(r["prefill"] for r in o_runs),
                "bw": max(r["bw"] for r in o_runs), "bytes": o_runs[0]["bytes"]}
        best["floor_ms"] = best["bytes"] / (best["bw"] * 1e9) * 1e3
        lb = None
        if l_runs:
            lb = {"step_ms": min(r["step_ms"] for r in l_runs), "prefill": max(r["prefill"] for r in l_runs),
                  "build": l_runs[0]["build"]}
        rows.append((shape, best, lb))

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [f"CPU: {cpu}, {args.threads} threads for both libraries, fp32 weights, "
             f"best of {args.rounds} alternating rounds.", ""]
    if any(lb for _, _, lb in rows):
        lines.append(f"llama.cpp: {next(lb['build'] for _, _, lb in rows if lb)}")
        lines.append("")
    lines += ["| model | step reads | bandwidth | floor | step, libseqcore | step, llama.cpp | llama.cpp / ours "
              "| ours / floor | prefill 2048, libseqcore | prefill 2048, llama.cpp | ours / llama.cpp |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for shape, o, lb in rows:
        l_step = f"{lb['step_ms']:.2f} ms" if lb else "-"
        l_ratio = f"{lb['step_ms'] / o['step_ms']:.2f}x" if lb else "-"
        l_pre = f"{lb['prefill']:,.0f} pos/s" if lb else "-"
        p_ratio = f"{o['prefill'] / lb['prefill']:.2f}x" if lb else "-"
        lines.append(f"| {shape} | {o['bytes'] / 2**20:.0f} MiB | {o['bw']:.1f} GB/s | {o['floor_ms']:.2f} ms "
                     f"| {o['step_ms']:.2f} ms | {l_step} | {l_ratio} | {o['step_ms'] / o['floor_ms']:.2f} "
                     f"| {o['prefill']:,.0f} pos/s | {l_pre} | {p_ratio} |")
    lines += ["", "Rounds:", ""] + [f"- {l}" for l in log]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
