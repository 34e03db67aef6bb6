"""Routing deliveries in the store, on both backends: a fax's in priority order, the failed
ones latest first, changes, and their going with their archived message."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from openfax.errors import MessageNotFoundError
from openfax.model import new_id
from openfax.store import Database, DeliveryStatus, Direction, Message, RoutingDelivery, queries

from .conftest import later

pytestmark = pytest.mark.anyio

FOLDER = "{92041a90-9af2-11d0-abf7-00c04fd91a4e}"
WEBHOOK = "{3c4f9a52-61e1-4d1e-8f3b-7a0c2e9d5b18}"


def delivery(message_id: int, method: str, priority: int, seconds: float) -> RoutingDelivery:
    return RoutingDelivery(
        message_id=message_id,
        device_id=1,
        method=method,
        priority=priority,
        created_at=later(seconds),
        updated_at=later(seconds),
    )


async def received(db: Database) -> int:
    message_id = new_id()
    async with db.transaction() as conn:
        await queries.archive_message(
            conn, Message(id=message_id, direction=Direction.IN, archived_at=later(0))
        )
    return message_id


async def test_deliveries_are_listed_by_priority_changed_and_go_with_their_fax(
    db: Database,
) -> None:
    fax, other = await received(db), await received(db)
    webhook, folder = delivery(fax, WEBHOOK, 2, 0), delivery(fax, FOLDER, 1, 0)
    elsewhere = delivery(other, WEBHOOK, 1, 5)
    async with db.transaction() as conn:
        await queries.insert_routing_deliveries(conn, [webhook, folder, elsewhere])
        failed = await queries.update_routing_delivery(
            conn,
            webhook.id,
            {
                "status": DeliveryStatus.FAILED,
                "attempts": 4,
                "last_error": "503",
                "updated_at": later(9),
            },
        )
        await queries.update_routing_delivery(
            conn, elsewhere.id, {"status": DeliveryStatus.FAILED, "updated_at": later(7)}
        )
    assert failed is not None
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 4)
    async with db.read() as conn:
        mine = await queries.list_routing_deliveries(conn, message_id=fax)
        assert [d.method for d in mine] == [FOLDER, WEBHOOK]
        failing = await queries.list_routing_deliveries(conn, status=DeliveryStatus.FAILED)
        assert [d.id for d in failing] == [webhook.id, elsewhere.id]
        assert (await queries.get_routing_delivery(conn, folder.id)) == folder
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await queries.insert_routing_deliveries(conn, [delivery(fax, FOLDER, 3, 1)])
    async with db.transaction() as conn:
        await queries.delete_message(conn, Direction.IN, fax)
    async with db.read() as conn:
        assert await queries.list_routing_deliveries(conn, message_id=fax) == []
        with pytest.raises(MessageNotFoundError, match="routing delivery"):
            await queries.get_routing_delivery(conn, folder.id)
        assert len(await queries.list_routing_deliveries(conn, message_id=other)) == 1
