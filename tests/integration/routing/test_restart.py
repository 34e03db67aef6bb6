"""Routing survives the daemon: a retry pending when openfaxd is killed runs after it starts
again, with the same event id."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxRoutingDelivery
from openfax.routing import WEBHOOK
from tests.daemon import running
from tests.integration.routing.conftest import WAIT, fax_to, settled, use_only
from tests.peers import webhook_receiver
from tests.waiting import wait_until


def test_a_pending_webhook_retry_resumes_after_kill_9_and_restart(
    tmp_path: Path, one_page: Path
) -> None:
    slow_retries = {"routing_retries": 3, "routing_retry_delay_minutes": 0.05}
    with (
        running(tmp_path / "openfaxd", incoming=slow_retries) as daemon,
        webhook_receiver() as hook,
    ):
        hook.statuses.append(503)
        with daemon.connected() as server:
            server.inbound_routing.get_method(WEBHOOK).set_configuration({"url": hook.url})
            use_only(server, "loopback line 1002", WEBHOOK)
            message_id = fax_to(server, "1002", one_page)
            found: list[FaxRoutingDelivery] = []

            def sent_and_tried_once() -> bool:
                found[:] = server.inbound_routing.get_deliveries(message_id=message_id)
                # The sending side ends its call after the receiver archived the fax: killed
                # before, its job would rightly be sent again, making a second fax to route.
                sent = server.folders.outgoing_queue.get_jobs().count == 0
                return sent and bool(found) and found[0].attempts == 1

            wait_until(sent_and_tried_once, lambda: f"sent, its routing tried once: {found}", WAIT)
        (waiting,) = found
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert waiting.next_attempt_at is not None

        daemon.kill()
        daemon.start()
        with daemon.connected() as server:
            (delivery,) = settled(server, message_id)
        first, second = hook.wait_for(2)
    assert (delivery.status, delivery.attempts) == ("done", 2)
    assert first.headers["x-openfax-event-id"] == second.headers["x-openfax-event-id"]
    assert second.headers["x-openfax-delivery-attempt"] == "2"
