"""The retry schedule of a failing routing method, in the service on the manual clock, on
both stores: each wait twice the last, a final failure after the last retry, the fax kept."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

import pytest

from openfax.model import JobStatus
from openfax.model.records import DeliveryInfo
from openfax.routing import WEBHOOK
from openfax.service import FaxService, ManualClock
from openfax.store import DeliveryStatus
from tests.integration.service.conftest import MakeConfig, request, send_all
from tests.peers import webhook_receiver
from tests.waiting import until

pytestmark = pytest.mark.anyio


async def test_each_failed_attempt_waits_twice_as_long_until_the_last_fails_for_good(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig, one_page: Path
) -> None:
    config = make_config(
        tmp_path / "data", incoming={"routing_retries": 3, "routing_retry_delay_minutes": 1}
    )
    with webhook_receiver() as hook:
        hook.statuses.extend([503] * 10)
        async with FaxService(config, clock=clock) as service:
            receiver = (await service.devices.get_devices())[1].id
            routing = service.routing.inbound
            await routing.set_configuration(WEBHOOK, receiver, {"url": hook.url, "secret": "x"})
            await service.devices.use_routing_method(receiver, WEBHOOK, True)
            await send_all(
                service, clock, await service.outgoing_queue.submit(request(one_page, "1002"))
            )
            seen: list[DeliveryInfo] = []

            async def archived() -> bool:
                return bool((await service.archives.get_incoming_messages()).messages)

            # The sender's job ends with the call; the receiver archives just after.
            await until(archived, "the fax in the incoming archive")
            (message,) = (await service.archives.get_incoming_messages()).messages

            async def attempted(count: int) -> bool:
                seen[:] = await routing.get_deliveries(message_id=message.id)
                return bool(seen) and seen[0].attempts == count

            waits = []
            for attempt in (1, 2, 3):
                await until(functools.partial(attempted, attempt), f"attempt {attempt}")
                (delivery,) = seen
                assert delivery.status is DeliveryStatus.PENDING
                assert delivery.next_attempt_at is not None
                waits.append(delivery.next_attempt_at - delivery.updated_at)
                job = await service.incoming_queue.get_job(message.id)
                assert job.status == JobStatus.RETRYING
                assert "503" in job.extended_status_text
                await clock.set(delivery.next_attempt_at)
            await until(lambda: attempted(4), "the last attempt")
            (delivery,) = seen
            job = await service.incoming_queue.get_job(message.id)
            kept = await service.archives.get_message(message.direction, message.id)

    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert len(hook.received) == 4
    assert job.status == JobStatus.RETRIES_EXCEEDED
    assert job.retries == 3
    assert kept.pages == 1
