"""The command-line tool: exit codes and messages on bad use, and the main
commands on small generated models.

usage: test_cli.py SEQCORE_BINARY TOOLS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, sys.argv[2])
import native_model  # noqa: E402
import safetensors_np  # noqa: E402

SEQCORE = sys.argv[1]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


def run(*args):
    return subprocess.run([SEQCORE, *args], capture_output=True)


def byte_lm(path, seed=0):
    rng = np.random.default_rng(seed)
    graph = native_model.lstm_lm_graph(vocab=256, embedding_dim=8, hidden_size=16, num_layers=1)
    tensors = {}
    for name, shape in native_model.expected_shapes(graph).items():
        tensors[name] = rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
    native_model.write_native(path, graph, tensors, {"name": "cli test model"})


def main():
    with tempfile.TemporaryDirectory() as tmp:
        lm = os.path.join(tmp, "lm.safetensors")
        byte_lm(lm)

        r = run()
        check(r.returncode == 2 and b"usage" in r.stderr, "no arguments: usage, exit 2")
        r = run("frobnicate")
        check(r.returncode == 2 and b"unknown command" in r.stderr, "unknown command: exit 2")
        r = run("info")
        check(r.returncode == 2, "info without a model: exit 2")
        r = run("info", os.path.join(tmp, "missing.safetensors"))
        check(r.returncode == 1 and b"cannot open" in r.stderr, "missing model: exit 1 with the reason")
        junk = os.path.join(tmp, "junk.safetensors")
        open(junk, "wb").write(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
        r = run("info", junk)
        check(r.returncode == 1 and b"malformed" in r.stderr, "junk model: exit 1, 'malformed'")
        r = run("generate", lm, "--tokens", "x")
        check(r.returncode == 2 and b"integer" in r.stderr, "bad option value: exit 2")
        r = run("run", lm, "--in", "a.npy")
        check(r.returncode == 2, "run without --out: exit 2")
        r = run("list", "--bogus")
        check(r.returncode == 2, "unknown option: exit 2")

        r = run("version")
        check(r.returncode == 0 and r.stdout.startswith(b"libseqcore "), "version")
        r = run("list")
        check(r.returncode == 0 and b"recurrent/lstm" in r.stdout and b"memory:" in r.stdout, "list")
        r = run("list", "--json")
        check(r.returncode == 0 and any(p["name"] == "recurrent/gru" for p in json.loads(r.stdout)), "list --json")
        r = run("info", lm)
        check(r.returncode == 0 and b"recurrent/lstm" in r.stdout and b"rnn.c" in r.stdout, "info")
        r = run("info", lm, "--json")
        info = json.loads(r.stdout) if r.returncode == 0 else {}
        check(info.get("output", {}).get("kind") == "logits" and info.get("meta", {}).get("name") == "cli test model",
              "info --json")

        # run: tokens in, logits out; chunkings agree bit for bit.
        toks = os.path.join(tmp, "t.npy")
        np.save(toks, np.arange(100, dtype=np.int32) * 7 % 256)
        outs = []
        for chunk in ("0", "1", "3", "64"):
            y = os.path.join(tmp, f"y{chunk}.npy")
            r = run("run", lm, "--in", toks, "--out", y, "--chunk", chunk)
            check(r.returncode == 0, f"run --chunk {chunk}: {r.stderr}")
            outs.append(np.load(y) if r.returncode == 0 else None)
        check(all(o is not None and o.shape == (100, 256) and np.array_equal(o, outs[0]) for o in outs),
              "run: every chunking gives the same bits")
        bad = os.path.join(tmp, "bad.npy")
        np.save(bad, np.zeros((4, 3), np.float32))
        r = run("run", lm, "--in", bad, "--out", os.path.join(tmp, "z.npy"))
        check(r.returncode == 1 and b"int32 [T]" in r.stderr, "run: frames into a token model is refused")
        np.save(bad, np.array([1, 999], np.int32))
        r = run("run", lm, "--in", bad, "--out", os.path.join(tmp, "z.npy"))
        check(r.returncode == 1 and b"outside the vocabulary" in r.stderr, "run: out-of-range token is refused")

        # generate: streams bytes, deterministic per seed.
        a = run("generate", lm, "--prompt", "In the", "--tokens", "50", "--seed", "3")
        b = run("generate", lm, "--prompt", "In the", "--tokens", "50", "--seed", "3")
        c = run("generate", lm, "--prompt", "In the", "--tokens", "50", "--seed", "4")
        check(a.returncode == 0 and a.stdout.startswith(b"In the") and len(a.stdout) == 6 + 50 + 1,
              "generate prints the prompt then N bytes")
        check(a.stdout == b.stdout, "generate: same seed, same text")
        check(a.stdout != c.stdout, "generate: another seed, other text")
        g = run("generate", lm, "--prompt", "x", "--tokens", "20", "--temperature", "0")
        check(g.returncode == 0, "generate greedy")
        r = run("generate", lm, "--prompt", "x", "--temperature", "-1")
        check(r.returncode == 1 and b"temperature" in r.stderr, "generate: bad temperature is refused")

        # A frame model cannot generate.
        gru = os.path.join(tmp, "gru.safetensors")
        rng = np.random.default_rng(1)
        safetensors_np.save(gru, {k: rng.uniform(-0.3, 0.3, s).astype(np.float32) for k, s in
                                  {"weight_ih_l0": (12, 3), "weight_hh_l0": (12, 4)}.items()})
        r = run("generate", gru, "--prompt", "x")
        check(r.returncode == 1 and b"byte-level" in r.stderr, "generate on a frame model is refused")
        r = run("info", gru)
        check(r.returncode == 0 and b"recurrent/gru" in r.stdout and b"frames" in r.stdout,
              "a bare nn.GRU state dict loads (imported)")

        # convert writes a native file with the same outputs.
        conv = os.path.join(tmp, "gru_native.safetensors")
        r = run("convert", gru, conv)
        check(r.returncode == 0 and os.path.exists(conv), "convert")
        meta = safetensors_np.load(conv)[1] if r.returncode == 0 else {}
        check("seqcore.graph" in meta, "converted file carries the graph")
        r = run("convert", gru, os.path.join(tmp, "no", "such", "dir", "x.safetensors"))
        check(r.returncode == 1 and b"i/o" in r.stderr, "convert to an unwritable path: exit 1")

        # Text through a BPE tokenizer (HF's ids, tests/oracle/tokenizer/kjv_bpe_nfc_specials).
        bpe = os.path.join(os.path.dirname(os.path.abspath(sys.argv[2])), "bindings", "common",
                           "tiny-bpe.safetensors")
        r = run("tokenize", bpe, "before<|endoftext|>after")
        check(r.returncode == 0 and r.stdout == b"67 70 408 0 66 71 440\n", "tokenize (BPE, special token)")
        r = run("tokenize", bpe, "combining e\u0301 accent", "--json")
        check(r.returncode == 0 and json.loads(r.stdout) == [68, 305, 67, 266, 292, 222, 129, 104, 669, 362],
              "tokenize --json (NFC)")
        r = run("tokenize", bpe, "<|endoftext|>", "--special-as-text")
        check(r.returncode == 0 and b" 0 " not in b" " + r.stdout, "tokenize --special-as-text")
        r = run("detokenize", bpe, "67", "70", "408", "0", "66", "71", "440", "--skip-special")
        check(r.returncode == 0 and r.stdout == b"beforeafter\n", "detokenize --skip-special")
        r = run("detokenize", bpe, "704")
        check(r.returncode == 1 and b"vocabulary" in r.stderr, "detokenize: id outside the vocabulary")
        a = run("generate", bpe, "--prompt", "In the", "--tokens", "20", "--seed", "3")
        b = run("generate", bpe, "--prompt", "In the", "--tokens", "20", "--seed", "3")
        check(a.returncode == 0 and a.stdout.startswith(b"In the") and a.stdout == b.stdout,
              "generate through the BPE tokenizer")
        r = run("tokenize", lm, "h\u00e9")
        check(r.returncode == 0 and r.stdout == b"104 195 169\n", "tokenize (bytes)")
        r = run("tokenize", gru, "x")
        check(r.returncode == 1 and b"no tokenizer" in r.stderr, "tokenize without a tokenizer: exit 1")

        r = run("bench", lm, "--steps", "50", "--positions", "64", "--repeats", "1", "--json")
        res = json.loads(r.stdout) if r.returncode == 0 else {}
        check(res.get("step_us_p50", 0) > 0 and res.get("forward_positions_per_s", 0) > 0, "bench --json")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
