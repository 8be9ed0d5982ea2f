"""Every capability of the C ABI, through the Python API."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import seqcore
from helpers import assert_same_bits, frames

PROMPT = b"In the beginning"


# -- versions, registry ------------------------------------------------------

def test_versions():
    assert seqcore.version() == seqcore.__version__
    major, minor, patch = seqcore.version_info()
    assert seqcore.version() == f"{major}.{minor}.{patch}"
    assert seqcore.abi_version() == 0
    assert isinstance(seqcore.has_cuda(), bool)
    assert seqcore.cuda_device_count() >= 0


def test_registry():
    entries = seqcore.registry()
    names = [e.name for e in entries]
    assert "recurrent/lstm" in names and "recurrent/gru" in names and "layer/linear" in names
    for e in entries:
        assert isinstance(e, seqcore.PluginInfo)
        assert isinstance(e.kind, seqcore.PluginKind)
        assert e.version >= 1 and e.summary
    lstm = next(e for e in entries if e.name == "recurrent/lstm")
    assert lstm.kind == seqcore.PluginKind.RECURRENT


def test_describe_plugin():
    d = seqcore.describe_plugin("recurrent/lstm")
    assert d["name"] == "recurrent/lstm"
    assert "config" in d


def test_status_enum():
    assert seqcore.Status.BUSY == -17
    assert seqcore.Status.INVALID_ARGUMENT.description == "invalid argument"


# -- runtime -----------------------------------------------------------------

def test_runtime():
    with seqcore.Runtime(threads=2) as rt:
        assert rt.threads == 2
        assert rt.device == seqcore.Device.CPU
        assert "threads=2" in repr(rt)
    assert rt.closed
    assert "closed" in repr(rt)


def test_default_runtime_uses_cores():
    with seqcore.Runtime() as rt:
        assert rt.threads >= 1


def test_model_on_runtime_matches_default(frame_model_path, frame_model):
    x = frames(20)
    with seqcore.Runtime(threads=1) as rt, seqcore.Model.load(frame_model_path, runtime=rt) as m:
        with m.stream() as s:
            a = s.forward(x)
    with frame_model.stream() as s:
        b = s.forward(x)
    assert_same_bits(a, b)


# -- models --------------------------------------------------------------------

def test_model_info_frames(frame_model):
    m = frame_model
    assert m.input_kind == seqcore.InputKind.FRAMES
    assert (m.input_width, m.output_width) == (8, 16)
    assert m.vocab_size is None
    assert not m.is_language_model
    assert m.state_bytes == sum(t.nbytes for t in m.state_layout)
    assert m.weight_bytes > 0
    assert [b.plugin for b in m.blocks] == ["recurrent/lstm"]


def test_model_info_tokens(token_model):
    m = token_model
    assert m.input_kind == seqcore.InputKind.TOKENS
    assert m.input_width == m.vocab_size == 256
    assert m.output_width == 256
    assert m.is_language_model
    assert [b.plugin for b in m.blocks] == ["layer/embedding", "recurrent/lstm", "layer/linear"]
    layout = {t.name: t for t in m.state_layout}
    assert set(layout) == {"rnn.h", "rnn.c"}
    h = layout["rnn.h"]
    assert (h.dtype, h.shape, h.nbytes) == (seqcore.DType.F32, (2, 256), 2048)
    assert h.numpy_dtype == np.float32
    assert m.state_bytes == 4096


def test_describe(token_model):
    d = token_model.describe()
    assert isinstance(d, dict)
    assert d["state_bytes"] == token_model.state_bytes
    assert d["weight_bytes"] == token_model.weight_bytes
    assert [(t["name"], tuple(t["shape"])) for t in d["state"]] == \
        [(t.name, t.shape) for t in token_model.state_layout]
    assert isinstance(d["fingerprint"], str) and d["fingerprint"]


def test_model_repr(token_model):
    r = repr(token_model)
    assert r.startswith("<seqcore.Model tokens[256] -> logits[256]") and "recurrent/lstm" in r


def test_model_cannot_be_constructed_directly():
    with pytest.raises(TypeError):
        seqcore.Model()


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "ndarray", "mmap"])
def test_model_from_bytes(kind, frame_model_path, frame_model):
    raw = frame_model_path.read_bytes()
    if kind == "mmap":
        f = open(frame_model_path, "rb")
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    else:
        f = None
        data = {"bytes": raw, "bytearray": bytearray(raw), "memoryview": memoryview(raw),
                "ndarray": np.frombuffer(raw, dtype=np.uint8)}[kind]
    try:
        with seqcore.Model.from_bytes(data) as m, m.stream() as s, frame_model.stream() as ref:
            x = frames(5)
            assert_same_bits(s.forward(x), ref.forward(x))
    finally:
        if f is not None:
            data.close()
            f.close()


def test_model_load_pathlike(frame_model_path):
    for p in (frame_model_path, str(frame_model_path), bytes(frame_model_path)):
        with seqcore.Model.load(p) as m:
            assert m.input_width == 8


def test_convert(frame_model_path, frame_model, tmp_path):
    dst = tmp_path / "converted.safetensors"
    seqcore.convert(frame_model_path, dst)
    with seqcore.Model.load(dst) as m, m.stream() as a, frame_model.stream() as b:
        x = frames(7)
        assert_same_bits(a.forward(x), b.forward(x))
        assert m.blocks == frame_model.blocks and m.state_layout == frame_model.state_layout


# -- streams: stepping ------------------------------------------------------

def test_stream_constructors(frame_model):
    with seqcore.Stream(frame_model) as a, frame_model.stream() as b:
        assert a.position == b.position == 0
        x = frames(1)[0]
        assert_same_bits(a.step(x), b.step(x))
        assert a.position == 1
        assert repr(a) == "<seqcore.Stream position=1 frames[8] -> [16]>"


def test_step_forward_agree(frame_model):
    x = frames(30, seed=3)
    with frame_model.stream() as a, frame_model.stream() as b, frame_model.stream() as c:
        steps = np.stack([a.step(row) for row in x])
        whole = b.forward(x)
        chunks = np.concatenate([c.forward(x[:7]), c.forward(x[7:8]), c.forward(x[8:])])
    assert_same_bits(steps, whole)
    assert_same_bits(chunks, whole)


def test_forward_output_modes(frame_model):
    x = frames(9)
    with frame_model.stream() as a, frame_model.stream() as b, frame_model.stream() as c:
        every = a.forward(x, output="all")
        last = b.forward(x, output=seqcore.OutputMode.LAST)
        assert last.shape == (16,)
        assert_same_bits(last, every[-1])
        assert c.forward(x, output="none") is None
        assert c.position == 9
        assert_same_bits(c.step(x[0]), a.step(x[0]))


def test_out_parameter_is_filled_in_place(frame_model, token_model):
    x = frames(4)
    with frame_model.stream() as a, frame_model.stream() as b:
        out = np.full((4, 16), np.nan, dtype=np.float32)
        got = a.forward(x, out=out)
        assert got is out
        assert_same_bits(out, b.forward(x))
        row = np.empty(16, dtype=np.float32)
        assert a.step(x[0], out=row) is row
        assert a.forward(x, output="last", out=row) is row
    with token_model.stream() as s:
        logits = np.empty(256, dtype=np.float32)
        assert s.step_token(5, out=logits) is logits
        assert s.forward_tokens(PROMPT, output="last", out=logits) is logits


def test_inputs_are_converted(frame_model):
    x = frames(3)
    with frame_model.stream() as a, frame_model.stream() as b, frame_model.stream() as c:
        ref = a.forward(x)
        assert_same_bits(b.forward(x.astype(np.float64)), ref)  # exact: float32 values
        assert_same_bits(c.forward(x.tolist()), ref)
    with frame_model.stream() as a, frame_model.stream() as b:
        fortran = np.asfortranarray(x)
        strided = np.repeat(x, 2, axis=1)[:, ::2]
        assert_same_bits(a.forward(fortran), ref)
        assert_same_bits(b.forward(strided), ref)


def test_contiguous_float32_input_is_not_copied():
    from seqcore._util import as_f32, as_tokens
    x = np.zeros((3, 8), dtype=np.float32)
    assert as_f32(x, "x") is x
    t = np.arange(5, dtype=np.int32)
    assert as_tokens(t) is t


def test_forward_tokens_input_kinds(token_model):
    ids = list(PROMPT)
    with token_model.stream() as ref:
        want = ref.forward_tokens(np.array(ids, dtype=np.int32))
    for tokens in (ids, tuple(ids), np.array(ids, dtype=np.int64), np.array(ids, dtype=np.uint8),
                   PROMPT, bytearray(PROMPT), memoryview(PROMPT)):
        with token_model.stream() as s:
            assert_same_bits(s.forward_tokens(tokens), want)


def test_empty_forward(frame_model, token_model):
    with frame_model.stream() as s:
        assert s.forward(np.zeros((0, 8), np.float32)).shape == (0, 16)
        assert s.forward(np.zeros((0, 8), np.float32), output="none") is None
        assert s.position == 0
    with token_model.stream() as s:
        assert s.forward_tokens([]).shape == (0, 256)


def test_reset(token_model):
    with token_model.stream() as s:
        first = s.forward_tokens(PROMPT, output="last").copy()
        s.step_token(7)
        s.reset()
        assert s.position == 0
        assert_same_bits(s.forward_tokens(PROMPT, output="last"), first)


def test_reset_reseeds(token_model):
    with token_model.stream() as s:
        s.set_sampling(1.0)
        s.seed(99)
        a = list(s.generate(PROMPT, 20))
        s.reset()
        assert list(s.generate(PROMPT, 20)) == a


# -- sampling and generation --------------------------------------------------

def test_greedy_sample_is_argmax(token_model):
    with token_model.stream() as s:
        logits = s.forward_tokens(PROMPT, output="last")
        assert s.sample(logits) == int(np.argmax(logits))
        assert s.sample(logits.tolist()) == int(np.argmax(logits))


def test_seeded_sampling_is_reproducible(token_model):
    def run(seed):
        with token_model.stream() as s:
            s.set_sampling(temperature=1.2, top_k=0, top_p=1.0)
            s.seed(seed)
            return list(s.generate(PROMPT, 40))
    assert run(7) == run(7)
    assert run(7) != run(8)
    assert run(2**64 - 1) == run(2**64 - 1)


def test_generate_is_lazy_and_resumable(token_model):
    with token_model.stream() as a, token_model.stream() as b:
        whole = list(a.generate(PROMPT, 12))
        it = b.generate(PROMPT, 12)
        assert b.position == 0  # nothing computed before the first next()
        first = [next(it) for _ in range(5)]
        assert b.position == len(PROMPT) + 4  # the last token is not fed yet
        rest = list(b.generate([first[-1]], 8))
        assert first + rest[:7] == whole


def test_generate_zero_tokens(token_model):
    with token_model.stream() as s:
        assert list(s.generate(PROMPT, 0)) == []
        assert s.position == 0


def test_generate_text(token_model):
    with token_model.stream() as a, token_model.stream() as b:
        pieces = list(a.generate_text("In the beginning", 60))
        assert all(isinstance(p, str) and p for p in pieces)
        tokens = list(b.generate(PROMPT, 60))
        assert "".join(pieces) == bytes(tokens).decode("utf-8", errors="replace")


def test_generate_text_decodes_utf8_incrementally():
    from seqcore._stream import Stream
    text = "Grüße, 世界 ✓"
    pieces = list(Stream._decode(iter(text.encode("utf-8"))))
    assert "".join(pieces) == text
    assert "世" in pieces  # a 3-byte character comes out whole
    assert list(Stream._decode(iter(b"ok \xff"))) == ["o", "k", " ", "\ufffd"]
    assert list(Stream._decode(iter(b"\xe4\xb8"))) == ["\ufffd"]  # cut short at the end


# -- snapshots, forks, state -------------------------------------------------------

def test_snapshot_restore_continue(token_model):
    with token_model.stream() as a, token_model.stream() as b:
        a.set_sampling(0.9, 50, 0.9)
        a.seed(5)
        a.forward_tokens(PROMPT, output="none")
        blob = a.snapshot()
        assert isinstance(blob, bytes)
        b.restore(blob)
        assert b.position == a.position
        assert list(a.generate(b" God", 30)) == list(b.generate(b" God", 30))


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: np.frombuffer(b, np.uint8)])
def test_restore_accepts_bytes_like(wrap, frame_model):
    with frame_model.stream() as a, frame_model.stream() as b:
        a.forward(frames(3))
        b.restore(wrap(a.snapshot()))
        x = frames(2, seed=1)
        assert_same_bits(a.forward(x), b.forward(x))


def test_fork(token_model):
    with token_model.stream() as a:
        a.set_sampling(0.8, 40, 0.95)
        a.seed(11)
        a.forward_tokens(PROMPT, output="none")
        with a.fork() as b:
            assert isinstance(b, seqcore.Stream) and b.position == a.position
            assert list(a.generate(b".", 25)) == list(b.generate(b".", 25))


def test_state_read_write(token_model):
    with token_model.stream() as a, token_model.stream() as b:
        zero = a.state_read("rnn.h")
        assert zero.shape == (2, 256) and zero.dtype == np.float32 and not zero.any()
        a.forward_tokens(PROMPT, output="none")
        h, c = a.state_read("rnn.h"), a.state_read("rnn.c")
        assert h.any() and c.any()
        out = np.empty((2, 256), np.float32)
        assert a.state_read("rnn.c", out=out) is out and np.array_equal(out, c)
        # Copying the state makes b continue as a (the position is not state).
        b.state_write("rnn.h", h)
        b.state_write("rnn.c", c.astype(np.float64))  # converted
        assert b.position == 0
        assert_same_bits(a.step_token(3), b.step_token(3))
        # Writing zeros gives a fresh stream's output.
        b.state_write("rnn.h", np.zeros((2, 256)))
        b.state_write("rnn.c", np.zeros((2, 256)))
        with token_model.stream() as fresh:
            assert_same_bits(b.step_token(9), fresh.step_token(9))


# -- step_many -----------------------------------------------------------------

def test_step_many_matches_single_steps(frame_model):
    streams = [frame_model.stream() for _ in range(5)]
    twins = [frame_model.stream() for _ in range(5)]
    for i, (s, t) in enumerate(zip(streams, twins)):  # each at its own position
        warm = frames(i, seed=i)
        s.forward(warm)
        t.forward(warm)
    x = frames(5, seed=42)
    out = seqcore.step_many(streams, x)
    assert out.shape == (5, 16)
    for i, t in enumerate(twins):
        assert_same_bits(out[i], t.step(x[i]))
    buf = np.empty((5, 16), np.float32)
    assert seqcore.step_many(streams, x, out=buf) is buf
    for s in streams + twins:
        s.close()


def test_step_many_tokens(token_model):
    streams = [token_model.stream() for _ in range(3)]
    twins = [token_model.stream() for _ in range(3)]
    for s, t, word in zip(streams, twins, (b"In", b"the", b"beginning")):
        s.forward_tokens(word, output="none")
        t.forward_tokens(word, output="none")
    out = seqcore.step_many_tokens(streams, [32, 65, 10])
    for row, t, tok in zip(out, twins, (32, 65, 10)):
        assert_same_bits(row, t.step_token(tok))
    assert [s.position for s in streams] == [3, 4, 10]
