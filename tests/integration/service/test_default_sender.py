"""FAXCOMEX ``FaxSender.SaveDefaultSender/LoadDefaultSender`` kept per account in the store
(SQLite and PostgreSQL): each account has its own, an account removed takes its default
sender along, and a field FaxSender has not is refused by name."""

from __future__ import annotations

import pytest

from openfax.errors import AccountError
from openfax.service import FaxService
from openfax.service.accounts import SENDER_FIELDS

pytestmark = pytest.mark.anyio


async def test_each_account_keeps_its_default_sender(service: FaxService) -> None:
    accounts = service.accounts
    alice = await accounts.add_account("alice")
    bob = await accounts.add_account("bob")
    assert await accounts.get_default_sender(alice.id) == dict.fromkeys(SENDER_FIELDS, "")
    await accounts.save_default_sender(alice.id, {"name": "Alice", "tsid": "+49 30 1"})
    await accounts.save_default_sender(bob.id, {"name": "Bob", "company": "Bob & Co"})
    got = await accounts.get_default_sender(alice.id)
    assert (got["name"], got["tsid"], got["company"]) == ("Alice", "+49 30 1", "")
    await accounts.save_default_sender(alice.id, {"company": "Alice Ltd"})
    got = await accounts.get_default_sender(alice.id)
    assert (got["name"], got["company"]) == ("", "Alice Ltd"), "a save replaces the whole"
    assert (await accounts.get_default_sender(bob.id))["company"] == "Bob & Co"

    await accounts.remove_account("alice")
    again = await accounts.add_account("alice")
    assert again.id != alice.id
    assert await accounts.get_default_sender(again.id) == dict.fromkeys(SENDER_FIELDS, "")
    assert await accounts.get_default_sender(alice.id) == dict.fromkeys(SENDER_FIELDS, ""), (
        "removed with its account"
    )
    with pytest.raises(AccountError, match="no field 'pager'"):
        await accounts.save_default_sender(bob.id, {"pager": "555"})
