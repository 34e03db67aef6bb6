"""pywin32's ``win32com.client`` for a FAXCOMEX script: ``Dispatch``, ``DispatchEx``,
``DispatchWithEvents``, ``WithEvents``, ``CastTo``, ``constants`` and ``gencache``, over
:mod:`openfax.faxcomex`."""

from __future__ import annotations

from typing import Any

from openfax.faxcomex import (
    ComObject,
    Dispatch,
    DispatchWithEvents,
    WithEvents,
    com_error,
    constants,
)
from openfax.faxcomex.win32com.client import gencache

DispatchEx = Dispatch
"""``DispatchEx(prog_id, machine)``: the machine is the one ``Connect`` names."""


def CastTo(obj: Any, interface: str) -> Any:
    """``CastTo(server, "IFaxServer2")``: the object itself, which has every interface's
    members already."""
    if not isinstance(obj, ComObject):
        raise com_error(0x80004002, f"{obj!r} is no FAXCOMEX object to cast to {interface}")
    return obj


__all__ = [
    "CastTo",
    "Dispatch",
    "DispatchEx",
    "DispatchWithEvents",
    "WithEvents",
    "constants",
    "gencache",
]
