"""The address book's tables on SQLite and PostgreSQL: books kept apart, unique names, group
memberships that go with their contact or group, a whole book removed."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError

from openfax.store import Contact, ContactGroup, Database
from openfax.store import queries as q

from .conftest import ALICE, BOB, NOW, later

pytestmark = pytest.mark.anyio


def contact(owner: int, name: str, number: str = "+1 555 0100") -> Contact:
    return Contact(owner_id=owner, name=name, fax_number=number, updated_at=NOW)


async def test_each_book_holds_its_own_contacts_and_groups(db: Database) -> None:
    helen, ravi = contact(ALICE, "Helen Carter"), contact(ALICE, "Ravi Patel", "1002")
    bobs = contact(BOB, "Helen Carter", "+44 20 7946 0000")
    clinics = ContactGroup(owner_id=ALICE, name="Clinics")
    async with db.transaction() as conn:
        await q.insert_contacts(conn, [ravi, helen, bobs])
        await q.insert_contact_groups(conn, [clinics])
        await q.add_group_members(conn, [(clinics.id, helen.id), (clinics.id, ravi.id)])
        await q.add_group_members(conn, [(clinics.id, helen.id)])  # already there: stays once
    async with db.read() as conn:
        assert [c.name for c in await q.list_contacts(conn, ALICE)] == [
            "Helen Carter",
            "Ravi Patel",
        ]
        assert await q.list_contacts(conn, BOB) == [bobs]
        assert await q.count_contacts(conn, ALICE) == 2
        assert await q.find_contact(conn, BOB, "Helen Carter") == bobs
        assert await q.get_contact(conn, BOB, helen.id) is None
        assert sorted(await q.list_group_members(conn, ALICE)) == sorted(
            [(clinics.id, helen.id), (clinics.id, ravi.id)]
        )
        assert await q.list_group_members(conn, BOB) == []
    async with db.transaction() as conn:
        assert not await q.delete_contact(conn, BOB, helen.id)
        assert not await q.replace_contact(conn, dataclasses.replace(helen, owner_id=BOB))
        moved = dataclasses.replace(helen, fax_number="1002", updated_at=later(60))
        assert await q.replace_contact(conn, moved)
        assert await q.delete_contact(conn, ALICE, ravi.id)
    async with db.read() as conn:
        assert await q.get_contact(conn, ALICE, helen.id) == moved
        assert await q.list_group_members(conn, ALICE) == [(clinics.id, helen.id)]
    async with db.transaction() as conn:
        await q.set_contact_groups(conn, helen.id, [])
        await q.set_group_members(conn, clinics.id, [helen.id])
        assert not await q.delete_contact_group(conn, BOB, "Clinics")
        await q.delete_address_book(conn, ALICE)
    async with db.read() as conn:
        assert await q.list_contacts(conn, ALICE) == []
        assert await q.list_contact_groups(conn, ALICE) == []
        assert await q.list_contacts(conn, BOB) == [bobs]


async def test_a_name_is_unique_within_a_book_and_the_whole_change_fails(db: Database) -> None:
    async def add_twice() -> None:
        async with db.transaction() as conn:
            await q.insert_contacts(conn, [contact(ALICE, "Dr Lee")])
            await q.insert_contacts(conn, [contact(ALICE, "Dr Lee", "1002")])

    with pytest.raises(IntegrityError):
        await add_twice()
    async with db.read() as conn:
        assert await q.list_contacts(conn, ALICE) == []
