"""Faults between a Class1Session and its modem: each ends the call the right way.

A ``Tap`` between the session and spandsp's T.31 modem refuses a modulation, loses a DLE
ETX or silences the modem; cutting the line mid-page makes the modem itself say NO CARRIER.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from openfax.engine import (
    AudioSession,
    CompletionCode,
    Direction,
    FrameExchanged,
    Modem,
    Negotiated,
    PageReceived,
    PageSent,
    Role,
    SessionOptions,
    T30Failure,
)
from openfax.engine.class1 import Class1Session, Class1Settings
from tests.fax_images import read_pages
from tests.unit.engine.class1_link import (
    AudioEnd,
    ModemEnd,
    Tap,
    modem_ends,
    result_session,
    run_call,
)
from tests.unit.engine.test_class1 import assert_same_pages

MakeTiff = Callable[..., Path]
Register = Callable[..., None]


@pytest.fixture
def closing() -> Iterator[Register]:
    """Register the ends a test makes; they are closed after it, passed or failed."""
    ends: list[ModemEnd | AudioEnd] = []

    def register(*more: ModemEnd | AudioEnd) -> None:
        ends.extend(more)

    yield register
    for end in ends:
        end.close()


class RefuseModulations(Tap):
    """A modem without V.17 at 14 400 bit/s: +FTM=145 and +FTM=146 answer ERROR."""

    def __init__(self, refused: tuple[bytes, ...]) -> None:
        super().__init__()
        self.refused = refused
        self.refusals = 0

    def to_modem(self, data: bytes) -> bytes:
        for command in self.refused:
            if command in data:
                self.refusals += 1
                self.inject(b"\r\nERROR\r\n")
                return data.replace(command, b"")
        return data


class LoseOneDleEtx(Tap):
    """The first DLE ETX from the modem never arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def to_dte(self, data: bytes) -> bytes:
        if not self.lost and b"\x10\x03" in data:
            self.lost = True
            return data.replace(b"\x10\x03", b"", 1)
        return data


class Silence(Tap):
    """Once ``mute`` is set, nothing passes either way: the modem has stopped answering."""

    def __init__(self) -> None:
        super().__init__()
        self.mute = False

    def to_modem(self, data: bytes) -> bytes:
        return b"" if self.mute else data

    def to_dte(self, data: bytes) -> bytes:
        return b"" if self.mute else data


class Recorder(Tap):
    """Keeps what the modem said."""

    def __init__(self) -> None:
        super().__init__()
        self.heard = bytearray()

    def to_dte(self, data: bytes) -> bytes:
        self.heard += data
        return data


def sender_to_audio(
    send_file: Path, receive_file: Path, tap: Tap, options: SessionOptions
) -> tuple[ModemEnd, AudioEnd]:
    return (
        ModemEnd(
            Role.CALL,
            lambda role: Class1Session(role, options, send_file=send_file, name="class1-tx"),
            tap,
            name="tx",
        ),
        AudioEnd(AudioSession(Role.ANSWER, options, receive_file=receive_file, name="audio")),
    )


def test_a_modulation_the_modem_refuses_falls_back_to_the_next_lower(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    tap = RefuseModulations((b"AT+FTM=145\r", b"AT+FTM=146\r"))
    options = SessionOptions(modems=Modem.V17, ecm=False)
    caller, answerer = sender_to_audio(sent, received, tap, options)
    closing(caller, answerer)
    run_call(caller, answerer)

    assert tap.refusals >= 1
    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.OK, session.result.code.text
    rates = [e.bit_rate for e in caller.events if isinstance(e, Negotiated)]
    assert rates[-1] == 12000, f"negotiated {rates}"
    assert_same_pages(sent, received)


def test_a_lost_dle_etx_costs_a_repeated_frame_not_the_call(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    tap = LoseOneDleEtx()
    options = SessionOptions(modems=Modem.V29, ecm=False)
    caller, answerer = sender_to_audio(sent, received, tap, options)
    closing(caller, answerer)
    run_call(caller, answerer)

    assert tap.lost
    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.OK, session.result.code.text
    assert_same_pages(sent, received)


def test_no_carrier_mid_page_ends_the_call_with_the_pages_done(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = Recorder()
    receiver = ModemEnd(
        Role.ANSWER,
        lambda role: Class1Session(role, options, receive_file=received, name="class1-rx"),
        tap,
        name="rx",
    )
    caller = AudioEnd(AudioSession(Role.CALL, options, send_file=sent, name="audio"))
    heard_at_cut = 0

    def second_page_under_way() -> bool:
        nonlocal heard_at_cut
        session = receiver.session
        started = (
            session is not None
            and any(isinstance(e, PageReceived) for e in receiver.events)
            and session.step == "rx data: image"
        )
        if started and not heard_at_cut:
            heard_at_cut = len(tap.heard)
        return started and len(tap.heard) > heard_at_cut + 2000

    closing(receiver, caller)
    run_call(caller, receiver, cut_when=second_page_under_way)

    assert b"NO CARRIER" in tap.heard[heard_at_cut:], "the modem reported the carrier lost"
    session = result_session(receiver)
    assert session.result is not None
    assert session.result.code.cause is T30Failure.LINE_DROPPED, session.result.code.text
    assert session.result.pages == 1
    first_sent, kept = read_pages(sent)[0], read_pages(received)
    assert len(kept) == 1, "the page received whole is kept, the broken one is not"
    assert np.array_equal(first_sent, kept[0])


def test_a_modem_that_stops_answering_ends_the_call_as_dropped(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    tap = Silence()
    options = SessionOptions(modems=Modem.V17, ecm=True)
    settings = Class1Settings(response_timeout=2.0, drain_timeout=10.0)
    caller = ModemEnd(
        Role.CALL,
        lambda role: Class1Session(
            role, options, send_file=sent, settings=settings, name="class1-tx"
        ),
        tap,
        name="tx",
    )
    answerer = AudioEnd(AudioSession(Role.ANSWER, options, receive_file=received, name="audio"))

    def first_page_confirmed() -> bool:
        tap.mute = tap.mute or any(isinstance(e, PageSent) and e.confirmed for e in caller.events)
        return False

    closing(caller, answerer)
    ended_at = run_call(caller, answerer, cut_when=first_page_confirmed)

    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.CALLDROPPED, session.result.code.text
    assert session.result.code.cause is T30Failure.LINE_DROPPED
    assert session.result.pages == 1
    assert ended_at < 120, "the session gave up on the silent modem by its own deadlines"


def test_a_modem_that_never_ends_its_data_is_cut_with_memory_bounded(tmp_path: Path) -> None:
    session = Class1Session(Role.CALL, receive_file=tmp_path / "received.tif", name="class1")
    session.start(0.0)
    junk = bytes(range(0x20, 0x80)) * 40  # no DLE: the V.21 frame never ends
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        aborts = 0
        for block in range(1000):
            session.receive(b"\xff\x03" + junk, block * 0.01)
            aborts += session.data_to_send().count(b"\x18")
        growth = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
        session.close()
    assert aborts >= 1, "the receive is aborted once the frame is too long"
    assert growth < 256 * 1024, f"{growth} bytes kept for 3.8 MB of garbage"


def test_dropouts_in_ecm_data_cost_a_repeated_block_not_the_page(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """20 ms of silence thrice in the image: the modem loses the carrier, the receiver
    asks again for the frames it missed (PPR) and the page arrives whole."""
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V17, ecm=True)
    caller, answerer = modem_ends(options, sent, received)
    dropouts: list[int] = []

    def dropout(block: int, audio: bytes) -> bytes:
        sending = caller.session is not None and caller.session.step == "tx data: ecm"
        if sending and len(dropouts) < 3 and block % 25 == 0:
            dropouts.append(block)
            return bytes(len(audio))
        return audio

    try:
        run_call(caller, answerer, noise=dropout)
        assert len(dropouts) == 3
        for end in (caller, answerer):
            session = result_session(end)
            assert session.result is not None
            assert session.result.code is CompletionCode.OK, session.result.code.text
            assert session.result.pages == 2
        asked_again = [
            e for e in answerer.events if isinstance(e, FrameExchanged) and e.name == "PPR"
        ]
        assert asked_again, "the receiver asked for the lost frames"
        assert_same_pages(sent, received)
    finally:
        caller.close()
        answerer.close()


def test_hangup_mid_call_ends_the_session_as_dropped_with_the_pages_done(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    caller, answerer = sender_to_audio(sent, received, Tap(), options)

    def hang_up_after_page_one() -> bool:
        session = caller.session
        page_one_confirmed = any(isinstance(e, PageSent) and e.confirmed for e in caller.events)
        if session is not None and not session.done and page_one_confirmed:
            session.hangup()
        return caller.done

    closing(caller, answerer)
    run_call(caller, answerer, cut_when=hang_up_after_page_one)

    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.CALLDROPPED
    assert session.result.pages == 1
    assert session.next_timer() is None
    assert session.data_to_send() == b""


def test_fcerror_when_the_far_end_repeats_a_command_reads_the_frame(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """The receiver's CFR is lost on the line: the sender repeats DCS and TCF while the
    receiver's modem waits for the page (+FRM), hears V.21 and says +FCERROR; the receiver
    reads the DCS with +FRH and the call goes on."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = Recorder()
    caller, answerer = modem_ends(options, sent, received, answerer_tap=tap)
    transmissions = 0
    last_step = ""

    def lose_the_second_transmission(block: int, audio: bytes) -> bytes:
        nonlocal transmissions, last_step
        step = answerer.session.step if answerer.session is not None else ""
        if step != last_step and step == "tx frames: frames":
            transmissions += 1
        last_step = step
        return bytes(len(audio)) if transmissions == 2 and step == "tx frames: frames" else audio

    try:
        run_call(caller, answerer, back_noise=lose_the_second_transmission)
        assert b"\r\n+FCERROR\r\n" in tap.heard
        received_frames = [
            e.name
            for e in answerer.events
            if isinstance(e, FrameExchanged) and e.direction is Direction.RECEIVED
        ]
        assert received_frames.count("DCS") == 2
        for end in (caller, answerer):
            session = result_session(end)
            assert session.result is not None
            assert session.result.code is CompletionCode.OK, session.result.code.text
        assert_same_pages(sent, received)
    finally:
        caller.close()
        answerer.close()


class Timeline(Tap):
    """Notes when each command went to the modem and when it said CONNECT, and when the
    first bytes after each CONNECT went."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, bytes]] = []
        self.connects: list[float] = []

    def to_modem(self, data: bytes) -> bytes:
        if data:
            self.sent.append((self.now, data))
        return data

    def to_dte(self, data: bytes) -> bytes:
        if b"CONNECT" in data:
            self.connects.append(self.now)
        return data


def test_image_data_waits_the_connect_delay_a_modem_needs(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=False)
    tap = Timeline()
    settings = Class1Settings(connect_delay=0.3)
    caller = ModemEnd(
        Role.CALL,
        lambda role: Class1Session(
            role, options, send_file=sent, settings=settings, name="class1-tx"
        ),
        tap,
        name="tx",
    )
    answerer = AudioEnd(AudioSession(Role.ANSWER, options, receive_file=received, name="audio"))
    closing(caller, answerer)
    run_call(caller, answerer)

    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.OK, session.result.code.text
    assert_same_pages(sent, received)
    ftm = [at for at, data in tap.sent if data.startswith(b"AT+FTM=")]
    assert len(ftm) == 2, "TCF and the page"
    for asked in ftm:
        connect = min(at for at in tap.connects if at >= asked)
        first_data = min(at for at, data in tap.sent if at > connect)
        assert first_data >= connect + 0.3


def test_a_modem_refusing_the_page_modulation_after_training_ends_the_call(
    make_tiff: MakeTiff, tmp_path: Path, closing: Register
) -> None:
    """+FTM=145 (TCF) works, +FTM=146 (the page, short training) answers ERROR: T.30 has no
    way to retrain before a page, so the call ends as dropped and the job is retried."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    tap = RefuseModulations((b"AT+FTM=146\r",))
    options = SessionOptions(modems=Modem.V17, ecm=False)
    caller, answerer = sender_to_audio(sent, received, tap, options)
    closing(caller, answerer)
    run_call(caller, answerer)

    assert tap.refusals == 1
    session = result_session(caller)
    assert session.result is not None
    assert session.result.code is CompletionCode.CALLDROPPED, session.result.code.text
    assert session.result.pages == 0


def test_the_abort_before_the_hang_up_fits_what_the_modem_does(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """Ended in the middle of sending (after ATA's CONNECT the modem takes V.21 frames from
    us), the modem is given DLE ETX, not a CAN it would send as data with the ATH after it;
    ended while receiving (after ATD's CONNECT), a CAN aborts the receive."""
    answering = Class1Session(Role.ANSWER, receive_file=tmp_path / "in.tif")
    calling = Class1Session(Role.CALL, send_file=make_tiff(pages=1))
    try:
        assert not answering.modem_idle
        answering.hangup()
        assert answering.done
        assert answering.modem_abort == b"\x10\x03"
        assert calling.modem_abort == b"\x18"
    finally:
        answering.close()
        calling.close()


def test_a_frame_whose_dle_etx_is_lost_is_taken_as_bad_at_once(make_tiff: MakeTiff) -> None:
    """The modem's OK comes right after a frame's bytes, its DLE ETX lost: the frame is bad
    and the next is asked for at once, not after a silence long enough for T.30 to end the
    call for a frame lasting too long."""
    session = Class1Session(Role.CALL, send_file=make_tiff(pages=1))
    try:
        session.start(0.0)
        assert session.data_to_send() == b""
        csi = bytes([0xFF, 0x03, 0x40]) + b"4321" + bytes([0x12, 0x34])  # and its FCS
        session.receive(csi + b"\r\nO", 0.1)
        assert session.data_to_send() == b""
        session.receive(b"K\r\n", 0.2)
        assert session.data_to_send() == b"AT+FRH=3\r"
        assert not session.done
    finally:
        session.close()
