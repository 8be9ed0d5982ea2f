"""Text through the model's tokenizer: the byte-level identity, and a BPE
model whose tokenizer.json was made with HF tokenizers (the expected ids are
HF's, from tests/oracle/tokenizer/kjv_bpe_nfc_specials/golden.json)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import seqcore

REPO = pathlib.Path(__file__).resolve().parents[3]

# (text, HF's ids) for the kjv_bpe_nfc_specials tokenizer.
GOLDEN = [
    ("In the beginning God created the heaven and the earth.",
     [42, 79, 260, 297, 72, 266, 79, 292, 390, 281, 574, 284, 260, 519, 391, 269, 260, 641, 15]),
    ("before<|endoftext|>after", [67, 70, 408, 0, 66, 71, 440]),
    ("combining e\u0301 accent", [68, 305, 67, 266, 292, 222, 129, 104, 669, 362]),
    ("emoji \U0001F642\U0001F680 and \u2728 sparkles",
     [489, 80, 75, 74, 222, 174, 255, 249, 226, 174, 255, 250, 224, 269, 222, 160, 252, 103, 425, 335, 76, 594]),
    ("a  b   c    d", [66, 222, 272, 222, 222, 281, 222, 222, 222, 288]),
    ("", []),
]


@pytest.fixture(scope="module")
def bpe_model() -> seqcore.Model:
    path = os.environ.get("SEQC_TEST_BPE_MODEL") or str(REPO / "bindings" / "common" / "tiny-bpe.safetensors")
    return seqcore.Model.load(path)


def test_kinds(bpe_model, token_model, frame_model):
    assert bpe_model.tokenizer == seqcore.Tokenizer.BPE
    assert token_model.tokenizer == seqcore.Tokenizer.BYTES
    assert frame_model.tokenizer == seqcore.Tokenizer.NONE


@pytest.mark.parametrize("text,ids", GOLDEN)
def test_bpe_matches_hf(bpe_model, text, ids):
    got = bpe_model.tokenize(text)
    assert got.dtype == np.int32 and got.tolist() == ids
    assert bpe_model.tokenize(text.encode("utf-8")).tolist() == ids
    import unicodedata
    assert bpe_model.detokenize(ids) == unicodedata.normalize("NFC", text)


def test_bpe_specials(bpe_model):
    ids = [67, 70, 408, 0, 66, 71, 440]
    assert bpe_model.detokenize(ids) == "before<|endoftext|>after"
    assert bpe_model.detokenize(ids, skip_special=True) == "beforeafter"
    plain = bpe_model.tokenize("before<|endoftext|>after", special_as_text=True).tolist()
    assert 0 not in plain and bpe_model.detokenize(plain) == "before<|endoftext|>after"
    assert bpe_model.tokenize("x", add_special=True).tolist() == bpe_model.tokenize("x").tolist()  # no BOS/EOS
    assert bpe_model.token_id("<|endoftext|>") == 0
    assert bpe_model.token_id(b"<|padding|>") == 1
    assert bpe_model.token_id("no such token") is None
    assert bpe_model.token_bytes(0) == b"<|endoftext|>"
    assert bpe_model.token_bytes(0, skip_special=True) == b""


def test_bpe_bytes_and_utf8(bpe_model):
    # "é" is two tokens of one byte each: each token alone is not UTF-8.
    assert bpe_model.token_bytes(129) == b"\xc3" and bpe_model.token_bytes(104) == b"\xa9"
    assert bpe_model.detokenize([129]) == "\ufffd"
    assert bpe_model.detokenize_bytes([129, 104]) == "é".encode()
    # any bytes encode and come back
    raw = b"\xff\xfe ok \xc3"
    assert bpe_model.detokenize_bytes(bpe_model.tokenize(raw)) == raw
    # ids without a token (the embedding has 704 rows, the tokenizer 700)
    assert bpe_model.detokenize_bytes([700, 703]) == b""
    with pytest.raises(seqcore.InvalidArgumentError):
        bpe_model.detokenize([704])
    with pytest.raises(seqcore.InvalidArgumentError):
        bpe_model.token_bytes(-1)
    long_text = "In the beginning \u00e9\u65e5 " * 5000
    ids = bpe_model.tokenize(long_text)
    assert bpe_model.detokenize(ids) == long_text


def test_bytes_identity(token_model):
    ids = token_model.tokenize("h\u00e9llo")
    assert ids.tolist() == [104, 0xC3, 0xA9, 108, 108, 111]
    assert token_model.detokenize(ids) == "h\u00e9llo"
    assert token_model.token_bytes(0xC3) == b"\xc3"
    assert token_model.token_id(b"A") == 65
    assert token_model.tokenize(b"\x00\xff").tolist() == [0, 255]


def test_no_tokenizer(frame_model):
    with pytest.raises(seqcore.UnsupportedError, match="no tokenizer"):
        frame_model.tokenize("x")
    with pytest.raises(seqcore.UnsupportedError):
        frame_model.detokenize([0])
    with pytest.raises(seqcore.InvalidArgumentError):
        frame_model.stream().generate_text("x", 3)


def test_generate_text_bpe(bpe_model):
    prompt = "In the beginning"
    s = bpe_model.stream()
    s.set_sampling(temperature=1.0)
    s.seed(7)
    text = "".join(s.generate_text(prompt, 40, stop_at_special=False))
    r = bpe_model.stream()
    r.set_sampling(temperature=1.0)
    r.seed(7)
    ids = list(r.generate(bpe_model.tokenize(prompt, add_special=True), 40))
    assert text == bpe_model.detokenize(ids)
    assert len(text) > 0


def test_generate_text_bytes(token_model):
    s = token_model.stream()
    pieces = list(s.generate_text("In the beginning", 30))
    assert sum(len(p.encode("utf-8", "surrogatepass")) for p in pieces) >= 1


def test_closed(bpe_model):
    m = seqcore.Model.load(os.environ.get("SEQC_TEST_BPE_MODEL")
                           or str(REPO / "bindings" / "common" / "tiny-bpe.safetensors"))
    m.close()
    with pytest.raises(seqcore.ClosedError):
        m.tokenize("x")
    with pytest.raises(seqcore.ClosedError):
        m.detokenize([1])
