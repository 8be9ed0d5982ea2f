"""Float64 references for the recurrent kernels, written from the equations
in ../shared/specs (K05 LSTM, K06 GRU) and PyTorch's documentation, with
numpy only. Weights use PyTorch's names and layouts."""
import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x, w, num_layers, hidden, proj=0, h0=None, c0=None):
    """x: [T, I]. w: dict of PyTorch nn.LSTM tensors. Returns (y [T, P], h [L, P], c [L, H])."""
    x = np.asarray(x, np.float64)
    T = x.shape[0]
    P = proj or hidden
    h = np.zeros((num_layers, P)) if h0 is None else np.array(h0, np.float64)
    c = np.zeros((num_layers, hidden)) if c0 is None else np.array(c0, np.float64)
    inp = x
    for l in range(num_layers):
        wih = w[f"weight_ih_l{l}"].astype(np.float64)
        whh = w[f"weight_hh_l{l}"].astype(np.float64)
        b = np.zeros(4 * hidden)
        if f"bias_ih_l{l}" in w:
            b = w[f"bias_ih_l{l}"].astype(np.float64) + w[f"bias_hh_l{l}"].astype(np.float64)
        whr = w[f"weight_hr_l{l}"].astype(np.float64) if proj else None
        out = np.zeros((T, P))
        for t in range(T):
            g = wih @ inp[t] + whh @ h[l] + b
            i, f, gg, o = np.split(g, 4)
            c[l] = _sigmoid(f) * c[l] + _sigmoid(i) * np.tanh(gg)
            hl = _sigmoid(o) * np.tanh(c[l])
            h[l] = whr @ hl if proj else hl
            out[t] = h[l]
        inp = out
    return inp, h, c


def gru(x, w, num_layers, hidden, h0=None):
    """x: [T, I]. w: dict of PyTorch nn.GRU tensors. Returns (y [T, H], h [L, H])."""
    x = np.asarray(x, np.float64)
    T = x.shape[0]
    h = np.zeros((num_layers, hidden)) if h0 is None else np.array(h0, np.float64)
    inp = x
    for l in range(num_layers):
        wih = w[f"weight_ih_l{l}"].astype(np.float64)
        whh = w[f"weight_hh_l{l}"].astype(np.float64)
        bih = w.get(f"bias_ih_l{l}", np.zeros(3 * hidden)).astype(np.float64)
        bhh = w.get(f"bias_hh_l{l}", np.zeros(3 * hidden)).astype(np.float64)
        out = np.zeros((T, hidden))
        for t in range(T):
            gi = wih @ inp[t] + bih
            gh = whh @ h[l] + bhh
            ir, iz, inn = np.split(gi, 3)
            hr, hz, hn = np.split(gh, 3)
            r = _sigmoid(ir + hr)
            z = _sigmoid(iz + hz)
            n = np.tanh(inn + r * hn)
            h[l] = (1 - z) * n + z * h[l]
            out[t] = h[l]
        inp = out
    return inp, h


def linear(x, weight, bias=None):
    y = np.asarray(x, np.float64) @ weight.astype(np.float64).T
    return y + bias.astype(np.float64) if bias is not None else y
