"""Address books: contacts and groups of contacts, one book per account plus the shared one
(its owner id is 0). Each question names the book; nothing crosses from one book to another."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert
from openfax.store.records import Contact, ContactGroup, field_names, values
from openfax.store.schema import (
    address_book_contacts as contacts,
)
from openfax.store.schema import (
    address_book_groups as groups,
)
from openfax.store.schema import (
    address_book_members as members,
)


async def list_contacts(conn: AsyncConnection, owner_id: int) -> list[Contact]:
    """The contacts of a book, by name."""
    query = select(contacts).where(contacts.c.owner_id == owner_id).order_by(contacts.c.name)
    return [Contact(**row._mapping) for row in await conn.execute(query)]


async def get_contact(conn: AsyncConnection, owner_id: int, contact_id: int) -> Contact | None:
    """The contact of that id in that book, or None."""
    query = select(contacts).where(contacts.c.owner_id == owner_id, contacts.c.id == contact_id)
    row = (await conn.execute(query)).first()
    return None if row is None else Contact(**row._mapping)


async def find_contact(conn: AsyncConnection, owner_id: int, name: str) -> Contact | None:
    """The contact of that name in that book, or None."""
    query = select(contacts).where(contacts.c.owner_id == owner_id, contacts.c.name == name)
    row = (await conn.execute(query)).first()
    return None if row is None else Contact(**row._mapping)


async def count_contacts(conn: AsyncConnection, owner_id: int) -> int:
    """How many contacts a book holds."""
    query = select(func.count()).select_from(contacts).where(contacts.c.owner_id == owner_id)
    return int((await conn.execute(query)).scalar_one())


async def insert_contacts(conn: AsyncConnection, added: Sequence[Contact]) -> None:
    """Add contacts (their names must be free in their book: the unique key refuses a
    second, and the caller's transaction then fails whole)."""
    if added:
        await conn.execute(insert(contacts), [values(contact) for contact in added])


async def replace_contact(conn: AsyncConnection, contact: Contact) -> bool:
    """Store every field of a contact of its book over the one of its id; False if the
    book has none of that id."""
    return await replace_contacts(conn, [contact]) == 1


async def replace_contacts(conn: AsyncConnection, changed: Sequence[Contact]) -> int:
    """:func:`replace_contact` for many contacts in one statement; how many were found."""
    if not changed:
        return 0
    fields = [name for name in field_names(Contact) if name not in ("id", "owner_id")]
    statement = (
        update(contacts)
        .where(contacts.c.id == bindparam("key_id"), contacts.c.owner_id == bindparam("key_owner"))
        .values({name: bindparam(name) for name in fields})
    )
    rows = [
        {"key_id": c.id, "key_owner": c.owner_id, **{name: getattr(c, name) for name in fields}}
        for c in changed
    ]
    return int((await conn.execute(statement, rows)).rowcount)


async def delete_contact(conn: AsyncConnection, owner_id: int, contact_id: int) -> bool:
    """Remove a contact (and its group memberships); False if the book has none of that id."""
    statement = delete(contacts).where(contacts.c.owner_id == owner_id, contacts.c.id == contact_id)
    return bool((await conn.execute(statement)).rowcount)


async def list_contact_groups(conn: AsyncConnection, owner_id: int) -> list[ContactGroup]:
    """The groups of a book, by name."""
    query = select(groups).where(groups.c.owner_id == owner_id).order_by(groups.c.name)
    return [ContactGroup(**row._mapping) for row in await conn.execute(query)]


async def insert_contact_groups(conn: AsyncConnection, added: Sequence[ContactGroup]) -> None:
    """Add groups (their names must be free in their book)."""
    if added:
        await conn.execute(insert(groups), [values(group) for group in added])


async def delete_contact_group(conn: AsyncConnection, owner_id: int, name: str) -> bool:
    """Remove a group (its contacts stay); False if the book has none of that name."""
    statement = delete(groups).where(groups.c.owner_id == owner_id, groups.c.name == name)
    return bool((await conn.execute(statement)).rowcount)


async def list_group_members(conn: AsyncConnection, owner_id: int) -> list[tuple[int, int]]:
    """Every ``(group_id, contact_id)`` pair of a book's groups."""
    query = (
        select(members.c.group_id, members.c.contact_id)
        .join(groups, groups.c.id == members.c.group_id)
        .where(groups.c.owner_id == owner_id)
    )
    return [(row.group_id, row.contact_id) for row in await conn.execute(query)]


async def add_group_members(conn: AsyncConnection, pairs: Iterable[tuple[int, int]]) -> None:
    """Put contacts in groups (``(group_id, contact_id)`` pairs; one already there stays)."""
    rows = [{"group_id": group, "contact_id": contact} for group, contact in pairs]
    if rows:
        statement = dialect_insert(conn, members).on_conflict_do_nothing()
        await conn.execute(statement, rows)


async def set_group_members(
    conn: AsyncConnection, group_id: int, contact_ids: Iterable[int]
) -> None:
    """Make a group hold exactly ``contact_ids``."""
    await conn.execute(delete(members).where(members.c.group_id == group_id))
    await add_group_members(conn, ((group_id, contact) for contact in contact_ids))


async def set_contact_groups(
    conn: AsyncConnection, contact_id: int, group_ids: Iterable[int]
) -> None:
    """Make a contact a member of exactly ``group_ids``."""
    await conn.execute(delete(members).where(members.c.contact_id == contact_id))
    await add_group_members(conn, ((group, contact_id) for group in group_ids))


async def delete_address_book(conn: AsyncConnection, owner_id: int) -> None:
    """Remove a whole book: its groups, contacts and memberships."""
    await conn.execute(delete(groups).where(groups.c.owner_id == owner_id))
    await conn.execute(delete(contacts).where(contacts.c.owner_id == owner_id))
