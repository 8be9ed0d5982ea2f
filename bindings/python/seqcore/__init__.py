"""libseqcore for Python: stateful sequence models (LSTM, GRU, ...) with
streams you can step, snapshot, fork and sample.

Quick start::

    import seqcore

    with seqcore.Model.load("models/kjv-lstm.safetensors") as model, model.stream() as s:
        s.set_sampling(temperature=0.8, top_k=40)
        for piece in s.generate_text("In the beginning", max_tokens=200):
            print(piece, end="", flush=True)

Models and runtimes may be shared by threads; a stream is used by one thread
at a time (a concurrent call raises :class:`BusyError`). Calls that compute
release the GIL. Every failure raises :class:`Error` (or a subclass) with
the library's status and message.
"""

from __future__ import annotations

from . import _native
from ._errors import (
    BusyError,
    ClosedError,
    DTypeError,
    Error,
    FileError,
    FormatError,
    InvalidArgumentError,
    MismatchError,
    NotFoundError,
    OutOfMemoryError,
    ShapeError,
    Status,
    UnsupportedError,
)
from ._model import Block, Device, DType, InputKind, Model, Runtime, StateTensor, Tokenizer, convert
from ._registry import (
    PluginInfo,
    PluginKind,
    abi_version,
    cuda_device_count,
    describe_plugin,
    has_cuda,
    registry,
    version,
    version_info,
)
from ._stream import OutputMode, Stream, generate_many, step_many, step_many_tokens

if _native.abi_version() != _native.SEQC_ABI_VERSION:  # pragma: no cover
    raise ImportError(
        f"seqcore: the loaded libseqcore has ABI {_native.abi_version()}, "
        f"this binding was built for ABI {_native.SEQC_ABI_VERSION}")

#: The version of the library this package runs ("0.1.0").
__version__: str = version()

__all__ = [
    "__version__",
    # handles
    "Runtime",
    "Model",
    "Stream",
    "step_many",
    "step_many_tokens",
    "generate_many",
    "convert",
    # descriptions
    "Block",
    "StateTensor",
    "PluginInfo",
    "registry",
    "describe_plugin",
    "version",
    "version_info",
    "abi_version",
    "has_cuda",
    "cuda_device_count",
    # enumerations
    "Device",
    "DType",
    "InputKind",
    "OutputMode",
    "Tokenizer",
    "PluginKind",
    "Status",
    # errors
    "Error",
    "InvalidArgumentError",
    "ClosedError",
    "ShapeError",
    "DTypeError",
    "FormatError",
    "FileError",
    "NotFoundError",
    "MismatchError",
    "UnsupportedError",
    "BusyError",
    "OutOfMemoryError",
]

# Public objects present themselves as seqcore.X (reprs, tracebacks, pickles).
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        _obj.__module__ = __name__
del _name, _obj
