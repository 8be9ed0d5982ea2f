#!/usr/bin/env python3
"""Write a HuggingFace model directory with random weights, for benchmarks.

    python3 bench/make_random_hf.py mamba-130m  OUT_DIR [--seed 0] [--dtype f32|bf16]
    python3 bench/make_random_hf.py mamba2-130m OUT_DIR
    python3 bench/make_random_hf.py mamba-370m  OUT_DIR

The shapes are those of state-spaces/mamba-130m-hf and mamba2-130m (d_model 768, 24 layers,
vocab 50280 / 50288, tied embeddings), and of mamba-370m-hf (d_model 1024, 48 layers); the directory holds `config.json` and
`model.safetensors` under transformers' names, so both libseqcore and llama.cpp's
`convert_hf_to_gguf.py` read it. The weights follow the usual initialisation closely enough
that activations stay finite over long runs (dt bias from the inverse softplus of a log-uniform
dt, A_log = log(1..N), small projections); their values do not matter for speed.
Needs numpy only.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import safetensors_np as st  # noqa: E402

SHAPES = {
    "mamba-130m": dict(model_type="mamba", d_model=768, n_layer=24, vocab=50280, d_state=16, d_conv=4, expand=2),
    "mamba-370m": dict(model_type="mamba", d_model=1024, n_layer=48, vocab=50280, d_state=16, d_conv=4, expand=2),
    "mamba2-130m": dict(model_type="mamba2", d_model=768, n_layer=24, vocab=50288, d_state=128, d_conv=4, expand=2,
                        head_dim=64, n_groups=1),
}


def dt_bias(rng, n):
    dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), n)).clip(min=1e-4)
    return (dt + np.log(-np.expm1(-dt))).astype(np.float32)  # inverse softplus


def mamba1(rng, s):
    d, di, n, k = s["d_model"], s["expand"] * s["d_model"], s["d_state"], s["d_conv"]
    r = math.ceil(d / 16)
    w = {"backbone.embeddings.weight": rng.normal(0, 0.02, (s["vocab"], d)),
         "backbone.norm_f.weight": np.ones(d)}
    for i in range(s["n_layer"]):
        p = f"backbone.layers.{i}."
        w[p + "norm.weight"] = np.ones(d)
        w[p + "mixer.in_proj.weight"] = rng.normal(0, 0.02, (2 * di, d))
        w[p + "mixer.conv1d.weight"] = rng.uniform(-0.5, 0.5, (di, 1, k))
        w[p + "mixer.conv1d.bias"] = rng.uniform(-0.5, 0.5, di)
        w[p + "mixer.x_proj.weight"] = rng.normal(0, 0.02, (r + 2 * n, di))
        w[p + "mixer.dt_proj.weight"] = rng.uniform(-r ** -0.5, r ** -0.5, (di, r))
        w[p + "mixer.dt_proj.bias"] = dt_bias(rng, di)
        w[p + "mixer.A_log"] = np.log(np.tile(np.arange(1, n + 1), (di, 1)))
        w[p + "mixer.D"] = np.ones(di)
        w[p + "mixer.out_proj.weight"] = rng.normal(0, 0.02 / math.sqrt(s["n_layer"]), (d, di))
    cfg = {"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": d,
           "intermediate_size": di, "state_size": n, "num_hidden_layers": s["n_layer"], "vocab_size": s["vocab"],
           "conv_kernel": k, "expand": s["expand"], "time_step_rank": r, "use_bias": False, "use_conv_bias": True,
           "layer_norm_epsilon": 1e-5, "residual_in_fp32": True, "tie_word_embeddings": True,
           "pad_vocab_size_multiple": 8, "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0}
    return w, cfg


def mamba2(rng, s):
    d, di, n, k = s["d_model"], s["expand"] * s["d_model"], s["d_state"], s["d_conv"]
    hd, g = s["head_dim"], s["n_groups"]
    h = di // hd
    conv = di + 2 * g * n
    w = {"backbone.embeddings.weight": rng.normal(0, 0.02, (s["vocab"], d)),
         "backbone.norm_f.weight": np.ones(d)}
    for i in range(s["n_layer"]):
        p = f"backbone.layers.{i}."
        w[p + "norm.weight"] = np.ones(d)
        w[p + "mixer.in_proj.weight"] = rng.normal(0, 0.02, (2 * di + 2 * g * n + h, d))
        w[p + "mixer.conv1d.weight"] = rng.uniform(-0.5, 0.5, (conv, 1, k))
        w[p + "mixer.conv1d.bias"] = rng.uniform(-0.5, 0.5, conv)
        w[p + "mixer.dt_bias"] = dt_bias(rng, h)
        w[p + "mixer.A_log"] = np.log(rng.uniform(1, 16, h))
        w[p + "mixer.D"] = np.ones(h)
        w[p + "mixer.norm.weight"] = np.ones(di)
        w[p + "mixer.out_proj.weight"] = rng.normal(0, 0.02 / math.sqrt(s["n_layer"]), (d, di))
    cfg = {"architectures": ["Mamba2ForCausalLM"], "model_type": "mamba2", "hidden_size": d,
           "num_heads": h, "head_dim": hd, "n_groups": g, "state_size": n, "expand": s["expand"],
           "num_hidden_layers": s["n_layer"], "vocab_size": s["vocab"], "conv_kernel": k, "chunk_size": 256,
           "use_bias": False, "use_conv_bias": True, "layer_norm_epsilon": 1e-5, "rms_norm": True,
           "norm_before_gate": False, "residual_in_fp32": True, "tie_word_embeddings": True,
           "time_step_limit": [0.0, float("inf")], "time_step_rank": math.ceil(d / 16),
           "pad_vocab_size_multiple": 16, "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0}
    return w, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    a = ap.parse_args()
    s = SHAPES[a.shape]
    rng = np.random.default_rng(a.seed)
    w, cfg = (mamba1 if s["model_type"] == "mamba" else mamba2)(rng, s)
    cfg["torch_dtype"] = "float32" if a.dtype == "f32" else "bfloat16"
    conv = (lambda x: x.astype(np.float32)) if a.dtype == "f32" else (lambda x: st.bf16(x.astype(np.float32)))
    os.makedirs(a.out, exist_ok=True)
    st.save(os.path.join(a.out, "model.safetensors"), {k: conv(v) for k, v in w.items()},
            metadata={"format": "pt"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    n = sum(v.size for v in w.values())
    print(f"wrote {a.out}: {a.shape}, {n / 1e6:.1f}M parameters, {a.dtype}")


if __name__ == "__main__":
    main()
