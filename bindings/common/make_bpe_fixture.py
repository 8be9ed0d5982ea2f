#!/usr/bin/env python3
"""Write bindings/common/tiny-bpe.safetensors, the BPE language model the
binding tests share: embedding (V x 8) -> linear (8 -> V) with logits out,
whose graph says {"tokenizer": {"kind": "bpe"}} and whose metadata key
seqcore.tokenizer holds tests/oracle/tokenizer/kjv_bpe_nfc_specials/tokenizer.json
(a byte-level BPE of 700 tokens made with HF tokenizers: NFC, special tokens
<|endoftext|> = 0 and <|padding|> = 1). V = 704: the last 4 ids have no token
(as a padded embedding has), so they decode to nothing. Weights are random
(numpy's PCG64, seed 20261124): the model exists to carry the tokenizer.

    python3 bindings/common/make_bpe_fixture.py bindings/common/tiny-bpe.safetensors
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import native_model  # noqa: E402
import safetensors_np as st  # noqa: E402

TOKENIZER = os.path.join(ROOT, "tests", "oracle", "tokenizer", "kjv_bpe_nfc_specials", "tokenizer.json")
VOCAB = 704
DIM = 8


def main(out):
    with open(TOKENIZER, encoding="utf-8") as f:
        tokenizer = f.read()
    json.loads(tokenizer)
    graph = {
        "input": {"kind": "tokens", "vocab": VOCAB},
        "blocks": [
            {"name": "embed", "plugin": "layer/embedding",
             "config": {"num_embeddings": VOCAB, "embedding_dim": DIM}},
            {"name": "head", "plugin": "layer/linear",
             "config": {"in_features": DIM, "out_features": VOCAB, "bias": True}},
        ],
        "output": {"kind": "logits"},
        "tokenizer": {"kind": "bpe"},
    }
    rng = np.random.default_rng(20261124)
    tensors = {
        "embed.weight": rng.uniform(-1, 1, (VOCAB, DIM)).astype(np.float32),
        "head.weight": rng.uniform(-0.5, 0.5, (VOCAB, DIM)).astype(np.float32),
        "head.bias": rng.uniform(-0.1, 0.1, (VOCAB,)).astype(np.float32),
    }
    md = native_model.native_metadata(graph, {"name": "binding test BPE model"})
    md["seqcore.tokenizer"] = tokenizer
    st.save(out, tensors, md)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "tiny-bpe.safetensors"))
