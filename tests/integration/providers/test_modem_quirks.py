"""Quirks on the wire.

Two OpenFax modem lines on the two ports of a virtual modem pair, at real time: line B
says it receives only V.29 and V.27ter (HylaFAX's IAXmodem prototype does the same for
spandsp's V.17 receiver: ``Class1RMQueryCmd: "!24,48,72,96"``): its DIS offers no V.17,
and line A, which could send at 14 400 bit/s, sends at V.29 9600. Both lines run
spandsp's known-modem quirks, adaptive reception (``AT+FAR=1``) among them.

Adaptive answer: spandsp's T.31 answers every call as fax, so the scripted modem on a pty
says what a real one with ``AT+FAA=1`` says to ATA for a data caller.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from openfax.engine import Direction, FrameExchanged, Modem
from openfax.providers import CallCause, CallEnded, CallOutcome
from openfax.providers.modem.provider import ModemLine, ModemProvider
from openfax.providers.modem.quirks import QuirkOverrides
from openfax.virtual_modem import ModemPair
from tests.integration.providers.modem_peer import ScriptedModem
from tests.integration.providers.test_modem import WAIT, line_config, ready, run
from tests.unit.providers.test_loopback import Service, assert_same_pages, make_tiff, request
from tests.waiting import until


def test_a_line_receiving_without_v17_makes_the_sender_use_v29(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    for end in ("a", "b"):
        (tmp_path / end).mkdir()
    callee = Service(tmp_path / "b")
    limited = QuirkOverrides(receive_modulations=(24, 48, 72, 96))

    async def main() -> tuple[CallOutcome, str, str]:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            calling = ModemProvider([line_config(pair.paths[0])])
            answering = ModemProvider([line_config(pair.paths[1], quirks=limited)])
            calling.set_listener(Service(tmp_path / "a"))
            answering.set_listener(callee)
            async with calling, answering:
                line_a, line_b = calling.devices[0], answering.devices[0]
                await ready(line_a)
                await ready(line_b)
                dial = line_a.dial(pair.numbers["B"], request(sent))
                outcome = await asyncio.wait_for(dial, 200)
                await until(callee.received, "the fax received on line B", WAIT)
                return outcome, line_a.quirks.adaptive_receive_command, line_b.hardware

    outcome, adaptive, hardware = asyncio.run(main())
    assert adaptive == "AT+FAR=1", "spandsp's T.31 is a known modem with +FAR"
    assert "sends V.17 7200-14400" in hardware, "the probe: the modem itself has V.17"
    assert outcome.cause is CallCause.NONE, outcome
    assert outcome.negotiated is not None
    assert (outcome.negotiated.modem, outcome.negotiated.bit_rate) == (Modem.V29, 9600)
    (received,) = callee.received()
    assert received.cause is CallCause.NONE, received
    assert received.negotiated is not None
    assert received.negotiated.modem is Modem.V29
    (dis, *_) = [
        entry.event.frame
        for entry in received.transcript
        if isinstance(entry.event, FrameExchanged)
        and entry.event.direction is Direction.SENT
        and entry.event.name == "DIS"
    ]
    rate_bits = dis[4] >> 2 & 0x0F  # DIS bits 11-14: V.29, V.27ter, (13), V.17
    assert rate_bits & 0b0011 == 0b0011, "V.27ter and V.29 offered"
    assert not rate_bits & 0b1000, "V.17 not offered"
    assert received.path is not None
    assert_same_pages(sent, received.path)


def test_a_data_caller_is_hung_up_as_no_fax_and_the_line_is_ready_again(tmp_path: Path) -> None:
    with ScriptedModem(tmp_path / "modem") as peer:
        peer.answer_with = b"\r\nDATA\r\n\r\nCONNECT 33600\r\n"

        async def scenario(provider: ModemProvider, line: ModemLine, service: Service) -> None:
            await ready(line)
            peer.ring()
            await until(lambda: service.incoming, "the ring", WAIT)
            (call_id,) = service.incoming
            await until(
                lambda: any(isinstance(e, CallEnded) for e in service.incoming[call_id]),
                "the call's end",
                WAIT,
            )
            await ready(line)

        adaptive = QuirkOverrides(adaptive_answer_command="AT+FAA=1")
        service = run(tmp_path, scenario, rings_before_answer=1, quirks=adaptive)
    assert b"AT+FAA=1\r" in peer.received
    assert b"ATA\r" in peer.received
    assert b"ATH0\r" in peer.received.split(b"ATA\r", 1)[1], "hung up after the answer"
    (outcome,) = service.received()
    assert outcome.cause is CallCause.NO_FAX
    assert outcome.detail == "a data call, not a fax (ATA answered DATA, CONNECT 33600)"
    assert outcome.result is None, "never handed to the fax phase"
