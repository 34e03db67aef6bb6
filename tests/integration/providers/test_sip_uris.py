"""A SIP line dials a SIP URI as it is: straight to the URI's host, not to the
trunk's; a loopback line reaches no URI, and neither line reaches what is not a number."""

from __future__ import annotations

from pathlib import Path

from openfax.providers import CallOutcome, LoopbackProvider
from openfax.providers.sip import SipProvider
from tests.integration.providers.test_sip import CALLEE, CALLER, HOST, free_port, run, send, trunks
from tests.unit.providers.test_loopback import Service, assert_same_pages, make_tiff


def test_a_sip_channel_dials_a_sip_uri_at_its_own_host(tmp_path: Path) -> None:
    sent = make_tiff(tmp_path, pages=1)
    outcomes: list[CallOutcome] = []

    async def scenario(a: SipProvider, b: SipProvider, service: Service) -> None:
        uri = f"sip:{CALLEE}@{HOST}:{b_port}"
        outcomes.append(await a.devices[0].dial(uri, send(sent)))

    b_port = free_port()
    # The caller's trunk points at a port nobody listens on: only the URI's host answers.
    service = run(tmp_path, scenario, caller={"port": free_port()}, callee={"local_port": b_port})
    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    assert outcome.pages == 1, outcome.detail
    (received,) = service.received()
    assert received.path is not None
    assert_same_pages(sent, received.path)


def test_which_numbers_a_line_reaches() -> None:
    line = LoopbackProvider(2).devices[0]
    assert [line.reaches(n) for n in ("1002", "+1 (555) 01-02", "9,1002", "*21#")] == [True] * 4
    assert not any(map(line.reaches, ("1001", "10-01", "sip:1002@example.com", "hello", "")))
    caller, _ = trunks()
    channel = SipProvider([caller]).devices[0]
    assert channel.number == CALLER
    assert all(map(channel.reaches, (CALLER, "5550202", "sip:fax@example.com;transport=tcp")))
    assert not any(map(channel.reaches, ("hello", "sip:example.com", "+", "")))
