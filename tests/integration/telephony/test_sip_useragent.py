"""The SIP user agent between two instances over real sockets on 127.0.0.1, for what the
machines (tests/unit/telephony/test_sip_useragent.py) cannot show: the provider's callbacks
(progress, offers accepted, refused or failing), the errors and ends its user sees, the loop
timer of the ring time-out, TCP, a proxy, and what the transport does with garbage."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast

import pytest

from openfax.errors import SdpNegotiationError
from openfax.telephony.sdp import (
    Origin,
    SessionDescription,
    StreamKind,
    make_answer,
    read_answer,
)
from openfax.telephony.sip import (
    NameAddr,
    Response,
    SipUri,
    parse_message,
    response_address,
    stamp_source,
)
from openfax.telephony.sip.useragent import (
    CallFailedError,
    CallFailure,
    CallState,
    IncomingCall,
    OutgoingCall,
    RegistrationError,
    UserAgent,
    UserAgentConfig,
)
from tests.unit.telephony.test_sip_useragent import (
    CALLEE_MEDIA,
    CALLER_MEDIA,
    FAST,
    accept_with,
    audio_offer,
    t38_offer,
)

pytestmark = pytest.mark.anyio


class Peer:
    """One user agent and the incoming calls it was offered."""

    def __init__(self, **config: object) -> None:
        self.incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
        settings: dict[str, Any] = {"port": 0, "timers": FAST, **config}
        self.ua = UserAgent(UserAgentConfig(**settings), on_incoming=self.incoming.put_nowait)

    def uri(self, user: str = "+15551234") -> str:
        return f"sip:{user}@127.0.0.1:{self.ua.address[1]}"


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Peer, Peer]]:
    caller, callee = Peer(user="caller"), Peer(user="callee")
    async with caller.ua, callee.ua:
        yield caller, callee


async def connect(caller: Peer, callee: Peer) -> tuple[OutgoingCall, IncomingCall]:
    call = caller.ua.call(callee.uri(), audio_offer())
    incoming = await callee.incoming.get()
    assert incoming.offer is not None
    incoming.ring()
    answer, _ = make_answer(incoming.offer, CALLEE_MEDIA, Origin(session_id=2))
    await incoming.answer(answer)
    remote = await call.connected()
    assert remote is not None
    assert call.local_sdp is not None
    assert read_answer(call.local_sdp, remote).kind is StreamKind.AUDIO
    return call, incoming


async def test_a_call_is_answered_switched_to_t38_by_the_receiver_and_hung_up(
    pair: tuple[Peer, Peer],
) -> None:
    caller, callee = pair
    progress: list[int] = []
    call = caller.ua.call(
        callee.uri(), audio_offer(), on_progress=lambda status, _sdp: progress.append(status)
    )
    incoming = await callee.incoming.get()
    assert (incoming.called_number, incoming.caller) == ("+15551234", "sip:caller@127.0.0.1")
    assert incoming.offer is not None
    incoming.ring()
    answer, _ = make_answer(incoming.offer, CALLEE_MEDIA, Origin(session_id=2))
    await incoming.answer(answer)
    await call.connected()
    assert progress == [180]
    assert call.state is incoming.state is CallState.CONNECTED
    # The receiving end asks for T.38; the sender's provider answers.
    call.on_offer = accept_with(CALLER_MEDIA, 1)
    result = await incoming.reinvite(t38_offer(CALLEE_MEDIA, 2))
    assert result.accepted
    assert result.answer is not None
    assert incoming.local_sdp is not None
    stream = read_answer(incoming.local_sdp, result.answer)
    assert (stream.kind, stream.remote_port) == (StreamKind.T38, 40002)
    assert incoming.local_sdp is not None
    assert incoming.local_sdp.origin.version == 1
    assert call.remote_sdp == incoming.local_sdp
    await call.hang_up()
    assert (await incoming.wait_ended()).remote is True
    assert (await call.wait_ended()).remote is False


async def test_a_refused_t38_reinvite_keeps_the_audio_session(pair: tuple[Peer, Peer]) -> None:
    caller, callee = pair
    call, incoming = await connect(caller, callee)

    async def refuse(_offer: SessionDescription) -> SessionDescription:
        raise SdpNegotiationError("T.38 is off on this trunk")

    call.on_offer = refuse
    before = (incoming.local_sdp, incoming.remote_sdp)
    result = await incoming.reinvite(t38_offer(CALLEE_MEDIA, 2))
    assert (result.accepted, result.status) == (False, 488)
    assert (incoming.local_sdp, incoming.remote_sdp) == before
    assert incoming.state is CallState.CONNECTED
    # The far end switches back to audio later: a new offer is taken as any other.
    call.on_offer = accept_with(CALLER_MEDIA, 1)
    again = await incoming.reinvite(audio_offer(CALLEE_MEDIA, 2))
    assert again.accepted


async def test_a_refused_call_fails_with_its_cause(pair: tuple[Peer, Peer]) -> None:
    status, reason, cause = 486, "Busy Here", CallFailure.BUSY
    caller, callee = pair
    call = caller.ua.call(callee.uri(), audio_offer())
    incoming = await callee.incoming.get()
    incoming.reject(status, reason)
    with pytest.raises(CallFailedError) as failure:
        await call.connected()
    assert (failure.value.cause, failure.value.status) == (cause, status)
    assert (await call.wait_ended()).status == status
    assert (await incoming.wait_ended()).reason == "rejected"


async def test_the_user_agent_gives_the_ring_timeout_its_time(pair: tuple[Peer, Peer]) -> None:
    """The rule is the machine's (above); this is the loop timer that carries it out."""
    caller, callee = pair
    call = caller.ua.call(callee.uri(), audio_offer(), ring_timeout=0.1)
    incoming = await callee.incoming.get()
    incoming.ring()
    with pytest.raises(CallFailedError) as failure:
        await call.connected()
    assert failure.value.cause is CallFailure.NO_ANSWER
    assert (await incoming.wait_ended()).reason == "cancelled"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_call_to_a_closed_port_is_unreachable_at_once(transport: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    caller = Peer(user="caller")
    async with caller.ua:
        call = caller.ua.call(f"sip:1@127.0.0.1:{port};transport={transport}", audio_offer())
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
    # The transport error (ICMP port unreachable over UDP, the refused connection over TCP)
    # ended it as a 503 made here, not timer B's 408.
    assert failure.value.cause is CallFailure.UNREACHABLE
    assert failure.value.status == 503
    assert failure.value.reason.startswith("Service Unavailable (transport error: ")


async def test_a_call_over_tcp() -> None:
    caller = Peer(user="caller", transport="TCP")
    callee = Peer(user="callee")
    async with caller.ua, callee.ua:
        call, incoming = await connect(caller, callee)
        assert incoming.peer.transport == "TCP"
        await incoming.hang_up()
        assert (await call.wait_ended()).remote is True


async def test_options_are_answered_and_garbage_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    callee = Peer(user="callee")
    async with callee.ua:
        port = callee.ua.address[1]
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            here = sock.getsockname()[1]
            with caplog.at_level(logging.INFO, logger="openfax.telephony.sip.transport"):
                sock.sendto(b"\x00\xffnot sip at all\r\n\r\n", ("127.0.0.1", port))
                bad = (
                    "OPTIONS sip:callee@127.0.0.1 SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bKbad\r\n"
                    "From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:callee@127.0.0.1>\r\n"
                    "Call-ID: bad-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 999\r\n\r\n"
                )
                sock.sendto(bad.encode(), ("127.0.0.1", port))
                reply = parse_message(await loop.sock_recv(sock, 65535))
                good = bad.replace("Content-Length: 999", "Content-Length: 0")
                good = good.replace("bad-1", "good-1").replace("z9hG4bKbad", "z9hG4bKgood")
                sock.sendto(good.encode(), ("127.0.0.1", port))
                answer = parse_message(await loop.sock_recv(sock, 65535))
    assert isinstance(reply, Response)
    assert isinstance(answer, Response)
    assert (reply.status, reply.call_id) == (400, "bad-1")
    assert (answer.status, answer.call_id) == (200, "good-1")
    assert "INVITE" in (answer.headers.get("Allow") or "")
    messages = [record.getMessage() for record in caplog.records]
    rejected = [message for message in messages if "rejected" in message]
    assert len(rejected) == 2
    assert "Content-Length 999" in rejected[1]


class LooseRouter(asyncio.DatagramProtocol):
    """A stateless proxy standing for a carrier's edge (RFC 3261 16): it stamps and pushes
    its Via on requests, removes its own Route, Record-Routes the INVITEs that make dialogs,
    sends requests to the next Route or the Request-URI, and responses to the Via below its
    own. It records the methods it relayed."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.relayed: list[str] = []
        self.count = 0

    @property
    def uri(self) -> str:
        assert self.transport is not None
        return f"sip:127.0.0.1:{self.transport.get_extra_info('sockname')[1]};lr"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        message = parse_message(data)
        if isinstance(message, Response):
            vias = message.headers.get_all("Via")[1:]
            forwarded = replace(message, headers=message.headers.replace("Via", *vias))
            self.transport.sendto(forwarded.to_bytes(), response_address(forwarded))
            return
        self.relayed.append(message.method)
        message = stamp_source(message, *addr)
        headers = message.headers
        routes = headers.get_all("Route")
        if routes and NameAddr.parse(routes[0]).uri == self.uri:
            routes = routes[1:]
            headers = headers.without("Route")
            for route in routes:
                headers = headers.add("Route", route)
        target = SipUri.parse(NameAddr.parse(routes[0]).uri if routes else message.uri)
        self.count += 1
        port = self.transport.get_extra_info("sockname")[1]
        via = f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKrouter{self.count}"
        headers = headers.replace("Via", via, *message.headers.get_all("Via"))
        if message.method == "INVITE" and message.to.tag is None:
            headers = headers.replace(
                "Record-Route", f"<{self.uri}>", *headers.get_all("Record-Route")
            )
        forwarded = replace(message, headers=headers)
        self.transport.sendto(forwarded.to_bytes(), (target.host, target.port or 5060))


async def test_a_call_through_a_proxy_keeps_every_request_of_the_dialog_on_its_route() -> None:
    loop = asyncio.get_running_loop()
    proxy_transport, proxy = await loop.create_datagram_endpoint(
        LooseRouter, local_addr=("127.0.0.1", 0)
    )
    try:
        caller = Peer(user="caller", proxy=proxy.uri.removesuffix(";lr"))
        callee = Peer(user="callee")
        async with caller.ua, callee.ua:
            call, incoming = await connect(caller, callee)
            assert incoming.request.headers.get_all("Record-Route") == [f"<{proxy.uri}>"]
            assert call.dialog is not None
            assert incoming.dialog is not None
            assert call.dialog.route_set == incoming.dialog.route_set == (proxy.uri,)
            call.on_offer = accept_with(CALLER_MEDIA, 1)
            assert (await incoming.reinvite(t38_offer(CALLEE_MEDIA, 2))).accepted
            await call.hang_up()
            assert (await incoming.wait_ended()).reason == "bye"
    finally:
        proxy_transport.close()
    assert proxy.relayed == ["INVITE", "ACK", "INVITE", "ACK", "BYE"]


async def test_hanging_up_before_any_response_ends_the_call_for_its_user_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        caller = Peer(user="caller")
        async with caller.ua:
            call = caller.ua.call(f"sip:1@127.0.0.1:{silent.getsockname()[1]}", audio_offer())
            await asyncio.sleep(0)
            await call.hang_up()
            assert call.state is CallState.ENDED
            assert call.end is not None
            assert call.end.reason == "cancelled"
            with pytest.raises(CallFailedError) as failure:
                await call.connected()
            assert failure.value.cause is CallFailure.CANCELLED


async def test_a_failing_offer_handler_answers_500_and_the_call_goes_on(
    pair: tuple[Peer, Peer],
) -> None:
    caller, callee = pair
    call, incoming = await connect(caller, callee)

    async def broken(_offer: SessionDescription) -> SessionDescription:
        raise RuntimeError("a bug in the provider")

    call.on_offer = broken
    result = await incoming.reinvite(t38_offer(CALLEE_MEDIA, 2))
    assert (result.accepted, result.status) == (False, 500)
    assert call.state is incoming.state is CallState.CONNECTED
    call.on_offer = accept_with(CALLER_MEDIA, 1)
    assert (await incoming.reinvite(t38_offer(CALLEE_MEDIA, 2))).accepted


async def test_a_refused_registration_raises_with_the_status(pair: tuple[Peer, Peer]) -> None:
    _, callee = pair
    registrar = f"sip:127.0.0.1:{callee.ua.address[1]}"
    agent = Peer(user="fax", registrar=registrar, password="secret")
    async with agent.ua:
        with pytest.raises(RegistrationError, match="405 Method Not Allowed"):
            await agent.ua.register()
        assert agent.ua.registration is not None
        assert agent.ua.registration.registered is False
