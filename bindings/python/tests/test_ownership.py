"""Ownership: handles close in any order, twice, by GC or by hand; a closed
handle raises ClosedError instead of crashing."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest

import seqcore
from helpers import assert_same_bits, frames

PROMPT = b"In the beginning"


def test_close_model_before_stream(frame_model_path):
    model = seqcore.Model.load(frame_model_path)
    s = model.stream()
    x = frames(6)
    s.forward(x[:3])
    model.close()
    assert model.closed
    out = s.forward(x[3:])  # the stream keeps the model alive
    with seqcore.Model.load(frame_model_path) as again, again.stream() as ref:
        assert_same_bits(out, ref.forward(x)[3:])
    # The stream hands out a working handle on its model.
    m2 = s.model
    assert m2.input_width == 8 and not m2.closed
    with m2.stream() as t:
        t.step(x[0])
    s.close()
    assert m2.stream().position == 0  # m2 holds its own reference
    m2.close()


def test_drop_model_before_stream(frame_model_path):
    model = seqcore.Model.load(frame_model_path)
    s = model.stream()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    assert s.step(frames(1)[0]).shape == (16,)
    del s
    gc.collect()


def test_close_runtime_before_model(frame_model_path):
    rt = seqcore.Runtime(threads=1)
    model = seqcore.Model.load(frame_model_path, runtime=rt)
    rt.close()
    with model.stream() as s:
        s.forward(frames(4))
    model.close()


def test_closed_runtime_cannot_load(frame_model_path, frame_model_bytes):
    rt = seqcore.Runtime(threads=1)
    rt.close()
    with pytest.raises(seqcore.ClosedError, match="Runtime is closed"):
        seqcore.Model.load(frame_model_path, runtime=rt)
    with pytest.raises(seqcore.ClosedError):
        seqcore.Model.from_bytes(frame_model_bytes, runtime=rt)
    with pytest.raises(seqcore.ClosedError):
        rt.threads


def test_fork_outlives_original(token_model):
    s = token_model.stream()
    s.forward_tokens(PROMPT, output="none")
    f = s.fork()
    s.close()
    assert f.position == len(PROMPT)
    f.step_token(1)
    f.close()


def test_close_twice_and_context_managers(frame_model_path):
    with seqcore.Model.load(frame_model_path) as m:
        with m.stream() as s:
            pass
        assert s.closed
        s.close()
        s.close()
    assert m.closed
    m.close()
    with pytest.raises(seqcore.ClosedError):
        with m:  # like a closed file
            pass


def test_exit_closes_on_exception(frame_model):
    with pytest.raises(RuntimeError):
        with frame_model.stream() as s:
            raise RuntimeError("boom")
    assert s.closed


STREAM_CALLS = {
    "position": lambda s: s.position,
    "model": lambda s: s.model,
    "reset": lambda s: s.reset(),
    "step_token": lambda s: s.step_token(1),
    "forward_tokens": lambda s: s.forward_tokens([1, 2]),
    "forward_none": lambda s: s.forward_tokens([1, 2], output="none"),
    "step": lambda s: s.step(np.zeros(256, np.float32)),
    "forward": lambda s: s.forward(np.zeros((1, 256), np.float32)),
    "set_sampling": lambda s: s.set_sampling(1.0),
    "seed": lambda s: s.seed(1),
    "sample": lambda s: s.sample(np.zeros(256, np.float32)),
    "generate": lambda s: s.generate([1], 3),
    "generate_text": lambda s: list(s.generate_text("a", 3)),
    "snapshot": lambda s: s.snapshot(),
    "restore": lambda s: s.restore(b"x"),
    "fork": lambda s: s.fork(),
    "state_read": lambda s: s.state_read("rnn.h"),
    "state_write": lambda s: s.state_write("rnn.h", np.zeros((2, 256))),
    "step_many": lambda s: seqcore.step_many_tokens([s], [1]),
}


@pytest.mark.parametrize("call", sorted(STREAM_CALLS))
def test_closed_stream_raises(call, token_model):
    s = token_model.stream()
    s.close()
    with pytest.raises(seqcore.ClosedError) as e:
        STREAM_CALLS[call](s)
    assert e.value.message == "Stream is closed"
    assert e.value.status == seqcore.Status.INVALID_ARGUMENT
    assert repr(s) == "<seqcore.Stream (closed)>"


MODEL_CALLS = {
    "input_kind": lambda m: m.input_kind,
    "input_width": lambda m: m.input_width,
    "output_width": lambda m: m.output_width,
    "vocab_size": lambda m: m.vocab_size,
    "is_language_model": lambda m: m.is_language_model,
    "blocks": lambda m: m.blocks,
    "state_layout": lambda m: m.state_layout,
    "state_bytes": lambda m: m.state_bytes,
    "weight_bytes": lambda m: m.weight_bytes,
    "describe": lambda m: m.describe(),
    "stream": lambda m: m.stream(),
    "Stream": lambda m: seqcore.Stream(m),
}


@pytest.mark.parametrize("call", sorted(MODEL_CALLS))
def test_closed_model_raises(call, frame_model_path):
    m = seqcore.Model.load(frame_model_path)
    m.close()
    with pytest.raises(seqcore.ClosedError, match="^Model is closed$"):
        MODEL_CALLS[call](m)
    assert repr(m) == "<seqcore.Model (closed)>"


def test_closed_in_the_middle_of_a_generation(token_model):
    s = token_model.stream()
    it = s.generate(PROMPT, 10)
    next(it)
    s.close()
    with pytest.raises(seqcore.ClosedError):
        next(it)


def test_closed_native_handle_is_safe(token_model):
    """A call that reaches a closed native object (e.g. closed by another
    thread mid-call) fails cleanly in C with the same error."""
    s = token_model.stream()
    native = s._native()
    s.close()
    with pytest.raises(seqcore.ClosedError, match="^Stream is closed$"):
        native.position()
    with pytest.raises(seqcore.ClosedError):
        native.step_token(1, np.empty(256, np.float32))


def test_handles_cannot_be_copied_or_pickled(token_model):
    with token_model.stream() as s:
        for obj in (s, token_model):
            with pytest.raises(TypeError):
                pickle.dumps(obj)
            with pytest.raises(TypeError):
                copy.copy(obj)


def test_gc_in_any_order(frame_model_path, token_model_path):
    """Objects dropped in every order, and in reference cycles, are freed."""
    for order in range(6):
        rt = seqcore.Runtime(threads=1)
        m = seqcore.Model.load(frame_model_path, runtime=rt)
        s = m.stream()
        f = s.fork()
        objs = [rt, m, s, f]
        refs = [weakref.ref(o) for o in objs]
        s.step(frames(1)[0])
        rotated = objs[order % 4:] + objs[:order % 4]
        if order >= 4:
            rotated.reverse()
        del rt, m, s, f, objs
        while rotated:
            rotated.pop(0)
            gc.collect()
        assert all(r() is None for r in refs)
    # A cycle holding a stream and its model.
    m = seqcore.Model.load(token_model_path)
    box = {"model": m, "stream": m.stream()}
    box["self"] = box
    ref = weakref.ref(m)
    del m, box
    gc.collect()
    assert ref() is None
