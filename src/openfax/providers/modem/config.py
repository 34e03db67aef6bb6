"""The configuration of the ``modem`` provider: lines, read from ``[[modem.lines]]`` tables.

Plain frozen dataclasses; :mod:`openfax.service.config_file` reads them from TOML and checks
every value (a wrong one is a ConfigError naming the key), so the provider can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from openfax.providers.modem.quirks import QuirkOverrides

FlowControl = Literal["rtscts", "xonxoff", "none"]
SPEEDS = (9600, 19200, 38400, 57600, 115200, 230400)
"""The port speeds a line may set (bit/s). Image data at 14400 bit/s, DLE-stuffed, needs
more than 14400 on the port: 19200 at least, 115200 is what USB modems take."""
DIAL_CHARACTERS = "0123456789*#ABCDabcd,W@!"
"""What a dial prefix and a dialled number may hold (``,`` pauses, ``W`` waits for a dial
tone): anything else could end the ATD command early."""


@dataclass(frozen=True, kw_only=True)
class ModemLineConfig:
    """One modem on one serial port, one device."""

    device: str = ""
    """The modem's port: ideally its ``/dev/serial/by-id/...`` link, stable across
    reboots and replugging (``/dev/ttyACM0`` may become ``ttyACM1``)."""
    name: str = ""
    """The device's name; empty: ``modem`` and the port's file name."""
    number: str = ""
    """The line's own telephone number (shown on the device, the default TSID/CSID)."""
    ident: str = ""
    """The TSID and CSID the device starts with (FAXCOMEX may change them); empty: the
    number, or the service's ``tsid``/``csid``."""
    speed: int = 115200
    flow_control: FlowControl = "rtscts"
    init: str = ""
    """More commands sent after every reset (one line, like ``AT&F&D2M0``)."""
    dial_mode: Literal["tone", "pulse"] = "tone"
    dial_prefix: str = ""
    """Dialled before every number, like ``"0,"`` for an outside line behind a PBX."""
    rings_before_answer: int = 1
    """The rings a new device waits for before it answers (FAXCOMEX may change them)."""
    send: bool = True
    receive: bool = True
    dial_timeout: float = 90.0
    """Seconds from dialling to the far end's fax answer (CONNECT) at most."""
    answer_timeout: float = 30.0
    """Seconds from ATA to CONNECT at most."""
    command_timeout: float = 3.0
    """Seconds the modem has to answer a command in command mode."""
    reopen_seconds: float = 5.0
    """Seconds between two attempts to open a port that is missing or a modem that
    failed."""
    quirks: QuirkOverrides = field(default_factory=QuirkOverrides)
    """The ``[modem.lines.quirks]`` table: what replaces the known modem's settings."""

    @property
    def device_name(self) -> str:
        return self.name or f"modem {self.device.rsplit('/', 1)[-1]}"


@dataclass(frozen=True, kw_only=True)
class ModemConfig:
    """The ``[modem]`` table: its lines (none: no modem provider)."""

    lines: tuple[ModemLineConfig, ...] = ()
