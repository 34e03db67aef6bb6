"""What differs between Class 1 modems, in the spirit of HylaFAX's ``Class1*`` options: safe
defaults, a small table of known modems chosen from the probe, and a line's own overrides.

The Class 1 driver takes the fax-phase ones (the silences, the delay after CONNECT, how an
abort ends, the frames' FCS and DLEs, the modulations, as
:class:`~openfax.engine.class1.Class1Settings`); the AT dialogue the call-control ones (the
reset, flow control, caller id, adaptive reception and answer commands).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from openfax.engine.class1 import Class1Settings
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
    silence_before_receive: int = 0
    """Tens of ms of silence (``AT+FRS``) before each ``+FRM``, for modems that answer
    +FCERROR before TCF or image data otherwise (HylaFAX's ``Class1TCFRecvHackCmd`` and
    ``Class1MsgRecvHackCmd``, ``AT+FRS=1``); 0: none."""
    connect_delay: float = 0.0
    """Seconds between the CONNECT of ``+FTM`` and the first byte of TCF or image data,
    for modems that report CONNECT before their training has gone out (HylaFAX's
    ``Class1TMConnectDelay``)."""
    abort_answered: bool = True
    """Whether the modem answers OK to the CAN that aborts a ``+FRH``/``+FRM``; if not
    (HylaFAX's ``Class1RecvAbortOK: 0``) the driver waits ``abort_wait``, drops what came
    and sends ``AT`` for an OK."""
    abort_wait: float = 0.2
    """Seconds the modem has to answer an aborted command (a dial, ``+FRM``) before the
    hang-up, and the pause before ``AT`` after an abort it does not answer (HylaFAX's
    ``Class1RecvAbortOK``, 200 ms)."""
    fcs_in_frames: bool = True
    """Whether received V.21 frames end with their 2 FCS bytes, as T.31 says (HylaFAX's
    ``Class1FrameOverhead`` 4; old firmware leaves them out: 2)."""
    doubles_dle: bool = True
    """Whether a DLE inside a received V.21 frame comes doubled (T.31; not with HylaFAX's
    ``Class1ModemHasDLEBug``)."""
    has_fts: bool = True
    """Whether the modem has ``AT+FTS`` (send silence); if not, the driver keeps
    ``pause_between_carriers`` on its own clock (HylaFAX's ``"<delay:7>"`` wait commands
    for Cirrus and Topic modems)."""
    has_frs: bool = True
    """Whether the modem has a working ``AT+FRS`` (wait for silence); if not, the driver
    waits ``silence_before_send`` itself (HylaFAX's Cirrus, Topic and USR prototypes)."""
    class_command: str = "AT+FCLASS=1"
    """What puts the modem in fax mode (HylaFAX's ``Class1Cmd``): ``AT+FCLASS=1.0`` for a
    Class 1.0 modem, whose adaptive reception may need it."""
    adaptive_receive_command: str = ""
    """Turns on adaptive reception (``AT+FAR=1``, HylaFAX's ``Class1AdaptRecvCmd``): the
    modem switches a waiting ``+FRM`` to V.21 when the far end sends frames instead, rather
    than answering +FCERROR; empty: not used."""
    adaptive_answer_command: str = ""
    """Turns on adaptive answer (``AT+FAA=1``): ATA then tells a data or voice caller from a
    fax, and such a call is hung up as no fax; empty: every call is answered as fax."""
    transmit_modulations: tuple[int, ...] = ()
    """The ``+FTM`` codes to use instead of what ``AT+FTM=?`` says (HylaFAX's
    ``Class1TMQueryCmd: "!24,48,72,96"``); empty: the modem's answer."""
    receive_modulations: tuple[int, ...] = ()
    """The ``+FRM`` codes to use instead of what ``AT+FRM=?`` says (``Class1RMQueryCmd``)."""
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

    def transmit_codes(self, info: ModemInfo) -> tuple[int, ...]:
        """The modulations the modem sends image data with: the override, or the probe's."""
        return self.transmit_modulations or info.transmit

    def receive_codes(self, info: ModemInfo) -> tuple[int, ...]:
        """The modulations the modem receives image data with."""
        return self.receive_modulations or info.receive

    def class1_settings(self, info: ModemInfo) -> Class1Settings:
        """What the Class 1 driver is told of this modem."""
        return Class1Settings(
            silence_before_send=self.silence_before_send,
            pause_between_carriers=self.pause_between_carriers,
            silence_before_receive=self.silence_before_receive,
            connect_delay=self.connect_delay,
            transmit_codes=frozenset(self.transmit_codes(info)),
            abort_answered=self.abort_answered,
            abort_wait=self.abort_wait,
            adaptive_receive=bool(self.adaptive_receive_command),
            fcs_in_frames=self.fcs_in_frames,
            doubles_dle=self.doubles_dle,
            has_fts=self.has_fts,
            has_frs=self.has_frs,
        )


@dataclass(frozen=True, kw_only=True)
class QuirkOverrides:
    """A ``[modem.lines.quirks]`` table: each key set replaces the known modem's value."""

    silence_before_send: int | None = None
    pause_between_carriers: int | None = None
    silence_before_receive: int | None = None
    connect_delay: float | None = None
    abort_answered: bool | None = None
    abort_wait: float | None = None
    fcs_in_frames: bool | None = None
    doubles_dle: bool | None = None
    has_fts: bool | None = None
    has_frs: bool | None = None
    class_command: str | None = None
    adaptive_receive_command: str | None = None
    adaptive_answer_command: str | None = None
    transmit_modulations: tuple[int, ...] | None = None
    receive_modulations: tuple[int, ...] | None = None
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
    """A modem recognised by its identity (``ATI``, ``+FMI?``, ``+FMM?``, ``+FMR?``): a
    regular expression searched in those lines, case-insensitively, ``^`` and ``$`` at each
    line's ends."""

    name: str
    pattern: str
    quirks: Quirks


_LUCENT_LIKE = Quirks(connect_delay=0.4)
"""HylaFAX's ``config/lucent``, ``lucent-mt-10`` and ``mainpine-10`` (Lucent/Agere chipsets):
``Class1TMConnectDelay: 400``, "counteract quick CONNECT response"."""

KNOWN_MODEMS: tuple[KnownModem, ...] = (
    KnownModem(
        "spandsp T.31 (OpenFax's virtual modem)",
        r"spandsp|soft-switch\.org",
        # HylaFAX's config/iaxmodem, for the spandsp-based IAXmodem: Class1AdaptRecvCmd
        # AT+FAR=1; spandsp's t31 answers +FRH:3 for V.21 during +FRM.
        Quirks(reset_quiet=0.0, adaptive_receive_command="AT+FAR=1"),
    ),
    KnownModem(
        "Lucent/Agere LT (Lucent, MultiTech MT5634, Zoom V.90, AboCom EFM560)",
        r"^LT V\.9[02]\b|^Zoom V\.90 (PCI|USB)|^EFM560 VER",
        _LUCENT_LIKE,
    ),
    KnownModem(
        "Mainpine RockForce / IQ (Agere Venus, CFAX34)",
        # HylaFAX's config/mainpine-10: ModemType Class1.0 (AT+FCLASS=1.0).
        r"^Mainpine (Venus V\.92|CFAX34)",
        dataclasses.replace(_LUCENT_LIKE, class_command="AT+FCLASS=1.0"),
    ),
    KnownModem(
        "Rockwell/Conexant K56 Class 1.0 (RocketModem, MultiTech MT5600ZDX/MT5656ZDX)",
        # HylaFAX's config/conexant-1.0: ModemType Class1.0, "they have adaptive receive"
        # (Class1AdaptRecvCmd AT+FAR=1); flow control AT&K3, none AT&K0.
        r"^(56000|MT5600ZDX|MT5656ZDX)$",
        Quirks(
            class_command="AT+FCLASS=1.0",
            adaptive_receive_command="AT+FAR=1",
            hard_flow_command="AT&K3",
            no_flow_command="AT&K0",
        ),
    ),
    KnownModem(
        "Cirrus Logic CL-MD1414/MD34xx/MD56xx",
        # HylaFAX's config/cirrus: the +FTS waits and Class1SwitchingCmd are "<delay:7>"
        # ("assumption: +FRS not supported"); flow control AT\Q3, AT\Q1.
        r"CL-MD(1414|34|56)|\bMD56xx\b",
        Quirks(
            has_fts=False,
            has_frs=False,
            hard_flow_command="AT\\Q3",
            soft_flow_command="AT\\Q1",
        ),
    ),
    KnownModem(
        "Topic TP560, Hamlet H56XCT",
        # HylaFAX's config/topic: "as of v1.20, +FTS is not supported"; the waits are
        # "<delay:7>", +FRS assumed missing too.
        r"^(TP560|Hamlet H56XCT)",
        Quirks(has_fts=False, has_frs=False),
    ),
    KnownModem(
        "ZyXEL U1496 firmware 6.14",
        # HylaFAX's config/zyxel-1496e-1: "the 6.14 firmware does not deliver the FCS bytes
        # in the received HDLC frame" (Class1FrameOverhead 2); flow control AT&H3/&H4/&H0.
        r"\A(?=.*zyxel)(?=.*\b6\.14\b)",
        Quirks(
            fcs_in_frames=False,
            hard_flow_command="AT&H3",
            soft_flow_command="AT&H4",
            no_flow_command="AT&H0",
        ),
    ),
)
"""Modems whose quirks are known; the first that matches wins, else :class:`Quirks`().
Only what the public record names is entered (HylaFAX 6.0.7's ``config/*`` prototypes and
``hylafax-config(5)``): each entry says which fact its quirk rests on."""


def known_modem(info: ModemInfo) -> KnownModem | None:
    """The known modem the probe describes, or None."""
    identity = "\n".join(info.identity)
    for modem in KNOWN_MODEMS:
        if re.search(modem.pattern, identity, re.IGNORECASE | re.MULTILINE | re.DOTALL):
            return modem
    return None


def quirks_for(info: ModemInfo, overrides: QuirkOverrides) -> Quirks:
    """The quirks of the probed modem: the known modem's (or the defaults), overridden."""
    modem = known_modem(info)
    return overrides.applied_to(modem.quirks if modem is not None else Quirks())
