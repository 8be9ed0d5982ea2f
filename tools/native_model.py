#!/usr/bin/env python3
"""Write (and read back) libseqcore's native model format; see docs/model-format.md.

A native model is one safetensors file whose metadata holds
    seqcore.format_version  "1"
    seqcore.graph           the block graph, a JSON document serialised as a string
    seqcore.meta            optional JSON object as a string (name, description, ...)

    import native_model as nm
    graph = nm.lstm_lm_graph(vocab=256, embedding_dim=64, hidden_size=256, num_layers=2)
    nm.write_native("m.safetensors", graph, tensors, meta={"name": "demo"})
    graph, tensors, meta = nm.read_native("m.safetensors")

Pure numpy (through safetensors_np); no torch.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

FORMAT_VERSION = "1"


def lstm_lm_graph(vocab=256, embedding_dim=64, hidden_size=256, num_layers=2):
    """Graph of a byte-level LSTM language model: embed -> rnn -> head, logits output.

    Tensors: embed.weight [vocab, E]; rnn.weight_ih_l{k} [4H, E or H],
    rnn.weight_hh_l{k} [4H, H], rnn.bias_ih_l{k} [4H], rnn.bias_hh_l{k} [4H]
    (PyTorch nn.LSTM names and layouts); head.weight [vocab, H], head.bias [vocab]."""
    graph = {
        "input": {"kind": "tokens", "vocab": vocab},
        "blocks": [
            {"name": "embed", "plugin": "layer/embedding",
             "config": {"num_embeddings": vocab, "embedding_dim": embedding_dim}},
            {"name": "rnn", "plugin": "recurrent/lstm",
             "config": {"input_size": embedding_dim, "hidden_size": hidden_size,
                        "num_layers": num_layers, "bias": True, "proj_size": 0}},
            {"name": "head", "plugin": "layer/linear",
             "config": {"in_features": hidden_size, "out_features": vocab, "bias": True}},
        ],
        "output": {"kind": "logits"},
    }
    if vocab == 256:
        graph["tokenizer"] = {"kind": "bytes"}
    return graph


def _block_shapes(block):
    """{weight name: shape} a built-in block expects, or None for an unknown plugin."""
    p, c, n = block["plugin"], block.get("config", {}), block["name"]
    if p == "layer/embedding":
        return {n + ".weight": [c["num_embeddings"], c["embedding_dim"]]}
    if p == "layer/linear":
        s = {n + ".weight": [c["out_features"], c["in_features"]]}
        if c.get("bias", True):
            s[n + ".bias"] = [c["out_features"]]
        return s
    if p in ("layer/rmsnorm",):
        return {n + ".weight": [c["dim"]]}
    if p == "layer/layernorm":
        s = {}
        if c.get("elementwise_affine", True):
            s[n + ".weight"] = [c["dim"]]
            if c.get("bias", True):
                s[n + ".bias"] = [c["dim"]]
        return s
    if p == "layer/activation":
        return {}
    if p in ("recurrent/lstm", "recurrent/gru"):
        gates = 4 if p == "recurrent/lstm" else 3
        h, proj = c["hidden_size"], c.get("proj_size", 0) if p == "recurrent/lstm" else 0
        out = proj or h
        s = {}
        for k in range(c.get("num_layers", 1)):
            inp = c["input_size"] if k == 0 else out
            s["%s.weight_ih_l%d" % (n, k)] = [gates * h, inp]
            s["%s.weight_hh_l%d" % (n, k)] = [gates * h, out]
            if c.get("bias", True):
                s["%s.bias_ih_l%d" % (n, k)] = [gates * h]
                s["%s.bias_hh_l%d" % (n, k)] = [gates * h]
            if proj:
                s["%s.weight_hr_l%d" % (n, k)] = [proj, h]
        return s
    return None


def expected_shapes(graph):
    """{tensor name: shape} for the graph, or None if it uses a plugin not known here."""
    shapes = {}

    def walk(nodes):
        for node in nodes:
            if "residual" in node:
                if not walk(node["residual"]):
                    return False
                continue
            s = _block_shapes(node)
            if s is None:
                return False
            shapes.update(s)
        return True

    return shapes if walk(graph["blocks"]) else None


def check_tensors(graph, tensors):
    """Raise ValueError if tensors do not match the graph's built-in blocks exactly."""
    want = expected_shapes(graph)
    if want is None:
        return  # a plugin this helper does not know: leave the checks to libseqcore
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        raise ValueError("tensors do not match the graph: missing %s, unused %s"
                         % (missing, extra))
    for name, shape in want.items():
        got = list(tensors[name].shape)
        if got != list(shape):
            raise ValueError("tensor %s has shape %s, the graph wants %s" % (name, got, shape))


def native_metadata(graph, meta=None):
    md = {"seqcore.format_version": FORMAT_VERSION,
          "seqcore.graph": json.dumps(graph, separators=(",", ":"))}
    if meta is not None:
        md["seqcore.meta"] = json.dumps(meta, separators=(",", ":"), ensure_ascii=False)
    return md


def write_native(path, graph, tensors, meta=None, check=True):
    """Write a native model file.

    tensors: {name: np.ndarray (float32/float16) or safetensors_np.BF16}.
    meta: optional JSON-serialisable dict stored as seqcore.meta.
    check: verify names and shapes against the graph (built-in plugins only)."""
    if check:
        check_tensors(graph, tensors)
    safetensors_np.save(path, tensors, native_metadata(graph, meta))


def native_bytes(graph, tensors, meta=None, check=True):
    """Same as write_native, in memory."""
    if check:
        check_tensors(graph, tensors)
    return safetensors_np.save_bytes(tensors, native_metadata(graph, meta))


def read_native(path):
    """Return (graph dict, {name: np.ndarray}, meta dict or None)."""
    tensors, md = safetensors_np.load(path)
    if md.get("seqcore.format_version") != FORMAT_VERSION or "seqcore.graph" not in md:
        raise ValueError("%s is not a libseqcore native model (format_version %r)"
                         % (path, md.get("seqcore.format_version")))
    meta = json.loads(md["seqcore.meta"]) if "seqcore.meta" in md else None
    return json.loads(md["seqcore.graph"]), tensors, meta
