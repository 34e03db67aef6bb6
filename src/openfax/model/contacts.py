"""The address book's records, declared once: a contact and a group of contacts as the
service shows them, the API serialises them and the client reads them, with the limits of
their fields (``docs/design/address-book.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from openfax.model.records import FaxId, UtcTime

BookName = Literal["personal", "shared"]
"""An address book: the caller's own (``personal``) or the one every account shares."""
BOOK_NAMES: tuple[str, ...] = get_args(BookName)
MAX_NAME_LENGTH = 200
"""Characters of a contact's name at most (it is the recipient's name on a cover page)."""
MAX_COMPANY_LENGTH = 200
MAX_NOTES_LENGTH = 2000
MAX_GROUP_NAME_LENGTH = 100
GROUP_NAME_FORBIDDEN = ",;/"
"""Characters a group name may not hold: the lists of CSV and vCard (CATEGORIES) and the
API's paths use them."""
CONTACT_FIELDS = ("name", "fax_number", "company", "notes", "groups")
"""A contact's fields as import and export files name them (the CSV header), in order."""


@dataclass(frozen=True, kw_only=True)
class ContactInfo:
    """A contact of an address book: a person or an office to fax, with the groups of its
    book it belongs to (by name)."""

    id: FaxId
    name: str
    fax_number: str
    company: str = ""
    notes: str = ""
    groups: list[str] = field(default_factory=list)
    updated_at: UtcTime


@dataclass(frozen=True, kw_only=True)
class ContactGroupInfo:
    """A group of contacts of one address book (a fax to it goes to each member): its
    members by name."""

    name: str
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    """What an import did (all of it in one transaction): contacts added, contacts of the
    same name updated, groups made, and cards without a fax number left out."""

    added: int
    updated: int
    groups_added: int
    skipped: int
