"""Helpers for the binding's tests."""

from __future__ import annotations

import numpy as np


def frames(t: int, width: int = 8, seed: int = 0) -> np.ndarray:
    """Deterministic float32 frames [t, width] in [-1, 1]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(t, width)).astype(np.float32)


def bits(a: np.ndarray) -> np.ndarray:
    """The bit patterns of a float32 array, for exact comparisons."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert np.array_equal(bits(a), bits(b)), "results differ in their bits"
