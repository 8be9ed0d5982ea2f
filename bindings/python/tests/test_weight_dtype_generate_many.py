"""Load options (weight dtype) and generate_many (@since 0.3), on the CPU.

The same calls on a GPU are in test_gpu.py."""

from __future__ import annotations

import numpy as np
import pytest

import seqcore
from seqcore import DType

PROMPTS = (b"In the beginning", b"And God said", b"Let there be light")


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1, max |a|)."""
    return float(np.abs(a - b).max() / max(1.0, float(np.abs(a).max())))


# -- weight dtype ------------------------------------------------------------------

def test_default_weight_dtype_is_f32(token_model, frame_model):
    assert token_model.weight_dtype == DType.F32
    assert frame_model.weight_dtype == DType.F32


@pytest.mark.parametrize("spelling, expected", [
    ("f32", DType.F32), ("F32", DType.F32), ("float32", DType.F32),
    ("bf16", DType.BF16), ("bfloat16", DType.BF16), (DType.BF16, DType.BF16), (2, DType.BF16),
    ("f16", DType.F16), ("float16", DType.F16), (DType.F16, DType.F16),
])
def test_load_with_weight_dtype(spelling, expected, token_model_path):
    with seqcore.Model.load(token_model_path, weight_dtype=spelling) as m:
        assert m.weight_dtype == expected
        assert isinstance(m.weight_dtype, DType)


def test_from_bytes_and_runtime_with_weight_dtype(token_model_path):
    data = token_model_path.read_bytes()
    with seqcore.Model.from_bytes(data, weight_dtype="bf16") as m:
        assert m.weight_dtype == DType.BF16
    with seqcore.Runtime(threads=1) as rt, \
            seqcore.Model.load(token_model_path, rt, weight_dtype="f16") as m, \
            seqcore.Model.from_bytes(data, runtime=rt, weight_dtype=DType.BF16) as m2:
        assert m.weight_dtype == DType.F16
        assert m2.weight_dtype == DType.BF16


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_reduced_precision_logits_close_to_f32(dtype, token_model, token_model_path):
    with seqcore.Model.load(token_model_path, weight_dtype=dtype) as m:
        assert m.describe()["fingerprint"] == token_model.describe()["fingerprint"]
        ref, low = token_model.stream(), m.stream()
        for tok in b"In the beginning God":
            a, b = ref.step_token(tok), low.step_token(tok)
            assert rel_diff(a, b) <= 2e-2
        # the same model as far as snapshots go: they move between precisions
        copy = token_model.stream()
        copy.restore(low.snapshot())
        assert copy.position == low.position


def test_f32_option_is_bit_identical_to_default(token_model, token_model_path):
    with seqcore.Model.load(token_model_path, weight_dtype="f32") as m:
        a, b = token_model.stream(), m.stream()
        for tok in b"In the":
            assert np.array_equal(a.step_token(tok).view(np.uint32), b.step_token(tok).view(np.uint32))


@pytest.mark.parametrize("bad", [DType.I8, DType.F64, DType.I32, 99, -1])
def test_unsupported_weight_dtype(bad, token_model_path):
    with pytest.raises(seqcore.DTypeError) as e:
        seqcore.Model.load(token_model_path, weight_dtype=bad)
    assert e.value.status == seqcore.Status.DTYPE


@pytest.mark.parametrize("bad", ["int8", "", "fp32x", 1.5, True, object()])
def test_weight_dtype_argument_checked(bad, token_model_path, frame_model_bytes):
    with pytest.raises(seqcore.DTypeError):
        seqcore.Model.load(token_model_path, weight_dtype=bad)
    with pytest.raises(seqcore.DTypeError):
        seqcore.Model.from_bytes(frame_model_bytes, weight_dtype=bad)


def test_weight_dtype_on_closed_model(token_model_path):
    m = seqcore.Model.load(token_model_path, weight_dtype="bf16")
    m.close()
    with pytest.raises(seqcore.ClosedError):
        m.weight_dtype


# -- generate_many -------------------------------------------------------------------

def _prefilled(model: seqcore.Model, settings) -> list:
    """One stream per prompt, fed all of it but its last byte, with its own
    sampling settings and seed."""
    streams = []
    for i, (prompt, (temperature, top_k, top_p)) in enumerate(zip(PROMPTS, settings)):
        s = model.stream()
        s.set_sampling(temperature, top_k, top_p)
        s.seed(100 + i)
        s.forward_tokens(prompt[:-1], output="none")
        streams.append(s)
    return streams


SETTINGS = [
    [(0.0, 0, 1.0)] * 3,                                   # all greedy
    [(0.0, 0, 1.0), (0.8, 40, 0.95), (1.0, 0, 1.0)],       # greedy, top-k, full softmax
    [(1.2, 100, 1.0), (0.7, 5, 0.9), (0.0, 1, 1.0)],       # top-k over 64, small k
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_generate_many_equals_solo_generate(settings, token_model):
    many = _prefilled(token_model, settings)
    solo = [s.fork() for s in many]
    last_many = np.array([p[-1] for p in PROMPTS], dtype=np.int32)
    last_solo = list(last_many)
    for _ in range(24):
        last_many = seqcore.generate_many(many, last_many)
        assert last_many.dtype == np.int32 and last_many.shape == (3,)
        last_solo = [next(s.generate([t], 1)) for s, t in zip(solo, last_solo)]
        assert list(last_many) == last_solo
    assert [s.position for s in many] == [s.position for s in solo]
    # and the states are identical too
    for a, b in zip(many, solo):
        assert a.snapshot() == b.snapshot()


def test_generate_many_forms(token_model):
    a, b = token_model.stream(), token_model.stream()
    twin_a, twin_b = a.fork(), b.fork()
    out = np.full(2, -1, dtype=np.int32)
    assert seqcore.Stream.generate_many([a, b], (ord("I"), ord("A")), out=out) is out
    assert list(out) == [next(twin_a.generate([ord("I")], 1)), next(twin_b.generate([ord("A")], 1))]
    # bytes give one token per stream, a tuple of streams works
    res = seqcore.generate_many((a, b), bytes(out.astype(np.uint8)))
    assert list(res) == [next(twin_a.generate([out[0]], 1)), next(twin_b.generate([out[1]], 1))]


def test_generate_many_errors_change_nothing(token_model, frame_model, token_model_path):
    a, b = token_model.stream(), token_model.stream()
    a.forward_tokens(b"abc", output="none")
    before = (a.snapshot(), b.snapshot())

    def unchanged():
        assert (a.snapshot(), b.snapshot()) == before

    with pytest.raises(seqcore.InvalidArgumentError, match="repeated"):
        seqcore.generate_many([a, a], [1, 2])
    unchanged()
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many([a, b], [1, 256])
    unchanged()
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many([a, b], [-1, 2])
    unchanged()
    with pytest.raises(seqcore.ShapeError):
        seqcore.generate_many([a, b], [1])
    with pytest.raises(seqcore.ShapeError):
        seqcore.generate_many([a, b], [1, 2, 3])
    unchanged()
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many([], [])
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many(a, [1])
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many([a, "b"], [1, 2])
    with pytest.raises(seqcore.DTypeError):
        seqcore.generate_many([a, b], [1, 2], out=np.empty(2, np.int64))
    with pytest.raises(seqcore.ShapeError):
        seqcore.generate_many([a, b], [1, 2], out=np.empty(3, np.int32))
    unchanged()
    # another model, even of the same file
    with seqcore.Model.load(token_model_path) as other, other.stream() as c:
        with pytest.raises(seqcore.MismatchError):
            seqcore.generate_many([a, c], [1, 2])
        unchanged()
    # a frame model cannot generate
    f = frame_model.stream()
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.generate_many([f], [1])
    # a closed stream
    b.close()
    with pytest.raises(seqcore.ClosedError):
        seqcore.generate_many([a, b], [1, 2])
    assert a.snapshot() == before[0]
