"""Float64 reference of the Mamba-1 mixer (spec K01), written from the
equations, numpy only, one position at a time (the recurrent form). Weights
use transformers' MambaMixer names and layouts, relative to the mixer:

    in_proj.weight [2*Di, Dm]   in_proj.bias [2*Di]        (if bias)
    conv1d.weight  [Di, 1, K]   conv1d.bias [Di]           (if conv_bias)
    x_proj.weight  [R + 2N, Di]
    dt_proj.weight [Di, R]      dt_proj.bias [Di]
    A_log [Di, N]   D [Di]
    out_proj.weight [Dm, Di]    out_proj.bias [Dm]         (if bias)

Per position, for input u [Dm]:
    x, z        = split(in_proj(u), 2)
    x           = silu(conv1d bias + sum_j w[:, 0, j] * x_{t-K+1+j})   (zeros before the start)
    dt_r, B, C  = split(x_proj(x), [R, N, N])
    bcdt_rms:   v -> v / sqrt(mean(v^2) + rms_eps) for each of dt_r, B, C (FalconMamba)
    dt          = softplus(dt_proj(dt_r))       (softplus(v) = v above 20, like PyTorch)
    h           = exp(dt[:, None] * A) * h + (dt[:, None] * B[None, :]) * x[:, None],  A = -exp(A_log)
    y           = h @ C + D * x;   y = y * silu(z);   out = out_proj(y)
"""
import numpy as np


def silu(x):
    return x / (1.0 + np.exp(-x))


def softplus(x):
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def rms(v, eps):
    return v / np.sqrt(np.mean(v * v) + eps)


def dt_rank(cfg):
    r = cfg.get("dt_rank", 0)
    return r if r > 0 else -(-cfg["d_model"] // 16)


def mamba(u, w, cfg, conv_state=None, ssm_state=None):
    """u: [T, d_model]. w: {relative name: array}. cfg: the plugin's config
    keys. Returns (out [T, d_model], conv_state [K-1, Di], ssm_state [Di, N])."""
    u = np.asarray(u, np.float64)
    f = {k: np.asarray(v, np.float64) for k, v in w.items()}
    Di, N, K = cfg["d_inner"], cfg.get("d_state", 16), cfg.get("d_conv", 4)
    R = dt_rank(cfg)
    bias, conv_bias = cfg.get("bias", False), cfg.get("conv_bias", True)
    bcdt, eps = cfg.get("bcdt_rms", False), cfg.get("rms_eps", 1e-6)
    conv = np.zeros((K - 1, Di)) if conv_state is None else np.array(conv_state, np.float64)
    h = np.zeros((Di, N)) if ssm_state is None else np.array(ssm_state, np.float64)
    A = -np.exp(f["A_log"])
    wc = f["conv1d.weight"][:, 0, :]  # [Di, K]
    out = np.zeros((u.shape[0], f["out_proj.weight"].shape[0]))
    for t in range(u.shape[0]):
        xz = f["in_proj.weight"] @ u[t]
        if bias:
            xz = xz + f["in_proj.bias"]
        x, z = xz[:Di], xz[Di:]
        window = np.vstack([conv, x[None, :]])  # [K, Di], oldest first
        c = np.sum(window.T * wc, axis=1)
        if conv_bias:
            c = c + f["conv1d.bias"]
        conv = window[1:]
        x = silu(c)
        p = f["x_proj.weight"] @ x
        dtr, B, C = p[:R], p[R:R + N], p[R + N:]
        if bcdt:
            dtr, B, C = rms(dtr, eps), rms(B, eps), rms(C, eps)
        dt = softplus(f["dt_proj.weight"] @ dtr + f["dt_proj.bias"])
        h = np.exp(dt[:, None] * A) * h + (dt[:, None] * B[None, :]) * x[:, None]
        y = h @ C + f["D"] * x
        y = y * silu(z)
        o = f["out_proj.weight"] @ y
        if bias:
            o = o + f["out_proj.bias"]
        out[t] = o
    return out, conv, h


def short_conv(x, weight, bias=None, activation="none"):
    """layer/short_conv: x [T, C], weight [C, 1, K] -> y [T, C], zeros before the start."""
    x = np.asarray(x, np.float64)
    w = np.asarray(weight, np.float64)[:, 0, :]
    T, K = x.shape[0], w.shape[1]
    xp = np.vstack([np.zeros((K - 1, x.shape[1])), x])
    y = np.zeros_like(x)
    for t in range(T):
        y[t] = np.sum(xp[t:t + K].T * w, axis=1)
    if bias is not None:
        y = y + np.asarray(bias, np.float64)
    return silu(y) if activation == "silu" else y


def rmsnorm(x, weight, eps):
    x = np.asarray(x, np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * np.asarray(weight, np.float64)
