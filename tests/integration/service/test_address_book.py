"""The address book service on SQLite and PostgreSQL: an import added then updated in one
transaction, a refused import that leaves the book as it was, group recipients from the
account's book before the shared one, and a removed account's book gone with it."""

from __future__ import annotations

import pytest

from openfax.errors import AddressBookError
from openfax.model import DEFAULT_RIGHTS, AccessRights2
from openfax.service import FaxService

pytestmark = pytest.mark.anyio

EDITOR = DEFAULT_RIGHTS | AccessRights2.MANAGE_CONFIG
"""Who changes the shared book."""
CSV = b"name,fax_number,company,groups\nNorth,1001,N,Clinics\nSouth,1002,S,Clinics;Labs\n"


async def test_imports_groups_and_a_removed_accounts_book(service: FaxService) -> None:
    books = service.address_book
    alice = await service.accounts.add_account("alice")
    mine = books.book("personal", alice.id, DEFAULT_RIGHTS, change=True)
    result = await books.import_contacts(mine, CSV)
    assert (result.added, result.updated, result.groups_added) == (2, 0, 2)
    updated = CSV.replace(b"South,1002,S", b"South,+1 555 0100,Southern")
    result = await books.import_contacts(mine, updated, "csv")
    assert (result.added, result.updated, result.groups_added) == (0, 2, 0)
    south = (await books.get_contacts(mine, "South"))[0]
    assert (south.fax_number, south.company, south.groups) == (
        "+1 555 0100",
        "Southern",
        ["Clinics", "Labs"],
    )

    with pytest.raises(AddressBookError, match="line 3: fax_number"):
        await books.import_contacts(mine, b"name,fax_number\nWest,1001\nEast,none\n")
    assert [c.name for c in await books.get_contacts(mine)] == ["North", "South"]

    shared = books.book("shared", 0, EDITOR, change=True)
    await books.add_contact(shared, name="Everyone's lab", fax_number="1001", groups=["Labs"])
    # Alice's own "Labs" is found before the shared one; South is in both of her groups.
    recipients = await books.group_recipients(alice.id, DEFAULT_RIGHTS, ["Labs", "Clinics"])
    assert [(r.name, r.fax_number) for r in recipients] == [
        ("South", "+1 555 0100"),
        ("North", "1001"),
    ]

    await service.accounts.remove_account("alice")
    assert await books.get_contacts(mine) == []
    assert [c.name for c in await books.get_contacts(shared)] == ["Everyone's lab"]
