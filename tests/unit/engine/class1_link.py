"""A phone line in memory for Class 1 sessions: each behind a spandsp T.31 modem, as the
modem provider runs it, without a port, a process or a clock.

One loop advances a hand-held clock by 20 ms blocks of audio. In each block every DTE (a
:class:`Class1Session`) gets its timer, writes what it has while the modem takes it (CTS)
and reads what the modem said; the modems' and any :class:`AudioSession`'s audio crosses
the line. ``Tap`` sits between a session and its modem to inject faults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openfax.engine import (
    SAMPLE_RATE,
    AudioSession,
    CallEvent,
    Event,
    FaxSession,
    Role,
    SessionOptions,
    T31Modem,
)
from openfax.engine.class1 import Class1Session
from openfax.engine.t31 import Answer, Dial

BLOCK = 160
"""20 ms of line audio."""
SETUP_LIMIT = 15.0
"""Line seconds for the modems to connect before the test fails."""


class Tap:
    """What passes between a session and its modem; subclasses change it to inject faults.

    ``to_modem`` may hold bytes back (return less) or answer in the modem's place
    (``inject``); ``to_dte`` may drop or alter what the modem said.
    """

    def __init__(self) -> None:
        self.injected = bytearray()
        self.now = 0.0
        """The line time of the block being carried."""

    def inject(self, data: bytes) -> None:
        """Make ``data`` arrive at the session as if the modem had said it."""
        self.injected += data

    def to_modem(self, data: bytes) -> bytes:
        return data

    def to_dte(self, data: bytes) -> bytes:
        return data


@dataclass
class ModemEnd:
    """A Class 1 session behind its own T.31 modem; the session is made at CONNECT."""

    role: Role
    make: Callable[[Role], Class1Session]
    tap: Tap = field(default_factory=Tap)
    name: str = "modem"
    split: Callable[[bytes], list[bytes]] | None = None
    """How to cut what the modem said into the session's reads (one read if None)."""
    echo: bool = False
    """Leave the modem echoing commands (ATE1, its default)."""

    def __post_init__(self) -> None:
        self.modem = T31Modem(name=f"{self.name}-t31")
        self.session: Class1Session | None = None
        self.heard = b""
        self.pending = b""
        self.events: list[Event] = []
        self.modem.at_rx(b"ATE1\rAT+FCLASS=1\r" if self.echo else b"ATE0\rAT+FCLASS=1\r")
        if self.role is Role.CALL:
            self.modem.at_rx(b"ATDT5551234\r")
        self.modem.data_to_send()

    @property
    def done(self) -> bool:
        return self.session is not None and self.session.done

    def dte_step(self, now: float) -> None:
        """One block's worth of the provider: call set-up until CONNECT, then the session."""
        session = self.session
        if session is None:
            self._set_up(now)
            return
        self.tap.now = now
        due = session.next_timer()
        if due is not None and due <= now:
            session.handle_timer(now)
        while self.modem.clear_to_send:
            if not self.pending:
                self.pending = self.tap.to_modem(session.data_to_send())
                if not self.pending:
                    break
            taken = self.modem.at_rx(self.pending)
            self.pending = self.pending[taken:]
        heard = self.tap.to_dte(self.modem.data_to_send()) + bytes(self.tap.injected)
        self.tap.injected.clear()
        for piece in self.split(heard) if self.split else [heard] if heard else []:
            session.receive(piece, now)
        self.events += session.pop_events()

    def _set_up(self, now: float) -> None:
        for event in self.modem.pop_events():
            if isinstance(event, Dial):
                self.modem.call_event(CallEvent.CONNECTED)
            elif isinstance(event, Answer):
                self.modem.call_event(CallEvent.ANSWERED)
        self.heard += self.modem.data_to_send()
        if b"RING" in self.heard:
            self.heard = b""
            self.modem.at_rx(b"ATA\r")
        if b"CONNECT\r\n" in self.heard:
            rest = self.heard.split(b"CONNECT\r\n", 1)[1]
            self.session = self.make(self.role)
            self.session.start(now)
            if rest:
                self.session.receive(rest, now)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        self.modem.close()


def modem_ends(
    options: SessionOptions,
    sent: Path,
    received: Path,
    *,
    answerer_tap: Tap | None = None,
    **modem: Any,
) -> tuple[ModemEnd, ModemEnd]:
    """Two Class 1 sessions on their T.31 modems: one sending ``sent``, one receiving
    ``received`` (through ``answerer_tap``, if given); ``modem``: ModemEnd options of both."""
    caller = ModemEnd(
        Role.CALL,
        lambda role: Class1Session(role, options, send_file=sent, name="class1-tx"),
        name="tx",
        **modem,
    )
    answerer = ModemEnd(
        Role.ANSWER,
        lambda role: Class1Session(role, options, receive_file=received, name="class1-rx"),
        answerer_tap or Tap(),
        name="rx",
        **modem,
    )
    return caller, answerer


@dataclass
class AudioEnd:
    """A spandsp audio fax terminal straight on the line."""

    session: AudioSession
    events: list[Event] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.session.done

    def close(self) -> None:
        self.session.close()


End = ModemEnd | AudioEnd


def result_session(end: End) -> FaxSession:
    session = end.session
    assert session is not None, "the call never connected"
    return session


def run_call(
    caller: End,
    answerer: End,
    *,
    max_line_seconds: float = 600.0,
    cut_when: Callable[[], bool] | None = None,
    noise: Callable[[int, bytes], bytes] | None = None,
    back_noise: Callable[[int, bytes], bytes] | None = None,
) -> float:
    """Run the call until both ends are done; returns the line seconds it took.

    Once ``cut_when()`` is true the line is silent both ways (the far end hung up).
    ``noise(block, audio)`` may alter what the caller sends towards the answerer, and
    ``back_noise`` what the answerer sends back.
    """
    if isinstance(answerer, ModemEnd):
        answerer.modem.call_event(CallEvent.ALERTING)
    samples = 0
    silence = bytes(2 * BLOCK)
    ends = (caller, answerer)
    cut = False
    while not (caller.done and answerer.done):
        now = samples / SAMPLE_RATE
        assert now < max_line_seconds, f"the call did not end within {max_line_seconds} s"
        if any(isinstance(end, ModemEnd) and end.session is None for end in ends):
            assert now < SETUP_LIMIT, "the modems did not connect"
        for end in ends:
            if isinstance(end, ModemEnd):
                end.dte_step(now)
        line = [
            end.modem.tx(BLOCK) if isinstance(end, ModemEnd) else end.session.tx(BLOCK)
            for end in ends
        ]
        if noise is not None:
            line[0] = noise(samples // BLOCK, line[0])
        if back_noise is not None:
            line[1] = back_noise(samples // BLOCK, line[1])
        cut = cut or (cut_when is not None and cut_when())
        if cut:
            line = [silence, silence]
        samples += BLOCK
        for end, heard in zip(ends, reversed(line), strict=True):
            if isinstance(end, ModemEnd):
                end.modem.rx(heard)
            else:
                end.session.rx(heard)
                end.events += end.session.pop_events()
    return samples / SAMPLE_RATE
