"""The modem provider against spandsp's T.31 modem on a pty: the port opened in raw mode by
the event loop, the probe shown on the line, dialling to CONNECT, the call causes of BUSY,
NO ANSWER and NO DIALTONE, rings and the answer, a cancelled dial hung up, a port that
vanishes or a modem that falls silent taking the line out of service until it is back, and
a fax sent and one received through the Class 1 driver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from openfax.engine import AudioSession, Role, SessionOptions
from openfax.engine.t31 import CallEvent
from openfax.model import ProviderStatus, ReceiveMode
from openfax.providers import (
    Answered,
    CallCause,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceState,
    Dialing,
    RegistrationState,
    Ringing,
)
from openfax.providers.modem.config import ModemLineConfig
from openfax.providers.modem.provider import ModemLine, ModemProvider
from openfax.virtual_modem import ModemBridge, ModemPair, PtyLine
from tests.integration.providers.modem_peer import ScriptedModem
from tests.unit.providers.test_loopback import Service, assert_same_pages, make_tiff, request
from tests.waiting import until

WAIT = 30.0


def line_config(link: Path, **options: Any) -> ModemLineConfig:
    options.setdefault("command_timeout", 1.0)
    options.setdefault("reopen_seconds", 0.2)
    return ModemLineConfig(device=str(link), number="+4930123457", **options)


def run(
    tmp_path: Path,
    scenario: Callable[[ModemProvider, ModemLine, Service], Awaitable[None]],
    **options: Any,
) -> Service:
    """Run ``scenario`` against a started one-line provider on ``tmp_path/modem``."""
    recorder = Service(tmp_path)
    provider = ModemProvider([line_config(tmp_path / "modem", **options)])
    provider.set_listener(recorder)

    async def main() -> None:
        async with provider:
            await asyncio.wait_for(scenario(provider, provider.devices[0], recorder), 120)

    asyncio.run(main())
    return recorder


async def ready(line: ModemLine) -> None:
    await until(
        lambda: (
            line.registration.state is RegistrationState.REGISTERED
            and line.state is DeviceState.IDLE
        ),
        lambda: f"{line.name} ready (it is {line.registration}, {line.state})",
        WAIT,
    )


async def out_of_service(line: ModemLine) -> str:
    registration = await until(
        lambda: line.registration if line.registration.failed else None,
        lambda: f"{line.name} out of service (it is {line.registration})",
        WAIT,
    )
    return registration.error


def test_the_probe_is_shown_on_the_line(tmp_path: Path) -> None:
    with ScriptedModem(tmp_path / "modem") as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, _: Service) -> None:
            await ready(line)
            assert line.info is not None
            assert "spandsp" in line.info.identity
            assert 145 in line.info.transmit
            assert 24 in line.info.receive
            assert line.quirks.reset_quiet == 0  # the known modem's quirks
            assert provider.status is ProviderStatus.SUCCESS
            assert provider.error == ""

        run(tmp_path, scenario)
    assert b"AT+FCLASS=1\r" in peer.received
    assert b"AT+FTM=?\r" in peer.received


@pytest.mark.parametrize(
    ("event", "cause"),
    [
        (CallEvent.BUSY, CallCause.BUSY),
        (CallEvent.NO_ANSWER, CallCause.NO_ANSWER),
        (CallEvent.NO_DIALTONE, CallCause.UNREACHABLE),
    ],
)
def test_dial_failures_are_call_causes(tmp_path: Path, event: CallEvent, cause: CallCause) -> None:
    sent = make_tiff(tmp_path, pages=1)
    with ScriptedModem(tmp_path / "modem", on_dial=event) as peer:
        progress: list[CallProgress] = []

        async def scenario(provider: ModemProvider, line: ModemLine, _: Service) -> None:
            await ready(line)
            outcome = await line.dial("555 1234", request(sent), progress=progress.append)
            assert outcome.cause is cause
            assert not outcome.connected
            await ready(line)  # hung up and initialised again

        run(tmp_path, scenario, dial_prefix="0,", dial_mode="pulse")
    assert peer.dialled == ["0,5551234"]
    assert b"ATDP0,5551234\r" in peer.received
    assert peer.hang_ups >= 1
    assert progress[0] == Dialing("555 1234")
    assert isinstance(progress[-1], CallEnded)


def test_a_cancelled_dial_hangs_up(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    with ScriptedModem(tmp_path / "modem", dial_delay=3600) as peer:
        progress: list[CallProgress] = []

        async def scenario(provider: ModemProvider, line: ModemLine, _: Service) -> None:
            await ready(line)
            dial = asyncio.ensure_future(line.dial("123", request(sent), progress=progress.append))
            await until(lambda: peer.dialled, "the dial reaching the modem", WAIT)
            hang_ups = peer.hang_ups
            dial.cancel()
            with pytest.raises(asyncio.CancelledError):
                await dial
            await until(lambda: peer.hang_ups > hang_ups, "the modem hung up", WAIT)
            await ready(line)

        run(tmp_path, scenario)
    assert isinstance(progress[-1], CallEnded)
    assert progress[-1].outcome.cause is CallCause.ABORTED


def test_rings_are_answered_after_the_configured_rings(tmp_path: Path) -> None:
    with ScriptedModem(tmp_path / "modem") as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            assert line.rings_before_answer == 2
            peer.ring()
            await until(lambda: service.incoming, "the first ring", WAIT)
            (call_id,) = service.incoming
            assert service.incoming[call_id] == [Ringing(1)]
            assert line.state is DeviceState.RINGING
            await asyncio.sleep(0)
            assert b"ATA" not in peer.received
            peer.ring()
            # No fax calls: the answer hears no fax and the call ends as not a fax call.
            await until(
                lambda: any(isinstance(e, CallEnded) for e in service.incoming[call_id]),
                "the call's end",
                WAIT,
            )
            await ready(line)

        service = run(tmp_path, scenario, rings_before_answer=2, answer_timeout=1.0)
    assert b"ATA\r" in peer.received
    (outcome,) = service.received()
    assert outcome.cause is CallCause.NO_FAX
    assert outcome.remote_number == ""


def test_a_modem_deaf_to_ath_gets_dtr_dropped_and_is_reset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sent = make_tiff(tmp_path, pages=1)
    with ScriptedModem(tmp_path / "modem", on_dial=CallEvent.BUSY) as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, _: Service) -> None:
            await ready(line)
            peer.deaf_to_ath = True
            outcome = await line.dial("123", request(sent))
            assert outcome.cause is CallCause.BUSY
            resets = peer.received.count(b"ATZ")
            await until(lambda: peer.received.count(b"ATZ") > resets, "the reset", WAIT)
            await ready(line)

        run(tmp_path, scenario)
    assert "the modem did not hang up; dropping DTR" in caplog.text


def test_answering_by_hand(tmp_path: Path) -> None:
    with ScriptedModem(tmp_path / "modem") as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            line.receive_mode = ReceiveMode.MANUAL_ANSWER
            assert not line.answer()
            peer.ring(3)
            await until(lambda: line.state is DeviceState.RINGING, "the rings", WAIT)
            assert b"ATA" not in peer.received
            assert line.answer()  # at once, not at a next ring (there is none)
            await until(lambda: service.received(), "the call's end", WAIT)
            await ready(line)

        service = run(tmp_path, scenario, answer_timeout=1.0)
    assert b"ATA\r" in peer.received
    (outcome,) = service.received()
    assert outcome.cause is CallCause.NO_FAX


def test_hanging_up_a_ringing_call(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "openfax.providers.modem")
    with ScriptedModem(tmp_path / "modem") as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            assert not line.hang_up()
            peer.ring()
            await until(lambda: line.state is DeviceState.RINGING, "the ring", WAIT)
            assert line.hang_up()
            await ready(line)
            peer.ring()  # the same call ringing on is not offered again
            await until(lambda: "rings on; that call was hung up" in caplog.text, "a ring", WAIT)

        service = run(tmp_path, scenario, rings_before_answer=5)
    (outcome,) = service.received()
    assert outcome.cause is CallCause.LINE_DROPPED
    assert outcome.detail.endswith("hung up")
    assert b"ATA" not in peer.received


def test_a_line_that_does_not_receive_lets_it_ring(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "openfax.providers.modem")
    with ScriptedModem(tmp_path / "modem") as peer:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            peer.ring(3)
            await until(lambda: caplog.text.count("does not receive") == 3, "3 rings", WAIT)
            assert line.state is DeviceState.IDLE

        service = run(tmp_path, scenario, receive=False)
    assert service.incoming == {}
    assert b"ATA" not in peer.received


def test_a_vanished_port_is_out_of_service_until_it_comes_back(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    sent = make_tiff(tmp_path, pages=1)
    peers = [ScriptedModem(link)]
    try:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            peers[0].vanish()
            error = await out_of_service(line)
            assert str(link) in error
            assert not line.can_send
            assert provider.status is ProviderStatus.CANT_INIT
            assert line.name in provider.error
            outcome = await line.dial("123", request(sent))
            assert outcome.cause is CallCause.LINE_UNAVAILABLE
            assert "not available" in outcome.detail
            peers.append(ScriptedModem(link))
            await ready(line)
            assert line.can_send
            assert provider.status is ProviderStatus.SUCCESS
            assert service.provider_errors[-1] == ""

        run(tmp_path, scenario)
    finally:
        for peer in peers:
            peer.close()


def test_a_missing_port_and_a_silent_modem(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    peers: list[ScriptedModem] = []
    try:

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            error = await out_of_service(line)
            assert "No such file or directory" in error
            peer = ScriptedModem(link)
            peers.append(peer)
            peer.silent = True
            error = await until(
                lambda: "no answer to" in line.registration.error and line.registration.error,
                lambda: f"the silent modem noticed ({line.registration})",
                WAIT,
            )
            assert "within 1 s" in error
            peer.silent = False
            await ready(line)

        run(tmp_path, scenario)
    finally:
        for peer in peers:
            peer.close()


def test_a_fax_goes_out_through_the_virtual_modem(tmp_path: Path) -> None:
    """A real fax answers (OpenFax's audio session behind the virtual modem, at real time):
    CONNECT once its V.21 is heard, then the Class 1 driver sends both pages, and they
    arrive pixel for pixel."""
    sent = make_tiff(tmp_path, pages=2)
    link = tmp_path / "modem"
    received = tmp_path / "received.tif"
    progress: list[CallProgress] = []

    async def main() -> CallOutcome:
        with PtyLine(link) as pty:
            session = AudioSession(Role.ANSWER, receive_file=received)
            bridge = asyncio.ensure_future(ModemBridge(pty, session, linger=1.0).run(200))
            provider = ModemProvider([line_config(link)])
            provider.set_listener(Service(tmp_path))
            async with provider:
                line = provider.devices[0]
                await ready(line)
                dial = line.dial("123", request(sent), progress=progress.append)
                outcome = await asyncio.wait_for(dial, 200)
                await asyncio.wait([bridge], timeout=20)
                await ready(line)  # hung up and reset for the next call
            bridge.cancel()
            await asyncio.gather(bridge, return_exceptions=True)
        return outcome

    outcome = asyncio.run(main())
    assert progress[:2] == [Dialing("123"), Answered()]
    assert isinstance(progress[-1], CallEnded)
    assert outcome.cause is CallCause.NONE, outcome
    assert outcome.pages == 2
    assert_same_pages(sent, received)


def test_a_fax_comes_in_through_the_virtual_modem(tmp_path: Path) -> None:
    """A real fax calls: the line answers after its two rings, the Class 1 driver receives
    the page, and the service is given it whole."""
    sent = make_tiff(tmp_path, pages=1)
    link = tmp_path / "modem"
    service = Service(tmp_path)

    async def main() -> None:
        with PtyLine(link) as pty:
            session = AudioSession(Role.CALL, SessionOptions(ident="SENDER"), send_file=sent)
            serving = ModemBridge(pty, session, linger=1.0, ring_interval=2.0).run(200)
            bridge = asyncio.ensure_future(serving)
            provider = ModemProvider([line_config(link, rings_before_answer=2)])
            provider.set_listener(service)
            async with provider:
                await until(service.received, "the fax received", 200)
                await asyncio.wait([bridge], timeout=20)
            bridge.cancel()
            await asyncio.gather(bridge, return_exceptions=True)

    asyncio.run(main())
    (outcome,) = service.received()
    assert outcome.cause is CallCause.NONE, outcome
    assert outcome.path is not None
    assert_same_pages(sent, outcome.path)


def test_two_openfax_modem_lines_fax_each_other_through_the_pair(tmp_path: Path) -> None:
    """Two lines of two providers on the two ports of a virtual modem pair, at real time:
    line A sends two pages, line B answers at the first ring, and every page arrives."""
    sent = make_tiff(tmp_path, pages=2)
    for end in ("a", "b"):
        (tmp_path / end).mkdir()
    callee = Service(tmp_path / "b")

    async def main() -> CallOutcome:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            calling = ModemProvider([line_config(pair.paths[0])])
            answering = ModemProvider([line_config(pair.paths[1], rings_before_answer=1)])
            calling.set_listener(Service(tmp_path / "a"))
            answering.set_listener(callee)
            async with calling, answering:
                await ready(calling.devices[0])
                await ready(answering.devices[0])
                dial = calling.devices[0].dial(pair.numbers["B"], request(sent))
                outcome = await asyncio.wait_for(dial, 200)
                await until(callee.received, "the fax received on line B", WAIT)
                # Each line timed its answers to its modem's result codes (bench/modem.py).
                for line in (calling.devices[0], answering.devices[0]):
                    assert line.response_times.count >= 10, line.response_times.figures()
                    assert sum(line.response_times.counts) == line.response_times.count
        return outcome

    outcome = asyncio.run(main())
    assert outcome.cause is CallCause.NONE, outcome
    assert outcome.pages == 2
    (received,) = callee.received()
    assert received.cause is CallCause.NONE, received
    assert received.remote_number == "1001", "the pair's caller id"
    assert received.path is not None
    assert_same_pages(sent, received.path)
