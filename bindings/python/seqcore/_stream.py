"""Streams: one sequence's state, stepped, snapshotted and sampled."""

from __future__ import annotations

import codecs
import enum
import operator
from typing import Any, Iterator, List, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _native
from ._errors import DTypeError, InvalidArgumentError, MismatchError, ShapeError
from ._handles import Handle
from ._model import InputKind, Model, Tokenizer, _ModelInfo
from ._util import EMPTY_F32, as_buffer, as_f32, as_token, as_tokens, out_array

__all__ = ["OutputMode", "Stream", "step_many", "step_many_tokens", "generate_many"]

F32Array = NDArray[np.float32]


class OutputMode(enum.IntEnum):
    """Which positions of :meth:`Stream.forward` write output."""

    ALL = 0   #: every position: an array [T, output_width]
    LAST = 1  #: the last position only: an array [output_width]
    NONE = 2  #: none (a state update, e.g. a prompt prefill): returns None


_OUTPUT_NAMES = {"all": OutputMode.ALL, "last": OutputMode.LAST, "none": OutputMode.NONE}


def _output_mode(output: Union[str, OutputMode]) -> OutputMode:
    if isinstance(output, str):
        mode = _OUTPUT_NAMES.get(output.lower())
        if mode is None:
            raise InvalidArgumentError(f"output must be 'all', 'last' or 'none', not {output!r}")
        return mode
    try:
        return OutputMode(output)
    except ValueError:
        raise InvalidArgumentError(f"output must be 'all', 'last' or 'none', not {output!r}") from None


class Stream(Handle):
    """One sequence's state: every stateful block's tensors, the position,
    the sampler settings and its random generator.

    ``Stream(model)`` or ``model.stream()`` starts at position 0 with zero
    state, greedy sampling and seed 0. A stream keeps its model alive. It is
    used by one thread at a time (it may move between threads); a second
    concurrent call on it raises :class:`BusyError`. Calls that compute
    release the GIL.

    Arrays: inputs may be any array-like (converted to float32, or int32 for
    token ids; a C-contiguous array of that dtype is used without a copy).
    Outputs are new float32 arrays, or the ``out=`` array when given
    (float32, C-contiguous, exact shape), filled in place.
    """

    __slots__ = ("_info",)
    _kind = "Stream"
    _info: _ModelInfo

    def __init__(self, model: Model) -> None:
        """A new stream of ``model`` at position 0."""
        if not isinstance(model, Model):
            raise InvalidArgumentError(f"Stream needs a seqcore.Model, got {type(model).__name__}")
        native = _native.Stream(model._native())
        self._init_handle(native)
        self._info = model._info

    @classmethod
    def _wrap(cls, native: Any, info: _ModelInfo) -> "Stream":
        self = cls.__new__(cls)
        self._init_handle(native)
        self._info = info
        return self

    # -- about --------------------------------------------------------------

    @property
    def model(self) -> Model:
        """The stream's model, as a new :class:`Model` handle holding its own
        reference (valid even after the original handle was closed)."""
        return Model._wrap(self._native().model())

    @property
    def position(self) -> int:
        """Positions consumed since creation or the last :meth:`reset`."""
        return int(self._native().position())

    def reset(self) -> None:
        """Back to a new stream's state: zero state, position 0, the random
        generator re-seeded from the last seed (sampling settings are kept)."""
        self._native().reset()

    # -- stepping -------------------------------------------------------------

    def step(self, x: ArrayLike, *, out: Optional[F32Array] = None) -> F32Array:
        """Advance by one position with a float frame of ``input_width``
        values; returns the output, shape ``[output_width]``."""
        info = self._info
        frame = as_f32(x, "frame")
        if frame.shape != (info.input_width,):
            raise ShapeError(f"frame must have shape ({info.input_width},), got {frame.shape}")
        result = out_array(out, (info.output_width,))
        native = self._enter()
        try:
            native.step(frame, result)
        finally:
            self._leave()
        return result

    def step_token(self, token: int, *, out: Optional[F32Array] = None) -> F32Array:
        """Advance by one position with a token id; returns the output (the
        logits for a language model), shape ``[output_width]``."""
        tok = as_token(token)
        result = out_array(out, (self._info.output_width,))
        native = self._enter()
        try:
            native.step_token(tok, result)
        finally:
            self._leave()
        return result

    def forward(self, x: ArrayLike, *, output: Union[str, OutputMode] = "all",
                out: Optional[F32Array] = None) -> Optional[F32Array]:
        """Advance by T positions in one call with frames ``x`` of shape
        ``[T, input_width]``; bit-for-bit the same as T :meth:`step` calls.

        Args:
            output: ``"all"`` returns ``[T, output_width]``, ``"last"``
                returns ``[output_width]``, ``"none"`` returns ``None``.
            out: an array of that shape to fill instead of a new one.
        """
        info = self._info
        mode = _output_mode(output)
        frames = as_f32(x, "frames")
        if frames.ndim != 2 or frames.shape[1] != info.input_width:
            raise ShapeError(f"frames must have shape (T, {info.input_width}), got {frames.shape}")
        return self._forward(False, frames.reshape(-1), frames.shape[0], mode, out)

    def forward_tokens(self, tokens: ArrayLike, *, output: Union[str, OutputMode] = "all",
                       out: Optional[F32Array] = None) -> Optional[F32Array]:
        """Advance by ``len(tokens)`` token ids in one call (a sequence of
        ints, an int array, or ``bytes`` for a byte-level model); output as
        for :meth:`forward`. A token outside the vocabulary fails the whole
        call before any state changes."""
        ids = as_tokens(tokens)
        return self._forward(True, ids, ids.shape[0], _output_mode(output), out)

    def _forward(self, tokens: bool, flat: NDArray[Any], n: int, mode: OutputMode,
                 out: Optional[F32Array]) -> Optional[F32Array]:
        width = self._info.output_width
        if mode == OutputMode.ALL:
            result: Optional[F32Array] = out_array(out, (n, width))
        elif mode == OutputMode.LAST:
            if n == 0:  # there is no last position to report
                raise ShapeError("output='last' needs at least one position")
            result = out_array(out, (width,))
        else:
            if out is not None:
                raise InvalidArgumentError("out= cannot be used with output='none'")
            result = None
        native = self._enter()
        try:
            target = EMPTY_F32 if result is None else result
            if tokens:
                native.forward_tokens(flat, int(mode), target)
            else:
                native.forward(flat, int(mode), target)
        finally:
            self._leave()
        return result

    # -- sampling and generation ----------------------------------------------

    def set_sampling(self, temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0) -> None:
        """How :meth:`sample` and :meth:`generate` pick tokens.

        Args:
            temperature: 0 for greedy (argmax, lowest id on ties), else the
                softmax temperature (> 0).
            top_k: keep the k most likely tokens; 0 keeps all.
            top_p: keep the smallest set of most likely tokens whose
                probability reaches top_p, in (0, 1]; 1 keeps all.
        """
        try:
            k = operator.index(top_k)
        except TypeError:
            raise DTypeError(f"top_k must be an integer, got {type(top_k).__name__}") from None
        if not 0 <= k < 2**31:
            raise InvalidArgumentError(f"top_k must be >= 0, got {k}")
        self._native().set_sampling(float(temperature), k, float(top_p))

    def seed(self, seed: int) -> None:
        """Seed the random generator (any integer in [0, 2**64)). Its state
        is part of snapshots and forks."""
        try:
            value = operator.index(seed)
        except TypeError:
            raise DTypeError(f"seed must be an integer, got {type(seed).__name__}") from None
        if not 0 <= value < 2**64:
            raise InvalidArgumentError(f"seed {value} is outside [0, 2**64)")
        self._native().set_seed(value)

    def sample(self, logits: ArrayLike) -> int:
        """Sample a token id from logits (``output_width`` values) with the
        stream's settings; the generator advances, the state does not."""
        values = as_f32(logits, "logits")
        if values.ndim != 1:
            raise ShapeError(f"logits must be 1-D, got shape {values.shape}")
        native = self._enter()
        try:
            return int(native.sample(values))
        finally:
            self._leave()

    def generate(self, prompt: ArrayLike, max_tokens: int) -> Iterator[int]:
        """Generate up to ``max_tokens`` token ids, one at a time.

        Feeds ``prompt`` (at least one token id; ``bytes`` for a byte-level
        model), then repeatedly samples the next token and feeds it back.
        Tokens are computed lazily, as the iterator is advanced.

        The last token yielded has not been fed to the stream yet: to
        continue later (perhaps after :meth:`snapshot` and
        :meth:`restore`), pass it as the prompt of the next call.
        """
        info = self._info
        if not (info.is_language_model and info.input_kind == InputKind.TOKENS):
            raise InvalidArgumentError("generate needs a model whose output is logits over its tokens")
        ids = as_tokens(prompt, "prompt")
        if ids.size == 0:
            raise InvalidArgumentError("generate needs a prompt of at least one token")
        try:
            n = operator.index(max_tokens)
        except TypeError:
            raise DTypeError(f"max_tokens must be an integer, got {type(max_tokens).__name__}") from None
        if n < 0:
            raise InvalidArgumentError(f"max_tokens must be >= 0, got {n}")
        self._native()
        return self._generate(ids, n)

    def _generate(self, prompt: NDArray[np.int32], n: int) -> Iterator[int]:
        feed = prompt
        last = np.empty(1, dtype=np.int32)
        for _ in range(n):
            native = self._enter()
            try:
                tok = native.generate(feed)
            finally:
                self._leave()
            yield tok
            last[0] = tok
            feed = last

    @staticmethod
    def generate_many(streams: Sequence["Stream"], tokens: ArrayLike, *,
                      out: Optional[NDArray[np.int32]] = None) -> NDArray[np.int32]:
        """The same as :func:`seqcore.generate_many`: feed ``tokens[i]`` to
        ``streams[i]`` and return the token each samples next, in one
        batched call."""
        return generate_many(streams, tokens, out=out)

    def generate_text(self, prompt: Union[str, bytes], max_tokens: int, *, skip_special: bool = False,
                      stop_at_special: bool = True) -> Iterator[str]:
        """Generate text through the model's tokenizer (byte-level or BPE):
        the prompt is tokenized (with the tokenizer's BOS, if it has one),
        then each generated token's bytes are decoded as they come, and
        pieces of text are yielded as soon as they form complete UTF-8
        characters (bytes that are not UTF-8 become U+FFFD).

        Args:
            max_tokens: the most tokens to generate (bytes, for a byte-level
                model).
            skip_special: leave special tokens out of the text.
            stop_at_special: end at a special token (``"<|endoftext|>"``);
                only tokenizers with special tokens have any.

        As for :meth:`generate`, the last token generated has not been fed to
        the stream. A token model of 256 ids without a tokenizer is taken as
        byte-level.
        """
        info = self._info
        if info.tokenizer == Tokenizer.NONE:
            if info.input_kind != InputKind.TOKENS or info.input_width != 256:
                raise InvalidArgumentError("generate_text needs a language model with a tokenizer "
                                           "(byte-level or BPE)")
            data = prompt.encode("utf-8") if isinstance(prompt, str) else bytes(prompt)
            return self._decode(self.generate(data, max_tokens))
        model = self._native().model()  # a handle of our own for the token bytes
        text = prompt.encode("utf-8") if isinstance(prompt, str) else bytes(prompt)
        ids = np.empty(len(text) + 8, dtype=np.int32)
        n = int(model.tokenize_into(text, _native.SEQC_TOKENIZE_ADD_SPECIAL, ids))
        if n > ids.size:
            ids = np.empty(n, dtype=np.int32)
            n = int(model.tokenize_into(text, _native.SEQC_TOKENIZE_ADD_SPECIAL, ids))
        tokens = self.generate(ids[:n].copy(), max_tokens)
        return self._decode(self._token_pieces(model, tokens, skip_special, stop_at_special))

    @staticmethod
    def _token_pieces(model: Any, tokens: Iterator[int], skip_special: bool,
                      stop_at_special: bool) -> Iterator[bytes]:
        buf = bytearray(256)

        def token_bytes(tok: int, flags: int) -> bytes:
            nonlocal buf
            n = int(model.token_bytes_into(tok, flags, buf))
            if n > len(buf):
                buf = bytearray(n)
                n = int(model.token_bytes_into(tok, flags, buf))
            return bytes(buf[:n])

        skip = _native.SEQC_DETOKENIZE_SKIP_SPECIAL
        for tok in tokens:
            if stop_at_special and not token_bytes(tok, skip) and token_bytes(tok, 0):
                return
            yield token_bytes(tok, skip if skip_special else 0)

    @staticmethod
    def _decode(pieces: Iterator[Union[bytes, int]]) -> Iterator[str]:
        """UTF-8 text of byte strings (or single byte values) as they come."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for data in pieces:
            piece = decoder.decode(bytes((data,)) if isinstance(data, int) else data)
            if piece:
                yield piece
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    # -- snapshots, forks, state ------------------------------------------------

    def snapshot(self) -> bytes:
        """The stream's whole state (recurrent tensors, position, sampler,
        generator) as a self-contained blob that :meth:`restore` accepts in a
        stream of the same model, in any process."""
        return bytes(self._native().snapshot_bytes())

    def restore(self, data: Any) -> None:
        """Restore a :meth:`snapshot` (any bytes-like object). Everything is
        checked first; a refused blob leaves the stream unchanged.

        Raises:
            MismatchError: the snapshot is of another model.
            FormatError: it is malformed, truncated or fails its checksum.
        """
        view = as_buffer(data, "snapshot")
        native = self._enter()
        try:
            native.restore(view)
        finally:
            self._leave()

    def fork(self) -> "Stream":
        """An independent copy (state, position, sampler and generator);
        both continue identically given the same inputs."""
        return Stream._wrap(self._native().fork(), self._info)

    def state_read(self, name: str, *, out: Optional[NDArray[Any]] = None) -> NDArray[Any]:
        """A copy of one named state tensor (see ``model.state_layout``), as
        an array of its shape and dtype (or written into ``out``)."""
        t = self._info.state_tensor(name)
        if out is None:
            result = np.empty(t.shape, dtype=t.numpy_dtype)
        else:
            if not isinstance(out, np.ndarray) or out.dtype != t.numpy_dtype:
                raise DTypeError(f"out must be a numpy array of {t.numpy_dtype}")
            if out.shape != t.shape:
                raise ShapeError(f"out must have shape {t.shape}, got {out.shape}")
            if not out.flags.c_contiguous or not out.flags.writeable:
                raise InvalidArgumentError("out must be C-contiguous and writable")
            result = out
        self._native().state_read(name, result)
        return result

    def state_write(self, name: str, value: ArrayLike) -> None:
        """Overwrite one named state tensor with ``value`` (its exact shape;
        other dtypes are converted). The position does not change."""
        t = self._info.state_tensor(name)
        try:
            arr = np.ascontiguousarray(value, dtype=t.numpy_dtype)
        except (TypeError, ValueError) as e:
            raise DTypeError(f"state {name!r}: cannot convert to {t.numpy_dtype} ({e})") from None
        if arr.shape != t.shape:
            raise ShapeError(f"state {name!r} has shape {t.shape}, got {arr.shape}")
        self._native().state_write(name, arr)

    def __repr__(self) -> str:
        if self.closed:
            return "<seqcore.Stream (closed)>"
        info = self._info
        kind = "tokens" if info.input_kind == InputKind.TOKENS else "frames"
        return (f"<seqcore.Stream position={self.position} "
                f"{kind}[{info.input_width}] -> [{info.output_width}]>")


def _batch(streams: Sequence[Stream], what: str = "step_many") -> List[Stream]:
    if isinstance(streams, Stream):
        raise InvalidArgumentError(f"{what} needs a sequence of streams")
    items = list(streams)
    if not items:
        raise InvalidArgumentError(f"{what} needs at least one stream")
    info = None
    for s in items:
        if not isinstance(s, Stream):
            raise InvalidArgumentError(f"{what} needs seqcore.Stream objects, got {type(s).__name__}")
        if info is None:
            info = s._info
        elif s._info is not info and s._info != info:
            raise MismatchError(f"{what}: the streams belong to different models")
    return items


def _step_many(items: Sequence[Stream], tokens: bool, data: NDArray[Any],
               out: Optional[F32Array]) -> F32Array:
    info = items[0]._info
    result = out_array(out, (len(items), info.output_width))
    batch = _native.StreamBatch()
    entered = []
    try:
        for s in items:
            batch.add(s._enter())
            entered.append(s)
        if tokens:
            batch.step_tokens(data, result)
        else:
            batch.step(data, result)
    finally:
        for s in entered:
            s._leave()
    return result


def step_many(streams: Sequence[Stream], x: ArrayLike, *,
              out: Optional[F32Array] = None) -> F32Array:
    """Step several streams of one model by one frame each, in one batched
    call: row i of ``x`` (shape ``[n, input_width]``) goes to ``streams[i]``
    and row i of the result (``[n, output_width]``) comes from it. Each stream
    may be at its own position; the results are bit-for-bit those of stepping
    each stream alone. On failure no stream changes."""
    items = _batch(streams)
    info = items[0]._info
    frames = as_f32(x, "frames")
    if frames.shape != (len(items), info.input_width):
        raise ShapeError(f"frames must have shape ({len(items)}, {info.input_width}), got {frames.shape}")
    return _step_many(items, False, frames.reshape(-1), out)


def step_many_tokens(streams: Sequence[Stream], tokens: ArrayLike, *,
                     out: Optional[F32Array] = None) -> F32Array:
    """:func:`step_many` with one token id per stream; returns
    ``[n, output_width]``."""
    items = _batch(streams)
    ids = as_tokens(tokens)
    if ids.shape[0] != len(items):
        raise ShapeError(f"step_many_tokens needs one token per stream: {len(items)} streams, {ids.shape[0]} tokens")
    return _step_many(items, True, ids, out)


def generate_many(streams: Sequence[Stream], tokens: ArrayLike, *,
                  out: Optional[NDArray[np.int32]] = None) -> NDArray[np.int32]:
    """Generation over several streams of one language model in one batched
    call: ``tokens[i]`` (one token id) is fed to ``streams[i]``, and element
    i of the result is the token sampled next from it, with that stream's
    own sampling settings and generator. Each result is exactly that of
    ``next(streams[i].generate([tokens[i]], 1))``; feed a prompt with
    :meth:`Stream.generate` (or :meth:`Stream.forward_tokens`) first.

    A generation loop over a batch::

        last = seqcore.generate_many(streams, first_tokens)
        for _ in range(n):
            last = seqcore.generate_many(streams, last)

    As with :meth:`Stream.generate`, the tokens returned have not been fed
    to the streams yet. Returns an int32 array of ``len(streams)`` ids (or
    fills ``out``, a C-contiguous writable int32 array of that length).

    Raises:
        InvalidArgumentError: a stream appears twice, a token is outside the
            vocabulary, or the model does not map tokens to logits.
        MismatchError: the streams belong to different models.
        ShapeError: not one token per stream.

    On failure no stream changes.
    """
    items = _batch(streams, "generate_many")
    info = items[0]._info
    if not (info.is_language_model and info.input_kind == InputKind.TOKENS):
        raise InvalidArgumentError("generate_many needs a model whose output is logits over its tokens")
    ids = as_tokens(tokens)
    if ids.shape[0] != len(items):
        raise ShapeError(f"generate_many needs one token per stream: {len(items)} streams, "
                         f"{ids.shape[0]} tokens")
    if out is None:
        result = np.empty(len(items), dtype=np.int32)
    else:
        if not isinstance(out, np.ndarray) or out.dtype != np.int32:
            raise DTypeError("out must be a numpy array of int32")
        if out.shape != (len(items),):
            raise ShapeError(f"out must have shape ({len(items)},), got {out.shape}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise InvalidArgumentError("out must be C-contiguous and writable")
        result = out
    batch = _native.StreamBatch()
    entered = []
    try:
        for s in items:
            batch.add(s._enter())
            entered.append(s)
        batch.generate(ids, result)
    finally:
        for s in entered:
            s._leave()
    return result
