"""Status codes and the exceptions raised for them."""

from __future__ import annotations

import enum
from typing import Dict, Tuple, Type

from . import _native

__all__ = [
    "Status",
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


class Status(enum.IntEnum):
    """The library's status codes (``seqc_status``); the values are pinned."""

    OK = 0
    INVALID_ARGUMENT = -1
    OUT_OF_MEMORY = -2
    IO = -3
    FORMAT = -4
    VERSION = -5
    CHECKSUM = -6
    CONFIG = -7
    UNKNOWN_PLUGIN = -8
    MISSING_TENSOR = -9
    SHAPE = -10
    DTYPE = -11
    MISMATCH = -12
    BUFFER_TOO_SMALL = -13
    NOT_FOUND = -14
    UNSUPPORTED = -15
    NO_DEVICE = -16
    BUSY = -17
    INTERNAL = -18

    @property
    def description(self) -> str:
        """The library's English name of the status ("invalid argument")."""
        return str(_native.status_string(int(self)))


def _status(value: int) -> "Status | int":
    try:
        return Status(value)
    except ValueError:  # a code added by a newer library
        return value


class Error(Exception):
    """Any failure reported by libseqcore.

    Attributes:
        status: the library's status code, a :class:`Status` (a plain ``int``
            only for a code this binding does not know yet).
        message: the library's detail message.

    Subclasses also derive from the matching built-in exception where one
    fits (``ValueError`` for bad arguments, ``OSError`` for files,
    ``LookupError`` for unknown names), so ``except ValueError`` works too.
    """

    #: The status an instance gets when raised by the binding itself.
    default_status: Status = Status.INTERNAL

    def __init__(self, message: str, status: "Status | int | None" = None) -> None:
        # Only the message goes to the built-in base: OSError would otherwise
        # read (status, message) as (errno, strerror).
        super().__init__(message)
        self.status: "Status | int" = _status(self.default_status if status is None else status)
        self.message: str = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        status = self.status.name if isinstance(self.status, Status) else self.status
        return f"{type(self).__name__}({self.message!r}, status={status})"

    def __reduce__(self) -> Tuple[type, Tuple[str, int]]:
        return (type(self), (self.message, int(self.status)))


class InvalidArgumentError(Error, ValueError):
    """An argument the library refuses: a token outside the vocabulary, a
    frame for a token model, a bad sampling setting (``INVALID_ARGUMENT``)."""

    default_status = Status.INVALID_ARGUMENT


class ClosedError(InvalidArgumentError):
    """A call on a handle that was closed ("Stream is closed"). Like a closed
    file, it is a ``ValueError``."""


class ShapeError(Error, ValueError):
    """An array or buffer of the wrong shape or length (``SHAPE``, and
    ``BUFFER_TOO_SMALL`` for ``out=`` arrays)."""

    default_status = Status.SHAPE


class DTypeError(Error, TypeError):
    """An array whose element type cannot be used, such as float token ids or
    a float64 ``out=`` array (``DTYPE``)."""

    default_status = Status.DTYPE


class FormatError(Error):
    """A model file or snapshot that cannot be read: malformed (``FORMAT``),
    an unknown format version (``VERSION``), a bad checksum (``CHECKSUM``), an
    invalid config (``CONFIG``), an unknown plugin (``UNKNOWN_PLUGIN``), a
    missing weight (``MISSING_TENSOR``)."""

    default_status = Status.FORMAT


class FileError(Error, OSError):
    """A file that cannot be opened, read or written (``IO``)."""

    default_status = Status.IO


class NotFoundError(Error, LookupError):
    """A named item that does not exist: a state tensor, a plugin
    (``NOT_FOUND``)."""

    default_status = Status.NOT_FOUND


class MismatchError(Error, ValueError):
    """A snapshot of another model, or streams of different models in one
    call (``MISMATCH``)."""

    default_status = Status.MISMATCH


class UnsupportedError(Error):
    """A valid request this build or device cannot do (``UNSUPPORTED``,
    ``NO_DEVICE``)."""

    default_status = Status.UNSUPPORTED


class BusyError(Error):
    """The stream is in use by a call on another thread (``BUSY``)."""

    default_status = Status.BUSY


class OutOfMemoryError(Error, MemoryError):
    """An allocation failed (``OUT_OF_MEMORY``)."""

    default_status = Status.OUT_OF_MEMORY


_BY_STATUS: Dict[int, Type[Error]] = {
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.OUT_OF_MEMORY: OutOfMemoryError,
    Status.IO: FileError,
    Status.FORMAT: FormatError,
    Status.VERSION: FormatError,
    Status.CHECKSUM: FormatError,
    Status.CONFIG: FormatError,
    Status.UNKNOWN_PLUGIN: FormatError,
    Status.MISSING_TENSOR: FormatError,
    Status.SHAPE: ShapeError,
    Status.DTYPE: DTypeError,
    Status.MISMATCH: MismatchError,
    Status.BUFFER_TOO_SMALL: ShapeError,
    Status.NOT_FOUND: NotFoundError,
    Status.UNSUPPORTED: UnsupportedError,
    Status.NO_DEVICE: UnsupportedError,
    Status.BUSY: BusyError,
}


def error_for(status: int, message: str) -> Error:
    """The exception for a failed library call (used by the extension)."""
    cls = _BY_STATUS.get(status, Error)
    # The binding's closed-handle check ("Stream is closed") can also fire
    # in C when another thread closed the handle mid-call.
    if cls is InvalidArgumentError and message.endswith(" is closed"):
        cls = ClosedError
    return cls(message, status)


_native.set_error_factory(error_for)
