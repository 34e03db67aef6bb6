"""The loopback provider: real T.30 between virtual lines, set-up failures, faults, pacing.

Calls run unpaced (as fast as the CPU allows) except where pacing is the point (and the calls
that take real seconds at pace 10 or 1 are in tests/integration/providers/test_loopback.py).
Each test drives the provider from ``asyncio.run``; the listener below plays the fax service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openfax.engine import (
    CompletionCode,
    FrameExchanged,
    Negotiated,
    PageProgress,
    PageReceived,
    PageSent,
    Resolution,
    SessionOptions,
)
from openfax.providers import (
    Answered,
    CallCause,
    CallDirection,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceProvider,
    DeviceState,
    Dialing,
    IncomingCall,
    Line,
    LineFaults,
    LoopbackProvider,
    ReceiveMode,
    ReceiveSetup,
    Ringing,
    SendRequest,
    Transport,
)
from tests.fax_images import read_pages, sample_page, write_tiff
from tests.waiting import until

TRANSPORTS = [Transport.AUDIO, Transport.T38]
CSID = "+1 555 0102"
TSID = "+1 555 0101"


def make_tiff(folder: Path, pages: int, y_dpi: int = 196, first: int = 1) -> Path:
    """A fax TIFF of distinct test pages, numbered from ``first``."""
    images = [sample_page(number, y_dpi) for number in range(first, first + pages)]
    return write_tiff(folder / f"send-{first}-{pages}-{y_dpi}.tif", images, y_dpi)


def request(path: Path) -> SendRequest:
    return SendRequest(path, SessionOptions(ident=TSID))


class Service:
    """The fax service as the provider sees it: records every state and incoming event."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.states: dict[int, list[DeviceState]] = {}
        self.incoming: dict[int, list[CallProgress]] = {}
        self.calls: dict[int, IncomingCall] = {}
        self.provider_errors: list[str] = []

    def on_device_state(self, device: Line, state: DeviceState) -> None:
        self.states.setdefault(device.id, []).append(state)

    def on_provider_status(self, provider: DeviceProvider) -> None:
        self.provider_errors.append(provider.error)

    def on_incoming_call(self, call: IncomingCall, event: CallProgress) -> None:
        self.calls[call.call_id] = call
        self.incoming.setdefault(call.call_id, []).append(event)

    async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
        return ReceiveSetup(self.folder / f"received-{call.call_id}.tif", SessionOptions(CSID))

    def received(self) -> list[CallOutcome]:
        """The outcome of every incoming call, in call order."""
        return [
            event.outcome
            for _, events in sorted(self.incoming.items())
            for event in events
            if isinstance(event, CallEnded)
        ]


def run(
    tmp_path: Path,
    scenario: Callable[[LoopbackProvider, Service], Awaitable[None]],
    *,
    service: type[Service] = Service,
    **options: Any,
) -> Service:
    """Run ``scenario`` against a started provider with a recording service; unpaced unless
    ``options`` give a pace."""
    recorder = service(tmp_path)
    options.setdefault("pace", None)
    provider = LoopbackProvider(**options)
    provider.set_listener(recorder)

    async def main() -> None:
        async with provider:
            await asyncio.wait_for(scenario(provider, recorder), 60)

    asyncio.run(main())
    return recorder


def assert_same_pages(sent: Path, received: Path, pages: int | None = None) -> None:
    want = read_pages(sent)[:pages]
    got = read_pages(received)
    assert len(got) == len(want)
    for number, (a, b) in enumerate(zip(want, got, strict=True), 1):
        assert a.shape == b.shape, f"page {number} differs"
        assert np.array_equal(a, b), f"page {number} differs"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_line_one_sends_two_pages_to_line_two(tmp_path: Path, transport: Transport) -> None:
    sent = make_tiff(tmp_path, pages=2)
    progress: list[CallProgress] = []
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        assert (line1.number, line2.number) == ("1001", "1002")
        outcomes.append(await line1.dial("1002", request(sent), progress=progress.append))
        assert line1.state is line2.state is DeviceState.IDLE

    service = run(tmp_path, scenario, transport=transport, base_number="100")

    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    assert outcome.connected, outcome.detail
    assert outcome.direction is CallDirection.OUTGOING
    assert (outcome.pages, outcome.extended_status, outcome.path) == (2, 18, sent)
    assert outcome.negotiated is not None
    assert outcome.negotiated.remote_ident == CSID
    kinds = [type(event) for event in progress if not isinstance(event, PageProgress)]
    assert kinds == [Dialing, Ringing, Answered, Negotiated, PageSent, PageSent, CallEnded]
    assert progress[-1] == CallEnded(outcome)
    pages = [event for event in progress if isinstance(event, PageProgress)]
    assert {event.number for event in pages} == {1, 2}, "each page's progress is passed on"
    assert not any(isinstance(entry.event, PageProgress) for entry in outcome.transcript)
    frames = [e.event.name for e in outcome.transcript if isinstance(e.event, FrameExchanged)]
    assert frames[:2] == ["CSI", "DIS"]
    assert "DCS" in frames
    assert frames[-1] == "DCN"
    times = [entry.line_seconds for entry in outcome.transcript]
    assert times == sorted(times)
    assert times[-1] <= outcome.line_seconds

    (received,) = service.received()
    assert received.ok
    assert received.direction is CallDirection.INCOMING
    assert (received.pages, received.partial, received.remote_number) == (2, False, "1001")
    assert received.negotiated is not None
    assert received.negotiated.remote_ident == TSID
    (events,) = service.incoming.values()
    assert [type(e) for e in events] == [
        Ringing,
        Answered,
        Negotiated,
        PageReceived,
        PageReceived,
        CallEnded,
    ]
    assert received.path is not None
    assert_same_pages(sent, received.path)
    assert service.states == {
        1: [DeviceState.DIALING, DeviceState.IN_CALL, DeviceState.IDLE],
        2: [DeviceState.RINGING, DeviceState.IN_CALL, DeviceState.IDLE],
    }


def test_a_line_in_use_is_busy_and_cannot_dial(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2, line3 = provider.devices
        first = asyncio.create_task(line1.dial("1002", request(sent)))
        await until(lambda: line2.state is DeviceState.IN_CALL, "line 2 is in the call", poll=0)
        outcomes.append(await line3.dial("1002", request(sent)))
        outcomes.append(await line3.dial("1001", request(sent)))
        outcomes.append(await line2.dial("1003", request(sent)))
        outcomes.append(await first)

    service = run(tmp_path, scenario, lines=3)

    to_callee, to_caller, from_callee, first = outcomes
    assert to_callee.cause is to_caller.cause is CallCause.BUSY
    assert to_callee.extended_status == 8
    assert not to_callee.connected
    assert from_callee.cause is CallCause.LINE_UNAVAILABLE
    assert from_callee.extended_status == 7
    assert first.ok
    assert len(service.received()) == 1, "a busy line is not offered the call"
    assert service.states[3] == [DeviceState.DIALING, DeviceState.IDLE] * 2


def test_an_injected_busy_line_and_a_bad_number(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        line2.faults = LineFaults(busy=True)
        outcomes.append(await line1.dial("1002", request(sent)))
        outcomes.append(await line1.dial("call me", request(sent)))
        line2.faults = LineFaults()
        outcomes.append(await line1.dial("100-2", request(sent)))

    service = run(tmp_path, scenario)

    busy, bad, fine = outcomes
    assert (busy.cause, busy.extended_status) == (CallCause.BUSY, 8)
    assert (bad.cause, bad.extended_status) == (CallCause.BAD_ADDRESS, 10)
    assert fine.ok, "separators in a number are ignored"
    assert len(service.received()) == 1


def test_an_unknown_number_is_not_answered(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    progress: list[CallProgress] = []
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        outcomes.append(
            await provider.devices[0].dial("555", request(sent), progress=progress.append)
        )

    service = run(tmp_path, scenario)

    (outcome,) = outcomes
    assert (outcome.cause, outcome.extended_status) == (CallCause.NO_ANSWER, 9)
    assert [type(e) for e in progress] == [Dialing, CallEnded]
    assert service.incoming == {}


@pytest.mark.parametrize("why", ["fault", "no answer mode", "manual mode"])
def test_a_line_that_does_not_answer(tmp_path: Path, why: str) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        if why == "fault":
            line2.faults = LineFaults(no_answer=True)
        else:
            line2.receive_mode = (
                ReceiveMode.NO_ANSWER if why == "no answer mode" else ReceiveMode.MANUAL_ANSWER
            )
        outcomes.append(await line1.dial("1002", request(sent)))

    service = run(tmp_path, scenario, max_rings=4)

    (outcome,) = outcomes
    assert outcome.cause is CallCause.NO_ANSWER
    (events,) = service.incoming.values()
    assert events[:-1] == [Ringing(n) for n in range(1, 5)]
    (missed,) = service.received()
    assert missed.cause is CallCause.NO_ANSWER
    assert missed.path is None
    assert service.states[2] == [DeviceState.RINGING, DeviceState.IDLE]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hang_up_after_page_one_of_three(tmp_path: Path, transport: Transport) -> None:
    sent = make_tiff(tmp_path, pages=3)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        line2.faults = LineFaults(hang_up_after_page=1)
        outcomes.append(await line1.dial("1002", request(sent)))

    service = run(tmp_path, scenario, transport=transport)

    (outcome,) = outcomes
    assert (outcome.cause, outcome.pages, outcome.extended_status) == (
        CallCause.LINE_DROPPED,
        1,
        1,
    )
    assert outcome.result is not None
    assert outcome.result.code is CompletionCode.CALLDROPPED
    (received,) = service.received()
    assert received.partial
    assert received.pages == 1
    assert (received.cause, received.extended_status) == (CallCause.LINE_DROPPED, 16)
    assert received.path is not None
    assert_same_pages(sent, received.path, pages=1)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_lost_confirmation_leaves_the_page_with_the_receiver_only(
    tmp_path: Path, transport: Transport
) -> None:
    sent = make_tiff(tmp_path, pages=3)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        line2.faults = LineFaults(lose_confirmation_of_page=2)
        outcomes.append(await line1.dial("1002", request(sent)))

    service = run(tmp_path, scenario, transport=transport)

    (outcome,) = outcomes
    assert (outcome.cause, outcome.pages) == (CallCause.LINE_DROPPED, 1)
    (received,) = service.received()
    assert received.partial
    assert received.pages == 2
    assert received.path is not None
    assert_same_pages(sent, received.path, pages=2)
    with pytest.raises(ValueError, match="from 1"):
        LineFaults(lose_confirmation_of_page=0)


def test_a_line_refusing_fine_resolution(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1, y_dpi=196)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        line2.faults = LineFaults(refuse_resolutions=Resolution.FINE | Resolution.SUPERFINE)
        outcomes.append(await line1.dial("1002", request(sent)))

    service = run(tmp_path, scenario)

    (outcome,) = outcomes
    assert outcome.cause is CallCause.REMOTE_INCAPABLE
    assert outcome.pages == 0
    assert outcome.result is not None
    assert outcome.result.code is CompletionCode.NORESSUPPORT
    (received,) = service.received()
    assert not received.ok
    assert received.pages == 0
    assert not received.partial
    with pytest.raises(ValueError, match="standard"):
        LineFaults(refuse_resolutions=Resolution.STANDARD)


def test_manual_answer(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        line2.receive_mode = ReceiveMode.MANUAL_ANSWER
        assert not line2.answer(), "nothing rings yet"
        call = asyncio.create_task(line1.dial("1002", request(sent)))

        def rings() -> int:
            return sum(isinstance(e, Ringing) for v in service.incoming.values() for e in v)

        await until(lambda: rings() >= 2, "line 2 rings twice")
        assert line2.state is DeviceState.RINGING
        assert line2.answer()
        outcomes.append(await call)

    service = run(tmp_path, scenario, pace=100.0)

    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    (events,) = service.incoming.values()
    assert events[:3] == [Ringing(1), Ringing(2), Answered()]
    (received,) = service.received()
    assert received.ok
    assert received.pages == 1


def test_cancelling_the_dial_hangs_up_at_once(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=3)
    progress: asyncio.Queue[CallProgress] = asyncio.Queue()
    ended: list[CallEnded] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        call = asyncio.create_task(line1.dial("1002", request(sent), progress=progress.put_nowait))
        while not isinstance(await progress.get(), PageSent):
            pass
        assert (line1.state, line2.state) == (DeviceState.IN_CALL, DeviceState.IN_CALL)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # At once: both lines are free when the cancelled dial returns, and no page was
        # sent after the one before the cancel.
        assert (line1.state, line2.state) == (DeviceState.IDLE, DeviceState.IDLE)
        after: list[CallProgress] = []
        while not progress.empty():
            after.append(progress.get_nowait())
        assert not [event for event in after if isinstance(event, PageSent)], after
        ended.extend(event for event in after if isinstance(event, CallEnded))

    service = run(tmp_path, scenario, pace=20.0)

    (caller_end,) = ended
    assert caller_end.outcome.cause is CallCause.ABORTED
    assert (caller_end.outcome.pages, caller_end.outcome.extended_status) == (1, 19)
    (received,) = service.received()
    assert received.partial
    assert received.pages == 1
    assert received.extended_status == 16
    assert received.path is not None
    assert_same_pages(sent, received.path, pages=1)


def test_the_receiving_line_hangs_up_mid_call(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=3)
    progress: asyncio.Queue[CallProgress] = asyncio.Queue()
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2 = provider.devices
        assert not line2.hang_up(), "no call to hang up"
        call = asyncio.create_task(line1.dial("1002", request(sent), progress=progress.put_nowait))
        while not (isinstance(event := await progress.get(), PageSent) and event.confirmed):
            pass
        assert line2.hang_up()
        outcomes.append(await call)
        assert (line1.state, line2.state) == (DeviceState.IDLE, DeviceState.IDLE)

    service = run(tmp_path, scenario, pace=20.0)

    (outcome,) = outcomes
    assert outcome.cause is CallCause.LINE_DROPPED
    assert 1 <= outcome.pages < 3
    (received,) = service.received()
    assert received.partial
    assert received.cause is CallCause.LINE_DROPPED
    assert received.path is not None
    assert received.pages >= outcome.pages
    assert_same_pages(sent, received.path, pages=received.pages)


def test_a_call_hung_up_while_being_answered_is_not_connected(tmp_path: Path) -> None:
    class HangingUp(Service):
        async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
            assert call.device.hang_up()
            return await super().receive_setup(call)

    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, _ = provider.devices
        outcomes.append(await line1.dial("1002", request(sent)))

    service = run(tmp_path, scenario, service=HangingUp)

    (outcome,) = outcomes
    assert not outcome.ok
    assert outcome.pages == 0
    (received,) = service.received()
    assert (received.cause, received.pages) == (CallCause.LINE_DROPPED, 0)


def test_two_calls_at_once_on_four_lines(tmp_path: Path) -> None:
    one = make_tiff(tmp_path, pages=1, first=1)
    two = make_tiff(tmp_path, pages=2, first=5)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line4 = provider.devices[0], provider.devices[3]
        outcomes.extend(
            await asyncio.gather(line1.dial("1002", request(one)), line4.dial("1003", request(two)))
        )

    service = run(tmp_path, scenario, lines=4)

    assert [(o.ok, o.pages) for o in outcomes] == [(True, 1), (True, 2)]
    by_caller = {o.remote_number: o for o in service.received()}
    assert set(by_caller) == {"1001", "1004"}
    for sent, caller in ((one, "1001"), (two, "1004")):
        path = by_caller[caller].path
        assert path is not None
        assert_same_pages(sent, path)
    assert all(states[-1] is DeviceState.IDLE for states in service.states.values())


@pytest.mark.parametrize(
    ("deadline", "reason"),
    [
        ({"max_call_seconds": 15.0}, "exceeded 15 line seconds"),
        ({"page_timeout": 3.0}, "no T.30 activity for 3 line seconds"),
    ],
)
def test_a_call_past_a_deadline_is_dropped(
    tmp_path: Path, deadline: dict[str, Any], reason: str
) -> None:
    """A page of V.17 lasts several seconds without a T.30 frame: a short page timeout
    breaks the first page, the call deadline the second."""
    sent = make_tiff(tmp_path, pages=3)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        outcomes.append(await provider.devices[0].dial("1002", request(sent)))

    service = run(tmp_path, scenario, **deadline)

    (outcome,) = outcomes
    assert outcome.cause is CallCause.LINE_DROPPED
    assert reason in outcome.detail
    assert outcome.pages < 3
    (received,) = service.received()
    assert not received.ok
    assert received.pages == outcome.pages


def test_stopping_the_provider_hangs_up_and_refuses_calls(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=2)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1 = provider.devices[0]
        call = asyncio.create_task(line1.dial("1002", request(sent)))
        await until(lambda: line1.state is DeviceState.IN_CALL, "line 1 is in the call", poll=0)
        await provider.stop()
        assert call.done()
        outcomes.append(call.result())
        outcomes.append(await line1.dial("1002", request(sent)))

    run(tmp_path, scenario)

    dropped, refused = outcomes
    assert dropped.cause is CallCause.LINE_DROPPED
    assert "provider stopped" in dropped.detail
    assert refused.cause is CallCause.LINE_UNAVAILABLE


def test_a_call_the_service_cannot_take_is_not_answered(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    class NoSpace(Service):
        async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
            return ReceiveSetup(self.folder / "missing" / "r.tif")

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        outcomes.append(await provider.devices[0].dial("1002", request(sent)))

    service = run(tmp_path, scenario, service=NoSpace)

    (outcome,) = outcomes
    assert outcome.cause is CallCause.NO_ANSWER
    (received,) = service.received()
    assert received.cause is CallCause.INTERNAL
    assert "does not exist" in received.detail


def test_the_loopback_provider_is_a_device_provider() -> None:
    provider: DeviceProvider = LoopbackProvider(3, base_number="200", first_device_id=10)
    assert [(d.id, d.number) for d in provider.devices] == [
        (10, "2001"),
        (11, "2002"),
        (12, "2003"),
    ]
    assert all(d.can_send and d.can_receive for d in provider.devices)
