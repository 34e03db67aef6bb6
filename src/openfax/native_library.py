"""Opening a shared C library for a cffi ABI-mode or ctypes binding, with one way to say it is
missing."""

from __future__ import annotations

import ctypes.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from openfax.errors import FaxError

T = TypeVar("T")


def open_library(
    dlopen: Callable[[str], T],
    *,
    soname: str,
    short_name: str,
    env: str,
    debian_package: str,
    error: Callable[[str], FaxError],
) -> T:
    """``dlopen`` (cffi's ``ffi.dlopen``, ``ctypes.CDLL``) the library named by ``env`` if
    set, else ``soname``, else what ``ctypes.util.find_library(short_name)`` finds (asked only
    then: it runs ldconfig); raise ``error(message)`` naming what was tried and the Debian
    package to install when none opens."""
    tried: list[str] = []
    for name in _candidates(env, soname, short_name):
        tried.append(name)
        try:
            return dlopen(name)
        except OSError:
            continue
    raise error(
        f"cannot load lib{short_name} (tried {', '.join(tried)}); install the Debian package "
        f"{debian_package} or set {env} to the library's path"
    )


def _candidates(env: str, soname: str, short_name: str) -> Iterator[str]:
    """The names `open_library` tries in turn, each made when the one before failed."""
    for name in (os.environ.get(env), soname):
        if name:
            yield name
    found = ctypes.util.find_library(short_name)
    if found:
        yield found


def loaded_file(short_name: str) -> Path | None:
    """The file of ``lib{short_name}`` this process has mapped (read from ``/proc/self/maps``),
    its links resolved: its name carries the library's ABI version (``libspandsp.so.2.0.0``),
    which ``openfax doctor`` reports. None when it is not loaded or there is no ``/proc``."""
    prefix = f"lib{short_name}.so"
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[5:]
        if path and Path(path[0]).name.startswith(prefix):
            return Path(path[0]).resolve()
    return None
