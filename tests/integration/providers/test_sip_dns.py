"""Trunks named by DNS between real openfaxd instances (RFC 3263): a fax crosses to a peer
located by SRV records (a real DNS server on 127.0.0.1, the ``nameserver`` fixture) after
failing over from a first-priority target that refuses; a trunk whose host DNS cannot
locate leaves the daemon running and the job waiting to retry, its status naming the host."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxDocument
from openfax.model import JobStatus
from tests.daemon import running
from tests.dnsserver import DnsServer
from tests.factories import make_pdf
from tests.integration.providers.test_sip import free_port
from tests.integration.providers.test_sip_daemons import (
    MEDIA_PORTS,
    NUMBERS,
    fax,
    free_range,
    two_daemons,
)
from tests.waiting import wait_until

WAIT = 60.0


def test_a_fax_reaches_a_trunk_named_by_dns_srv(nameserver: DnsServer, tmp_path: Path) -> None:
    body = make_pdf(tmp_path / "one.pdf", 1)
    with two_daemons(tmp_path, "request", dns=nameserver) as (a, b, _):
        over = fax(a, b, body, NUMBERS[1], tmp_path)
        log = "".join(a.log)
    assert "T.38" in over
    assert "SIP trunk peer: node-1.test: transport error" in log
    assert "; trying TCP 127.0.0.1:" in log
    assert nameserver.asked("_sip._tcp.node-1.test", "SRV") >= 1
    assert nameserver.asked("up.node-1.test", "A") >= 1


def test_a_trunk_dns_cannot_locate_fails_the_attempt_as_unreachable(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    nameserver.misbehave("_sip._udp.carrier.test", "servfail")
    trunk = {
        "name": "carrier",
        "host": "carrier.test",
        "register": True,
        "local_address": "127.0.0.1",
        "local_port": free_port(),
        "media_ports": "{}-{}".format(*free_range(MEDIA_PORTS)),
        "numbers": [NUMBERS[0]],
    }
    sip = {"dns_servers": [nameserver.address], "dns_timeout": 1, "trunks": [trunk]}
    body = make_pdf(tmp_path / "one.pdf", 1)
    with running(tmp_path / "node", loopback={"lines": 0}, sip=sip) as daemon:
        with daemon.connected() as server:
            document = FaxDocument(body=body, subject="nowhere")
            document.recipients.add(NUMBERS[1])
            (job_id,) = document.connected_submit(server)
            job = server.folders.outgoing_queue.get_job(job_id)

            def retrying() -> bool:
                job.refresh()
                return job.status is JobStatus.RETRYING

            wait_until(retrying, lambda: f"a retry, not {job.status}: {job.extended_status}", WAIT)
            assert "'carrier.test'" in job.extended_status
            # The daemon still serves: the trunk's device is there.
            assert [device.device_name for device in server.get_devices()] == ["carrier channel 1"]
        assert daemon.process is not None
        assert daemon.process.poll() is None
