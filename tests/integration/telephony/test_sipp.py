"""The SIP user agent against SIPp (Debian package ``sip-tester``), an independent SIP peer
on 127.0.0.1 driven by the scenario files in ``tests/integration/telephony/sipp/``: calls both ways,
busy and not found, CANCEL both ways, digest-challenged REGISTER and INVITE, a 488 to our
T.38 re-INVITE, a session refresh during T.38, a re-INVITE glare (491), a session timer the
far end lets run out, a 200 never ACKed, a re-INVITE never answered, redirections (3xx)
followed in q order or refused, a far end gone (ICMP port unreachable), a forked INVITE
answered by two branches, reliable provisional responses (PRACK), and INVITEs requiring
100rel or an unknown extension.

SIPp stands for the far end; the user agent's media are the SDP of a provider stand-in
(nothing listens on the ports it offers: the scenarios exchange no media). A scenario that
sees anything it does not expect makes SIPp exit non-zero, which fails the test with SIPp's
error log."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from openfax.errors import SdpNegotiationError
from openfax.providers import CallDirection
from openfax.providers.sip import SipProvider, TrunkConfig
from openfax.telephony.sdp import (
    LocalMedia,
    Origin,
    SessionDescription,
    StreamKind,
    make_answer,
    make_offer,
    read_answer,
)
from openfax.telephony.sip.registration import RegistrationState
from openfax.telephony.sip.transaction import TimerValues
from openfax.telephony.sip.useragent import (
    CallFailedError,
    CallFailure,
    CallState,
    IncomingCall,
    UserAgent,
    UserAgentConfig,
)
from tests.unit.providers.test_loopback import Service
from tests.waiting import until

T = TypeVar("T")

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "sipp"
MEDIA = LocalMedia("127.0.0.1", 42000, 42002, prefer_t38=False)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(SIPP is None, reason="SIPp is not installed (Debian package sip-tester)"),
]


def free_port() -> int:
    """A UDP and TCP port free on 127.0.0.1 now, for SIPp to bind."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Sipp:
    """One SIPp run of one scenario, for one call."""

    def __init__(self, tmp_path: Path, scenario: str, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.scenario = scenario
        self.errors = tmp_path / f"{scenario}.errors.log"
        self.messages = tmp_path / f"{scenario}.messages.log"
        self.args = args
        self.process: asyncio.subprocess.Process | None = None

    def uri(self, user: str = "+15551234", params: str = "") -> str:
        """A SIP URI of SIPp's address (the user agent calls it there)."""
        return f"sip:{user}@127.0.0.1:{self.port}{params}"

    async def start(self, remote: str | None = None) -> None:
        """Start SIPp (as UAC calling ``remote``, else as UAS) and wait until it listens."""
        assert SIPP is not None
        command = [
            SIPP,
            "-sf",
            str(SCENARIOS / f"{self.scenario}.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "30",
            "-timeout_error",
            "-trace_err",
            "-error_file",
            str(self.errors),
            "-trace_msg",
            "-message_file",
            str(self.messages),
            *self.args,
        ]
        if remote is not None:
            command.append(remote)
        self.process = process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        kind = socket.SOCK_STREAM if "t1" in self.args else socket.SOCK_DGRAM

        def started() -> str | None:
            with socket.socket(socket.AF_INET, kind) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return "listening"
            return "exited" if process.returncode is not None else None

        if remote is None and await until(started, f"SIPp {self.scenario} listens") == "exited":
            await self.finish()  # fails with SIPp's complaint
            pytest.fail(f"SIPp {self.scenario} exited before listening")

    async def finish(self) -> None:
        """Wait for SIPp to end its scenario and check that it passed."""
        assert self.process is not None
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=60)
        if self.process.returncode != 0:
            errors = self.errors.read_text() if self.errors.exists() else ""
            messages = self.messages.read_text() if self.messages.exists() else ""
            pytest.fail(
                f"SIPp {self.scenario} exited {self.process.returncode}: "
                f"{stderr.decode()}\n{errors}\n{messages[-6000:]}"
            )

    async def during(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` while SIPp runs: SIPp ending first (its scenario failed)
        fails the test with its logs instead of waiting for ever."""
        assert self.process is not None
        waited = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(self.process.wait())
        await asyncio.wait([waited, exited], return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if waited.done():
            return waited.result()
        waited.cancel()
        await self.finish()
        pytest.fail(f"SIPp {self.scenario} ended first")

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


@contextlib.asynccontextmanager
async def sipp(
    tmp_path: Path, scenario: str, *args: str, calling: int | None = None, port: int | None = None
) -> AsyncIterator[Sipp]:
    """Run SIPp's ``scenario`` for one call: as UAC calling 127.0.0.1:``calling`` (the user
    agent's port), else as UAS listening (on ``port``, else a free one). Leaving the block
    waits for SIPp to pass; a block that raised kills it instead."""
    run = Sipp(tmp_path, scenario, *args, port=port)
    try:
        await run.start(None if calling is None else f"127.0.0.1:{calling}")
        yield run
        await run.finish()
    finally:
        run.kill()


@pytest.fixture
async def agent() -> AsyncIterator[tuple[UserAgent, asyncio.Queue[IncomingCall]]]:
    incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
    config = UserAgentConfig(port=0, user="fax", username="fax", password="secret")
    async with UserAgent(config, on_incoming=incoming.put_nowait) as ua:
        yield ua, incoming


def offer() -> SessionDescription:
    return make_offer(MEDIA, Origin(session_id=7, address="127.0.0.1"))


def t38_offer(version: int) -> SessionDescription:
    origin = Origin(session_id=7, version=version, address="127.0.0.1")
    return make_offer(MEDIA, origin, audio=False, t38=True)


async def answer_call(incoming: asyncio.Queue[IncomingCall]) -> IncomingCall:
    call = await incoming.get()
    await answer_call_ringing(call)
    return call


async def answer_call_ringing(call: IncomingCall) -> None:
    """Ring (180) and answer an incoming call with G.711."""
    assert call.offer is not None
    call.ring()
    answer, _ = make_answer(call.offer, MEDIA, Origin(session_id=7, address="127.0.0.1"))
    await call.answer(answer)


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_calls_and_the_user_agent_answers(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path, transport: str
) -> None:
    ua, incoming = agent
    args = ("-s", "+15551234", "-t", transport)
    async with sipp(tmp_path, "uac_answered", *args, calling=ua.address[1]):
        call = await answer_call(incoming)
        assert call.called_number == "+15551234"
        assert call.peer.transport == ("TCP" if transport == "t1" else "UDP")
        end = await call.wait_ended()
    assert (end.remote, end.reason) == (True, "bye")


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_the_user_agent_calls_sipp_which_answers(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path, transport: str
) -> None:
    ua, _ = agent
    progress: list[int] = []
    uri_transport = ";transport=tcp" if transport == "t1" else ""
    async with sipp(tmp_path, "uas_answer", "-t", transport) as peer:
        call = ua.call(
            peer.uri(params=uri_transport),
            offer(),
            on_progress=lambda status, _sdp: progress.append(status),
        )
        answer = await call.connected()
        assert answer is not None
        stream = read_answer(offer(), answer)
        assert (stream.kind, stream.encoding) == (StreamKind.AUDIO, "PCMA")
        await call.hang_up()
    assert progress == [180]
    assert call.end is not None
    assert call.end.remote is False


@pytest.mark.parametrize(
    ("scenario", "status", "cause"),
    [("uas_busy", 486, CallFailure.BUSY), ("uas_not_found", 404, CallFailure.NOT_FOUND)],
)
async def test_sipp_refuses_the_call(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]],
    tmp_path: Path,
    scenario: str,
    status: int,
    cause: CallFailure,
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, scenario) as peer:
        call = ua.call(peer.uri(), offer())
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
    assert (failure.value.cause, failure.value.status) == (cause, status)


async def test_the_user_agent_cancels_while_sipp_rings(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_cancelled") as peer:
        call = ua.call(peer.uri(), offer())
        await until(lambda: call.state is CallState.RINGING, "SIPp rings", poll=0.01)
        await call.hang_up()
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
    assert (failure.value.cause, failure.value.status) == (CallFailure.CANCELLED, 487)


async def test_sipp_cancels_while_the_user_agent_rings(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    async with sipp(tmp_path, "uac_cancel", "-s", "+15551234", calling=ua.address[1]):
        call = await incoming.get()
        call.ring()
        end = await call.wait_ended()
    assert (end.remote, end.reason, end.status) == (True, "cancelled", 487)


async def test_sipp_refuses_the_t38_reinvite_and_the_call_goes_on_in_audio(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    async with sipp(tmp_path, "uac_t38_refused", "-s", "+15551234", calling=ua.address[1]):
        call = await answer_call(incoming)
        audio = (call.local_sdp, call.remote_sdp)
        result = await call.reinvite(t38_offer(1))
        assert (result.accepted, result.status) == (False, 488)
        assert call.state is CallState.CONNECTED
        assert (call.local_sdp, call.remote_sdp) == audio
        end = await call.wait_ended()
    assert (end.remote, end.reason) == (True, "bye")


async def test_a_session_refresh_during_t38_leaves_the_session_alone(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    offers: list[SessionDescription] = []

    async def watch(offer: SessionDescription) -> SessionDescription:
        offers.append(offer)
        raise SdpNegotiationError("a refresh must not reach the provider")

    scenario = "uac_refresh_during_t38"
    async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]):
        call = await answer_call(incoming)
        call.on_offer = watch
        result = await call.reinvite(t38_offer(1))
        assert result.accepted
        assert result.answer is not None
        assert read_answer(t38_offer(1), result.answer).kind is StreamKind.T38
        t38 = (call.local_sdp, call.remote_sdp)
        end = await call.wait_ended()
    assert offers == []
    assert call.refreshes == 2
    assert (call.local_sdp, call.remote_sdp) == t38
    assert (end.remote, end.reason) == (True, "bye")


async def test_crossing_reinvites_with_sipp_end_in_491_and_a_retry(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    offers: list[SessionDescription] = []

    async def watch(offer: SessionDescription) -> SessionDescription:
        offers.append(offer)
        raise SdpNegotiationError("the crossing re-INVITE must get 491 first")

    async with sipp(tmp_path, "uac_glare", "-s", "+15551234", calling=ua.address[1]):
        call = await answer_call(incoming)
        call.on_offer = watch
        result = await call.reinvite(t38_offer(1))
        assert result.accepted
        assert result.answer is not None
        assert read_answer(t38_offer(1), result.answer).kind is StreamKind.T38
        await call.wait_ended()
    assert offers == []


async def test_a_digest_challenged_invite_is_authorized(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_invite_auth") as peer:
        call = ua.call(peer.uri(), offer())
        assert await call.connected() is not None
        await call.hang_up()


def digest(algorithm: str, *parts: str) -> str:
    name = "sha256" if algorithm == "SHA-256" else "md5"
    return hashlib.new(name, ":".join(parts).encode()).hexdigest()


def checked_nonce_counts(
    log: str, header: str, method: str, algorithm: str, realm: str
) -> list[int]:
    """Check every ``header`` answer in SIPp's message log with a digest computed here
    (RFC 7616, user fax, password secret); the nonce counts, in order."""
    counts = []
    for answer in re.findall(rf"^{header}: Digest (.*)$", log, flags=re.MULTILINE):
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', answer))
        assert (fields["username"], fields["algorithm"]) == ("fax", algorithm)
        ha1 = digest(algorithm, "fax", realm, "secret")
        ha2 = digest(algorithm, method, fields["uri"])
        expected = digest(
            algorithm, ha1, fields["nonce"], fields["nc"], fields["cnonce"], "auth", ha2
        )
        assert fields["response"] == expected
        counts.append(int(fields["nc"], 16))
    return counts


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_a_digest_challenged_register_is_authorized_and_refreshed(
    tmp_path: Path, algorithm: str
) -> None:
    async with sipp(tmp_path, "uas_register_auth", "-key", "algorithm", algorithm) as peer:
        config = UserAgentConfig(
            port=0,
            user="fax",
            password="secret",
            registrar=f"sip:127.0.0.1:{peer.port}",
            domain="openfax.test",
        )
        async with UserAgent(config) as ua:
            registration = await ua.register()
            assert registration.registered
            assert registration.granted == 2
            await until(lambda: registration.refreshes, "the registration is refreshed", poll=0.05)
    # The first answer, the refresh and the removal, each with the next nonce count.
    log = peer.messages.read_text()
    counts = checked_nonce_counts(log, "Authorization", "REGISTER", algorithm, "openfax.test")
    assert counts == [1, 2, 3]


async def test_refused_credentials_are_sent_once_an_attempt_and_backed_off(
    tmp_path: Path,
) -> None:
    """A registrar refusing the password for ever: each attempt sends the credentials once
    (never the refused answer again first), and the delay doubles up to its cap."""
    run = Sipp(tmp_path, "uas_register_unauthorized")
    await run.start()
    try:
        config = UserAgentConfig(
            port=0,
            user="fax",
            password="wrong",
            registrar=f"sip:127.0.0.1:{run.port}",
            register_retry=0.1,
            register_backoff_max=0.4,
            name="trunk carrier",
        )
        delays: dict[int, float | None] = {}
        async with UserAgent(config) as ua:
            registration = ua.register_in_background()

            def rejected_five_times() -> bool:
                delays[registration.rejections] = registration.retry_in
                return registration.rejections >= 5

            await until(rejected_five_times, "five rejections", 20, poll=0.005)
            assert registration.state is RegistrationState.FAILED
            assert "401 Unauthorized: the credentials were refused" in registration.error
    finally:
        run.kill()
    assert [delays.get(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.4]
    received = run.messages.read_text().split("message received")
    signed = ["Authorization: Digest" in m for m in received if "REGISTER sip:" in m]
    # Each attempt: a REGISTER without credentials (challenged), then one with them (refused).
    assert signed[:10] == [False, True] * 5


async def test_a_session_the_far_end_stops_refreshing_is_hung_up(tmp_path: Path) -> None:
    incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
    config = UserAgentConfig(port=0, user="fax", min_se=1)
    async with UserAgent(config, on_incoming=incoming.put_nowait) as ua:
        scenario = "uac_session_expires"
        async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]):
            call = await answer_call(incoming)
            assert (call.timer.interval, call.timer.we_refresh) == (3, False)
            end = await call.wait_ended()
    assert (end.remote, end.reason) == (True, "session expired")


async def test_a_200_never_acked_is_hung_up(tmp_path: Path) -> None:
    incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
    config = UserAgentConfig(port=0, user="fax", timers=TimerValues(t1=0.05, t2=0.4, t4=0.5))
    async with UserAgent(config, on_incoming=incoming.put_nowait) as ua:
        scenario = "uac_no_ack"
        async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]):
            call = await incoming.get()
            assert call.offer is not None
            answer, _ = make_answer(call.offer, MEDIA, Origin(session_id=7))
            with pytest.raises(CallFailedError) as failure:
                await call.answer(answer)
            end = await call.wait_ended()
    assert failure.value.status == 408
    assert (end.remote, end.reason) == (True, "no ACK")


async def test_an_invite_challenged_by_a_proxy_is_authorized(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_invite_proxy_auth") as peer:
        call = ua.call(peer.uri(), offer())
        assert await call.connected() is not None
        await call.hang_up()
    log = peer.messages.read_text()
    counts = checked_nonce_counts(log, "Proxy-Authorization", "INVITE", "SHA-256", "proxy.test")
    assert counts == [1]


async def test_a_reinvite_never_answered_ends_the_call_as_lost(tmp_path: Path) -> None:
    incoming: asyncio.Queue[IncomingCall] = asyncio.Queue()
    config = UserAgentConfig(port=0, user="fax", timers=TimerValues(t1=0.05, t2=0.4, t4=0.5))
    async with UserAgent(config, on_incoming=incoming.put_nowait) as ua:
        scenario = "uac_reinvite_unanswered"
        async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]):
            call = await answer_call(incoming)
            result = await call.reinvite(t38_offer(1))
            end = await call.wait_ended()
    assert (result.accepted, result.status) == (False, 408)
    assert (end.remote, end.reason) == (True, "408 Request Timeout (timeout)")


def test_sipp_calls_the_sip_provider_which_answers(tmp_path: Path) -> None:
    """The answering scenario carried to the ``sip`` provider: SIPp calls a trunk's number,
    a device rings and answers, and SIPp's BYE (before any fax) ends the reception unfinished
    with the called number as its routing information."""
    trunk = TrunkConfig(
        name="sipp",
        numbers=("5550202",),
        local_address="127.0.0.1",
        local_port=free_port(),
        host="127.0.0.1",
        port=free_port(),
        t38="off",
        ring_seconds=0.1,
    )
    service = Service(tmp_path)

    async def main() -> None:
        provider = SipProvider([trunk], name="sip")
        provider.set_listener(service)
        async with provider:
            async with sipp(tmp_path, "uac_answered", "-s", "5550202", calling=trunk.local_port):
                pass
            await until(service.received, "the call is received", poll=0.05)

    asyncio.run(asyncio.wait_for(main(), 60))
    (received,) = service.received()
    assert received.direction is CallDirection.INCOMING
    assert not received.ok
    (call,) = service.calls.values()
    assert call.called_number == "5550202"


async def test_a_redirected_call_follows_the_contacts_in_q_order(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_redirect") as peer:
        call = ua.call(peer.uri(), offer())
        assert await call.connected() is not None
        assert call.final is not None
        assert call.final.status == 200
        await call.hang_up()


@pytest.mark.parametrize(
    ("scenario", "contact", "max_redirects", "status", "why"),
    [
        ("uas_redirect_refused", "<sip:+15551234@127.0.0.1:{port}>", 5, 302, "redirection loop"),
        (
            "uas_redirect_refused",
            "<sip:moved@127.0.0.1:{port}>",
            0,
            302,
            "more than 0 redirections",
        ),
        ("uas_redirect_refused", "<tel:+15551234>", 5, 302, "no Contact we can call"),
        ("uas_alternative_service", "", 5, 380, "380 Alternative Service is not followed"),
    ],
)
async def test_a_redirection_that_cannot_be_followed_fails_the_call(
    tmp_path: Path, scenario: str, contact: str, max_redirects: int, status: int, why: str
) -> None:
    config = UserAgentConfig(port=0, user="fax", max_redirects=max_redirects)
    port = free_port()
    keys = ("-key", "contact", contact.format(port=port))
    async with UserAgent(config) as ua, sipp(tmp_path, scenario, *keys, port=port) as peer:
        call = ua.call(peer.uri(), offer())
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
    assert (failure.value.cause, failure.value.status) == (CallFailure.REDIRECTED, status)
    assert why in failure.value.reason


async def test_a_far_end_gone_away_fails_the_next_request_at_once(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_answer_and_leave") as peer:
        call = ua.call(peer.uri(), offer())
        assert await call.connected() is not None
    # SIPp has exited: the re-INVITE meets an ICMP port unreachable, which ends the call as
    # lost with the transport error (a 503 made here), long before timer B's 408.
    result = await call.reinvite(t38_offer(1))
    end = await call.wait_ended()
    assert (result.accepted, result.status) == (False, 503)
    assert result.reason == "Service Unavailable (transport error: Connection refused)"
    assert (end.remote, end.reason) == (True, f"503 {result.reason}")


async def test_a_second_branch_answering_a_forked_invite_is_acked_and_hung_up(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    async with sipp(tmp_path, "uas_forked_answer") as peer:
        call = ua.call(peer.uri(), offer())
        answer = await call.connected()
        assert answer is not None
        assert read_answer(offer(), answer).encoding == "PCMA"
        # SIPp checks the ACK and BYE of the second branch, then hangs up the kept one.
        end = await peer.during(call.wait_ended())
    assert call.dialog is not None
    assert "SIPpTag01" in call.dialog.remote_tag
    assert (end.remote, end.reason) == (True, "bye")


async def test_reliable_provisional_responses_are_pracked_in_their_early_dialog(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, _ = agent
    progress: list[int] = []
    async with sipp(tmp_path, "uas_reliable_ringing") as peer:
        call = ua.call(
            peer.uri(), offer(), on_progress=lambda status, _sdp: progress.append(status)
        )
        assert await peer.during(call.connected()) is not None
        await call.hang_up()
    # Each reliable provisional reached the provider once, whatever SIPp retransmitted.
    assert progress == [180, 183]


async def test_an_invite_requiring_100rel_is_answered_without_provisional_responses(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    scenario = "uac_require_100rel"
    async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]) as peer:
        call = await peer.during(incoming.get())
        assert call.provisional is False
        await answer_call_ringing(call)
        end = await peer.during(call.wait_ended())
    assert (end.remote, end.reason) == (True, "bye")


async def test_an_invite_requiring_an_unknown_extension_gets_420(
    agent: tuple[UserAgent, asyncio.Queue[IncomingCall]], tmp_path: Path
) -> None:
    ua, incoming = agent
    scenario = "uac_require_unknown"
    async with sipp(tmp_path, scenario, "-s", "+15551234", calling=ua.address[1]):
        pass
    assert incoming.empty()
