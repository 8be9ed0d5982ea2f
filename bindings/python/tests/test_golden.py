"""The shared scenario of bindings/common/README.md, bit for bit against the
results of the C API (golden.bin)."""

from __future__ import annotations

import numpy as np
import pytest

import seqcore
from helpers import assert_same_bits

PROMPT = b"In the beginning"
T, D_IN, D_OUT, VOCAB, N_GEN = 12, 8, 16, 256, 32


@pytest.fixture(scope="module")
def golden(golden_path):
    data = golden_path.read_bytes()
    assert len(data) == 2048
    out = np.frombuffer(data, dtype="<f4", count=T * D_OUT, offset=0).reshape(T, D_OUT)
    logits = np.frombuffer(data, dtype="<f4", count=VOCAB, offset=T * D_OUT * 4)
    greedy = np.frombuffer(data, dtype="<i4", count=N_GEN, offset=(T * D_OUT + VOCAB) * 4)
    sampled = np.frombuffer(data, dtype="<i4", count=N_GEN, offset=(T * D_OUT + VOCAB + N_GEN) * 4)
    return {"out": out, "logits": logits, "greedy": greedy.tolist(), "sampled": sampled.tolist()}


def scenario_frames() -> np.ndarray:
    t = np.arange(T)[:, None]
    j = np.arange(D_IN)[None, :]
    return ((((t * D_IN + j) % 17) - 8) / 8).astype(np.float32)


def test_frames_forward_all(frame_model, golden):
    with frame_model.stream() as s:
        out = s.forward(scenario_frames(), output="all")
    assert out.dtype == np.float32 and out.shape == (T, D_OUT)
    assert_same_bits(out, golden["out"])


def test_frames_step_by_step_matches_forward(frame_model, golden):
    x = scenario_frames()
    with seqcore.Stream(frame_model) as s:
        rows = np.stack([s.step(x[t]) for t in range(T)])
    assert_same_bits(rows, golden["out"])


def test_prompt_logits(token_model, golden):
    with token_model.stream() as s:
        logits = s.forward_tokens(PROMPT, output="last")
    assert_same_bits(logits, golden["logits"])


def test_prompt_logits_token_by_token(token_model, golden):
    with token_model.stream() as s:
        for b in PROMPT:
            logits = s.step_token(b)
    assert_same_bits(logits, golden["logits"])


def test_greedy_generation(token_model, golden):
    with token_model.stream() as s:
        assert list(s.generate(PROMPT, N_GEN)) == golden["greedy"]


def test_sampled_generation(token_model, golden):
    with token_model.stream() as s:
        s.set_sampling(temperature=0.8, top_k=40, top_p=0.95)
        s.seed(1234)
        assert list(s.generate(list(PROMPT), N_GEN)) == golden["sampled"]


def test_sampled_generation_by_hand(token_model, golden):
    """The same tokens from step_token + sample, the loop generate runs."""
    with token_model.stream() as s:
        s.set_sampling(0.8, 40, 0.95)
        s.seed(1234)
        logits = s.forward_tokens(np.frombuffer(PROMPT, np.uint8).astype(np.int32), output="last")
        tokens = []
        for _ in range(N_GEN):
            tok = s.sample(logits)
            tokens.append(tok)
            logits = s.step_token(tok)
    assert tokens == golden["sampled"]


def test_generate_many_reproduces_both_generations(token_model, golden):
    """Sections 3 and 4 at once: a greedy and a sampled stream, the prompt fed
    to each by generate, then generate_many for the other 31 tokens."""
    with token_model.stream() as greedy, token_model.stream() as sampled:
        sampled.set_sampling(0.8, 40, 0.95)
        sampled.seed(1234)
        last = np.array([next(greedy.generate(PROMPT, 1)), next(sampled.generate(PROMPT, 1))], np.int32)
        rows = [last]
        for _ in range(N_GEN - 1):
            last = seqcore.generate_many([greedy, sampled], last)
            rows.append(last)
    tokens = np.stack(rows)
    assert tokens[:, 0].tolist() == golden["greedy"]
    assert tokens[:, 1].tolist() == golden["sampled"]
