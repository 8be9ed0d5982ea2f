"""Runtimes and models."""

from __future__ import annotations

import enum
import json
import operator
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type, TypeVar, Union, cast

import numpy as np
from numpy.typing import NDArray

from . import _native
from ._errors import DTypeError, NotFoundError
from ._handles import Handle
from ._util import as_buffer, as_token, as_tokens

if TYPE_CHECKING:
    from ._stream import Stream

__all__ = [
    "Tokenizer",
    "Device",
    "DType",
    "InputKind",
    "Block",
    "StateTensor",
    "Runtime",
    "Model",
    "convert",
]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class Device(enum.IntEnum):
    """Devices a runtime can run on (``seqc_device_kind``)."""

    CPU = 0
    CUDA = 1


class Tokenizer(enum.IntEnum):
    """The tokenizer a model carries (``seqc_tokenizer_kind``)."""

    NONE = 0   #: none: the model takes frames, or ids made elsewhere
    BYTES = 1  #: token id = byte value (vocabulary 256)
    BPE = 2    #: HuggingFace byte-level BPE from a tokenizer.json


class InputKind(enum.IntEnum):
    """What a model consumes at each position (``seqc_input_kind``)."""

    TOKENS = 0  #: integer token ids in ``[0, input_width)``
    FRAMES = 1  #: float frames of ``input_width`` values


class DType(enum.IntEnum):
    """Element types of tensors (``seqc_dtype``)."""

    F32 = 0
    F16 = 1
    BF16 = 2
    I8 = 3
    I32 = 4
    U8 = 5
    I64 = 6
    F64 = 7

    @property
    def numpy(self) -> "np.dtype[Any]":
        """The numpy dtype holding this type (bfloat16 as its raw uint16 bits)."""
        return _NUMPY_DTYPES[self]


_NUMPY_DTYPES: "Dict[DType, np.dtype[Any]]" = {
    DType.F32: np.dtype(np.float32),
    DType.F16: np.dtype(np.float16),
    DType.BF16: np.dtype(np.uint16),
    DType.I8: np.dtype(np.int8),
    DType.I32: np.dtype(np.int32),
    DType.U8: np.dtype(np.uint8),
    DType.I64: np.dtype(np.int64),
    DType.F64: np.dtype(np.float64),
}


@dataclass(frozen=True)
class Block:
    """One block of a model's graph."""

    name: str    #: the block's name in the graph ("rnn")
    plugin: str  #: the plugin implementing it ("recurrent/lstm")


@dataclass(frozen=True)
class StateTensor:
    """One named tensor of a stream's recurrent state."""

    name: str               #: "rnn.h"
    dtype: DType            #: element type
    shape: Tuple[int, ...]  #: dimensions, e.g. (2, 256)
    nbytes: int             #: bytes it takes

    @property
    def numpy_dtype(self) -> "np.dtype[Any]":
        """The numpy dtype :meth:`Stream.state_read` returns it in."""
        return self.dtype.numpy


_E = TypeVar("_E", bound=enum.IntEnum)


def _enum(cls: Type[_E], value: int) -> _E:
    """``cls(value)``; a value added by a newer library stays a plain int."""
    try:
        return cls(value)
    except ValueError:
        return cast(_E, value)


@dataclass(frozen=True)
class _ModelInfo:
    """What does not change once a model is loaded; shared with its streams."""

    input_kind: InputKind
    input_width: int
    output_width: int
    is_language_model: bool
    blocks: Tuple[Block, ...]
    state_layout: Tuple[StateTensor, ...]
    state_bytes: int
    weight_bytes: int
    weight_dtype: DType
    tokenizer: Tokenizer

    @classmethod
    def read(cls, native: Any) -> "_ModelInfo":
        blocks = tuple(Block(native.block_name(i), native.block_plugin(i))
                       for i in range(native.block_count()))
        layout = []
        for i in range(native.state_count()):
            shape = tuple(int(native.state_dim(i, axis)) for axis in range(native.state_ndim(i)))
            layout.append(StateTensor(native.state_name(i), _enum(DType, native.state_dtype(i)),
                                      shape, int(native.state_nbytes(i))))
        return cls(
            input_kind=_enum(InputKind, native.input_kind()),
            input_width=int(native.input_width()),
            output_width=int(native.output_width()),
            is_language_model=bool(native.output_is_logits()),
            blocks=blocks,
            state_layout=tuple(layout),
            state_bytes=int(native.state_bytes()),
            weight_bytes=int(native.weight_bytes()),
            weight_dtype=_enum(DType, native.weight_dtype()),
            tokenizer=_enum(Tokenizer, native.tokenizer_kind()),
        )

    def state_tensor(self, name: str) -> StateTensor:
        for t in self.state_layout:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.state_layout) or "none"
        raise NotFoundError(f"no state tensor named {name!r} (the model has: {known})")


#: The names :meth:`Model.load` takes for ``weight_dtype``.
_WEIGHT_DTYPE_NAMES = {
    "f32": DType.F32, "float32": DType.F32,
    "bf16": DType.BF16, "bfloat16": DType.BF16,
    "f16": DType.F16, "float16": DType.F16,
}


def _weight_dtype(value: Union[str, DType, int]) -> int:
    """The ``seqc_dtype`` code of a ``weight_dtype`` argument: a
    :class:`DType`, its code, or a name ("f32", "bf16", "f16"). Whether the
    library accepts that dtype for weights is for it to say (DTypeError)."""
    if isinstance(value, str):
        dtype = _WEIGHT_DTYPE_NAMES.get(value.lower())
        if dtype is None:
            raise DTypeError(f"weight_dtype must be 'f32', 'bf16' or 'f16', not {value!r}")
        return int(dtype)
    if isinstance(value, bool):
        raise DTypeError("weight_dtype must be a seqcore.DType or a name such as 'bf16', not a bool")
    try:
        code = operator.index(value)
    except TypeError:
        raise DTypeError(f"weight_dtype must be a seqcore.DType or a name such as 'bf16', "
                         f"not {type(value).__name__}") from None
    if not -(2**31) <= code < 2**31:
        raise DTypeError(f"weight_dtype {code} is not a dtype")
    return code


def _fs_path(path: PathLike) -> Union[str, bytes]:
    """A path as str or bytes (the extension encodes it as the OS does)."""
    try:
        return os.fspath(path)
    except TypeError:
        raise DTypeError(f"expected a path (str, bytes or os.PathLike), got {type(path).__name__}") from None


class Runtime(Handle):
    """A device with its thread pool.

    ``Runtime()`` is a CPU runtime with one kernel thread per core;
    ``Runtime(threads=2)`` uses two (the caller included). Models loaded
    without a runtime share a process-wide CPU runtime, so most programs
    never create one.

    Other devices: ``Runtime(device=Device.CUDA, device_index=0)`` runs on
    the first GPU. Without one (``seqcore.cuda_device_count() == 0``) that
    raises :class:`UnsupportedError`, with status ``NO_DEVICE`` (no GPU or
    driver) or ``UNSUPPORTED`` (a library built without CUDA:
    ``seqcore.has_cuda()`` is false).
    """

    __slots__ = ()
    _kind = "Runtime"

    def __init__(self, threads: int = 0, *, device: Union[Device, int] = Device.CPU,
                 device_index: int = 0) -> None:
        """A runtime with ``threads`` kernel threads (0: one per core)."""
        if int(device) == Device.CPU and device_index == 0:
            native = _native.Runtime(int(threads))
        else:
            native = _native.runtime_create(int(device), int(device_index), int(threads))
        self._init_handle(native)

    @property
    def threads(self) -> int:
        """Kernel threads, the caller included."""
        return int(self._native().threads())

    @property
    def device(self) -> Device:
        """The device kind."""
        return _enum(Device, self._native().device())

    def __repr__(self) -> str:
        if self.closed:
            return "<seqcore.Runtime (closed)>"
        device = self.device
        name = device.name.lower() if isinstance(device, Device) else f"device {device}"
        return f"<seqcore.Runtime {name} threads={self.threads}>"


class Model(Handle):
    """A block graph with its weights, immutable once loaded.

    Load with :meth:`Model.load` (a file) or :meth:`Model.from_bytes`. A
    model may be shared by any number of threads and streams; streams keep it
    alive, so closing the model while streams use it is safe.

    >>> model = seqcore.Model.load("models/kjv-lstm.safetensors")  # doctest: +SKIP
    >>> model.input_kind, model.input_width, model.output_width   # doctest: +SKIP
    (<InputKind.TOKENS: 0>, 256, 256)
    """

    __slots__ = ("_info",)
    _kind = "Model"
    _info: _ModelInfo

    def __init__(self) -> None:
        raise TypeError("use seqcore.Model.load(path) or seqcore.Model.from_bytes(data)")

    @classmethod
    def _wrap(cls, native: Any) -> "Model":
        self = cls.__new__(cls)
        self._init_handle(native)
        self._info = _ModelInfo.read(native)
        return self

    @classmethod
    def load(cls, path: PathLike, runtime: Optional[Runtime] = None, *,
             weight_dtype: Optional[Union[str, DType, int]] = None) -> "Model":
        """Load a model file: the native format, or a PyTorch ``nn.LSTM`` /
        ``nn.GRU`` state dict saved as safetensors.

        Args:
            path: the file.
            runtime: where the weights go; ``None`` for the process-wide CPU
                runtime.
            weight_dtype: the precision the weight matrices are held in:
                ``"f32"`` (the default), ``"bf16"`` or ``"f16"`` (or a
                :class:`DType`), whatever the file stores. On a CUDA runtime
                the matrices are stored in that dtype and multiplied with f32
                accumulation; on the CPU they are rounded to it and computed
                in f32. Biases, norms and the state stay f32.

        Raises:
            FileError: the file cannot be read.
            FormatError: it is not a valid model.
            DTypeError: ``weight_dtype`` is not f32, bf16 or f16.
        """
        fs_path = _fs_path(path)
        dtype = None if weight_dtype is None else _weight_dtype(weight_dtype)

        def load(rt: Any) -> Any:
            if dtype is None:
                return _native.model_load_file(rt, fs_path)
            return _native.model_load_file_with(rt, fs_path, dtype)

        if runtime is None:
            return cls._wrap(load(None))
        rt = runtime._enter()
        try:
            return cls._wrap(load(rt))
        finally:
            runtime._leave()

    @classmethod
    def from_bytes(cls, data: Any, runtime: Optional[Runtime] = None, *,
                   weight_dtype: Optional[Union[str, DType, int]] = None) -> "Model":
        """Load a model from the bytes of a model file (``bytes``,
        ``bytearray``, ``memoryview``, ``mmap`` or an ndarray; read in place
        and only during the call). ``runtime`` and ``weight_dtype`` are as
        for :meth:`load`."""
        view = as_buffer(data, "model data")
        dtype = None if weight_dtype is None else _weight_dtype(weight_dtype)

        def load(rt: Any) -> Any:
            if dtype is None:
                return _native.model_load_buffer(rt, view)
            return _native.model_load_buffer_with(rt, view, dtype)

        if runtime is None:
            return cls._wrap(load(None))
        rt = runtime._enter()
        try:
            return cls._wrap(load(rt))
        finally:
            runtime._leave()

    # -- what the model is ------------------------------------------------

    @property
    def input_kind(self) -> InputKind:
        """Tokens or float frames."""
        self._native()
        return self._info.input_kind

    @property
    def input_width(self) -> int:
        """Floats per input frame, or the vocabulary size for token input."""
        self._native()
        return self._info.input_width

    @property
    def output_width(self) -> int:
        """Floats per output position (logits for a language model)."""
        self._native()
        return self._info.output_width

    @property
    def vocab_size(self) -> Optional[int]:
        """The vocabulary size of a token model, else ``None``."""
        self._native()
        return self._info.input_width if self._info.input_kind == InputKind.TOKENS else None

    @property
    def is_language_model(self) -> bool:
        """True if the output is logits over the vocabulary, so that
        sampling and generation apply."""
        self._native()
        return self._info.is_language_model

    @property
    def blocks(self) -> List[Block]:
        """The blocks of the graph, in order."""
        self._native()
        return list(self._info.blocks)

    @property
    def state_layout(self) -> List[StateTensor]:
        """The named tensors of a stream's state."""
        self._native()
        return list(self._info.state_layout)

    @property
    def state_bytes(self) -> int:
        """Bytes of recurrent state one stream holds."""
        self._native()
        return self._info.state_bytes

    @property
    def weight_bytes(self) -> int:
        """Bytes of weights held on the device."""
        self._native()
        return self._info.weight_bytes

    @property
    def weight_dtype(self) -> DType:
        """The precision the weight matrices are held in (``weight_dtype``
        of :meth:`load`): :attr:`DType.F32` unless loaded otherwise."""
        self._native()
        return self._info.weight_dtype

    # -- text ---------------------------------------------------------------

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer: :attr:`Tokenizer.BYTES`, :attr:`Tokenizer.BPE`
        or :attr:`Tokenizer.NONE`."""
        self._native()
        return self._info.tokenizer

    def tokenize(self, text: Union[str, bytes, bytearray, memoryview], *, add_special: bool = False,
                 special_as_text: bool = False) -> NDArray[np.int32]:
        """The token ids of ``text`` (a ``str``, encoded as UTF-8, or raw
        bytes: any bytes encode, invalid UTF-8 byte by byte).

        Args:
            add_special: add the tokenizer's BOS/EOS around the text, as
                HF's ``add_special_tokens=True`` (the GPT-NeoX tokenizer of
                the Mamba checkpoints adds none).
            special_as_text: do not match special tokens such as
                ``"<|endoftext|>"`` in the text (for untrusted input).

        Raises:
            UnsupportedError: the model has no tokenizer.
        """
        data: Any = text.encode("utf-8") if isinstance(text, str) else as_buffer(text, "text")
        flags = ((_native.SEQC_TOKENIZE_ADD_SPECIAL if add_special else 0)
                 | (_native.SEQC_TOKENIZE_SPECIAL_AS_TEXT if special_as_text else 0))
        # Byte-level tokenizers give at most one id per byte, plus the
        # post-processor's few: one call nearly always suffices.
        ids = np.empty(memoryview(data).nbytes + 8, dtype=np.int32)
        native = self._enter()
        try:
            n = int(native.tokenize_into(data, flags, ids))
            if n > ids.size:
                ids = np.empty(n, dtype=np.int32)
                n = int(native.tokenize_into(data, flags, ids))
        finally:
            self._leave()
        return ids[:n].copy() if n < ids.size else ids

    def detokenize_bytes(self, ids: Any, *, skip_special: bool = False) -> bytes:
        """The bytes of the text of token ids (ids the tokenizer has no
        token for, such as padding rows of a larger embedding, give none)."""
        tokens = as_tokens(ids, "ids")
        flags = _native.SEQC_DETOKENIZE_SKIP_SPECIAL if skip_special else 0
        buf = bytearray(4 * tokens.size + 16)
        native = self._enter()
        try:
            n = int(native.detokenize_into(tokens, flags, buf))
            if n > len(buf):
                buf = bytearray(n)
                n = int(native.detokenize_into(tokens, flags, buf))
        finally:
            self._leave()
        return bytes(buf[:n])

    def detokenize(self, ids: Any, *, skip_special: bool = False) -> str:
        """The text of token ids; bytes that are not UTF-8 become U+FFFD,
        as in HF's ``decode``."""
        return self.detokenize_bytes(ids, skip_special=skip_special).decode("utf-8", errors="replace")

    def token_bytes(self, token: int, *, skip_special: bool = False) -> bytes:
        """The bytes of one token (possibly part of a UTF-8 character: join
        the bytes of consecutive tokens before decoding)."""
        tok = as_token(token)
        flags = _native.SEQC_DETOKENIZE_SKIP_SPECIAL if skip_special else 0
        buf = bytearray(64)
        native = self._native()
        n = int(native.token_bytes_into(tok, flags, buf))
        if n > len(buf):
            buf = bytearray(n)
            n = int(native.token_bytes_into(tok, flags, buf))
        return bytes(buf[:n])

    def token_id(self, token: Union[str, bytes]) -> Optional[int]:
        """The id of a token given by its spelling: a special token's text
        (``"<|endoftext|>"``) or a vocabulary entry as the tokenizer.json
        writes it; ``None`` if there is none."""
        data = token.encode("utf-8") if isinstance(token, str) else bytes(token)
        try:
            return int(self._native().token_id(data))
        except NotFoundError:
            return None

    def describe(self) -> Dict[str, Any]:
        """The model as a dict (the library's JSON description: graph,
        configs, widths, state layout, fingerprint, metadata)."""
        return dict(json.loads(self._native().describe()))

    def stream(self) -> "Stream":
        """A new stream of this model at position 0 (same as
        ``Stream(model)``)."""
        from ._stream import Stream
        return Stream(self)

    def __repr__(self) -> str:
        if self.closed:
            return "<seqcore.Model (closed)>"
        info = self._info
        kind = "tokens" if info.input_kind == InputKind.TOKENS else "frames"
        out = "logits" if info.is_language_model else "outputs"
        plugins = ", ".join(b.plugin for b in info.blocks)
        return (f"<seqcore.Model {kind}[{info.input_width}] -> {out}[{info.output_width}]"
                f" blocks=[{plugins}] state={info.state_bytes}B weights={info.weight_bytes}B>")


def convert(src: PathLike, dst: PathLike) -> None:
    """Write a model (a native file or a PyTorch state dict) as a canonical
    native file. ``dst`` is written to a temporary file and renamed, so it is
    never left half-written."""
    _native.convert(_fs_path(src), _fs_path(dst))
