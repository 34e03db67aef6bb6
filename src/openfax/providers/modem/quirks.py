"""What differs between Class 1 modems, in the spirit of HylaFAX's ``Class1*`` options: safe
defaults, a small table of known modems chosen from the probe, and a line's own overrides.

The Class 1 driver reads the fax-phase quirks (the delay after CONNECT, +FRS before +FTH,
the abort of +FRM, +FAR); the AT dialogue the call-control ones (reset, flow control, caller
id commands).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from openfax.providers.modem.at import ModemInfo


@dataclass(frozen=True, kw_only=True)
class Quirks:
    """One modem's settings; the defaults suit a well-behaved modem (HylaFAX's defaults)."""

    connect_delay: float = 0.0
    """Seconds between the CONNECT of ``+FTM`` and the first data byte (HylaFAX's
    ``Class1TMConnectDelay``): some modems lose the first bytes otherwise."""
    switching_command: str = "AT+FRS=7"
    """Sent before ``+FTH`` after receiving, to let the far end's carrier fall silent
    (``Class1SwitchingCmd``); empty: none."""
    frs_before_frm: bool = False
    """``AT+FRS=1`` before ``+FRM`` (TCF, image data) avoids a +FCERROR on some modems."""
    abort_wait: float = 0.2
    """Seconds the modem has to answer OK after ``+FRM``/``+FRH`` is aborted
    (``Class1RecvAbortOK``)."""
    adaptive_reception: bool = False
    """The modem takes ``AT+FAR=1`` (adaptive reception): it tells V.21 from image data
    itself."""
    reset_command: str = "ATZ"
    reset_quiet: float = 0.5
    """Seconds the modem needs after the reset before its next command."""
    caller_id_command: str = "AT+VCID=1"
    """Turns caller id reports on; empty: none (the answer ERROR is tolerated)."""
    hard_flow_command: str = "AT+IFC=2,2"
    soft_flow_command: str = "AT+IFC=1,1"
    no_flow_command: str = "AT+IFC=0,0"

    def flow_command(self, flow_control: str) -> str:
        """The command for ``rtscts``, ``xonxoff`` or ``none``."""
        return {
            "rtscts": self.hard_flow_command,
            "xonxoff": self.soft_flow_command,
            "none": self.no_flow_command,
        }[flow_control]


@dataclass(frozen=True, kw_only=True)
class QuirkOverrides:
    """A ``[modem.lines.quirks]`` table: each key set replaces the known modem's value."""

    connect_delay: float | None = None
    switching_command: str | None = None
    frs_before_frm: bool | None = None
    abort_wait: float | None = None
    adaptive_reception: bool | None = None
    reset_command: str | None = None
    reset_quiet: float | None = None
    caller_id_command: str | None = None
    hard_flow_command: str | None = None
    soft_flow_command: str | None = None
    no_flow_command: str | None = None

    def applied_to(self, quirks: Quirks) -> Quirks:
        changes = {
            f.name: value
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        }
        return dataclasses.replace(quirks, **changes)


@dataclass(frozen=True)
class KnownModem:
    """A modem recognised by its identity (``ATI``, ``+FMI?``, ``+FMM?``): a regular
    expression searched in those lines, case-insensitively."""

    name: str
    pattern: str
    quirks: Quirks


KNOWN_MODEMS: tuple[KnownModem, ...] = (
    KnownModem(
        "spandsp T.31 (OpenFax's virtual modem)",
        r"spandsp|soft-switch\.org",
        Quirks(adaptive_reception=True, reset_quiet=0.0),
    ),
)
"""Modems whose quirks are known; the first that matches wins, else :class:`Quirks`().
Only what was seen is entered: a modem added here names the fact its quirk rests on."""


def known_modem(info: ModemInfo) -> KnownModem | None:
    """The known modem the probe describes, or None."""
    identity = "\n".join(info.identity)
    for modem in KNOWN_MODEMS:
        if re.search(modem.pattern, identity, re.IGNORECASE):
            return modem
    return None


def quirks_for(info: ModemInfo, overrides: QuirkOverrides) -> Quirks:
    """The quirks of the probed modem: the known modem's (or the defaults), overridden."""
    modem = known_modem(info)
    return overrides.applied_to(modem.quirks if modem is not None else Quirks())
