"""Leak check: 10,000 create/step/destroy cycles keep resident memory bounded.

Resident memory is read from /proc/self/statm after a warm-up (allocator
pools, numpy caches, lazily created library objects) and again after the
cycles. Bound: growth < 8 MiB. Each cycle allocates far more than 1 KiB
that must be freed (a stream holds 4 KiB of state, a snapshot takes 4.2 KiB,
a model load 15 KiB of weights), so leaking any of them would grow resident
memory by 40 MiB or more over 10,000 cycles.
"""

from __future__ import annotations

import gc
import os
import sys

import numpy as np
import pytest

import seqcore

CYCLES = 10_000
BOUND_MIB = 8.0


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def cycle(i: int, token_model: seqcore.Model, frame_bytes: bytes, x: np.ndarray) -> None:
    # A model from bytes, a stream of it, a step, all dropped (GC) or closed.
    m = seqcore.Model.from_bytes(frame_bytes)
    s = m.stream()
    s.step(x)
    if i % 2:
        s.close()
        m.close()
    del s, m
    # A language-model stream: step, snapshot, restore, fork, state read.
    with token_model.stream() as s:
        s.step_token(i % 256)
        blob = s.snapshot()
        with s.fork() as f:
            f.restore(blob)
            f.state_read("rnn.c")
        # Error paths allocate messages and exception objects.
        try:
            s.step_token(1000)
        except seqcore.InvalidArgumentError:
            pass
    try:
        s.position
    except seqcore.ClosedError:
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_create_step_destroy_cycles_do_not_leak(token_model, frame_model_bytes, capsys):
    x = np.linspace(-1, 1, 8, dtype=np.float32)
    for i in range(1000):  # warm-up
        cycle(i, token_model, frame_model_bytes, x)
    gc.collect()
    before = rss_bytes()
    for i in range(CYCLES):
        cycle(i, token_model, frame_model_bytes, x)
    gc.collect()
    after = rss_bytes()
    growth_mib = (after - before) / 2**20
    with capsys.disabled():  # shown in the test log
        print(f"\nleak check: RSS {before / 2**20:.1f} MiB before, {after / 2**20:.1f} MiB after "
              f"{CYCLES} cycles: growth {growth_mib:+.2f} MiB (bound {BOUND_MIB} MiB)")
    assert growth_mib < BOUND_MIB
