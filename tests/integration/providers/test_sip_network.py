"""What real SIP networks send (found with Kamailio and SIPp playing the carrier):
an INVITE without SDP (delayed offer), an offer the trunk cannot take (488 with a Warning,
before any ringing), a far end putting the call on hold and resuming it, a registrar that
lost its bindings answering 404, and registration in the background with its state shown in
``openfax devices`` and ``openfax providers list``.

SIPp (Debian ``sip-tester``) plays the carrier; the hold test's far end is our own user agent
with a UDP socket of the test standing for its media port."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from openfax.client import ServerEvents
from openfax.model import ProviderStatus
from openfax.providers import (
    Answered,
    CallCause,
    CallEnded,
    CallOutcome,
    LineRegistration,
    RegistrationState,
    SendRequest,
)
from openfax.providers.sip import SipProvider, TrunkConfig
from openfax.telephony.sdp import (
    Connection,
    LocalMedia,
    Origin,
    SessionDescription,
    make_offer,
    read_answer,
)
from openfax.telephony.sip.useragent import UserAgent, UserAgentConfig
from tests.daemon import running
from tests.integration.cli.test_accounts_commands import openfax
from tests.integration.telephony.test_sipp import SCENARIOS, SIPP, free_port, sipp
from tests.unit.providers.test_loopback import Service, make_tiff
from tests.waiting import until, wait_until

pytestmark = pytest.mark.skipif(
    SIPP is None, reason="SIPp is not installed (Debian package sip-tester)"
)

HOST = "127.0.0.1"
NUMBER = "5550202"


def carrier(**options: Any) -> TrunkConfig:
    """A trunk whose carrier is SIPp (or a socket of the test) on a free port."""
    settings: dict[str, Any] = {
        "name": "carrier",
        "numbers": (NUMBER,),
        "local_address": HOST,
        "local_port": free_port(),
        "host": HOST,
        "port": free_port(),
        "t38": "off",
        "ring_seconds": 0.1,
        **options,
    }
    return TrunkConfig(**settings)


def serve(
    tmp_path: Path,
    trunk: TrunkConfig,
    scenario: Callable[[SipProvider, Service], Awaitable[None]],
) -> Service:
    """Run ``scenario`` with a started provider of ``trunk`` and a recording service."""
    service = Service(tmp_path)

    async def main() -> None:
        provider = SipProvider([trunk], name="sip")
        provider.set_listener(service)
        async with provider:
            await scenario(provider, service)

    asyncio.run(asyncio.wait_for(main(), 60))
    return service


async def reception(service: Service) -> None:
    await until(service.received, "a fax is received")


@pytest.mark.parametrize(
    ("t38", "scenario_name", "over"),
    [("off", "uac_delayed_offer", "G.711"), ("accept", "uac_delayed_offer_t38", "T.38")],
)
def test_a_delayed_offer_gets_our_offer_in_the_200_and_the_ack_answers_it(
    tmp_path: Path, t38: str, scenario_name: str, over: str
) -> None:
    """Under ``off`` the 200 offers G.711 and SIPp takes PCMA; under ``accept`` it offers
    T.38 first and G.711, and SIPp takes T.38 (each scenario checks the offer)."""
    trunk = carrier(t38=t38)

    async def scenario(provider: SipProvider, service: Service) -> None:
        async with sipp(tmp_path, scenario_name, "-s", NUMBER, calling=trunk.local_port):
            await reception(service)

    service = serve(tmp_path, trunk, scenario)
    (outcome,) = service.received()
    (events,) = service.incoming.values()
    assert any(isinstance(event, Answered) for event in events)
    # SIPp hangs up before any fax: the engine ran over the stream the ACK accepted.
    assert outcome.connected, outcome.detail
    assert f"(over {over})" in outcome.detail, outcome.detail


def test_a_delayed_offer_without_an_answer_in_the_ack_is_hung_up_saying_why(
    tmp_path: Path,
) -> None:
    trunk = carrier()

    async def scenario(provider: SipProvider, service: Service) -> None:
        # SIPp checks the BYE's Reason: cause 488, "the ACK carried no SDP answer ...".
        args = ("-s", NUMBER)
        async with sipp(tmp_path, "uac_delayed_offer_no_answer", *args, calling=trunk.local_port):
            await reception(service)

    (outcome,) = serve(tmp_path, trunk, scenario).received()
    assert outcome.cause is CallCause.REMOTE_INCAPABLE
    assert "the ACK carried no SDP answer" in outcome.detail


def test_an_unusable_offer_is_refused_with_a_warning_before_ringing(tmp_path: Path) -> None:
    trunk = carrier()

    async def scenario(provider: SipProvider, service: Service) -> None:
        # SIPp fails on a 180 before the 488 and checks its Warning: 305.
        async with sipp(tmp_path, "uac_unusable_offer", "-s", NUMBER, calling=trunk.local_port):
            await reception(service)

    service = serve(tmp_path, trunk, scenario)
    (events,) = service.incoming.values()
    assert [type(event) for event in events] == [CallEnded], "no ring, no answer"
    (outcome,) = service.received()
    assert outcome.cause is CallCause.REMOTE_INCAPABLE
    assert "G.711" in outcome.detail


class MediaPort(asyncio.DatagramProtocol):
    """The far end's RTP port: counts what arrives."""

    def __init__(self) -> None:
        self.arrived = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.arrived += 1

    async def next_datagram(self) -> None:
        seen = self.arrived
        await until(lambda: self.arrived != seen, "an RTP packet arrives", 10, poll=0.01)


def test_a_far_end_holding_the_call_gets_no_rtp_until_it_resumes(tmp_path: Path) -> None:
    """RFC 3264 8.4: a re-INVITE with a=sendonly is answered recvonly, one with a=inactive
    inactive, one with c=0.0.0.0 (RFC 2543's hold, which Linux would deliver locally)
    recvonly; none of them gets RTP until a sendrecv re-INVITE resumes the call."""
    trunk = carrier()
    answers: list[str] = []

    async def scenario(provider: SipProvider, service: Service) -> None:
        loop = asyncio.get_running_loop()
        transport, port = await loop.create_datagram_endpoint(MediaPort, local_addr=(HOST, 0))
        media = LocalMedia(HOST, transport.get_extra_info("sockname")[1])
        config = UserAgentConfig(host=HOST, port=trunk.port or 0, user="far")
        async with UserAgent(config) as far:
            offer = make_offer(media, Origin(session_id=9, address=HOST))
            call = far.call(f"sip:{NUMBER}@{HOST}:{trunk.local_port}", offer)
            await call.connected()
            await port.next_datagram()
            for version, (address, direction) in enumerate(
                [(HOST, "sendonly"), (HOST, "inactive"), ("0.0.0.0", "sendrecv")], start=2
            ):
                held = hold_offer(offer, version, address, direction)
                result = await call.reinvite(held)
                assert result.answer is not None, result
                answers.append(read_answer(held, result.answer).direction)
                port.arrived = 0
                # Absence is seen over a window: the channel's media session holds back
                # 25 more packets (half a second of its clock) and none of them arrives.
                await held_back(provider, 25)
                assert port.arrived == 0, f"RTP sent while held ({direction} to {address})"
            resumed = await call.reinvite(hold_offer(offer, 5, HOST, "sendrecv"))
            assert resumed.accepted
            await port.next_datagram()
            await call.hang_up()
        transport.close()
        await reception(service)

    serve(tmp_path, trunk, scenario)
    # Our direction as read from each answer: the mirror of the answer's attribute.
    assert answers == ["sendonly", "inactive", "sendonly"]


async def held_back(provider: SipProvider, packets: int) -> None:
    """Wait until the one channel's media session has held back ``packets`` more."""
    (channel,) = provider.devices
    leg = channel._call  # the call's media statistics are not part of the device's API
    assert leg is not None
    assert leg.media is not None
    statistics = leg.media.statistics
    target = statistics.held + packets
    await until(lambda: statistics.held >= target, f"{packets} more held back", 10, poll=0.01)


def hold_offer(
    offer: SessionDescription, version: int, address: str, direction: str
) -> SessionDescription:
    """``offer`` again with a new version, connection address and direction."""
    (audio,) = offer.media
    attributes = (*(a for a in audio.attributes if a[0] != "sendrecv"), (direction, None))
    return replace(
        offer,
        origin=replace(offer.origin, version=version),
        connection=Connection(address),
        media=(replace(audio, attributes=attributes),),
    )


def test_a_404_just_after_a_re_registration_is_retried_once(tmp_path: Path) -> None:
    """The registrar restarted: our REGISTER got 503, the next one 200; the callee's binding
    is not back yet (404). The first 404 is a retry (UNREACHABLE, saying why), the next one
    to the same number is final (BAD_ADDRESS)."""
    trunk = carrier(register=True, register_retry=0.2)
    document = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(provider: SipProvider, service: Service) -> None:
        (channel,) = provider.devices
        async with sipp(tmp_path, "uas_registrar_restarted", "-m", "3", port=trunk.port):
            await until(lambda: channel.registration == registered, "registered again", 20)
            for _ in range(2):
                outcomes.append(await channel.dial("5550303", SendRequest(document)))
            await provider.stop()  # the removal REGISTER ends SIPp's third call

    registered = LineRegistration(RegistrationState.REGISTERED)
    serve(tmp_path, trunk, scenario)
    first, second = outcomes
    assert first.cause is CallCause.UNREACHABLE, first.detail
    assert "404 Not Found" in first.detail
    assert "tried again once" in first.detail
    assert second.cause is CallCause.BAD_ADDRESS, second.detail


class SippRegistrar:
    """SIPp refusing every REGISTER with 401, for a daemon's trunk (a sync test)."""

    def __init__(self, tmp_path: Path) -> None:
        assert SIPP is not None
        self.port = free_port()
        self.messages = tmp_path / "registrar.messages.log"
        scenario = SCENARIOS / "uas_register_unauthorized.xml"
        self.process = subprocess.Popen(
            [
                *(SIPP, "-sf", str(scenario), "-i", HOST, "-p", str(self.port), "-m", "1"),
                *("-nostdin", "-trace_msg", "-message_file", str(self.messages)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.listening, "SIPp listens", 10, poll=0.02)

    def listening(self) -> bool:
        """Whether SIPp has bound its port (ours to bind no longer)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((HOST, self.port))
            except OSError:
                return True
        return False

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def test_registration_runs_in_the_background_and_its_state_is_shown(tmp_path: Path) -> None:
    """A daemon with two registering trunks: ``quiet``'s registrar never answers (timer F
    would hold a start that waited for it 32 s), ``carrier``'s refuses the password. The
    daemon serves at once, ``quiet`` shows registering, ``carrier`` failed with the 401 and
    powered off, the provider CANT_INIT naming it, a device event and a configuration event
    say so, and the log names the trunk."""
    registrar = SippRegistrar(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((HOST, 0))
        common = {"local_address": HOST, "host": HOST, "register": True, "t38": "off"}
        trunks = [
            {**common, "name": "quiet", "port": silent.getsockname()[1], "numbers": ["5550101"]},
            {
                **common,
                "name": "carrier",
                "port": registrar.port,
                "numbers": ["5550202"],
                "username": "fax",
                "password": "wrong",
            },
        ]
        for trunk in trunks:
            trunk["local_port"] = free_port()
        try:
            with running(tmp_path / "d", loopback={"lines": 0}, sip={"trunks": trunks}) as daemon:
                with daemon.connected() as server:
                    deadline = time.monotonic() + 20
                    mask = ServerEvents.DEVICE_STATUS | ServerEvents.CONFIG
                    with server.iter_events(mask, after=0, deadline=deadline) as events:
                        told = {}
                        for event in events:
                            if event.data.get("registration") == "failed":
                                told["device"] = event.data
                            if event.data.get("provider_status") == "CANT_INIT":
                                told["provider"] = event.data
                            if len(told) == 2:
                                break
                    assert told["device"]["powered_off"]
                    assert "401 Unauthorized" in told["device"]["registration_error"]
                    assert told["provider"]["device_provider"] == "sip"
                    assert "trunk carrier" in told["provider"]["provider_error"]
                    quiet, refused = server.get_devices()
                    assert (quiet.registration, quiet.powered_off) == ("registering", False)
                    assert (refused.registration, refused.powered_off) == ("failed", True)
                    assert refused.registration_error.endswith(
                        "answered 401 Unauthorized: the credentials were refused"
                    )
                    provider = server.get_device_providers()["sip"]
                    assert provider.status is ProviderStatus.CANT_INIT
                    assert provider.init_error_message.startswith(
                        "trunk carrier: registration failed: registrar sip:127.0.0.1:"
                    )
                # As a user sees them.
                rows = json.loads(openfax(daemon, "devices", "--json").stdout)
                assert [row["state"] for row in rows] == ["registering", "unregistered"]
                assert "401 Unauthorized" in rows[1]["registration"]
                listed = json.loads(openfax(daemon, "providers", "list", "--json").stdout)
                sip = next(row for row in listed if row["unique_name"] == "sip")
                assert sip["status"] == "CANT_INIT"
                assert "trunk carrier" in sip["error"]
                log = "".join(daemon.log)
                assert "SIP trunk carrier: registration failed:" in log
                assert "next attempt in 30 s" in log
        finally:
            registrar.stop()
