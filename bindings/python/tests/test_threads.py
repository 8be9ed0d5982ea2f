"""Threads: the GIL is released while the library computes, a concurrent
call on one stream raises BusyError, and closing a stream another thread is
using waits for that call instead of freeing the stream under it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import seqcore
from helpers import assert_same_bits

# Long enough that one forward_tokens call takes a good fraction of a second.
LONG = np.frombuffer(b"And God said, Let there be light: and there was light. " * 160,
                     dtype=np.uint8).astype(np.int32)


def test_gil_released_during_compute(token_model_path):
    """Another Python thread runs while one forward_tokens call computes.

    With the GIL held for the whole call, the ticking thread could only run
    in the few milliseconds around its start and end (one switch interval);
    here it must make progress well inside the call's time window. The model
    computes on one kernel thread, leaving a core to the ticking thread."""
    stamps = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.0005)  # waking up again needs the GIL

    spinner = threading.Thread(target=tick)
    spinner.start()
    try:
        time.sleep(0.05)
        with seqcore.Runtime(threads=1) as rt, seqcore.Model.load(token_model_path, rt) as model, \
                model.stream() as s:
            for _ in range(3):  # a few tries, in case the machine is busy
                t0 = time.perf_counter()
                s.forward_tokens(LONG, output="none")
                t1 = time.perf_counter()
                margin = 0.025
                inside = [t for t in stamps if t0 + margin < t < t1 - margin]
                if t1 - t0 > 4 * margin and inside:
                    break
            else:
                pytest.fail(f"no other thread ran during a {t1 - t0:.3f} s call")
    finally:
        stop.set()
        spinner.join()


def test_two_threads_two_streams(token_model):
    """Streams of one model computed concurrently give the bits they give alone."""
    prompts = [LONG[:2000], LONG[1000:3000][::-1].copy()]

    def run(prompt):
        with token_model.stream() as s:
            out = s.forward_tokens(prompt, output="last").copy()
            tokens = list(s.generate([int(prompt[-1])], 20))
            return out, tokens

    alone = [run(p) for p in prompts]
    for _ in range(2):
        with ThreadPoolExecutor(2) as pool:
            together = list(pool.map(run, prompts))
        for (a_out, a_tok), (b_out, b_tok) in zip(alone, together):
            assert_same_bits(a_out, b_out)
            assert a_tok == b_tok


def test_many_threads_share_a_model(frame_model):
    x = np.random.default_rng(1).uniform(-1, 1, size=(200, 8)).astype(np.float32)
    with frame_model.stream() as s:
        want = s.forward(x)

    def run(_):
        with frame_model.stream() as s:
            return s.forward(x)

    with ThreadPoolExecutor(8) as pool:
        for got in pool.map(run, range(32)):
            assert_same_bits(got, want)


def test_concurrent_use_of_one_stream_is_busy(token_model):
    """Two threads on one stream: the library refuses the overlapping call
    with BUSY, which surfaces as BusyError; nothing else goes wrong."""
    s = token_model.stream()
    errors = []
    busy = []
    done = threading.Event()

    def hammer():
        try:
            while not done.is_set():
                try:
                    s.forward_tokens(LONG[:1500], output="none")
                except seqcore.BusyError as e:
                    busy.append(e)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    worker = threading.Thread(target=hammer)
    worker.start()
    deadline = time.monotonic() + 20
    try:
        while not busy and time.monotonic() < deadline:
            try:
                s.step_token(65)
            except seqcore.BusyError as e:
                busy.append(e)
    finally:
        done.set()
        worker.join()
    assert not errors, errors
    assert busy, "no call was refused as busy"
    err = busy[0]
    assert err.status == seqcore.Status.BUSY and err.message
    s.step_token(65)  # still usable
    s.close()


def test_close_while_another_thread_computes(token_model):
    """close() from another thread while a call runs: the call finishes with
    a valid result, the stream is closed afterwards, nothing crashes."""
    for _ in range(5):
        s = token_model.stream()
        started = threading.Event()
        result = {}

        def work():
            started.set()
            try:
                result["out"] = s.forward_tokens(LONG[:3000], output="last")
            except seqcore.ClosedError as e:  # closed before the call began
                result["closed"] = e

        t = threading.Thread(target=work)
        t.start()
        started.wait()
        time.sleep(0.01)
        s.close()
        assert s.closed
        t.join()
        assert ("out" in result and result["out"].shape == (256,)) or "closed" in result
        with pytest.raises(seqcore.ClosedError):
            s.step_token(1)


def test_stream_moves_between_threads(token_model):
    s = token_model.stream()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(s.forward_tokens, b"In the", output="none").result()
    s.forward_tokens(b" beginning", output="none")
    with token_model.stream() as ref:
        ref.forward_tokens(b"In the beginning", output="none")
        assert_same_bits(s.step_token(32), ref.step_token(32))
    s.close()
