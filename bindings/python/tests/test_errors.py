"""Error paths: each raises the documented seqcore.Error subclass, with the
status and the library's message, and leaves the objects unchanged."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import seqcore
from seqcore import Status
from helpers import assert_same_bits, frames

PROMPT = b"In the beginning"


def check(excinfo, cls, status, text=None):
    err = excinfo.value
    assert type(err) is cls, repr(err)
    assert isinstance(err, seqcore.Error)
    assert err.status == status, repr(err)
    assert err.message and str(err) == err.message
    if text is not None:
        assert text in err.message, err.message


# -- the exception classes ---------------------------------------------------

def test_exception_hierarchy():
    assert issubclass(seqcore.InvalidArgumentError, ValueError)
    assert issubclass(seqcore.ClosedError, seqcore.InvalidArgumentError)
    assert issubclass(seqcore.ShapeError, ValueError)
    assert issubclass(seqcore.DTypeError, TypeError)
    assert issubclass(seqcore.FileError, OSError)
    assert issubclass(seqcore.NotFoundError, LookupError)
    assert issubclass(seqcore.MismatchError, ValueError)
    assert issubclass(seqcore.OutOfMemoryError, MemoryError)
    for cls in (seqcore.FormatError, seqcore.UnsupportedError, seqcore.BusyError):
        assert issubclass(cls, seqcore.Error)


def test_exception_pickles_and_reprs():
    err = seqcore.FileError("cannot open 'x'", Status.IO)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is seqcore.FileError
    assert again.status is Status.IO and again.message == "cannot open 'x'"
    assert repr(err) == "FileError(\"cannot open 'x'\", status=IO)"
    assert str(err) == "cannot open 'x'"
    assert seqcore.ShapeError("bad").status is Status.SHAPE  # default status


def test_unknown_status_stays_an_int():
    from seqcore._errors import error_for
    err = error_for(-99, "from a newer library")
    assert type(err) is seqcore.Error and err.status == -99


# -- loading -----------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(seqcore.FileError) as e:
        seqcore.Model.load(tmp_path / "nope.safetensors")
    check(e, seqcore.FileError, Status.IO, "nope.safetensors")
    assert isinstance(e.value, OSError)


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(seqcore.Error) as e:
        seqcore.Model.load(tmp_path)
    assert e.value.status in (Status.IO, Status.FORMAT)


def test_garbage_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a model at all, just some text\n" * 10)
    with pytest.raises(seqcore.FormatError) as e:
        seqcore.Model.load(bad)
    check(e, seqcore.FormatError, Status.FORMAT)


@pytest.mark.parametrize("cut", [0, 1, 7, 8, 100, -1])
def test_truncated_buffer(cut, frame_model_bytes):
    data = frame_model_bytes[:cut] if cut >= 0 else frame_model_bytes[:len(frame_model_bytes) + cut]
    with pytest.raises(seqcore.FormatError) as e:
        seqcore.Model.from_bytes(data)
    check(e, seqcore.FormatError, Status.FORMAT)


def test_from_bytes_needs_bytes():
    with pytest.raises(seqcore.DTypeError):
        seqcore.Model.from_bytes("a str is not bytes")
    with pytest.raises(seqcore.DTypeError):
        seqcore.Model.from_bytes(12)


def test_load_needs_a_path():
    with pytest.raises(seqcore.DTypeError):
        seqcore.Model.load(12)
    with pytest.raises(ValueError):  # embedded NUL, refused like open() does
        seqcore.Model.load("a\0b")


def test_convert_errors(tmp_path, frame_model_path):
    with pytest.raises(seqcore.FileError):
        seqcore.convert(tmp_path / "missing", tmp_path / "out.safetensors")
    with pytest.raises(seqcore.FileError):
        seqcore.convert(frame_model_path, tmp_path / "no" / "such" / "dir" / "out.safetensors")


def test_cuda_runtime_unsupported_here():
    if seqcore.cuda_device_count() > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(seqcore.UnsupportedError) as e:
        seqcore.Runtime(device=seqcore.Device.CUDA)
    assert e.value.status in (Status.UNSUPPORTED, Status.NO_DEVICE)


def test_bad_device_kind():
    with pytest.raises(seqcore.InvalidArgumentError):
        seqcore.Runtime(device=7)


# -- shapes and dtypes --------------------------------------------------------------

def test_wrong_shapes(frame_model):
    with frame_model.stream() as s:
        with pytest.raises(seqcore.ShapeError) as e:
            s.step(np.zeros(7, np.float32))
        check(e, seqcore.ShapeError, Status.SHAPE, "(8,)")
        with pytest.raises(seqcore.ShapeError):
            s.step(np.zeros((1, 8), np.float32))
        with pytest.raises(seqcore.ShapeError):
            s.forward(np.zeros((3, 7), np.float32))
        with pytest.raises(seqcore.ShapeError):
            s.forward(np.zeros(16, np.float32))  # frames are [T, 8]
        with pytest.raises(seqcore.ShapeError):
            s.forward(np.zeros((2, 8), np.float32), out=np.empty((3, 16), np.float32))
        with pytest.raises(seqcore.ShapeError):
            s.forward(np.zeros((0, 8), np.float32), output="last")
        with pytest.raises(seqcore.ShapeError):
            s.step(np.zeros(8), out=np.empty(15, np.float32))
        assert s.position == 0


def test_wrong_dtypes(frame_model, token_model):
    with frame_model.stream() as s:
        with pytest.raises(seqcore.DTypeError):
            s.step(np.zeros(8), out=np.empty(16, np.float64))
        with pytest.raises(seqcore.DTypeError):
            s.step(np.zeros(8), out=np.empty(16, ">f4"))  # non-native byte order
        with pytest.raises(seqcore.DTypeError):
            s.step(np.zeros(8), out=[0.0] * 16)
        with pytest.raises(seqcore.DTypeError):
            s.step(["a"] * 8)
        with pytest.raises(seqcore.DTypeError):
            s.step(np.zeros(8, dtype=complex))
        with pytest.raises(seqcore.InvalidArgumentError):
            s.step(np.zeros(8), out=np.empty((16, 2), np.float32)[:, 0])  # not contiguous
        ro = np.empty(16, np.float32)
        ro.setflags(write=False)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.step(np.zeros(8), out=ro)
        assert s.position == 0
    with token_model.stream() as s:
        with pytest.raises(seqcore.DTypeError):
            s.forward_tokens(np.array([1.0, 2.0]))
        with pytest.raises(seqcore.DTypeError):
            s.forward_tokens("a str")
        with pytest.raises(seqcore.DTypeError):
            s.step_token(1.5)
        with pytest.raises(seqcore.ShapeError):
            s.forward_tokens(np.zeros((2, 2), np.int32))
        with pytest.raises(seqcore.DTypeError):
            s.restore("not bytes")
        assert s.position == 0


def test_frames_to_token_model_and_back(frame_model, token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError) as e:
            s.step(np.zeros(256, np.float32))
        check(e, seqcore.InvalidArgumentError, Status.INVALID_ARGUMENT)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.forward(np.zeros((2, 256), np.float32))
    with frame_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError):
            s.step_token(1)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.forward_tokens([1, 2])
        assert s.position == 0


@pytest.mark.parametrize("token", [256, -1, 1000, 2**31 - 1, -(2**31)])
def test_token_out_of_vocabulary(token, token_model):
    with token_model.stream() as s:
        s.forward_tokens(PROMPT, output="none")
        with pytest.raises(seqcore.InvalidArgumentError) as e:
            s.step_token(token)
        check(e, seqcore.InvalidArgumentError, Status.INVALID_ARGUMENT, "vocabulary")
        with pytest.raises(seqcore.InvalidArgumentError):
            s.forward_tokens([1, 2, token, 3])  # refused whole, before any change
        with pytest.raises(seqcore.InvalidArgumentError):
            list(s.generate([token], 3))
        assert s.position == len(PROMPT)


@pytest.mark.parametrize("token", [2**31, 2**40, -(2**31) - 1, 2**70])
def test_token_beyond_int32(token, token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError):
            s.step_token(token)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.forward_tokens([1, token])


def test_failed_call_leaves_stream_unchanged(token_model):
    with token_model.stream() as s, token_model.stream() as twin:
        for st in (s, twin):
            st.forward_tokens(PROMPT, output="none")
        with pytest.raises(seqcore.InvalidArgumentError):
            s.forward_tokens([65, 66, 999])
        assert s.position == twin.position
        assert_same_bits(s.step_token(65), twin.step_token(65))


# -- sampling and generation -------------------------------------------------------

@pytest.mark.parametrize("settings", [
    dict(temperature=-1.0), dict(temperature=float("nan")), dict(top_p=0.0),
    dict(top_p=1.5), dict(top_p=float("nan")),
])
def test_bad_sampling_settings(settings, token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError) as e:
            s.set_sampling(**settings)
        check(e, seqcore.InvalidArgumentError, Status.INVALID_ARGUMENT)


def test_bad_top_k_and_seed(token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError):
            s.set_sampling(1.0, top_k=-1)
        with pytest.raises(seqcore.DTypeError):
            s.set_sampling(1.0, top_k=2.5)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.seed(-1)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.seed(2**64)


def test_sample_wrong_width(token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.ShapeError) as e:
            s.sample(np.zeros(255, np.float32))
        check(e, seqcore.ShapeError, Status.SHAPE)
        with pytest.raises(seqcore.ShapeError):
            s.sample(np.zeros((2, 256), np.float32))


def test_generate_misuse(frame_model, token_model):
    with frame_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError):
            s.generate([1], 4)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.generate_text("x", 4)
    with token_model.stream() as s:
        with pytest.raises(seqcore.InvalidArgumentError):
            s.generate([], 4)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.generate_text("", 4)
        with pytest.raises(seqcore.InvalidArgumentError):
            s.generate(PROMPT, -1)
        assert s.position == 0


# -- snapshots and state ---------------------------------------------------------

def test_foreign_snapshot(frame_model, token_model, frame_model_bytes):
    with token_model.stream() as t, frame_model.stream() as f:
        with pytest.raises(seqcore.MismatchError) as e:
            f.restore(t.snapshot())
        check(e, seqcore.MismatchError, Status.MISMATCH)
        # Another model with the same layout but other weights is foreign too.
        raw = bytearray(frame_model_bytes)
        raw[-4:] = b"\x00\x00\x80\x3f"  # change the last weight
        with seqcore.Model.from_bytes(raw) as other, other.stream() as o:
            o.forward(frames(2))
            with pytest.raises(seqcore.MismatchError):
                f.restore(o.snapshot())
        assert f.position == 0


def test_corrupt_snapshots(token_model):
    with token_model.stream() as s, token_model.stream() as target:
        s.forward_tokens(PROMPT, output="none")
        blob = s.snapshot()
        target.step_token(1)
        for cut in (0, 4, 16, len(blob) // 2, len(blob) - 1):
            with pytest.raises(seqcore.FormatError) as e:
                target.restore(blob[:cut])
            assert e.value.status == Status.FORMAT
        flipped = bytearray(blob)
        flipped[len(blob) // 2] ^= 0x10
        with pytest.raises(seqcore.FormatError) as e:
            target.restore(flipped)
        assert e.value.status == Status.CHECKSUM
        assert target.position == 1
        target.restore(blob)
        assert target.position == len(PROMPT)


def test_state_errors(token_model):
    with token_model.stream() as s:
        with pytest.raises(seqcore.NotFoundError) as e:
            s.state_read("rnn.x")
        check(e, seqcore.NotFoundError, Status.NOT_FOUND, "rnn.h")
        assert isinstance(e.value, LookupError)
        with pytest.raises(seqcore.NotFoundError):
            s.state_write("nope", np.zeros(3))
        with pytest.raises(seqcore.ShapeError):
            s.state_write("rnn.h", np.zeros(512))
        with pytest.raises(seqcore.DTypeError):
            s.state_write("rnn.h", [["x"] * 256] * 2)
        with pytest.raises(seqcore.DTypeError):
            s.state_read("rnn.h", out=np.empty((2, 256), np.float64))
        with pytest.raises(seqcore.ShapeError):
            s.state_read("rnn.h", out=np.empty((256, 2), np.float32))


def test_registry_errors():
    with pytest.raises(seqcore.NotFoundError) as e:
        seqcore.describe_plugin("recurrent/nope")
    check(e, seqcore.NotFoundError, Status.NOT_FOUND)


# -- step_many --------------------------------------------------------------------

def test_step_many_errors(frame_model, frame_model_bytes, token_model):
    with frame_model.stream() as a, frame_model.stream() as b, \
            seqcore.Model.from_bytes(frame_model_bytes) as other, other.stream() as c:
        x = np.zeros((2, 8), np.float32)
        with pytest.raises(seqcore.InvalidArgumentError):
            seqcore.step_many([], np.zeros((0, 8)))
        with pytest.raises(seqcore.InvalidArgumentError):
            seqcore.step_many(a, x)
        with pytest.raises(seqcore.InvalidArgumentError):
            seqcore.step_many([a, "b"], x)
        with pytest.raises(seqcore.ShapeError):
            seqcore.step_many([a, b], np.zeros((3, 8)))
        with pytest.raises(seqcore.ShapeError):
            seqcore.step_many([a, b], x, out=np.empty((2, 15), np.float32))
        with pytest.raises(seqcore.InvalidArgumentError) as e:
            seqcore.step_many([a, a], x)  # the same stream twice
        check(e, seqcore.InvalidArgumentError, Status.INVALID_ARGUMENT)
        with pytest.raises(seqcore.MismatchError) as e:
            seqcore.step_many([a, c], x)  # same layout, another model
        check(e, seqcore.MismatchError, Status.MISMATCH)
        with token_model.stream() as t:
            with pytest.raises(seqcore.MismatchError):
                seqcore.step_many([a, t], x)
        assert a.position == b.position == c.position == 0
        with pytest.raises(seqcore.InvalidArgumentError):
            seqcore.step_many_tokens([a, b], [1, 2])  # a frame model
    with token_model.stream() as t, token_model.stream() as u:
        with pytest.raises(seqcore.ShapeError):
            seqcore.step_many_tokens([t, u], [1])
        with pytest.raises(seqcore.InvalidArgumentError):
            seqcore.step_many_tokens([t, u], [1, 256])
        assert t.position == u.position == 0
