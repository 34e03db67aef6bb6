"""The sip provider: two providers on 127.0.0.1 fax each other over real SIP and media
sockets, in T.38 and G.711 as their policies decide; set-up failures become call causes;
a far end hanging up mid-fax gives partial outcomes; the memory of what last worked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from openfax.engine import PageReceived, SessionOptions
from openfax.providers import (
    Answered,
    CallCause,
    CallDirection,
    CallOutcome,
    CallProgress,
    DeviceState,
    Ringing,
    SendRequest,
)
from openfax.providers.sip import InMemoryDestinations, Preference, SipProvider, TrunkConfig
from tests.unit.providers.test_loopback import Service, assert_same_pages, make_tiff
from tests.waiting import until

HOST = "127.0.0.1"
CALLER, CALLEE = "5550101", "5550202"


def free_port() -> int:
    """A port free for both UDP and TCP now (SIP listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
                return port


def trunks(
    caller: dict[str, Any] | None = None, callee: dict[str, Any] | None = None
) -> tuple[TrunkConfig, TrunkConfig]:
    """Two trunks pointing at each other; unpaced T.38, G.711 in real time (at twice real
    time a loaded machine's late event loop starved the modems now and then)."""
    ports = free_port(), free_port()
    common: dict[str, Any] = {
        "local_address": HOST,
        "host": HOST,
        "t38_paced": False,
        "media_speed": 1.0,
        "jitter_delay": 0.3,
        "ring_seconds": 0.2,
    }
    a = TrunkConfig(
        **{
            **common,
            "name": "a",
            "numbers": (CALLER,),
            "local_port": ports[0],
            "port": ports[1],
            **(caller or {}),
        }
    )
    b = TrunkConfig(
        **{
            **common,
            "name": "b",
            "numbers": (CALLEE,),
            "local_port": ports[1],
            "port": ports[0],
            **(callee or {}),
        }
    )
    return a, b


Scenario = Callable[[SipProvider, SipProvider, Service], Awaitable[None]]


def run(
    tmp_path: Path,
    scenario: Scenario,
    *,
    caller: dict[str, Any] | None = None,
    callee: dict[str, Any] | None = None,
    memory: InMemoryDestinations | None = None,
) -> Service:
    a, b = trunks(caller, callee)
    service = Service(tmp_path)

    async def main() -> None:
        calling = SipProvider([a], name="sip-a", memory=memory)
        answering = SipProvider([b], name="sip-b", first_device_id=10)
        answering.set_listener(service)
        async with calling, answering:
            await asyncio.wait_for(scenario(calling, answering, service), 180)

    asyncio.run(main())
    return service


async def faxes_received(service: Service, count: int) -> None:
    """Wait until the answering side has recorded ``count`` faxes (it does so after the
    caller's outcome is known)."""
    await until(lambda: len(service.received()) >= count, f"{count} faxes are received", poll=0.05)


def send(path: Path) -> SendRequest:
    return SendRequest(path, SessionOptions(ident="+1 555 0101"))


@pytest.mark.parametrize(
    ("policies", "over"),
    [
        (("request", "accept"), "T.38"),  # the caller offers T.38 first
        (("accept", "request"), "T.38"),  # the callee re-INVITEs to T.38
        (("off", "request"), "G.711"),  # the caller refuses the re-INVITE: 488
        (("accept", "accept"), "G.711"),
    ],
)
def test_two_providers_fax_each_other(tmp_path: Path, policies: tuple[str, str], over: str) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []
    progress: list[CallProgress] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        (channel,) = a.devices
        outcomes.append(await channel.dial(CALLEE, send(sent), progress=progress.append))
        await faxes_received(service, 1)
        assert channel.state is b.devices[0].state is DeviceState.IDLE

    service = run(tmp_path, scenario, caller={"t38": policies[0]}, callee={"t38": policies[1]})
    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    assert outcome.pages == 1, outcome.detail
    assert f"over {over}" in outcome.detail
    assert any(isinstance(event, Ringing) for event in progress)
    assert any(isinstance(event, Answered) for event in progress)
    (received,) = service.received()
    assert received.ok, received.detail
    assert received.direction is CallDirection.INCOMING, received.detail
    assert f"over {over}" in received.detail
    (call,) = service.calls.values()
    assert (call.called_number, call.caller_id) == (CALLEE, CALLER)
    assert received.path is not None
    assert_same_pages(sent, received.path)
    events = service.incoming[call.call_id]
    assert sum(isinstance(event, PageReceived) for event in events) == 1


def test_a_number_the_far_end_does_not_own_is_a_bad_address(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        outcomes.append(await a.devices[0].dial("5559999", send(sent)))

    run(tmp_path, scenario)
    (outcome,) = outcomes
    assert outcome.cause is CallCause.BAD_ADDRESS
    assert not outcome.connected
    assert "404" in outcome.detail


def test_a_far_end_with_every_channel_busy_answers_busy(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        first, second = a.devices
        outcomes.extend(
            await asyncio.gather(first.dial(CALLEE, send(sent)), second.dial(CALLEE, send(sent)))
        )

    run(tmp_path, scenario, caller={"channels": 2, "t38": "request"})
    causes = sorted(outcome.cause.value for outcome in outcomes)
    assert causes == ["busy", "none"], [o.detail for o in outcomes]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_nobody_listening_is_unreachable(tmp_path: Path, transport: str) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        outcomes.append(await a.devices[0].dial(CALLEE, send(sent)))

    # To a port nobody listens on: the TCP connection is refused, the UDP datagram meets an
    # ICMP port unreachable; either is a transport error at once, not a timeout (408).
    run(tmp_path, scenario, caller={"transport": transport, "port": free_port()})
    (outcome,) = outcomes
    assert outcome.cause is CallCause.UNREACHABLE, outcome.detail
    assert outcome.detail.startswith("503 Service Unavailable (transport error: ")


def test_a_bye_before_the_last_page_gives_partial_outcomes(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=3)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        (channel,) = a.devices

        def progress(event: CallProgress) -> None:
            # The receiving channel hangs up (BYE) once the first page is in.
            if isinstance(event, PageReceived):
                b.devices[0].hang_up()

        service.on_incoming_call = _also(service.on_incoming_call, progress)  # type: ignore[method-assign]
        outcomes.append(await channel.dial(CALLEE, send(sent)))
        await faxes_received(service, 1)

    service = run(tmp_path, scenario, caller={"t38": "request"})
    (outcome,) = outcomes
    assert not outcome.ok
    assert outcome.connected
    assert outcome.pages == 1, outcome.detail
    assert outcome.cause is CallCause.LINE_DROPPED, outcome.detail
    (received,) = service.received()
    assert received.partial
    assert received.pages == 1
    assert received.path is not None
    assert_same_pages(sent, received.path, pages=1)


def _also(
    first: Callable[[Any, CallProgress], None], then: Callable[[CallProgress], None]
) -> Callable[[Any, CallProgress], None]:
    def both(call: Any, event: CallProgress) -> None:
        first(call, event)
        then(event)

    return both


def test_the_memory_starts_where_the_last_call_succeeded(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    memory = InMemoryDestinations()
    memory.preferences[CALLEE] = Preference(t38=False, bit_rate=9600, ecm=True)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        outcomes.append(await a.devices[0].dial(CALLEE, send(sent)))

    # Both ends would use T.38, but the memory says G.711 at 9600 worked last time.
    run(tmp_path, scenario, caller={"t38": "request"}, callee={"t38": "request"}, memory=memory)
    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    assert "over G.711" in outcome.detail, outcome.detail
    assert outcome.negotiated is not None
    assert outcome.negotiated.bit_rate == 9600
    assert memory.preferences[CALLEE] == Preference(t38=False, bit_rate=9600, ecm=True)


def test_the_calls_policy_overrides_the_trunks_and_off_leaves_the_memory_alone(
    tmp_path: Path,
) -> None:
    """The caller's trunk accepts, the callee's requests T.38. A call under the rule policy
    ``off`` refuses the callee's re-INVITE (G.711) and does not teach the memory G.711, so
    the next call under ``request`` offers T.38; ``off`` then wins over that memory."""
    sent = make_tiff(tmp_path, pages=1)
    memory = InMemoryDestinations()
    outcomes: list[CallOutcome] = []
    learned: list[Preference | None] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        (channel,) = a.devices
        for policy in ("off", "request", "off"):
            request = SendRequest(sent, SessionOptions(ident="+1 555 0101"), t38_policy=policy)
            outcomes.append(await channel.dial(CALLEE, request))
            learned.append(await memory.recall(CALLEE))
            await faxes_received(service, len(outcomes))

    run(tmp_path, scenario, caller={"t38": "accept"}, callee={"t38": "request"}, memory=memory)
    assert all(outcome.ok for outcome in outcomes), [o.detail for o in outcomes]
    overs = ["T.38" if "over T.38" in o.detail else "G.711" for o in outcomes]
    assert overs == ["G.711", "T.38", "G.711"]
    assert [p.t38 if p is not None else "none" for p in learned] == [None, True, True]
