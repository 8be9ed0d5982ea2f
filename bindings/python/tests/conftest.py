"""Fixtures shared by the binding's tests.

The models and the C golden results come from the environment meson test
sets (bindings/common/README.md); without it, the repository's files are
used and the golden results are looked for in ./build.
"""

from __future__ import annotations

import os
import pathlib

import pytest

import seqcore

REPO = pathlib.Path(__file__).resolve().parents[3]


def _path(var: str, default: pathlib.Path) -> pathlib.Path:
    value = os.environ.get(var)
    return pathlib.Path(value) if value else default


@pytest.fixture(scope="session")
def frame_model_path() -> pathlib.Path:
    return _path("SEQC_TEST_FRAME_MODEL", REPO / "bindings" / "common" / "tiny-lstm.safetensors")


@pytest.fixture(scope="session")
def token_model_path() -> pathlib.Path:
    return _path("SEQC_TEST_TOKEN_MODEL", REPO / "models" / "kjv-lstm.safetensors")


@pytest.fixture(scope="session")
def golden_path() -> pathlib.Path:
    path = _path("SEQC_TEST_GOLDEN", REPO / "build" / "bindings" / "common" / "golden.bin")
    if not path.is_file():
        pytest.fail(f"golden results not found at {path}: build the binding_golden target "
                    "and set SEQC_TEST_GOLDEN (meson test does both)")
    return path


@pytest.fixture(scope="session")
def frame_model(frame_model_path: pathlib.Path) -> seqcore.Model:
    """The tiny frame model (input width 8, output width 16), shared."""
    return seqcore.Model.load(frame_model_path)


@pytest.fixture(scope="session")
def token_model(token_model_path: pathlib.Path) -> seqcore.Model:
    """The byte-level LSTM language model (vocabulary 256), shared."""
    return seqcore.Model.load(token_model_path)


@pytest.fixture(scope="session")
def frame_model_bytes(frame_model_path: pathlib.Path) -> bytes:
    return frame_model_path.read_bytes()
