#!/usr/bin/env python3
"""Write bindings/common/tiny-lstm.safetensors, the frame model the binding
tests share: a bare PyTorch nn.LSTM(input_size=8, hidden_size=16,
num_layers=2) state dict (docs/torch-import.md), so it loads with no config.
Input width 8, output width 16. Deterministic: numpy's PCG64 with seed 20261123.

    python3 bindings/common/make_fixture.py bindings/common/tiny-lstm.safetensors
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import safetensors_np as st  # noqa: E402


def main(out):
    rng = np.random.default_rng(20261123)
    d_in, h, layers = 8, 16, 2
    k = 1.0 / np.sqrt(h)
    tensors = {}
    for l in range(layers):
        width = d_in if l == 0 else h
        tensors[f"weight_ih_l{l}"] = rng.uniform(-k, k, (4 * h, width)).astype(np.float32)
        tensors[f"weight_hh_l{l}"] = rng.uniform(-k, k, (4 * h, h)).astype(np.float32)
        tensors[f"bias_ih_l{l}"] = rng.uniform(-k, k, (4 * h,)).astype(np.float32)
        tensors[f"bias_hh_l{l}"] = rng.uniform(-k, k, (4 * h,)).astype(np.float32)
    st.save(out, tensors)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tiny-lstm.safetensors")
