"""Argument conversion shared by the handle classes (private)."""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

from ._errors import DTypeError, InvalidArgumentError, ShapeError

_I32_MIN = -(2**31)
_I32_MAX = 2**31 - 1

#: An empty output for calls that write nothing (output="none", out_len 0).
EMPTY_F32 = np.empty(0, dtype=np.float32)
EMPTY_F32.setflags(write=False)


def as_f32(x: Any, what: str) -> NDArray[np.float32]:
    """``x`` as a C-contiguous float32 array: the same object when it already
    is one (no copy), else converted (lists, other real dtypes)."""
    if type(x) is np.ndarray and x.dtype == np.float32 and x.flags.c_contiguous:
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise DTypeError(f"{what}: cannot be read as numbers ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{what}: expected real numbers, got an array of {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def as_tokens(tokens: Any, what: str = "tokens") -> NDArray[np.int32]:
    """A 1-D C-contiguous int32 array of token ids (no copy when it already
    is one). ``bytes`` and ``bytearray`` give one token per byte."""
    if type(tokens) is np.ndarray and tokens.dtype == np.int32 and tokens.ndim == 1 \
            and tokens.flags.c_contiguous:
        return tokens
    if isinstance(tokens, (bytes, bytearray)):
        return np.frombuffer(tokens, dtype=np.uint8).astype(np.int32)
    if isinstance(tokens, str):
        raise DTypeError(f"{what}: expected token ids, got a str (encode it to bytes for a byte-level model)")
    try:
        arr = np.asarray(tokens)
    except OverflowError:
        raise InvalidArgumentError(f"{what}: a token id is out of range") from None
    except (TypeError, ValueError) as e:
        raise DTypeError(f"{what}: cannot be read as token ids ({e})") from None
    if arr.ndim != 1:
        raise ShapeError(f"{what}: expected a 1-D sequence of token ids, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int32)
    if arr.dtype.kind == "O":  # Python ints beyond int64, or other objects
        try:
            ids = [operator.index(v) for v in arr.tolist()]
        except TypeError:
            raise DTypeError(f"{what}: token ids must be integers") from None
        for v in ids:
            if not _I32_MIN <= v <= _I32_MAX:
                raise InvalidArgumentError(f"{what}: token id {v} is out of range")
        return np.array(ids, dtype=np.int32)
    if arr.dtype.kind not in "iu":
        raise DTypeError(f"{what}: token ids must be integers, got {arr.dtype}")
    if arr.dtype != np.int32:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < _I32_MIN or hi > _I32_MAX:
            raise InvalidArgumentError(f"{what}: token id {lo if lo < _I32_MIN else hi} is out of range")
        arr = arr.astype(np.int32)
    return np.ascontiguousarray(arr)


def as_token(token: Any) -> int:
    """One token id as a Python int within int32."""
    try:
        value = operator.index(token)
    except TypeError:
        raise DTypeError(f"token id must be an integer, got {type(token).__name__}") from None
    if not _I32_MIN <= value <= _I32_MAX:
        raise InvalidArgumentError(f"token id {value} is out of range")
    return value


def out_array(out: Optional[NDArray[Any]], shape: Tuple[int, ...], what: str = "out") -> NDArray[np.float32]:
    """A float32 array of ``shape`` to write into: a new one, or ``out``
    after checking that it fits (float32, C-contiguous, writable, shape)."""
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if not isinstance(out, np.ndarray):
        raise DTypeError(f"{what} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != np.float32:
        raise DTypeError(f"{what} must have dtype float32 (native byte order), got {out.dtype}")
    if out.shape != shape:
        raise ShapeError(f"{what} must have shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise InvalidArgumentError(f"{what} must be C-contiguous")
    if not out.flags.writeable:
        raise InvalidArgumentError(f"{what} is read-only")
    return out


def as_buffer(data: Any, what: str) -> memoryview:
    """A contiguous read-only view of a bytes-like object (no copy)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise DTypeError(f"{what}: expected a bytes-like object, got {type(data).__name__}") from None
    if not view.c_contiguous:
        raise InvalidArgumentError(f"{what}: the buffer must be C-contiguous")
    return view
