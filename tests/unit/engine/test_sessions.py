"""Real T.30 transfers between two spandsp sessions, over audio and over T.38."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openfax.engine import (
    AudioSession,
    CompletionCode,
    Compression,
    Direction,
    Event,
    FaxSession,
    FrameExchanged,
    Modem,
    Negotiated,
    PageReceived,
    PageSent,
    Resolution,
    Role,
    SessionOptions,
    T30Failure,
    T38Session,
    run_pair,
)
from openfax.errors import FaxFileError
from tests.fax_images import read_pages

TRANSPORTS = ["audio", "t38"]
MakeTiff = Callable[..., Path]


def make_pair(
    transport: str,
    send_file: Path,
    receive_file: Path,
    caller: SessionOptions | None = None,
    answerer: SessionOptions | None = None,
    *,
    paced: bool = False,
) -> tuple[FaxSession, FaxSession]:
    if transport == "audio":
        return (
            AudioSession(Role.CALL, caller, send_file=send_file, name="caller"),
            AudioSession(Role.ANSWER, answerer, receive_file=receive_file, name="answerer"),
        )
    return (
        T38Session(Role.CALL, caller, send_file=send_file, paced=paced, name="caller"),
        T38Session(Role.ANSWER, answerer, receive_file=receive_file, paced=paced, name="answerer"),
    )


def collect(events: dict[str, list[Event]]) -> Callable[[FaxSession, Event], None]:
    def sink(session: FaxSession, event: Event) -> None:
        events.setdefault(session.name, []).append(event)

    return sink


def assert_same_pages(sent: Path, received: Path) -> None:
    sent_pages, received_pages = read_pages(sent), read_pages(received)
    assert len(received_pages) == len(sent_pages)
    for number, (a, b) in enumerate(zip(sent_pages, received_pages, strict=True), start=1):
        assert a.shape == b.shape, f"page {number} geometry"
        assert np.array_equal(a, b), f"page {number}: {np.count_nonzero(a != b)} pixels differ"


@pytest.mark.parametrize(
    ("transport", "modem", "ecm"),
    list(itertools.product(TRANSPORTS, [Modem.V17, Modem.V29, Modem.V27TER], [True, False])),
)
def test_every_modem_and_ecm_delivers_identical_pages(
    make_tiff: MakeTiff, tmp_path: Path, transport: str, modem: Modem, ecm: bool
) -> None:
    sent = make_tiff(pages=3)
    received = tmp_path / "received.tif"
    options = SessionOptions(ecm=ecm, modems=modem)
    caller, answerer = make_pair(transport, sent, received, options, options)
    events: dict[str, list[Event]] = {}

    link = run_pair(caller, answerer, on_event=collect(events))

    assert link.finished
    assert caller.result is not None
    assert answerer.result is not None
    assert caller.result.code is CompletionCode.OK, caller.result.text
    assert answerer.result.code is CompletionCode.OK, answerer.result.text
    assert caller.result.pages == answerer.result.pages == 3
    negotiated = [e for e in events["caller"] if isinstance(e, Negotiated)]
    assert negotiated[0].modem is modem
    assert negotiated[0].ecm is ecm
    assert negotiated[0].compression is (Compression.MMR if ecm else Compression.MR)
    assert_same_pages(sent, received)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_events_tell_the_story_of_the_call(
    make_tiff: MakeTiff, tmp_path: Path, transport: str
) -> None:
    sent = make_tiff(pages=2)
    caller, answerer = make_pair(
        transport,
        sent,
        tmp_path / "received.tif",
        SessionOptions(ident="+1 555 0100", modems=Modem.V29, ecm=False),
        SessionOptions(ident="+1 555 0199"),
    )
    events: dict[str, list[Event]] = {}
    run_pair(caller, answerer, on_event=collect(events))

    sender_frames = [e.name for e in events["caller"] if isinstance(e, FrameExchanged)]
    assert sender_frames[:2] == ["CSI", "DIS"]
    assert sender_frames[-1] == "DCN"
    assert "DCS" in sender_frames
    assert "TSI" in sender_frames
    sent_dcs = next(
        e for e in events["caller"] if isinstance(e, FrameExchanged) and e.name == "DCS"
    )
    assert sent_dcs.direction is Direction.SENT

    caller_negotiated = next(e for e in events["caller"] if isinstance(e, Negotiated))
    answerer_negotiated = next(e for e in events["answerer"] if isinstance(e, Negotiated))
    assert caller_negotiated.remote_ident == "+1 555 0199"
    assert answerer_negotiated.remote_ident == "+1 555 0100"
    assert (caller_negotiated.modem, caller_negotiated.bit_rate) == (Modem.V29, 9600)
    assert caller_negotiated.resolution is Resolution.FINE

    pages_sent = [e for e in events["caller"] if isinstance(e, PageSent)]
    assert [(p.number, p.confirmed, p.response) for p in pages_sent] == [
        (1, True, "MCF"),
        (2, True, "MCF"),
    ]
    pages_received = [e for e in events["answerer"] if isinstance(e, PageReceived)]
    assert [p.number for p in pages_received] == [1, 2]
    assert all(p.width == 1728 and p.bad_rows == 0 for p in pages_received)
    assert caller.result is not None
    assert caller.result.statistics.pages_sent == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_receiver_choices_limit_what_is_negotiated(
    make_tiff: MakeTiff, tmp_path: Path, transport: str
) -> None:
    sent = make_tiff(pages=1, y_dpi=98)
    caller, answerer = make_pair(
        transport,
        sent,
        tmp_path / "received.tif",
        SessionOptions(),
        SessionOptions(ecm=False, compressions=Compression.MH, modems=Modem.V27TER),
    )
    events: dict[str, list[Event]] = {}
    run_pair(caller, answerer, on_event=collect(events))

    negotiated = next(e for e in events["caller"] if isinstance(e, Negotiated))
    assert (negotiated.modem, negotiated.bit_rate) == (Modem.V27TER, 4800)
    assert negotiated.compression is Compression.MH
    assert negotiated.resolution is Resolution.STANDARD
    assert not negotiated.ecm
    assert_same_pages(sent, tmp_path / "received.tif")


def seconds_into_page(events: list[Event], page: int) -> Callable[[float], bool]:
    """A line cutter that fires shortly after the caller starts sending ``page``."""
    started: list[float] = []

    def cut(line_seconds: float) -> bool:
        pages_done = sum(1 for e in events if isinstance(e, PageSent) and e.confirmed)
        if pages_done >= page - 1 and not started:
            started.append(line_seconds)
        return bool(started) and line_seconds > started[0] + 2.0

    return cut


@pytest.mark.parametrize(("transport", "ecm"), list(itertools.product(TRANSPORTS, [True, False])))
def test_line_going_silent_mid_page_keeps_the_pages_done(
    make_tiff: MakeTiff, tmp_path: Path, transport: str, ecm: bool
) -> None:
    """Over T.38 with ECM, spandsp's receiver would wait forever: the idle watchdog ends it."""
    sent = make_tiff(pages=3)
    received = tmp_path / "received.tif"
    options = SessionOptions(ecm=ecm, modems=Modem.V27TER)
    caller, answerer = make_pair(transport, sent, received, options, options, paced=True)
    caller_events: list[Event] = []

    def sink(session: FaxSession, event: Event) -> None:
        if session is caller:
            caller_events.append(event)

    link = run_pair(
        caller, answerer, on_event=sink, cut_after=seconds_into_page(caller_events, page=2)
    )

    assert link.finished, "both ends must reach phase E on their own timers"
    assert caller.result is not None
    assert answerer.result is not None
    assert not caller.result.ok
    assert not answerer.result.ok
    assert caller.result.pages == 1
    assert answerer.result.pages == 1
    assert caller.result.cause is T30Failure.LINE_DROPPED
    assert answerer.result.cause is T30Failure.LINE_DROPPED
    received_pages = read_pages(received)
    assert len(received_pages) == 1
    assert np.array_equal(received_pages[0], read_pages(sent)[0])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hanging_up_after_a_page_reports_call_dropped(
    make_tiff: MakeTiff, tmp_path: Path, transport: str
) -> None:
    sent = make_tiff(pages=3)
    caller, answerer = make_pair(transport, sent, tmp_path / "received.tif")

    def hang_up_after_first_page(session: FaxSession, event: Event) -> None:
        if session is caller and isinstance(event, PageSent) and event.number == 1:
            caller.hangup()
            answerer.hangup()

    run_pair(caller, answerer, on_event=hang_up_after_first_page)

    assert caller.result is not None
    assert answerer.result is not None
    assert caller.result.code is CompletionCode.CALLDROPPED
    assert caller.result.cause is T30Failure.LINE_DROPPED
    assert caller.result.pages == 1
    assert answerer.result.pages == 1
    assert len(read_pages(tmp_path / "received.tif")) == 1


def test_paced_t38_takes_the_time_a_line_would(make_tiff: MakeTiff, tmp_path: Path) -> None:
    sent = make_tiff(pages=2)
    options = SessionOptions(modems=Modem.V29)
    caller = T38Session(Role.CALL, options, send_file=sent, paced=True)
    answerer = T38Session(Role.ANSWER, options, receive_file=tmp_path / "r.tif", paced=True)
    link = run_pair(caller, answerer)
    assert caller.result is not None
    assert caller.result.ok
    assert caller.result.pages == 2
    assert link.line_seconds > 5, "paced packets are spread over the time a modem needs"
    assert_same_pages(sent, tmp_path / "r.tif")


def test_spandsp_flow_log_reaches_python_logging(
    make_tiff: MakeTiff, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="openfax.engine.spandsp"):
        caller, answerer = make_pair("t38", make_tiff(pages=1), tmp_path / "r.tif")
        run_pair(caller, answerer)
    messages = [r.getMessage() for r in caplog.records if r.name == "openfax.engine.spandsp"]
    assert any("[caller]" in m and "DCS" in m for m in messages)
    assert any("[answerer]" in m for m in messages)


def test_nobody_answering_ends_with_no_fax(make_tiff: MakeTiff) -> None:
    caller = AudioSession(Role.CALL, send_file=make_tiff(pages=1))
    silence = bytes(2 * 160)
    while not caller.done and caller.line_seconds < 120:
        caller.tx(160)
        caller.rx(silence)
    assert caller.result is not None
    assert caller.result.cause is T30Failure.NO_FAX
    assert caller.result.pages == 0
    assert caller.line_seconds < 120


def test_t38_receiver_without_packets_gives_up(tmp_path: Path) -> None:
    answerer = T38Session(Role.ANSWER, receive_file=tmp_path / "r.tif", paced=False)
    while not answerer.done and answerer.line_seconds < 120:
        answerer.advance(160)
        answerer.packets_to_send()
    assert answerer.result is not None
    assert not answerer.result.ok
    assert answerer.result.pages == 0


def test_superfine_page_to_a_standard_only_receiver_is_refused(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    sent = make_tiff(pages=1, y_dpi=391)
    caller, answerer = make_pair(
        "audio",
        sent,
        tmp_path / "received.tif",
        answerer=SessionOptions(resolutions=Resolution.STANDARD),
    )
    run_pair(caller, answerer)
    assert caller.result is not None
    assert caller.result.code is CompletionCode.NORESSUPPORT
    assert caller.result.cause is T30Failure.REMOTE_INCAPABLE


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "no such file"), (b"", "is empty"), (b"%PDF-1.4 not a tiff", "is not a TIFF")],
)
def test_a_bad_file_to_send_is_refused_before_the_call(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "bad.tif"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FaxFileError, match=reason) as caught:
        AudioSession(Role.CALL, send_file=path)
    assert str(path) in str(caught.value)


def test_a_corrupt_tiff_ends_the_call_with_a_document_cause(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.tif"
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    caller, answerer = make_pair("audio", path, tmp_path / "received.tif")
    run_pair(caller, answerer, max_line_seconds=120)
    assert caller.result is not None
    assert caller.result.cause is T30Failure.DOCUMENT


def test_receive_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FaxFileError, match="does not exist"):
        AudioSession(Role.ANSWER, receive_file=tmp_path / "missing" / "r.tif")


def test_ident_longer_than_t30_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 20"):
        SessionOptions(ident="1" * 21)


def test_close_mid_call_frees_and_finishes(make_tiff: MakeTiff, tmp_path: Path) -> None:
    caller, answerer = make_pair("audio", make_tiff(pages=1), tmp_path / "received.tif")
    for _ in range(100):
        answerer.rx(caller.tx(160))
        caller.rx(answerer.tx(160))
    caller.close()
    answerer.close()
    assert caller.done
    assert answerer.done
    assert caller.tx(160) == bytes(320)
