"""Opening a shared C library for a cffi ABI-mode binding, with one way to say it is missing."""

from __future__ import annotations

import ctypes.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openfax.errors import FaxError


def open_library(
    ffi: Any,
    *,
    soname: str,
    short_name: str,
    env: str,
    debian_package: str,
    error: Callable[[str], FaxError],
) -> Any:
    """``ffi.dlopen`` the library named by ``env`` if set, else ``soname``, else what
    ``ctypes.util.find_library(short_name)`` finds; raise ``error(message)`` naming what was
    tried and the Debian package to install when none opens."""
    candidates = [os.environ.get(env), soname, ctypes.util.find_library(short_name)]
    tried = [name for name in candidates if name]
    for name in tried:
        try:
            return ffi.dlopen(name)
        except OSError:
            continue
    raise error(
        f"cannot load lib{short_name} (tried {', '.join(tried)}); install the Debian package "
        f"{debian_package} or set {env} to the library's path"
    )


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
