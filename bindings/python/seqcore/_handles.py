"""The base of the handle classes: close(), context managers and the guard
that keeps a handle alive while another thread computes with it (private)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Optional, Type, TypeVar

from ._errors import ClosedError

_H = TypeVar("_H", bound="Handle")


class Handle:
    """A library object owned by a Python object.

    ``close()`` releases it at once (closing twice does nothing); otherwise
    the garbage collector does. Handles are context managers. Any use of a
    closed handle raises :class:`ClosedError`.

    Calls that release the GIL hold the handle with ``_enter()`` /
    ``_leave()``: a ``close()`` from another thread meanwhile marks the
    handle closed at once but frees the library object only when the last
    such call returns, so the library never sees a freed object.
    """

    __slots__ = ("_h", "_lock", "_busy", "_pending", "__weakref__")
    _kind = "Handle"
    _h: Any        # the native (SWIG) object; None once closed
    _lock: threading.Lock
    _busy: int     # calls between _enter() and _leave()
    _pending: Any  # a native object whose close waits for those calls

    def _init_handle(self, native: Any) -> None:
        self._h = native
        self._lock = threading.Lock()
        self._busy = 0
        self._pending = None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._h is None

    def close(self) -> None:
        """Release the library object now. Closing twice is a no-op.

        Objects made from this one stay valid: streams keep their model and
        models their runtime, so handles may be closed in any order.
        """
        with self._lock:
            native = self._h
            if native is None:
                return
            self._h = None
            if self._busy:  # the last _leave() closes it
                self._pending = native
                return
        native.close()

    def _native(self) -> Any:
        """The native object, for a call that keeps the GIL."""
        native = self._h
        if native is None:
            raise ClosedError(f"{self._kind} is closed")
        return native

    def _enter(self) -> Any:
        """The native object, held open until the matching ``_leave()``."""
        with self._lock:
            native = self._h
            if native is None:
                raise ClosedError(f"{self._kind} is closed")
            self._busy += 1
            return native

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1
            if self._busy or self._pending is None:
                return
            native, self._pending = self._pending, None
        native.close()

    def __enter__(self: _H) -> _H:
        self._native()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError(f"a seqcore.{self._kind} cannot be pickled"
                        + (" (use snapshot() and restore())" if self._kind == "Stream" else ""))
