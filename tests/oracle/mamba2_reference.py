"""Float64 numpy reference of the Mamba-2 mixer (recurrent/mamba2), written from
the equations (docs/numerics.md, transformers' Mamba2Mixer decode step):

    [z | xBC | dt] = in_proj(u)                      z [Di], xBC [Di + 2GN], dt [H]
    xBC = silu(conv1d(xBC))                          causal depthwise, width K
    x, B, C = split(xBC, [Di, G*N, G*N])             x [H, P], B and C [G, N]
    dt = clamp(softplus(dt + dt_bias), dt_min, dt_max)
    dA = exp(dt * -exp(A_log))                       one decay per head
    S[h] = dA[h] S[h] + dt[h] outer(x[h], B[g(h)])   g(h) = h // (H // G)
    y[h] = S[h] @ C[g(h)] + D[h] x[h]
    y = gated_rmsnorm(y, z)                          rms over groups of norm_group_size
    out = out_proj(y)

`mixer` runs it step by step; `mixer_ssd` computes the same with the chunked
SSD algorithm (in float64 both agree to rounding, which the oracle test checks
as a check of the algorithm itself). Pure numpy.
"""
import numpy as np


def softplus(v):
    """PyTorch's softplus (beta 1, threshold 20)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v > 20.0, v, np.log1p(np.exp(np.minimum(v, 20.0))))


def silu(v):
    return v / (1.0 + np.exp(-v))


def gated_rmsnorm(y, z, weight, eps, group_size):
    """rmsnorm(y * silu(z)) * weight with one RMS per group of group_size
    (0 or None: one group over the whole width, transformers' MambaRMSNormGated;
    d_inner // n_groups: mamba_ssm's RMSNormGated(group_size=...))."""
    v = y * silu(z)
    n = v.shape[-1]
    gs = group_size or n
    g = v.reshape(v.shape[:-1] + (n // gs, gs))
    g = g / np.sqrt(np.mean(g * g, axis=-1, keepdims=True) + eps)
    return g.reshape(v.shape) * weight


class Dims:
    def __init__(self, cfg):
        self.D = cfg["d_model"]
        self.Di = cfg["d_inner"]
        self.N = cfg.get("d_state", 128)
        self.K = cfg.get("d_conv", 4)
        self.H = cfg["n_heads"]
        self.P = cfg.get("head_dim", 64)
        self.G = cfg.get("n_groups", 1)
        self.Cd = self.Di + 2 * self.G * self.N
        self.dt_min = cfg.get("dt_min", 0.0)
        self.dt_max = cfg.get("dt_max", np.inf)
        self.eps = cfg.get("norm_eps", 1e-5)
        self.gs = cfg.get("norm_group_size", 0)
        self.Q = cfg.get("chunk_size", 256)


def _f64(w):
    return {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}


def _front(u, w, d, conv_state):
    """Projections and the convolution for all T positions: z, x, B, C, dt."""
    proj = u @ w["in_proj.weight"].T
    if "in_proj.bias" in w:
        proj = proj + w["in_proj.bias"]
    z, xbc, dt_raw = proj[:, :d.Di], proj[:, d.Di:d.Di + d.Cd], proj[:, d.Di + d.Cd:]
    k = w["conv1d.weight"][:, 0, :]  # [Cd, K]
    padded = np.concatenate([conv_state, xbc], axis=0)  # [K-1+T, Cd]
    T = u.shape[0]
    conv = np.zeros((T, d.Cd))
    for j in range(d.K):
        conv += padded[j:j + T] * k[:, j]
    if "conv1d.bias" in w:
        conv += w["conv1d.bias"]
    new_conv_state = padded[T:] if d.K > 1 else padded[:0]
    xbc = silu(conv)
    x = xbc[:, :d.Di].reshape(T, d.H, d.P)
    B = xbc[:, d.Di:d.Di + d.G * d.N].reshape(T, d.G, d.N)
    C = xbc[:, d.Di + d.G * d.N:].reshape(T, d.G, d.N)
    dt = np.clip(softplus(dt_raw + w["dt_bias"]), d.dt_min, d.dt_max)  # [T, H]
    return z, x, B, C, dt, new_conv_state


def _back(y, z, w, d):
    y = gated_rmsnorm(y.reshape(y.shape[0], d.Di), z, w["norm.weight"], d.eps, d.gs)
    out = y @ w["out_proj.weight"].T
    if "out_proj.bias" in w:
        out = out + w["out_proj.bias"]
    return out


def initial_state(cfg):
    d = Dims(cfg)
    return np.zeros((d.K - 1, d.Cd)), np.zeros((d.H, d.P, d.N))


def mixer(u, weights, cfg, state=None):
    """Step-by-step Mamba-2 mixer over u [T, d_model]. Returns (out [T, d_model],
    (conv_state [K-1, Cd], ssm_state [H, P, N]))."""
    d = Dims(cfg)
    w = _f64(weights)
    conv_state, S = state if state is not None else initial_state(cfg)
    S = S.copy()
    z, x, B, C, dt, conv_state = _front(np.asarray(u, np.float64), w, d, conv_state)
    A = -np.exp(w["A_log"])
    hpg = d.H // d.G
    T = x.shape[0]
    y = np.zeros((T, d.H, d.P))
    for t in range(T):
        dA = np.exp(dt[t] * A)
        for h in range(d.H):
            g = h // hpg
            S[h] = dA[h] * S[h] + dt[t, h] * np.outer(x[t, h], B[t, g])
            y[t, h] = S[h] @ C[t, g] + w["D"][h] * x[t, h]
    return _back(y, z, w, d), (conv_state, S)


def mixer_ssd(u, weights, cfg, state=None):
    """The same mixer with the chunked SSD algorithm (chunks of chunk_size)."""
    d = Dims(cfg)
    w = _f64(weights)
    conv_state, S = state if state is not None else initial_state(cfg)
    S = S.copy()
    z, x, B, C, dt, conv_state = _front(np.asarray(u, np.float64), w, d, conv_state)
    A = -np.exp(w["A_log"])
    hpg = d.H // d.G
    T = x.shape[0]
    y = np.zeros((T, d.H, d.P))
    for t0 in range(0, T, d.Q):
        t1 = min(T, t0 + d.Q)
        for h in range(d.H):
            g = h // hpg
            a = A[h] * dt[t0:t1, h]
            cum = np.cumsum(a)
            seg = cum[:, None] - cum[None, :]  # sum of a over (s, t]
            L = np.where(np.tril(np.ones_like(seg, dtype=bool)), np.exp(np.minimum(seg, 0.0)), 0.0)
            xdt = x[t0:t1, h] * dt[t0:t1, h, None]
            Cg, Bg = C[t0:t1, g], B[t0:t1, g]
            y_diag = ((Cg @ Bg.T) * L) @ xdt
            y_off = np.exp(cum)[:, None] * (Cg @ S[h].T)
            y[t0:t1, h] = y_diag + y_off + w["D"][h] * x[t0:t1, h]
            decay = np.exp(cum[-1] - cum)
            S[h] = np.exp(cum[-1]) * S[h] + (xdt * decay[:, None]).T @ Bg
    return _back(y, z, w, d), (conv_state, S)
