"""What differs between Class 1 modems, in the spirit of HylaFAX's ``Class1*`` options: safe
defaults, a small table of known modems chosen from the probe, and a line's own overrides.

The Class 1 driver takes the fax-phase ones (the silences before sending and between
carriers, as :class:`~openfax.engine.class1.Class1Settings`); the AT dialogue the
call-control ones (the abort, reset, flow control and caller id commands).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from openfax.providers.modem.at import ModemInfo


@dataclass(frozen=True, kw_only=True)
class Quirks:
    """One modem's settings; the defaults suit a well-behaved modem (HylaFAX's defaults)."""

    silence_before_send: int = 7
    """Tens of ms of silence the Class 1 driver waits for (``AT+FRS``) before sending after
    receiving, so the far end's carrier tail does not collide with ours (HylaFAX's
    ``Class1SwitchingCmd``, ``AT+FRS=7``); 0: none."""
    pause_between_carriers: int = 7
    """Tens of ms of silence (``AT+FTS``) between a V.21 frame and TCF or image data, and
    between image data and the post-page command (T.30: 75 +/- 20 ms); 0: none."""
    abort_wait: float = 0.2
    """Seconds the modem has to answer an aborted command (a dial, ``+FRM``) before the
    hang-up (HylaFAX's ``Class1RecvAbortOK``)."""
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

    silence_before_send: int | None = None
    pause_between_carriers: int | None = None
    abort_wait: float | None = None
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
        Quirks(reset_quiet=0.0),
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
