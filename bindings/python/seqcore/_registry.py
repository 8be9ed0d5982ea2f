"""The plugin registry and the library's version."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Union

from . import _native

__all__ = [
    "PluginKind",
    "PluginInfo",
    "registry",
    "describe_plugin",
    "version",
    "version_info",
    "abi_version",
    "has_cuda",
    "cuda_device_count",
]


class PluginKind(enum.IntEnum):
    """The kinds of registry entries (``seqc_plugin_kind``)."""

    LAYER = 0
    RECURRENT = 1
    QUANTIZER = 2
    MEMORY = 3


@dataclass(frozen=True)
class PluginInfo:
    """One entry of the plugin registry."""

    name: str                       #: full name, "recurrent/lstm"
    kind: Union[PluginKind, int]    #: what it is
    version: int                    #: version of its implementation
    summary: str                    #: one line


def registry() -> List[PluginInfo]:
    """Every registered plugin, in the library's order."""
    entries = []
    for i in range(_native.registry_count()):
        kind: Union[PluginKind, int] = _native.registry_kind(i)
        try:
            kind = PluginKind(kind)
        except ValueError:
            pass
        entries.append(PluginInfo(_native.registry_name(i), kind,
                                  int(_native.registry_version(i)), _native.registry_summary(i)))
    return entries


def describe_plugin(name: str) -> Dict[str, Any]:
    """A plugin's descriptor (config schema, weights, state layout,
    capabilities) as a dict.

    Raises:
        NotFoundError: no plugin has that name.
    """
    return dict(json.loads(_native.registry_describe(str(name))))


def version() -> str:
    """The version of the loaded library ("0.1.0")."""
    return str(_native.version_string())


def version_info() -> "tuple[int, int, int]":
    """The version of the loaded library as (major, minor, patch)."""
    n = int(_native.version())
    return (n // 10000, n // 100 % 100, n % 100)


def abi_version() -> int:
    """The ABI major of the loaded library (the N of libseqcore.so.N)."""
    return int(_native.abi_version())


def has_cuda() -> bool:
    """True if the library was built with the CUDA backend."""
    return bool(_native.has_cuda())


def cuda_device_count() -> int:
    """Usable CUDA devices (0 without CUDA, a driver or a GPU)."""
    return int(_native.cuda_device_count())
