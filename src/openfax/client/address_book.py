"""The address books (``server.address_book``): the account's ``personal`` book and the
``shared`` one, each with its contacts and groups, imported from and exported to CSV and
vCard (``docs/design/address-book.md``).

FAXCOMEX has no address book (Windows keeps contacts in the user's Windows Contacts), so
this is plain Python: a book's methods change the server at once and return the contact or
group as the server now has it (:class:`~openfax.model.contacts.ContactInfo`,
:class:`~openfax.model.contacts.ContactGroupInfo`). A contact is named by its id or its
name (names are unique within a book). A fax goes to a group with
``FaxDocument.recipient_groups``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from openfax.client._records import segment
from openfax.client.routing import send_json
from openfax.errors import ContactNotFoundError
from openfax.model import format_id
from openfax.model.contacts import BookName, ContactGroupInfo, ContactInfo, ImportResult

if TYPE_CHECKING:
    from openfax.client._connection import Connection

_CONTACTS = TypeAdapter(list[ContactInfo])
_CONTACT = TypeAdapter(ContactInfo)
_GROUPS = TypeAdapter(list[ContactGroupInfo])
_GROUP = TypeAdapter(ContactGroupInfo)
_IMPORTED = TypeAdapter(ImportResult)


class AddressBook:
    """One address book: ``personal`` (the account's own) or ``shared`` (every account
    reads it; changing it needs far2MANAGE_CONFIG)."""

    def __init__(self, connection: Connection, name: BookName) -> None:
        self._connection = connection
        self.name = name
        self._path = f"/address-book/{name}"

    # --- contacts -----------------------------------------------------------------------------

    def get_contacts(self) -> list[ContactInfo]:
        """The book's contacts, by name."""
        return _CONTACTS.validate_python(self._connection.get(f"{self._path}/contacts"))

    def get_contact(self, contact: int | str) -> ContactInfo:
        """A contact by id (an int, or 16 hex digits) or by name; ContactNotFoundError."""
        if isinstance(contact, int):
            contact = format_id(contact)
        if len(contact) == 16 and all(c in "0123456789abcdefABCDEF" for c in contact):
            return _CONTACT.validate_python(self._connection.get(self._contact_path(contact)))
        found = self._connection.get(self._contacts, name=contact)
        if not found:
            raise ContactNotFoundError(f"the address book has no contact {contact!r}")
        return _CONTACT.validate_python(found[0])

    def add_contact(
        self,
        name: str,
        fax_number: str,
        *,
        company: str = "",
        notes: str = "",
        groups: Sequence[str] = (),
    ) -> ContactInfo:
        """Add a contact (in ``groups``, made if missing); AddressBookError names a field the
        server refuses (a fax number it could not dial, a name too long...)."""
        body = {
            "name": name,
            "fax_number": fax_number,
            "company": company,
            "notes": notes,
            "groups": list(groups),
        }
        return _CONTACT.validate_python(send_json(self._connection, "POST", self._contacts, body))

    def edit_contact(self, contact: int | str, **changes: Any) -> ContactInfo:
        """Change a contact's ``name``, ``fax_number``, ``company``, ``notes`` or ``groups``
        (the list replaces its groups)."""
        found = self.get_contact(contact)
        answer = self._connection.patch(self._contact_path(format_id(found.id)), changes)
        return _CONTACT.validate_python(answer)

    def remove_contact(self, contact: int | str) -> None:
        """Remove a contact (from its groups too)."""
        found = self.get_contact(contact)
        send_json(self._connection, "DELETE", self._contact_path(format_id(found.id)))

    # --- groups -------------------------------------------------------------------------------

    def get_groups(self) -> list[ContactGroupInfo]:
        """The book's groups, by name, with their members' names."""
        return _GROUPS.validate_python(self._connection.get(f"{self._path}/groups"))

    def get_group(self, name: str) -> ContactGroupInfo:
        return _GROUP.validate_python(self._connection.get(self._group_path(name)))

    def add_group(self, name: str, members: Sequence[str] = ()) -> ContactGroupInfo:
        """A new group of the contacts named ``members``."""
        body = {"name": name, "members": list(members)}
        answer = send_json(self._connection, "POST", f"{self._path}/groups", body)
        return _GROUP.validate_python(answer)

    def set_members(self, name: str, members: Sequence[str]) -> ContactGroupInfo:
        """Make the group hold exactly the contacts named ``members``."""
        path = self._group_path(name) + "/members"
        answer = send_json(self._connection, "PUT", path, {"members": list(members)})
        return _GROUP.validate_python(answer)

    def remove_group(self, name: str) -> None:
        """Remove a group; its contacts stay."""
        send_json(self._connection, "DELETE", self._group_path(name))

    # --- files --------------------------------------------------------------------------------

    def import_file(self, path: str | Path, file_format: str | None = None) -> ImportResult:
        """Import a CSV or vCard file (``file_format`` ``csv`` or ``vcard``; None: the server
        tells by its first line): all of it, or nothing and AddressBookError naming each bad
        row by its line."""
        fields = {} if file_format is None else {"format": file_format}
        answer = self._connection.post(
            f"{self._path}/import", fields=fields, uploads=[("file", Path(path))]
        )
        return _IMPORTED.validate_python(answer)

    def export(self, file_format: str = "csv", version: str = "3.0") -> bytes:
        """The book as a CSV file or as vCards (``version`` 3.0 or 4.0)."""
        params = {"format": file_format, "version": version}
        return self._connection.request("GET", f"{self._path}/export", params=params)

    # --- inside -------------------------------------------------------------------------------

    @property
    def _contacts(self) -> str:
        return f"{self._path}/contacts"

    def _contact_path(self, contact_id: str) -> str:
        return f"{self._contacts}/{segment(contact_id)}"

    def _group_path(self, name: str) -> str:
        return f"{self._path}/groups/{segment(name)}"

    def __repr__(self) -> str:
        return f"<AddressBook {self.name}>"


class AddressBooks:
    """``server.address_book``: the account's ``personal`` book and the ``shared`` one."""

    def __init__(self, connection: Connection) -> None:
        self.personal = AddressBook(connection, "personal")
        self.shared = AddressBook(connection, "shared")

    def __getitem__(self, name: str) -> AddressBook:
        """A book by name: ``personal`` or ``shared``."""
        if name not in ("personal", "shared"):
            raise KeyError(f"no address book {name!r}: personal or shared")
        book: AddressBook = getattr(self, name)
        return book
