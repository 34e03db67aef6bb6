"""pywin32's ``pythoncom`` for a FAXCOMEX script: ``PumpWaitingMessages`` delivers the events
that arrived (``openfax.faxcomex.PumpWaitingMessages``); ``CoInitialize`` and
``CoUninitialize`` have nothing to do; ``com_error`` is the facade's."""

from __future__ import annotations

from openfax import faxcomex
from openfax.faxcomex import com_error


def PumpWaitingMessages(first_message: int = 0, last_message: int = -1) -> int:
    """Deliver the events that arrived to their sinks; 0, as pywin32 answers when no
    ``WM_QUIT`` came (there is none here)."""
    faxcomex.PumpWaitingMessages()
    return 0


def CoInitialize() -> None:
    """Nothing to set up: events are delivered by ``PumpWaitingMessages`` on any thread."""


def CoInitializeEx(flags: int = 0) -> None:
    """As ``CoInitialize``."""


def CoUninitialize() -> None:
    """Nothing to tear down."""


COINIT_APARTMENTTHREADED = 0x2
COINIT_MULTITHREADED = 0x0

__all__ = [
    "COINIT_APARTMENTTHREADED",
    "COINIT_MULTITHREADED",
    "CoInitialize",
    "CoInitializeEx",
    "CoUninitialize",
    "PumpWaitingMessages",
    "com_error",
]
