"""Loading plug-ins from Python entry points, as FAXCOMEX loads the DLL named by a provider's
or routing extension's ``ImageName``: one place that finds the entry point, imports it and
says how that went (``ProviderStatus`` and an error message), never raising.

Used for inbound routing extensions (group ``openfax.routing_methods``) and device providers
(group ``openfax.providers``).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any

from openfax.model import ProviderStatus


@dataclass(frozen=True)
class LoadedEntryPoint:
    """What loading an entry point gave: its object when ``status`` is SUCCESS, else the
    error; ``version`` is its distribution's."""

    status: ProviderStatus
    error: str = ""
    version: str = ""
    target: Any = None


def load_entry_point(group: str, name: str) -> LoadedEntryPoint:
    """Find the entry point ``name`` of ``group`` and load it; CANT_LOAD with the reason when
    it is not installed or its import fails."""
    found = importlib.metadata.entry_points(group=group, name=name)
    if not found:
        return LoadedEntryPoint(
            ProviderStatus.CANT_LOAD, f"no entry point {name!r} in group {group}"
        )
    (entry_point, *_) = tuple(found)
    version = entry_point.dist.version if entry_point.dist is not None else ""
    try:
        target = entry_point.load()
    except Exception as exc:
        return LoadedEntryPoint(ProviderStatus.CANT_LOAD, failure(exc), version)
    return LoadedEntryPoint(ProviderStatus.SUCCESS, "", version, target)


def failure(exc: BaseException) -> str:
    """An exception as a plug-in's load error shows it."""
    return f"{type(exc).__name__}: {exc}"
