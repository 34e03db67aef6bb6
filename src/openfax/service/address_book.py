"""Address books: the contacts (name, fax number, company, notes) and groups of contacts
each account keeps on the server, and one book every account shares
(``docs/design/address-book.md``).

An account's ``personal`` book is its own: no other account reads or changes it, whatever
its rights. The ``shared`` book is read by every account that may submit (or read the
configuration) and changed only by holders of far2MANAGE_CONFIG, as the server's other
shared things (cover pages, outbound groups) are; its changes go to the audit trail. The
rights are FAXCOMEX's and stay so: no new bit is added for the book.

A contact's fax number must be one the server could dial, by the rule submissions follow
(:func:`openfax.service.submission.number_problem`), so a group sends without a surprise.
Names are unique within a book; a contact belongs to groups of its book, named. A group is a
broadcast: :meth:`AddressBook.group_recipients` turns groups into a submission's recipients.

Every size is bounded: field lengths (:mod:`openfax.model.contacts`), contacts and groups
per book and the import file (``[address_book]``). An import is read and checked whole
before anything is stored, its bad rows named by line, and stored in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import (
    AccessDeniedError,
    AddressBookError,
    ContactNotFoundError,
    InvalidOperationError,
    RequestTooLargeError,
)
from openfax.model import CONTROL, SUBMIT_RIGHTS, AccessRights2, format_id
from openfax.model.contacts import (
    BOOK_NAMES,
    GROUP_NAME_FORBIDDEN,
    MAX_COMPANY_LENGTH,
    MAX_GROUP_NAME_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    BookName,
    ContactGroupInfo,
    ContactInfo,
    ImportResult,
)
from openfax.model.numbers import canonical_number
from openfax.model.records import MAX_NUMBER_LENGTH, Recipient
from openfax.providers import Line
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.config_file import AddressBookConfig
from openfax.service.contact_files import (
    FILE_FORMATS,
    VCARD_VERSIONS,
    ContactRow,
    FileFormat,
    ReadFile,
    VCardVersion,
    detect_format,
    read_contacts,
    write_csv,
    write_vcards,
)
from openfax.service.context import ServiceContext, reaches_any
from openfax.service.submission import number_problem
from openfax.store import Contact, ContactGroup
from openfax.store import queries as q

SHARED_OWNER = 0
"""The owner id of the shared book in the store (account ids are positive)."""
SHARED_READERS = (*SUBMIT_RIGHTS, AccessRights2.QUERY_CONFIG)
"""Any of these lets an account read the shared book (and keep a personal one)."""
SHARED_EDITOR = AccessRights2.MANAGE_CONFIG
"""The right that changes the shared book."""
MOST_PROBLEMS_SHOWN = 20
"""The bad rows of an import named in its error at most (the rest are counted)."""


@dataclass(frozen=True)
class Book:
    """One address book, opened for an account: its name and whose it is in the store."""

    name: BookName
    owner_id: int


@dataclass
class _Loaded:
    """A book as the store holds it: its contacts and groups, and who is in which group."""

    contacts: list[Contact]
    groups: list[ContactGroup]
    members: list[tuple[int, int]]

    @cached_property
    def _groups_of(self) -> dict[int, list[str]]:
        """Each contact's groups' names, by contact id."""
        names = {g.id: g.name for g in self.groups}
        found: dict[int, list[str]] = {}
        for group, contact in self.members:
            found.setdefault(contact, []).append(names[group])
        return found

    @cached_property
    def _members_of(self) -> dict[int, list[Contact]]:
        """Each group's contacts, by group id, by name."""
        contacts = {c.id: c for c in self.contacts}
        found: dict[int, list[Contact]] = {}
        for group, contact in self.members:
            found.setdefault(group, []).append(contacts[contact])
        for members in found.values():
            members.sort(key=lambda c: c.name)
        return found

    def info(self, contact: Contact) -> ContactInfo:
        return ContactInfo(
            id=contact.id,
            name=contact.name,
            fax_number=contact.fax_number,
            company=contact.company,
            notes=contact.notes,
            groups=sorted(self._groups_of.get(contact.id, [])),
            updated_at=contact.updated_at,
        )

    def group_info(self, group: ContactGroup) -> ContactGroupInfo:
        return ContactGroupInfo(name=group.name, members=[c.name for c in self.members_of(group)])

    def members_of(self, group: ContactGroup) -> list[Contact]:
        """The group's contacts, by name."""
        return self._members_of.get(group.id, [])

    def group(self, name: str) -> ContactGroup:
        found = next((g for g in self.groups if g.name == name), None)
        if found is None:
            raise ContactNotFoundError(f"the address book has no group {name!r}")
        return found


class AddressBook:
    """The running service's ``address_book``: the books of every account and the shared
    one. Each method takes the :class:`Book` that :meth:`book` opened for the caller."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def book(
        self, name: str, account_id: int, rights: AccessRights2, *, change: bool = False
    ) -> Book:
        """The book ``name`` (``personal`` or ``shared``) of the account ``account_id``
        holding ``rights``, opened to read or to ``change``; AccessDeniedError when the
        account may not, AddressBookError for another name."""
        if name not in BOOK_NAMES:
            raise AddressBookError(
                f"no address book {name!r}: {' or '.join(repr(b) for b in BOOK_NAMES)}"
            )
        if not any(right in rights for right in SHARED_READERS):
            raise AccessDeniedError("an address book needs a submit right or far2QUERY_CONFIG")
        if name == "shared":
            if change and SHARED_EDITOR not in rights:
                raise AccessDeniedError("changing the shared address book needs far2MANAGE_CONFIG")
            return Book("shared", SHARED_OWNER)
        if account_id == SHARED_OWNER:
            raise AccessDeniedError("only an account has a personal address book")
        return Book("personal", account_id)

    # --- contacts -----------------------------------------------------------------------------

    async def get_contacts(self, book: Book, name: str | None = None) -> list[ContactInfo]:
        """The book's contacts, by name; only the one named ``name``, if given (none if the
        book has no contact so named)."""
        async with self.ctx.db.read() as conn:
            if name is None:
                loaded = await _load(conn, book)
                return [loaded.info(contact) for contact in loaded.contacts]
            found = await q.find_contact(conn, book.owner_id, name)
            return [] if found is None else [await _info(conn, book, found)]

    async def get_contact(self, book: Book, contact_id: int) -> ContactInfo:
        """One contact of the book; ContactNotFoundError if it has none of that id."""
        async with self.ctx.db.read() as conn:
            return await _info(conn, book, await _contact(conn, book, contact_id))

    async def add_contact(
        self,
        book: Book,
        *,
        name: str,
        fax_number: str,
        company: str = "",
        notes: str = "",
        groups: Sequence[str] = (),
        actor: str = SERVICE_ACTOR,
    ) -> ContactInfo:
        """A new contact, in the ``groups`` named (made if the book has none so named);
        AddressBookError for a field out of its rules, InvalidOperationError for a name the
        book has already, and past the book's limits."""
        row = ContactRow(0, name.strip(), fax_number.strip(), company.strip(), notes, tuple(groups))
        self._check_row("", row)
        contact = Contact(
            owner_id=book.owner_id,
            name=row.name,
            fax_number=row.fax_number,
            company=row.company,
            notes=row.notes,
            updated_at=self.ctx.clock.now(),
        )
        async with _named_once(), self.ctx.db.transaction() as conn:
            if await q.find_contact(conn, book.owner_id, contact.name) is not None:
                raise InvalidOperationError(f"the address book has a contact {row.name!r} already")
            if await q.count_contacts(conn, book.owner_id) >= self._limits.max_contacts:
                raise AddressBookError(self._full(book))
            await q.insert_contacts(conn, [contact])
            group_ids = await self._group_ids(conn, book, row.groups)
            await q.set_contact_groups(conn, contact.id, group_ids)
            await self._audit(conn, book, actor, "contact added", contact.name)
            return await _info(conn, book, contact)

    async def edit_contact(
        self,
        book: Book,
        contact_id: int,
        *,
        name: str | None = None,
        fax_number: str | None = None,
        company: str | None = None,
        notes: str | None = None,
        groups: Sequence[str] | None = None,
        actor: str = SERVICE_ACTOR,
    ) -> ContactInfo:
        """Change the fields given of a contact (None keeps one; ``groups`` replaces its
        groups), checked as :meth:`add_contact` checks them."""
        async with _named_once(), self.ctx.db.transaction() as conn:
            old = await _contact(conn, book, contact_id)
            row = ContactRow(
                0,
                old.name if name is None else name.strip(),
                old.fax_number if fax_number is None else fax_number.strip(),
                old.company if company is None else company.strip(),
                old.notes if notes is None else notes,
                tuple(groups or ()),
            )
            self._check_row("", row)
            if row.name != old.name and await q.find_contact(conn, book.owner_id, row.name):
                raise InvalidOperationError(f"the address book has a contact {row.name!r} already")
            new = replace(
                old,
                name=row.name,
                fax_number=row.fax_number,
                company=row.company,
                notes=row.notes,
                updated_at=self.ctx.clock.now(),
            )
            await q.replace_contact(conn, new)
            if groups is not None:
                await q.set_contact_groups(conn, new.id, await self._group_ids(conn, book, groups))
            await self._audit(conn, book, actor, "contact changed", new.name)
            return await _info(conn, book, new)

    async def remove_contact(
        self, book: Book, contact_id: int, *, actor: str = SERVICE_ACTOR
    ) -> None:
        """Remove a contact (from its groups too); ContactNotFoundError if there is none."""
        async with self.ctx.db.transaction() as conn:
            contact = await _contact(conn, book, contact_id)
            await q.delete_contact(conn, book.owner_id, contact_id)
            await self._audit(conn, book, actor, "contact removed", contact.name)

    # --- groups -------------------------------------------------------------------------------

    async def get_groups(self, book: Book) -> list[ContactGroupInfo]:
        """The book's groups, by name, with their members by name."""
        async with self.ctx.db.read() as conn:
            loaded = await _load(conn, book)
        return [loaded.group_info(group) for group in loaded.groups]

    async def get_group(self, book: Book, name: str) -> ContactGroupInfo:
        """One group; ContactNotFoundError if the book has none so named."""
        async with self.ctx.db.read() as conn:
            loaded = await _load(conn, book)
        return loaded.group_info(loaded.group(name))

    async def add_group(
        self, book: Book, name: str, members: Sequence[str] = (), *, actor: str = SERVICE_ACTOR
    ) -> ContactGroupInfo:
        """A new group holding the contacts named ``members``; InvalidOperationError if the
        book has a group so named already."""
        name = name.strip()
        problem = _group_name_problem(name)
        if problem:
            raise AddressBookError(f"group: {problem}")
        async with _named_once(), self.ctx.db.transaction() as conn:
            if any(g.name == name for g in await q.list_contact_groups(conn, book.owner_id)):
                raise InvalidOperationError(f"the address book has a group {name!r} already")
            (group_id,) = await self._group_ids(conn, book, [name])
            await q.set_group_members(conn, group_id, await _contact_ids(conn, book, members))
            await self._audit(conn, book, actor, "group added", name)
            loaded = await _load(conn, book)
        return loaded.group_info(loaded.group(name))

    async def set_members(
        self, book: Book, name: str, members: Sequence[str], *, actor: str = SERVICE_ACTOR
    ) -> ContactGroupInfo:
        """Make the group hold exactly the contacts named ``members``."""
        async with self.ctx.db.transaction() as conn:
            group = (await _load(conn, book)).group(name)
            await q.set_group_members(conn, group.id, await _contact_ids(conn, book, members))
            await self._audit(conn, book, actor, "group changed", name)
            loaded = await _load(conn, book)
        return loaded.group_info(loaded.group(name))

    async def remove_group(self, book: Book, name: str, *, actor: str = SERVICE_ACTOR) -> None:
        """Remove a group; its contacts stay in the book."""
        async with self.ctx.db.transaction() as conn:
            if not await q.delete_contact_group(conn, book.owner_id, name):
                raise ContactNotFoundError(f"the address book has no group {name!r}")
            await self._audit(conn, book, actor, "group removed", name)

    async def group_recipients(
        self, account_id: int, rights: AccessRights2, names: Iterable[str]
    ) -> list[Recipient]:
        """The recipients of a fax to the groups ``names``: each member once (by the number
        it dials), in group then name order. A group is looked for in the account's own
        book, then in the shared one; ContactNotFoundError names a group neither has, and
        AddressBookError an empty one."""
        personal = self.book("personal", account_id, rights) if account_id else None
        shared = self.book("shared", account_id, rights)
        recipients: dict[str, Recipient] = {}
        async with self.ctx.db.read() as conn:
            books = [await _load(conn, b) for b in (personal, shared) if b is not None]
        for name in names:
            found = next((b for b in books if any(g.name == name for g in b.groups)), None)
            if found is None:
                raise ContactNotFoundError(
                    f"no group {name!r} in the account's address book or the shared one"
                )
            members = found.members_of(found.group(name))
            if not members:
                raise AddressBookError(f"the group {name!r} has no members")
            for contact in members:
                recipient = Recipient(
                    fax_number=contact.fax_number, name=contact.name, company=contact.company
                )
                recipients.setdefault(canonical_number(contact.fax_number), recipient)
        return list(recipients.values())

    # --- files --------------------------------------------------------------------------------

    async def import_contacts(
        self,
        book: Book,
        data: bytes,
        file_format: str | None = None,
        *,
        actor: str = SERVICE_ACTOR,
    ) -> ImportResult:
        """Add the contacts of a CSV or vCard file (``file_format`` None: told by its first
        line) to the book; a contact of a name the book has is updated, the groups named
        are made if missing. All or nothing: AddressBookError names each bad row by its
        line, and nothing is stored; RequestTooLargeError past ``max_import_kb``."""
        most = self._limits.max_import_kb * 1024
        if len(data) > most:
            raise RequestTooLargeError(
                f"the file is larger than the {most:,} bytes an import takes "
                "(address_book.max_import_kb); nothing was imported",
                most,
            )
        if file_format is None:
            file_format = detect_format(data)
        if file_format not in FILE_FORMATS:
            raise AddressBookError(f"format: {file_format!r} is not one of {FILE_FORMATS}")
        # Reading and checking ten thousand rows takes a second or more: not on the loop.
        lines = tuple(self.ctx.lines.values())
        found = await asyncio.to_thread(
            self._read_checked, data, cast(FileFormat, file_format), lines
        )
        now = self.ctx.clock.now()
        async with _named_once(), self.ctx.db.transaction() as conn:
            existing = {c.name: c for c in await q.list_contacts(conn, book.owner_id)}
            added = [
                Contact(
                    owner_id=book.owner_id,
                    name=row.name,
                    fax_number=row.fax_number,
                    company=row.company,
                    notes=row.notes,
                    updated_at=now,
                )
                for row in found.rows
                if row.name not in existing
            ]
            if len(existing) + len(added) > self._limits.max_contacts:
                raise AddressBookError(
                    f"{self._full(book)}: it has {len(existing):,} and the file adds "
                    f"{len(added):,}; nothing was imported"
                )
            groups_before = len(await q.list_contact_groups(conn, book.owner_id))
            await q.insert_contacts(conn, added)
            ids = {c.name: c.id for c in added}
            changed = [
                replace(
                    existing[row.name],
                    fax_number=row.fax_number,
                    company=row.company,
                    notes=row.notes,
                    updated_at=now,
                )
                for row in found.rows
                if row.name in existing
            ]
            await q.replace_contacts(conn, changed)
            ids.update({c.name: c.id for c in changed})
            names = sorted({g for row in found.rows for g in row.groups})
            group_ids = dict(zip(names, await self._group_ids(conn, book, names), strict=True))
            await q.add_group_members(
                conn, ((group_ids[g], ids[row.name]) for row in found.rows for g in row.groups)
            )
            groups_added = len(await q.list_contact_groups(conn, book.owner_id)) - groups_before
            result = ImportResult(
                added=len(added),
                updated=len(found.rows) - len(added),
                groups_added=groups_added,
                skipped=found.skipped,
            )
            await self._audit(conn, book, actor, "imported", file_format, vars(result))
        return result

    async def export_contacts(
        self, book: Book, file_format: str = "csv", version: str = "3.0"
    ) -> bytes:
        """The book as a CSV file or vCards (``version`` 3.0 or 4.0), contacts by name."""
        if file_format not in FILE_FORMATS:
            raise AddressBookError(f"format: {file_format!r} is not one of {FILE_FORMATS}")
        if version not in VCARD_VERSIONS:
            raise AddressBookError(f"version: {version!r} is not one of {VCARD_VERSIONS}")
        contacts = await self.get_contacts(book)
        if file_format == "csv":
            return await asyncio.to_thread(write_csv, contacts)
        return await asyncio.to_thread(write_vcards, contacts, cast(VCardVersion, version))

    # --- inside -------------------------------------------------------------------------------

    @property
    def _limits(self) -> AddressBookConfig:
        return self.ctx.config.address_book

    def _full(self, book: Book) -> str:
        most = self._limits.max_contacts
        return (
            f"the {book.name} address book holds at most {most:,} contacts "
            "(address_book.max_contacts)"
        )

    def _read_checked(
        self, data: bytes, file_format: FileFormat, lines: Sequence[Line]
    ) -> ReadFile:
        """The contacts of an import file, once every row is checked (on a worker thread:
        ``lines`` are the node's lines as they were, which a number's check asks);
        AddressBookError naming the bad rows by line."""
        found = read_contacts(data, file_format)
        problems = list(found.problems)
        first_line: dict[str, int] = {}
        dials = partial(reaches_any, lines)
        for row in found.rows:
            problems += self._row_problems(f"line {row.line}: ", row, dials)
            if row.name in first_line:
                problems.append(
                    f"line {row.line}: the name {row.name!r} is on line {first_line[row.name]} too"
                )
            first_line.setdefault(row.name, row.line)
        if problems:
            raise AddressBookError(_refusal(problems))
        return found

    def _check_row(self, prefix: str, row: ContactRow) -> None:
        problems = self._row_problems(prefix, row)
        if problems:
            raise AddressBookError("; ".join(problems))

    def _row_problems(
        self, prefix: str, row: ContactRow, dials: Callable[[str], bool] | None = None
    ) -> list[str]:
        """What is wrong with a contact's fields, each ``prefix`` and the field named
        (``dials``: whether a line reaches a SIP URI; None: ask the node's lines now)."""
        problems = []
        for field, value, most in (
            ("name", row.name, MAX_NAME_LENGTH),
            ("fax_number", row.fax_number, MAX_NUMBER_LENGTH),
            ("company", row.company, MAX_COMPANY_LENGTH),
        ):
            if len(value) > most:
                problems.append(f"{prefix}{field}: has {len(value):,} characters, at most {most}")
            elif CONTROL.search(value):
                problems.append(f"{prefix}{field}: has a control character")
        if not row.name:
            problems.append(f"{prefix}name: is empty")
        if len(row.notes) > MAX_NOTES_LENGTH:
            problems.append(
                f"{prefix}notes: has {len(row.notes):,} characters, at most {MAX_NOTES_LENGTH}"
            )
        elif "\x00" in row.notes:
            problems.append(f"{prefix}notes: has a NUL character")
        if not row.fax_number:
            problems.append(f"{prefix}fax_number: is empty")
        elif len(row.fax_number) <= MAX_NUMBER_LENGTH and not CONTROL.search(row.fax_number):
            reason = number_problem(row.fax_number, dials or self.ctx.dials)
            if reason is not None:
                problems.append(f"{prefix}fax_number: {row.fax_number!r} {reason}")
        for group in row.groups:
            problem = _group_name_problem(group)
            if problem:
                problems.append(f"{prefix}groups: {problem}")
        return problems

    async def _group_ids(
        self, conn: AsyncConnection, book: Book, names: Iterable[str]
    ) -> list[int]:
        """The ids of the book's groups ``names``, in order; those it has not are made (up to
        ``max_groups``)."""
        wanted = list(dict.fromkeys(names))
        known = {g.name: g.id for g in await q.list_contact_groups(conn, book.owner_id)}
        new = [ContactGroup(owner_id=book.owner_id, name=n) for n in wanted if n not in known]
        most = self._limits.max_groups
        if len(known) + len(new) > most:
            raise AddressBookError(
                f"the {book.name} address book holds at most {most:,} groups "
                "(address_book.max_groups)"
            )
        await q.insert_contact_groups(conn, new)
        known.update({g.name: g.id for g in new})
        return [known[name] for name in wanted]

    async def _audit(
        self,
        conn: AsyncConnection,
        book: Book,
        actor: str,
        change: str,
        what: str,
        details: dict[str, object] | None = None,
    ) -> None:
        """A change of the shared book goes to the audit trail (a personal book's do not:
        they are its account's own business)."""
        if book.name == "shared":
            entry = {"change": change, "name": what, **(details or {})}
            now = self.ctx.clock.now()
            await record(
                conn, now, actor, AuditAction.CONFIG_CHANGED, "address_book", "shared", entry
            )


async def _load(conn: AsyncConnection, book: Book) -> _Loaded:
    return _Loaded(
        await q.list_contacts(conn, book.owner_id),
        await q.list_contact_groups(conn, book.owner_id),
        await q.list_group_members(conn, book.owner_id),
    )


async def _contact(conn: AsyncConnection, book: Book, contact_id: int) -> Contact:
    """The book's contact of that id; ContactNotFoundError if it has none."""
    found = await q.get_contact(conn, book.owner_id, contact_id)
    if found is None:
        raise ContactNotFoundError(f"the address book has no contact {format_id(contact_id)}")
    return found


async def _info(conn: AsyncConnection, book: Book, contact: Contact) -> ContactInfo:
    """One contact of the book as shown, with its groups (read without the other contacts)."""
    groups = await q.list_contact_groups(conn, book.owner_id)
    return _Loaded([contact], groups, await q.list_group_members(conn, book.owner_id)).info(contact)


async def _contact_ids(conn: AsyncConnection, book: Book, names: Sequence[str]) -> list[int]:
    """The ids of the book's contacts named ``names``; ContactNotFoundError for one it has
    not."""
    ids = {c.name: c.id for c in await q.list_contacts(conn, book.owner_id)}
    missing = [name for name in names if name not in ids]
    if missing:
        raise ContactNotFoundError(f"the address book has no contact {missing[0]!r}")
    return [ids[name] for name in dict.fromkeys(names)]


@asynccontextmanager
async def _named_once() -> AsyncIterator[None]:
    """A change that names a contact or group: a name another request took meanwhile (the
    unique key refuses it, on PostgreSQL where two transactions may both have found it
    free) is InvalidOperationError, as a name found taken is; the change is rolled back."""
    try:
        yield
    except IntegrityError:
        raise InvalidOperationError(
            "a contact or group of that name was added meanwhile: nothing was changed"
        ) from None


def _group_name_problem(name: str) -> str | None:
    """What is wrong with a group's name, or None."""
    if not name.strip():
        return "a group's name is empty"
    if len(name) > MAX_GROUP_NAME_LENGTH:
        return f"{name[:40]!r}... has {len(name)} characters, at most {MAX_GROUP_NAME_LENGTH}"
    if CONTROL.search(name) or any(c in GROUP_NAME_FORBIDDEN for c in name):
        forbidden = " ".join(GROUP_NAME_FORBIDDEN)
        return f"{name!r} has a control character or one of {forbidden}"
    return None


def _refusal(problems: list[str]) -> str:
    """The message of an import refused for ``problems``."""
    shown = problems[:MOST_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    tail = f"; and {more:,} more" if more else ""
    return (
        f"the file has {len(problems):,} bad rows, nothing was imported: " + "; ".join(shown) + tail
    )
