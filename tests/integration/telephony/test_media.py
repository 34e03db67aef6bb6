"""Media over real UDP sockets on 127.0.0.1: two MediaSessions fax each other in G.711 and
T.38, through a lossy relay, and across a switch from audio to T.38 (a re-INVITE)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from openfax.engine import (
    AudioSession,
    CompletionCode,
    Event,
    FaxSession,
    PageReceived,
    Role,
    T38Session,
)
from openfax.errors import TelephonyError
from openfax.telephony.media import MediaSession
from openfax.telephony.sdp import (
    LocalMedia,
    NegotiatedStream,
    Origin,
    StreamKind,
    make_answer,
    make_offer,
    read_answer,
)
from tests.fax_images import read_pages
from tests.relay import LossyRelay
from tests.waiting import until

MakeTiff = Callable[..., Path]
HOST = "127.0.0.1"
ORIGIN = Origin("-", 1, 1, "IN", "IP4", HOST)


def negotiate(
    caller: MediaSession,
    answerer: MediaSession,
    *,
    t38: bool,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    caller_ports: tuple[int, int] | None = None,
    answerer_ports: tuple[int, int] | None = None,
) -> tuple[NegotiatedStream, NegotiatedStream]:
    """Offer and answer as SIP would carry them; the ports may be a relay's in between."""
    a_audio, a_t38 = caller_ports or (caller.audio_port, caller.t38_port)
    b_audio, b_t38 = answerer_ports or (answerer.audio_port, answerer.t38_port)
    offer = make_offer(
        LocalMedia(HOST, a_audio, a_t38, codecs=codecs), ORIGIN, audio=not t38, t38=t38
    )
    answer, theirs = make_answer(offer, LocalMedia(HOST, b_audio, b_t38, codecs=codecs), ORIGIN)
    return read_answer(offer, answer), theirs


def session_for(
    stream: NegotiatedStream, role: Role, *, send: Path | None = None, receive: Path | None = None
) -> FaxSession:
    if stream.kind is StreamKind.AUDIO:
        return AudioSession(role, send_file=send, receive_file=receive, name=role.name.lower())
    return T38Session(
        role, send_file=send, receive_file=receive, paced=False, name=role.name.lower()
    )


async def fax(
    sent: Path,
    received: Path,
    *,
    t38: bool,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    relay: LossyRelay | None = None,
) -> tuple[MediaSession, MediaSession, FaxSession, FaxSession]:
    caller = await MediaSession.open(HOST, name="caller")
    answerer = await MediaSession.open(HOST, name="answerer")
    try:
        caller_ports = answerer_ports = None
        if relay is not None:
            caller_ports = (
                await relay.forward((HOST, caller.audio_port), (HOST, 0)),
                await relay.forward((HOST, caller.t38_port), (HOST, 0)),
            )
            answerer_ports = (
                await relay.forward((HOST, answerer.audio_port), (HOST, 0)),
                await relay.forward((HOST, answerer.t38_port), (HOST, 0)),
            )
        ours, theirs = negotiate(
            caller,
            answerer,
            t38=t38,
            codecs=codecs,
            caller_ports=caller_ports,
            answerer_ports=answerer_ports,
        )
        sending = session_for(ours, Role.CALL, send=sent)
        receiving = session_for(theirs, Role.ANSWER, receive=received)
        caller.connect(ours, sending)
        answerer.connect(theirs, receiving)
        async with asyncio.timeout(120):
            await asyncio.gather(caller.run(), answerer.run())
        sending.close()
        receiving.close()
        return caller, answerer, sending, receiving
    finally:
        caller.close()
        answerer.close()
        if relay is not None:
            relay.close()


def assert_received_whole(sent: Path, received: Path, a: FaxSession, b: FaxSession) -> None:
    assert a.result is not None
    assert b.result is not None
    assert a.result.code is CompletionCode.OK, a.result.text
    assert b.result.code is CompletionCode.OK, b.result.text
    sent_pages, received_pages = read_pages(sent), read_pages(received)
    assert len(received_pages) == len(sent_pages)
    assert all((x == y).all() for x, y in zip(sent_pages, received_pages, strict=True))


def test_a_t38_fax_crosses_real_udp_sockets(
    make_tiff: MakeTiff, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    with caplog.at_level(logging.INFO, logger="openfax.telephony.media"):
        caller, answerer, a, b = asyncio.run(fax(sent, received, t38=True))
    assert_received_whole(sent, received, a, b)
    assert caller.kind is StreamKind.T38
    assert answerer.statistics.received > 0
    assert caller.statistics.rejected == answerer.statistics.rejected == 0
    figures = answerer.figures()
    assert figures["kind"] == "t38"
    assert figures["udptl_received"] == answerer.statistics.received
    assert answerer.statistics.ticks > 0
    logged = [r.getMessage() for r in caplog.records if "media statistics" in r.getMessage()]
    assert len(logged) == 2
    assert any(f"ticks={answerer.statistics.ticks} " in m for m in logged)


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_a_g711_fax_crosses_real_udp_sockets(
    make_tiff: MakeTiff, tmp_path: Path, codec: str
) -> None:
    # Real time: the received audio follows the packets, not the clock, so a late loop
    # delays the fax but does not break it; at twice real time a loaded machine's loop fell
    # behind by the 2 s of line time after which silence is played for a far end gone quiet.
    sent, received = make_tiff(pages=2 if codec == "PCMU" else 1), tmp_path / "received.tif"
    _, answerer, a, b = asyncio.run(fax(sent, received, t38=False, codecs=(codec,)))
    assert_received_whole(sent, received, a, b)
    jitter = answerer.jitter_buffer
    assert jitter is not None
    assert jitter.codec.name == codec
    assert jitter.statistics.received > 500
    assert jitter.statistics.gaps == 0


def test_a_g711_fax_survives_an_event_loop_held_again_and_again(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """The loop blocked 150 ms every half second: both media clocks
    catch up in bursts, and each burst's packets reach the other end after its own burst
    of ticks. A 60 ms playout clock underran at every hold; now nothing is concealed."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"

    async def hold_the_loop() -> None:
        while True:
            await asyncio.sleep(0.5)  # the holds under test, every half second
            time.sleep(0.15)  # noqa: ASYNC251 (the hold itself)

    async def held() -> tuple[MediaSession, MediaSession, FaxSession, FaxSession]:
        holder = asyncio.ensure_future(hold_the_loop())
        try:
            return await fax(sent, received, t38=False)
        finally:
            holder.cancel()

    caller, answerer, a, b = asyncio.run(held())
    assert_received_whole(sent, received, a, b)
    assert caller.statistics.max_lateness >= 0.1
    assert caller.statistics.catch_up_ticks > 0
    for media in (caller, answerer):
        jitter = media.jitter_buffer
        assert jitter is not None
        assert (jitter.statistics.gaps, jitter.statistics.late) == (0, 0)


@pytest.mark.parametrize("loss", [0.05, 0.10])
def test_t38_with_redundancy_completes_through_a_lossy_relay(
    make_tiff: MakeTiff, tmp_path: Path, loss: float
) -> None:
    sent, received = make_tiff(pages=2), tmp_path / "received.tif"
    relay = LossyRelay(loss, seed=7)
    caller, answerer, a, b = asyncio.run(fax(sent, received, t38=True, relay=relay))
    assert_received_whole(sent, received, a, b)
    assert relay.counts.dropped > 0
    receivers = [media.udptl_receiver for media in (caller, answerer)]
    assert all(receiver is not None for receiver in receivers)
    recovered = sum(r.statistics.recovered_by_redundancy for r in receivers if r is not None)
    assert recovered > 0


def test_a_call_switches_from_audio_to_t38_and_the_fax_starts_again(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """A re-INVITE a second into a G.711 call: both ends restart T.30 over T.38."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    events: list[Event] = []

    async def call() -> tuple[FaxSession, FaxSession]:
        caller = await MediaSession.open(HOST, name="caller")
        answerer = await MediaSession.open(
            HOST, name="answerer", on_event=lambda session, event: events.append(event)
        )
        try:
            ours, theirs = negotiate(caller, answerer, t38=False)
            audio = [
                session_for(ours, Role.CALL, send=sent),
                session_for(theirs, Role.ANSWER, receive=received),
            ]
            caller.connect(ours, audio[0])
            answerer.connect(theirs, audio[1])
            runs = asyncio.gather(caller.run(), answerer.run())
            await until(lambda: audio[1].line_seconds >= 1.0, "a second of the call in G.711")
            assert not any(isinstance(event, PageReceived) for event in events)
            ours, theirs = negotiate(answerer, caller, t38=True)  # the answerer re-INVITEs
            t38 = [
                session_for(theirs, Role.CALL, send=sent),
                session_for(ours, Role.ANSWER, receive=received),
            ]
            caller.connect(theirs, t38[0])
            answerer.connect(ours, t38[1])
            for session in audio:
                session.close()
            async with asyncio.timeout(60):
                await runs
            for session in t38:
                session.close()
            assert caller.kind is answerer.kind is StreamKind.T38
            return t38[0], t38[1]
        finally:
            caller.close()
            answerer.close()

    a, b = asyncio.run(call())
    assert_received_whole(sent, received, a, b)
    assert sum(isinstance(event, PageReceived) for event in events) == 1


def test_malformed_datagrams_are_logged_and_dropped(
    make_tiff: MakeTiff, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> MediaSession:
        media = await MediaSession.open(HOST, name="target")
        other = await MediaSession.open(HOST, name="other")
        ours, _ = negotiate(media, other, t38=True)
        session = session_for(ours, Role.ANSWER, receive=tmp_path / "r.tif")
        media.connect(ours, session)
        loop = asyncio.get_running_loop()
        sender, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(HOST, 0)
        )
        for junk in (b"\x00", b"\x00\x01\x7f", b"\x80" * 3):
            sender.sendto(junk, (HOST, media.t38_port))
        sender.sendto(b"\x10", (HOST, media.audio_port))
        await until(lambda: media.statistics.rejected >= 4, "the four datagrams are rejected")
        sender.close()
        media.close()
        other.close()
        session.close()
        return media

    with caplog.at_level(logging.INFO, logger="openfax.telephony.media"):
        media = asyncio.run(run())
    assert media.statistics.rejected == 4
    assert sum("datagram rejected" in record.message for record in caplog.records) == 3


def test_a_port_range_with_no_free_port_is_a_clear_error() -> None:
    async def run() -> None:
        first = await MediaSession.open(HOST, range(47000, 47010))
        try:
            with pytest.raises(TelephonyError, match="no free UDP port"):
                await MediaSession.open(HOST, range(first.audio_port, first.audio_port + 1))
        finally:
            first.close()

    asyncio.run(run())


def test_two_calls_fill_a_range_of_four_ports_rtp_even_udptl_odd() -> None:
    """UDPTL never takes an even port, which another call's RTP would need."""

    async def run() -> list[MediaSession]:
        ports = range(47020, 47024)
        calls = [await MediaSession.open(HOST, ports) for _ in range(2)]
        for media in calls:
            media.close()
        with pytest.raises(TelephonyError, match="no free UDP port"):
            await MediaSession.open(HOST, range(47020, 47021))  # no odd port for UDPTL
        return calls

    calls = asyncio.run(run())
    assert {port for media in calls for port in (media.audio_port, media.t38_port)} == set(
        range(47020, 47024)
    )
    assert all(media.audio_port % 2 == 0 and media.t38_port % 2 == 1 for media in calls)
