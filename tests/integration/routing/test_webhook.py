"""The webhook method end to end: a real openfaxd receives a fax from its other loopback
line and POSTs it to a real HTTP server in this process."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest

from openfax.client import FaxServer
from openfax.documents import read_fax_tiff
from openfax.errors import InvalidOperationError, MessageNotFoundError
from openfax.masking import masked_url
from openfax.model import JobOperations, JobStatus
from openfax.routing import WEBHOOK
from tests.daemon import Daemon
from tests.integration.cli.test_fax_commands import openfax
from tests.integration.routing.conftest import WAIT, fax_to, settled, use_only
from tests.peers import webhook_receiver
from tests.waiting import wait_until

RECEIVER = "loopback line 1002"


def logged(daemon: Daemon, text: str) -> bool:
    """Whether openfaxd's log shows ``text`` (its lines are read by a thread: wait for it)."""
    return wait_until(lambda: any(text in line for line in list(daemon.log)), text, WAIT)


def line_id(server: FaxServer, name: str) -> int:
    return server.get_devices()[name].id


def test_a_webhook_failing_twice_is_retried_until_delivered_signed_with_one_event_id(
    server: FaxServer, one_page: Path
) -> None:
    with webhook_receiver() as hook:
        hook.statuses.extend([503, 500])
        method = server.inbound_routing.get_method(WEBHOOK)
        config = {"url": hook.url, "secret": "s3cret", "attach": "pdf"}
        method.set_configuration(config, line_id(server, RECEIVER))
        use_only(server, RECEIVER, WEBHOOK)

        message_id = fax_to(server, "1002", one_page)
        (delivery,) = settled(server, message_id)
        requests = hook.wait_for(3)

    assert (delivery.status, delivery.attempts, delivery.last_error) == ("done", 3, "")
    assert len(hook.received) == 3
    assert all(request.signed_with("s3cret") for request in requests)
    assert not requests[0].signed_with("another secret")
    assert {r.headers["x-openfax-event-id"] for r in requests} == {delivery.id}
    assert [r.headers["x-openfax-delivery-attempt"] for r in requests] == ["1", "2", "3"]
    body = requests[2].json
    assert body["event"] == "fax.received"
    assert body["message_id"] == message_id
    assert body["routing_information"]["called_number"] == "1002"
    assert body["routing_information"]["caller_id"] == "1001"
    assert body["routing_information"]["device_name"] == RECEIVER
    pdf = pdfium.PdfDocument(base64.b64decode(body["pdf"]["base64"]))
    assert len(pdf) == body["pages"] == 1
    with pytest.raises(MessageNotFoundError):
        server.folders.incoming_queue.get_job(message_id)


def test_a_webhook_failing_for_good_keeps_the_fax_and_is_resent_by_an_administrator(
    server: FaxServer, daemon: Daemon, one_page: Path, tmp_path: Path
) -> None:
    with webhook_receiver() as hook:
        hook.statuses.append(404)
        method = server.inbound_routing.get_method(WEBHOOK)
        link_base = f"http://{daemon.address}"
        method.set_configuration(
            {"url": hook.url, "secret": "k", "link_base": link_base}, line_id(server, RECEIVER)
        )
        use_only(server, RECEIVER, WEBHOOK)

        message_id = fax_to(server, "1002", one_page)
        (delivery,) = settled(server, message_id)
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert "404" in delivery.last_error
        job = server.folders.incoming_queue.get_job(message_id)
        assert job.status == JobStatus.RETRIES_EXCEEDED
        assert "Post to a webhook" in job.extended_status
        assert "404" in job.extended_status
        assert logged(daemon, f"fax {message_id}: Post to a webhook failed for good")
        failed = server.inbound_routing.get_deliveries(status="failed")
        assert delivery.id in {d.id for d in failed}
        # The fax is in the archive all the same.
        archived = server.folders.incoming_archive.get_message(message_id)
        (shown,) = archived.get_routing_deliveries()
        assert (shown.id, shown.status, shown.method) == (delivery.id, "failed", WEBHOOK)
        archived.save_pdf(tmp_path / "kept.pdf")
        assert len(pdfium.PdfDocument(tmp_path / "kept.pdf")) == 1

        failed[delivery.id].resend()
        (resent,) = settled(server, message_id)
        requests = hook.wait_for(2)

    assert (resent.status, resent.attempts) == ("done", 1)
    assert requests[0].headers["x-openfax-event-id"] == requests[1].headers[
        "x-openfax-event-id"
    ] == delivery.id  # fmt: skip
    link = requests[1].json["pdf_url"]
    assert link == f"{link_base}/v1/incoming-messages/{message_id}/pdf"
    answer = httpx.get(link, headers={"Authorization": f"Bearer {daemon.token}"})
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF")
    with pytest.raises(MessageNotFoundError):
        server.folders.incoming_queue.get_job(message_id)
    with pytest.raises(InvalidOperationError, match="done"):
        server.inbound_routing.get_deliveries(message_id=message_id)[1].resend()


def test_a_fax_being_routed_is_copied_and_cancelled_by_the_client_and_the_cli(
    server: FaxServer, daemon: Daemon, one_page: Path, tmp_path: Path
) -> None:
    with webhook_receiver() as hook:
        # Each fax's first POST is held unanswered while the test copies and cancels, so the
        # cancel meets a delivery in progress (not one that already gave up); released, it is
        # answered 503: a delivery that got through would be done despite the cancel.
        hook.answering.clear()
        hook.statuses.extend([503, 503])
        method = server.inbound_routing.get_method(WEBHOOK)
        method.set_configuration({"url": hook.url}, line_id(server, RECEIVER))
        use_only(server, RECEIVER, WEBHOOK)

        first = fax_to(server, "1002", one_page)
        hook.wait_for(1)
        job = server.folders.incoming_queue.get_job(first)
        assert job.status is JobStatus.ROUTING
        assert job.available_operations & JobOperations.DELETE
        job.copy_tiff(tmp_path / "first.tif")
        assert len(read_fax_tiff(tmp_path / "first.tif")) == 1
        job.cancel()
        assert job.status is JobStatus.CANCELED
        with pytest.raises(MessageNotFoundError):
            server.folders.incoming_queue.get_job(first)
        (delivery,) = settled(server, first)
        assert (delivery.status, delivery.last_error) == ("failed", "cancelled")
        assert server.folders.incoming_archive.get_message(first).pages == 1
        hook.answering.set()  # the held POST is answered; the second fax's is held likewise
        hook.answering.clear()
        second = fax_to(server, "1002", one_page)
        hook.wait_for(2)
        assert server.folders.incoming_queue.get_job(second).status is JobStatus.ROUTING
        done = openfax(daemon, "cancel", second)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [second, JobStatus.CANCELED.names]
        with pytest.raises(MessageNotFoundError):
            server.folders.incoming_queue.get_job(second)
        (delivery,) = settled(server, second)
        assert (delivery.status, delivery.last_error) == ("failed", "cancelled")
        assert server.folders.incoming_archive.get_message(second).pages == 1
        # The first fax was not tried again once its held POST failed: it was cancelled.
        assert [r.json["message_id"] for r in hook.received] == [first, second]


def test_a_password_in_a_webhook_url_is_masked_where_the_url_is_masked_url() -> None:
    assert masked_url("https://fax:pw-in-url@hooks.example/in?x=1") == (
        "https://fax:********@hooks.example/in?x=1"
    )
    assert masked_url("https://hooks.example/in") == "https://hooks.example/in"
