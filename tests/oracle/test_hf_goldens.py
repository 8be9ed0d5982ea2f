#!/usr/bin/env python3
"""HuggingFace Mamba / FalconMamba / Mamba-2 directories against the real implementation.

usage: test_hf_goldens.py SEQCORE_BINARY LIBSEQCORE TOOLS_DIR HF_GOLDENS_DIR

1. Goldens (HF_GOLDENS_DIR/<variant>/golden.json, made by make_hf_goldens.py with
   transformers 5.17 on tiny random models saved with save_pretrained): for every variant
   the library loads the directory as it is and
   * runs the prompt whole, step by step (--chunk 1) and in chunks of 5; the logits must match
     the float64 transformers logits within TOL relative to the largest |logit|;
   * generates greedily through the C API (seqc_stream_generate, temperature 0); the ids must
     equal transformers' greedy continuation (a differing id is accepted only where the two
     top logits of the golden are closer than the tolerance, i.e. a tie at this precision;
     none of the committed variants has one), and the logits at each generated step must
     match gen_logits within TOL;
   * converts the directory (seqcore convert) and checks that the converted file gives
     bit-identical logits, the same fingerprint, and stores a tied head once.
2. Synthetic directories made here with numpy (HF tensor names and configs, one sharded with
   an index, a tokenizer.json), checked against a float64 numpy transcription of
   transformers' equations (modeling_mamba.py slow_forward, modeling_falcon_mamba.py,
   modeling_mamba2.py torch_forward) with the same tolerance, and the same conversion checks.

What is measured: err = max |logits - golden| / max |golden| over all positions and the
vocabulary, in float64. TOL = 1e-4: the library computes in float32 (transformers' own float32
run of the same models differs from float64 by the `fp32_vs_fp64` recorded in each golden,
about 1e-6), and the chunked algorithms (chunked selective scan, SSD) regroup sums.
"""
import ctypes
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

SEQCORE, LIBSEQCORE, TOOLS, GOLDENS = sys.argv[1:5]
sys.path.insert(0, TOOLS)
import safetensors_np as st  # noqa: E402

TOL = 2e-5
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}", flush=True)


def run(*args):
    r = subprocess.run([SEQCORE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"seqcore {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def run_logits(model, ids, tmp, chunk=0):
    xin, yout = os.path.join(tmp, "ids.npy"), os.path.join(tmp, "y.npy")
    np.save(xin, np.asarray(ids, dtype=np.int32))
    args = ["run", model, "--in", xin, "--out", yout]
    if chunk:
        args += ["--chunk", str(chunk)]
    run(*args)
    return np.load(yout)


def rel_err(got, want):
    want = np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - want)) / np.max(np.abs(want)))


# ------------------------------------------------------------------ the C API, for generation
lib = ctypes.CDLL(LIBSEQCORE)
lib.seqc_last_error.restype = ctypes.c_char_p
for fn in ("seqc_model_load_file", "seqc_stream_create", "seqc_stream_set_sampling", "seqc_stream_generate",
           "seqc_model_describe"):
    getattr(lib, fn).restype = ctypes.c_int
lib.seqc_model_load_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.seqc_stream_create.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.seqc_stream_set_sampling.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_int32, ctypes.c_float]
lib.seqc_stream_generate.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_int32)]
lib.seqc_model_describe.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.c_size_t)]
lib.seqc_stream_destroy.argtypes = [ctypes.c_void_p]
lib.seqc_model_unref.argtypes = [ctypes.c_void_p]


def capi(rc, what):
    if rc != 0:
        raise RuntimeError(f"{what}: status {rc}: {lib.seqc_last_error().decode()}")


def load(path):
    m = ctypes.c_void_p()
    capi(lib.seqc_model_load_file(None, path.encode(), ctypes.byref(m)), f"loading {path}")
    return m


def describe(path):
    m = load(path)
    try:
        n = ctypes.c_size_t()
        lib.seqc_model_describe(m, None, 0, ctypes.byref(n))
        buf = ctypes.create_string_buffer(n.value)
        capi(lib.seqc_model_describe(m, buf, n.value, ctypes.byref(n)), "describe")
        return json.loads(buf.value.decode())
    finally:
        lib.seqc_model_unref(m)


def greedy(path, prompt, n):
    m = load(path)
    s = ctypes.c_void_p()
    try:
        capi(lib.seqc_stream_create(m, ctypes.byref(s)), "stream")
        capi(lib.seqc_stream_set_sampling(s, 0.0, 0, 1.0), "sampling")
        ids = (ctypes.c_int32 * len(prompt))(*prompt)
        nxt = ctypes.c_int32()
        out = []
        capi(lib.seqc_stream_generate(s, ids, len(prompt), ctypes.byref(nxt)), "generate")
        out.append(nxt.value)
        for _ in range(n - 1):
            one = (ctypes.c_int32 * 1)(nxt.value)
            capi(lib.seqc_stream_generate(s, one, 1, ctypes.byref(nxt)), "generate")
            out.append(nxt.value)
        return out
    finally:
        lib.seqc_stream_destroy(s)
        lib.seqc_model_unref(m)


# ------------------------------------------------------------------ checks shared by both parts
def check_model(name, model, prompt, want_logits, tmp, generated=None, gen_logits=None):
    """Logits whole / steps / chunks, greedy generation, conversion."""
    whole = run_logits(model, prompt, tmp)
    errs = {}
    for label, y in (("whole", whole), ("steps", run_logits(model, prompt, tmp, 1)),
                     ("chunks of 5", run_logits(model, prompt, tmp, 5))):
        errs[label] = rel_err(y, want_logits)
        check(y.shape == np.shape(want_logits) and errs[label] < TOL,
              f"{name}: logits ({label}) error {errs[label]:.2e} >= {TOL}")
    line = f"{name}: logits error whole {errs['whole']:.2e}, steps {errs['steps']:.2e}, chunks {errs['chunks of 5']:.2e}"

    if generated is not None:
        got = greedy(model, list(prompt), len(generated))
        ok = True
        for k, (g, w) in enumerate(zip(got, generated)):
            if g != w:
                gl = np.asarray(gen_logits[k], np.float64)
                gap = gl[w] - gl[g]
                tie = gap < TOL * np.max(np.abs(gl))
                ok = ok and tie
                print(f"  {name}: generated id {k}: {g}, transformers {w} (logit gap {gap:.2e}: "
                      f"{'a tie at this precision' if tie else 'a real difference'})")
                break
        check(ok, f"{name}: greedy continuation {got} != transformers {generated}")
        seq = list(prompt) + list(generated[:-1])
        y = run_logits(model, seq, tmp)[len(prompt) - 1:]
        e = rel_err(y, gen_logits)
        check(e < TOL, f"{name}: logits along the generated tokens: error {e:.2e} >= {TOL}")
        line += f", generation {'exact' if got == list(generated) else 'tie'} ({len(got)} ids), gen logits {e:.2e}"

    conv = os.path.join(tmp, "converted.safetensors")
    run("convert", model, conv)
    y2 = run_logits(conv, prompt, tmp)
    check(np.array_equal(y2.view(np.uint32), whole.view(np.uint32)), f"{name}: converted file not bit-identical")
    d1, d2 = describe(model), describe(conv)
    check(d1["fingerprint"] == d2["fingerprint"], f"{name}: converted file has another fingerprint")
    tensors, meta = st.load(conv)
    graph = json.loads(meta["seqcore.graph"])
    head = [b for b in graph["blocks"] if isinstance(b, dict) and b.get("name") == "lm_head"][0]
    if "tie" in head:
        check(head["tie"] == {"weight": "embed.weight"} and "lm_head.weight" not in tensors,
              f"{name}: tied head must be stored once")
    else:
        check("lm_head.weight" in tensors, f"{name}: untied head missing from the converted file")
    print(line + f"; converted: bit-identical, {'tied' if 'tie' in head else 'untied'} head", flush=True)
    return d1, meta


# ------------------------------------------------------------------ part 1: transformers goldens
def goldens(tmp):
    dirs = sorted(glob.glob(os.path.join(GOLDENS, "*", "golden.json")))
    if not dirs:
        print(f"no HuggingFace goldens under {GOLDENS} yet")
    for gpath in dirs:
        d = os.path.dirname(gpath)
        name = os.path.basename(d)
        with open(gpath) as f:
            g = json.load(f)
        check_model(name, d, g["prompt"], g["logits"], tmp, g["generated"], g["gen_logits"])
        if "fp32_vs_fp64" in g:
            print(f"  ({name}: transformers' own float32 run differs from float64 by {g['fp32_vs_fp64']:.2e})")
    return len(dirs)


# ------------------------------------------------------------------ part 2: synthetic directories
def softplus(x):
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def silu(x):
    return x / (1 + np.exp(-x))


def rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1 if w is None else w)


def causal_conv(x, w, b):  # x [T, C], w [C, 1, K]
    T, C = x.shape
    K = w.shape[2]
    xp = np.concatenate([np.zeros((K - 1, C)), x])
    y = sum(xp[k:k + T] * w[:, 0, k] for k in range(K))
    return y + (0 if b is None else b)


def mamba1_mixer(x, w, c, falcon):
    I, N, R = c["d_inner"], c["d_state"], c["dt_rank"]
    xz = x @ w["in_proj.weight"].T + w.get("in_proj.bias", 0)
    xs, z = xz[:, :I], xz[:, I:]
    xc = silu(causal_conv(xs, w["conv1d.weight"], w.get("conv1d.bias")))
    dbl = xc @ w["x_proj.weight"].T
    dtr, B, C = dbl[:, :R], dbl[:, R:R + N], dbl[:, R + N:]
    if falcon:
        dtr, B, C = (rms(v, None, c["rms_eps"]) for v in (dtr, B, C))
    dt = softplus(dtr @ w["dt_proj.weight"].T + w["dt_proj.bias"])
    A = -np.exp(w["A_log"])
    h = np.zeros((I, N))
    y = np.zeros_like(xc)
    for t in range(x.shape[0]):
        h = np.exp(dt[t][:, None] * A) * h + (dt[t] * xc[t])[:, None] * B[t][None, :]
        y[t] = h @ C[t] + w["D"] * xc[t]
    return (y * silu(z)) @ w["out_proj.weight"].T + w.get("out_proj.bias", 0)


def mamba2_mixer(x, w, c):
    I, N, H, P, G = c["d_inner"], c["d_state"], c["n_heads"], c["head_dim"], c["n_groups"]
    zxbcdt = x @ w["in_proj.weight"].T + w.get("in_proj.bias", 0)
    z, xbc, dt = zxbcdt[:, :I], zxbcdt[:, I:2 * I + 2 * G * N], zxbcdt[:, 2 * I + 2 * G * N:]
    xbc = silu(causal_conv(xbc, w["conv1d.weight"], w.get("conv1d.bias")))
    xs, B, C = xbc[:, :I], xbc[:, I:I + G * N], xbc[:, I + G * N:]
    dt = np.clip(softplus(dt + w["dt_bias"]), c.get("dt_min", 0.0), c.get("dt_max", np.inf))
    A = -np.exp(w["A_log"])
    s = np.zeros((H, P, N))
    y = np.zeros_like(xs)
    for t in range(x.shape[0]):
        for hd in range(H):
            g = hd // (H // G)
            xh = xs[t, hd * P:(hd + 1) * P]
            Bg, Cg = B[t, g * N:(g + 1) * N], C[t, g * N:(g + 1) * N]
            s[hd] = np.exp(dt[t, hd] * A[hd]) * s[hd] + dt[t, hd] * xh[:, None] * Bg[None, :]
            y[t, hd * P:(hd + 1) * P] = s[hd] @ Cg + w["D"][hd] * xh
    y = rms(y * silu(z), w["norm.weight"], c["norm_eps"])
    return y @ w["out_proj.weight"].T + w.get("out_proj.bias", 0)


def reference(kind, cfg, t, ids):
    """float64 logits of transformers' *ForCausalLM for the synthetic configs below."""
    t = {k: (v.to_f32() if isinstance(v, st.BF16) else v).astype(np.float64) for k, v in t.items()}
    H, eps = cfg["hidden_size"], cfg.get("layer_norm_epsilon", 1e-5)
    x = t["backbone.embeddings.weight"][np.asarray(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"backbone.layers.{i}."
        w = {k[len(p) + 6:]: v for k, v in t.items() if k.startswith(p + "mixer.")}
        h = rms(x, t[p + "norm.weight"], eps)
        if kind == "mamba2":
            I = int(cfg["expand"] * H)
            lim = cfg.get("time_step_limit", [0.0, math.inf])
            c = dict(d_inner=I, d_state=cfg["state_size"], n_heads=cfg["num_heads"], head_dim=cfg["head_dim"],
                     n_groups=cfg["n_groups"], norm_eps=eps, dt_min=lim[0], dt_max=lim[1])
            x = x + mamba2_mixer(h, w, c)
        else:
            c = dict(d_inner=cfg["intermediate_size"], d_state=cfg["state_size"], dt_rank=cfg["time_step_rank"],
                     rms_eps=cfg.get("mixer_rms_eps", 1e-6))
            x = x + mamba1_mixer(h, w, c, kind == "falcon_mamba")
    x = rms(x, t["backbone.norm_f.weight"], eps)
    head = t.get("lm_head.weight", t["backbone.embeddings.weight"])
    return x @ head.T


def make_dir(d, kind, cfg, seed, shards=0, tied_copy=False, bf16=False, tokenizer=None):
    """A checkpoint directory as save_pretrained writes it, random weights with HF names."""
    rng = np.random.default_rng(seed)

    def f(*shape, scale=0.3, center=0.0):
        return (center + scale * rng.standard_normal(shape)).astype(np.float32)

    V, H, L, K = cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["conv_kernel"]
    N, bias, cbias = cfg["state_size"], cfg.get("use_bias", False), cfg.get("use_conv_bias", True)
    t = {"backbone.embeddings.weight": f(V, H, scale=1.0), "backbone.norm_f.weight": f(H, center=1.0)}
    for i in range(L):
        p = f"backbone.layers.{i}."
        t[p + "norm.weight"] = f(H, center=1.0)
        m = p + "mixer."
        if kind == "mamba2":
            I = int(cfg["expand"] * H)
            Hh, G = cfg["num_heads"], cfg["n_groups"]
            t[m + "in_proj.weight"] = f(2 * I + 2 * G * N + Hh, H, scale=0.4)
            t[m + "conv1d.weight"] = f(I + 2 * G * N, 1, K, scale=0.5)
            if cbias:
                t[m + "conv1d.bias"] = f(I + 2 * G * N, scale=0.2)
            t[m + "dt_bias"] = f(Hh, scale=0.5, center=-1.0)
            t[m + "A_log"] = f(Hh, scale=0.5, center=0.5)
            t[m + "D"] = f(Hh, center=1.0)
            t[m + "norm.weight"] = f(I, center=1.0)
        else:
            I, R = cfg["intermediate_size"], cfg["time_step_rank"]
            t[m + "in_proj.weight"] = f(2 * I, H, scale=0.4)
            t[m + "conv1d.weight"] = f(I, 1, K, scale=0.5)
            if cbias:
                t[m + "conv1d.bias"] = f(I, scale=0.2)
            t[m + "x_proj.weight"] = f(R + 2 * N, I, scale=0.3)
            t[m + "dt_proj.weight"] = f(I, R, scale=0.5)
            t[m + "dt_proj.bias"] = f(I, scale=0.5, center=-1.0)
            t[m + "A_log"] = (np.log(np.arange(1, N + 1, dtype=np.float32))[None, :] + f(I, N, scale=0.3))
            t[m + "D"] = f(I, center=1.0)
        if bias:
            t[m + "in_proj.bias"] = f(t[m + "in_proj.weight"].shape[0], scale=0.2)
        t[m + "out_proj.weight"] = f(H, I, scale=0.3)
        if bias:
            t[m + "out_proj.bias"] = f(H, scale=0.2)
    tie = cfg.get("tie_word_embeddings", kind != "mamba2")
    if not tie:
        t["lm_head.weight"] = f(V, H, scale=0.5)
    elif tied_copy:
        t["lm_head.weight"] = t["backbone.embeddings.weight"].copy()
    if bf16:  # stored as BF16: the reference then uses the rounded values
        t = {k: st.bf16(v) for k, v in t.items()}
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as fh:
        # Python's json writes inf as Infinity, as transformers' save_pretrained does
        json.dump(dict(cfg, model_type=kind), fh, indent=2, sort_keys=True)
    if tokenizer is not None:
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as fh:
            fh.write(tokenizer)
    if not shards:
        st.save(os.path.join(d, "model.safetensors"), t, metadata={"format": "pt"})
        return t
    names = sorted(t)
    parts = [names[k::shards] for k in range(shards)]
    wmap = {}
    for k, part in enumerate(parts):
        fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        st.save(os.path.join(d, fname), {n: t[n] for n in part}, metadata={"format": "pt"})
        wmap.update({n: fname for n in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, fh, indent=2)
    return t


def byte_level_tokenizer():
    """A minimal byte-level BPE tokenizer.json (256 byte symbols, two merges)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): i for i, c in enumerate(cs)}
    vocab["th"] = 256
    vocab["the"] = 257
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None,
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": [["t", "h"], ["th", "e"]]}}
    return json.dumps(tok, ensure_ascii=False, indent=2)


SYNTHETIC = [
    # name, model_type, config, make_dir options
    ("mamba_tied", "mamba", dict(vocab_size=23, hidden_size=8, state_size=4, num_hidden_layers=2, expand=2,
                                 intermediate_size=16, conv_kernel=4, time_step_rank=1, use_bias=False,
                                 use_conv_bias=True, tie_word_embeddings=True, layer_norm_epsilon=1e-5,
                                 hidden_act="silu", residual_in_fp32=True), {}),
    ("mamba_tied_copy_bf16", "mamba", dict(vocab_size=17, hidden_size=12, state_size=3, num_hidden_layers=1,
                                           expand=2, intermediate_size=24, conv_kernel=2, time_step_rank=2,
                                           tie_word_embeddings=True), dict(tied_copy=True, bf16=True)),
    ("mamba_untied_bias_odd", "mamba", dict(vocab_size=29, hidden_size=10, state_size=5, num_hidden_layers=3,
                                            expand=3, intermediate_size=30, conv_kernel=3, time_step_rank=3,
                                            use_bias=True, use_conv_bias=False, tie_word_embeddings=False), {}),
    ("falcon_mamba", "falcon_mamba", dict(vocab_size=19, hidden_size=8, state_size=4, num_hidden_layers=2,
                                          expand=2, intermediate_size=16, conv_kernel=4, time_step_rank=2,
                                          mixer_rms_eps=1e-6, tie_word_embeddings=False), {}),
    ("mamba2_g1_inf_limit", "mamba2", dict(vocab_size=21, hidden_size=8, expand=2, num_heads=4, head_dim=4,
                                           state_size=6, n_groups=1, conv_kernel=4, chunk_size=4,
                                           num_hidden_layers=2, time_step_limit=[0.0, math.inf],
                                           tie_word_embeddings=True), {}),
    ("mamba2_g2_sharded", "mamba2", dict(vocab_size=300, hidden_size=6, expand=2, num_heads=6, head_dim=2,
                                         state_size=5, n_groups=2, conv_kernel=3, chunk_size=5,
                                         num_hidden_layers=2, use_bias=True, use_conv_bias=False,
                                         time_step_limit=[0.05, 2.0], tie_word_embeddings=False),
     dict(shards=3, tokenizer=True)),
]


def synthetic(tmp):
    rng = np.random.default_rng(7)
    tok_text = byte_level_tokenizer()
    for k, (name, kind, cfg, opts) in enumerate(SYNTHETIC):
        d = os.path.join(tmp, name)
        opts = dict(opts)
        if opts.pop("tokenizer", False):
            opts["tokenizer"] = tok_text
        t = make_dir(d, kind, cfg, 100 + k, **opts)
        ids = rng.integers(0, cfg["vocab_size"], size=11).tolist()
        want = reference(kind, cfg, t, ids)
        info, meta = check_model(name, d, ids, want, tmp)
        check(info["source"] == "huggingface", f"{name}: source {info['source']}")
        if "tokenizer" in opts:
            check(info["tokenizer"] == "bpe" and meta.get("seqcore.tokenizer") == tok_text,
                  f"{name}: tokenizer.json must reach the converted file verbatim")
        # the config.json path loads the same model
        check(describe(os.path.join(d, "config.json"))["fingerprint"] == info["fingerprint"],
              f"{name}: loading config.json differs from loading the directory")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        n = goldens(tmp)
        synthetic(tmp)
    print(f"{passed} checks passed, {failed} failed ({n} transformers goldens, {len(SYNTHETIC)} synthetic "
          f"directories; tolerance {TOL} relative to the largest |logit|)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
