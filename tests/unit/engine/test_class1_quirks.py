"""What real modems do differently, and what the Class 1 driver does about it
(``Class1Settings``): the modulations a modem has, a refused ``+FRM``, adaptive reception,
an abort the modem does not answer, frames without FCS and DLEs not doubled.

The calls run on spandsp's T.31 modems in memory (``class1_link``); a ``Tap`` makes the
modem behave like the real one in question. The frame-level quirks are fed to a session by
hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openfax.engine import (
    AudioSession,
    CompletionCode,
    Direction,
    FrameExchanged,
    Modem,
    Negotiated,
    Role,
    SessionOptions,
)
from openfax.engine.class1 import Class1Session, Class1Settings
from tests.unit.engine.class1_link import AudioEnd, ModemEnd, Tap, result_session, run_call
from tests.unit.engine.test_class1 import assert_same_pages
from tests.unit.engine.test_class1_faults import RefuseModulations

MakeTiff = Callable[..., Path]
Register = Callable[..., None]

CSI = b"\xff\x03\x40" + b"4321 555 98 76      "[::-1]
"""A CSI frame as the modem hands it over (address, control, FCF, the ident backwards)."""


@pytest.fixture
def closing() -> Iterator[Register]:
    """Register the ends a test makes; they are closed after it, passed or failed."""
    ends: list[ModemEnd | AudioEnd] = []

    def register(*more: ModemEnd | AudioEnd) -> None:
        ends.extend(more)

    yield register
    for end in ends:
        end.close()


class Commands(Tap):
    """Keeps what the session sent and what the modem said."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = bytearray()
        self.heard = bytearray()

    def to_modem(self, data: bytes) -> bytes:
        self.sent += data
        return data

    def to_dte(self, data: bytes) -> bytes:
        self.heard += data
        return data


def modem_sender(
    sent: Path, options: SessionOptions, settings: Class1Settings, tap: Tap
) -> ModemEnd:
    return ModemEnd(
        Role.CALL,
        lambda role: Class1Session(
            role, options, send_file=sent, settings=settings, name="class1-tx"
        ),
        tap,
        name="tx",
    )


def modem_receiver(
    received: Path, options: SessionOptions, settings: Class1Settings, tap: Tap
) -> ModemEnd:
    return ModemEnd(
        Role.ANSWER,
        lambda role: Class1Session(
            role, options, receive_file=received, settings=settings, name="class1-rx"
        ),
        tap,
        name="rx",
    )


def assert_ok(*ends: ModemEnd | AudioEnd) -> None:
    for end in ends:
        session = result_session(end)
        assert session.result is not None
        assert session.result.code is CompletionCode.OK, session.result.code.text


def test_tcf_never_goes_at_a_modulation_the_modem_lacks(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """+FTM=? without V.17 14400: the session trains at 12000 from the start, without
    asking the modem for 145 first."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V17, ecm=False)
    settings = Class1Settings(transmit_codes=frozenset({24, 48, 72, 96, 73, 74, 97, 98, 121, 122}))
    tap = Commands()
    caller = modem_sender(sent, options, settings, tap)
    answerer = AudioEnd(AudioSession(Role.ANSWER, options, receive_file=received, name="audio"))
    closing(caller, answerer)
    run_call(caller, answerer)

    assert_ok(caller, answerer)
    assert b"AT+FTM=145" not in tap.sent
    assert b"AT+FTM=146" not in tap.sent
    assert b"AT+FTM=121\r" in tap.sent
    rates = [e.bit_rate for e in caller.events if isinstance(e, Negotiated)]
    assert rates[-1] == 12000, f"negotiated {rates}"
    assert_same_pages(sent, received)


def test_a_refused_modulation_is_not_asked_for_again_in_the_call(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """The modem answers ERROR to +FTM=145 and +FTM=121: each is asked for once, the
    session falls back past both and the page goes at 9600."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V17, ecm=False)
    tap = RefuseModulations((b"AT+FTM=145\r", b"AT+FTM=121\r"))
    commands: list[bytes] = []
    original = tap.to_modem

    def note(data: bytes) -> bytes:
        commands.extend(line for line in data.split(b"\r") if line.startswith(b"AT+FTM="))
        return original(data)

    tap.to_modem = note  # type: ignore[method-assign]
    caller = modem_sender(sent, options, Class1Settings(), tap)
    answerer = AudioEnd(AudioSession(Role.ANSWER, options, receive_file=received, name="audio"))
    closing(caller, answerer)
    run_call(caller, answerer)

    assert_ok(caller, answerer)
    assert commands.count(b"AT+FTM=145") == 1
    assert commands.count(b"AT+FTM=121") == 1
    rates = [e.bit_rate for e in caller.events if isinstance(e, Negotiated)]
    assert rates[-1] == 9600, f"negotiated {rates}"
    assert_same_pages(sent, received)


def test_a_refused_receive_modulation_makes_the_sender_fall_back(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """The receiving modem answers ERROR to +FRM=145: T.30 hears no training, answers
    FTT, and the sender steps down to 12000, which the modem takes."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V17, ecm=False)
    tap = RefuseModulations((b"AT+FRM=145\r", b"AT+FRM=146\r"))
    caller = AudioEnd(AudioSession(Role.CALL, options, send_file=sent, name="audio"))
    answerer = modem_receiver(received, options, Class1Settings(), tap)
    closing(answerer, caller)
    run_call(caller, answerer)

    assert tap.refusals >= 1
    assert_ok(caller, answerer)
    rates = [e.bit_rate for e in answerer.events if isinstance(e, Negotiated)]
    assert rates[-1] == 12000, f"negotiated {rates}"
    assert_same_pages(sent, received)


def test_adaptive_reception_reads_a_repeated_command_without_fcerror(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """The receiver's CFR is lost: the sender repeats DCS while the receiver's modem,
    told AT+FAR=1, waits for the page. It says +FRH:3 and CONNECT and hands over the DCS;
    the session reads it there (no +FCERROR, no AT+FRH=3) and the call goes on."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = Commands()
    caller = modem_sender(sent, options, Class1Settings(), Tap())
    answerer = modem_receiver(received, options, Class1Settings(adaptive_receive=True), tap)
    answerer.modem.at_rx(b"AT+FAR=1\r")
    closing(caller, answerer)
    transmissions = 0
    last_step = ""

    def lose_the_second_transmission(block: int, audio: bytes) -> bytes:
        nonlocal transmissions, last_step
        step = answerer.session.step if answerer.session is not None else ""
        if step != last_step and step == "tx frames: frames":
            transmissions += 1
        last_step = step
        return bytes(len(audio)) if transmissions == 2 and step == "tx frames: frames" else audio

    run_call(caller, answerer, back_noise=lose_the_second_transmission)

    assert b"\r\n+FRH:3\r\n" in tap.heard
    assert b"+FCERROR" not in tap.heard
    received_frames = [
        e.name
        for e in answerer.events
        if isinstance(e, FrameExchanged) and e.direction is Direction.RECEIVED
    ]
    assert received_frames.count("DCS") == 2, received_frames
    assert_ok(caller, answerer)
    assert_same_pages(sent, received)


class SilentAbort(Tap):
    """A modem that aborts a receive on CAN but says nothing (no OK) about it."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = 0
        self.swallowed = 0
        self.sent = bytearray()
        self._swallow = False

    def to_modem(self, data: bytes) -> bytes:
        self.sent += data
        if data.startswith(b"\x18"):  # a CAN of its own, not one inside a frame
            self.cancelled += 1
            self._swallow = True
        return data

    def to_dte(self, data: bytes) -> bytes:
        if self._swallow and b"\r\nOK\r\n" in data:
            self._swallow = False
            self.swallowed += 1
            return data.replace(b"\r\nOK\r\n", b"", 1)
        return data


def test_an_abort_the_modem_does_not_answer_is_followed_by_at(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """HylaFAX's ``Class1RecvAbortOK: 0``: after CAN the session waits ``abort_wait``,
    then sends AT and goes on at its OK."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = SilentAbort()
    settings = Class1Settings(abort_answered=False, abort_wait=0.2)
    caller = modem_sender(sent, options, Class1Settings(), Tap())
    answerer = modem_receiver(received, options, settings, tap)
    closing(caller, answerer)
    lost = False

    def lose_the_first_answer(block: int, audio: bytes) -> bytes:
        """The caller's first DCS never arrives: the answerer's T.30 sends DIS again,
        aborting the +FRH=3 that waits for it."""
        nonlocal lost
        sending = caller.session is not None and caller.session.step == "tx frames: frames"
        lost = lost or (sending and tap.cancelled == 0)
        return bytes(len(audio)) if sending and tap.cancelled == 0 else audio

    run_call(caller, answerer, noise=lose_the_first_answer)

    assert lost
    assert tap.cancelled >= 1
    assert tap.swallowed >= 1
    assert b"\x18AT\r" in tap.sent, "AT follows the unanswered CAN"
    assert_ok(caller, answerer)
    assert_same_pages(sent, received)


def frames_received(session: Class1Session) -> list[bytes]:
    return [
        e.frame
        for e in session.pop_events()
        if isinstance(e, FrameExchanged) and e.direction is Direction.RECEIVED
    ]


@pytest.mark.parametrize(
    ("settings", "from_modem"),
    [
        (Class1Settings(), CSI + b"\x12\x34"),
        (Class1Settings(fcs_in_frames=False), CSI),
    ],
    ids=["with FCS", "without FCS"],
)
def test_a_received_frame_loses_its_fcs_only_where_the_modem_sends_one(
    tmp_path: Path, settings: Class1Settings, from_modem: bytes
) -> None:
    session = Class1Session(
        Role.CALL, receive_file=tmp_path / "r.tif", settings=settings, name="class1"
    )
    try:
        session.start(0.0)  # after ATD's CONNECT the modem receives V.21 frames
        session.receive(from_modem + b"\x10\x03\r\nOK\r\n", 0.1)
        assert frames_received(session) == [CSI]
    finally:
        session.close()


@pytest.mark.parametrize(
    ("settings", "from_modem"),
    [
        (Class1Settings(), b"\xff\x03\x40\x10\x10\x31" + b"\x20" * 18),
        (Class1Settings(doubles_dle=False), b"\xff\x03\x40\x10\x31" + b"\x20" * 18),
    ],
    ids=["doubled", "single"],
)
def test_a_dle_in_a_received_frame_is_data_whether_the_modem_doubles_it_or_not(
    tmp_path: Path, settings: Class1Settings, from_modem: bytes
) -> None:
    session = Class1Session(
        Role.CALL, receive_file=tmp_path / "r.tif", settings=settings, name="class1"
    )
    try:
        session.start(0.0)
        session.receive(from_modem + b"\x00\x00\x10\x03\r\nOK\r\n", 0.1)
        assert frames_received(session) == [b"\xff\x03\x40\x10\x31" + b"\x20" * 18]
    finally:
        session.close()


def test_settings_refuse_an_abort_wait_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="abort_wait"):
        Class1Settings(abort_wait=-1)


class Timed(Tap):
    """What the session sent and what the modem said, each with its line time."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, bytes]] = []
        self.heard: list[tuple[float, bytes]] = []

    def to_modem(self, data: bytes) -> bytes:
        if data:
            self.sent.append((self.now, data))
        return data

    def to_dte(self, data: bytes) -> bytes:
        if data:
            self.heard.append((self.now, data))
        return data


def test_a_modem_without_fts_and_frs_gets_its_silences_from_the_session(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """HylaFAX's Cirrus and Topic prototypes (``Class1TCFWaitCmd: "<delay:7>"``...): no
    +FTS or +FRS goes to the modem, and TCF still waits 70 ms after the DCS went."""
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    settings = Class1Settings(has_fts=False, has_frs=False)
    tap = Timed()
    caller = modem_sender(sent, options, settings, tap)
    answerer = modem_receiver(received, options, settings, Tap())
    closing(caller, answerer)
    run_call(caller, answerer)

    assert_ok(caller, answerer)
    commands = b"".join(data for _, data in tap.sent)
    assert b"AT+FTS" not in commands
    assert b"AT+FRS" not in commands
    (tcf_at, _), *_ = [(at, data) for at, data in tap.sent if data.startswith(b"AT+FTM=")]
    dcs_ok_at = max(at for at, data in tap.heard if at <= tcf_at and b"OK" in data)
    assert tcf_at - dcs_ok_at >= 0.07
    assert_same_pages(sent, received)


def test_a_silence_before_each_receive_of_image_data(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """HylaFAX's ``Class1TCFRecvHackCmd: AT+FRS=1``: AT+FRS=1 goes before every +FRM
    (TCF and each page), and the call is unchanged."""
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = Commands()
    caller = modem_sender(sent, options, Class1Settings(), Tap())
    answerer = modem_receiver(received, options, Class1Settings(silence_before_receive=1), tap)
    closing(caller, answerer)
    run_call(caller, answerer)

    assert_ok(caller, answerer)
    commands = re.findall(rb"AT\+F[A-Z]{2}=\d+\r", bytes(tap.sent))
    receives = [i for i, command in enumerate(commands) if command.startswith(b"AT+FRM=")]
    assert len(receives) >= 3, "TCF and two pages"
    for index in receives:
        assert commands[index - 1] == b"AT+FRS=1\r", commands
    assert_same_pages(sent, received)


def test_connect_to_frh_for_a_carrier_that_is_no_v21_costs_nothing(tmp_path: Path) -> None:
    """HylaFAX's ``Class1HasRHConnectBug`` (Lucent, Mainpine): the modem says CONNECT to
    +FRH=3 for any carrier and hands over noise. No setting is needed: noise is no frame
    (none begins 0xFF), the ERROR ends it, +FRH=3 goes again and reads the real frame."""
    session = Class1Session(Role.CALL, receive_file=tmp_path / "r.tif", name="class1")
    try:
        session.start(0.0)  # after ATD's CONNECT: the modem "receives V.21"
        noise = bytes([0x12, 0x0D, 0x55, 0x10, 0x44, 0x99, 0x0A, 0x33]) * 20
        session.receive(noise + b"\x10\x03\r\nERROR\r\n", 0.5)
        assert session.data_to_send() == b"AT+FRH=3\r"
        assert frames_received(session) == []
        session.receive(b"\r\nCONNECT\r\n" + CSI + b"\x12\x34\x10\x03\r\nOK\r\n", 1.0)
        assert frames_received(session) == [CSI]
    finally:
        session.close()
