"""The address book routes (``docs/design/address-book.md``): contacts and groups of the
caller's ``personal`` book or of the ``shared`` one, and their import and export as CSV or
vCard.

Every route needs a submit right or far2QUERY_CONFIG; which book the caller may read or
change is the service's rule (:meth:`openfax.service.address_book.AddressBook.book`): the
shared book changes with far2MANAGE_CONFIG only. A contact is named by its id (16 hex
digits), a group by its name (percent-encoded in the path).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import Field

from openfax.api.auth import Caller
from openfax.api.models import Strict
from openfax.api.rights import Requires
from openfax.model import parse_id
from openfax.model.contacts import (
    MAX_COMPANY_LENGTH,
    MAX_GROUP_NAME_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    BookName,
    ContactGroupInfo,
    ContactInfo,
    ImportResult,
)
from openfax.model.records import ID_PATTERN, MAX_NUMBER_LENGTH
from openfax.service import FaxService
from openfax.service.address_book import SHARED_READERS, AddressBook, Book
from openfax.service.contact_files import MEDIA_TYPES, SUFFIXES, FileFormat, VCardVersion

TAGS: list[Any] = ["address book"]
Reader = Annotated[Caller, Depends(Requires(*SHARED_READERS))]
"""Any account that may submit or read the configuration: the book decides the rest."""
BookParam = Annotated[BookName, PathParam(description="personal (the caller's) or shared")]
ContactIdParam = Annotated[
    str, PathParam(description="16 hex digits", json_schema_extra={"pattern": ID_PATTERN})
]
GroupParam = Annotated[str, PathParam(min_length=1, max_length=MAX_GROUP_NAME_LENGTH)]
GroupName = Annotated[str, Field(max_length=MAX_GROUP_NAME_LENGTH)]
GroupNames = Annotated[list[GroupName], Field(max_length=1000)]
"""The groups a contact belongs to (at most ``max_groups`` exist in a book anyway)."""
MemberNames = Annotated[list[Annotated[str, Field(max_length=MAX_NAME_LENGTH)]], Field()]
"""A group's members by name; the request's size limit (``max_json_kb``) bounds the list."""


class NewContact(Strict):
    """A contact to add; ``groups`` are made when the book has none so named."""

    name: str = Field(max_length=MAX_NAME_LENGTH)
    fax_number: str = Field(max_length=MAX_NUMBER_LENGTH)
    company: str = Field(default="", max_length=MAX_COMPANY_LENGTH)
    notes: str = Field(default="", max_length=MAX_NOTES_LENGTH)
    groups: GroupNames = Field(default_factory=list)


class ContactPatch(Strict):
    """The fields to change of a contact (one left out keeps its value; ``groups``
    replaces the contact's groups)."""

    name: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    fax_number: str | None = Field(default=None, max_length=MAX_NUMBER_LENGTH)
    company: str | None = Field(default=None, max_length=MAX_COMPANY_LENGTH)
    notes: str | None = Field(default=None, max_length=MAX_NOTES_LENGTH)
    groups: GroupNames | None = None


class NewGroup(Strict):
    """A group to add, with its members by name."""

    name: GroupName
    members: MemberNames = Field(default_factory=list)


class Members(Strict):
    """A group's members by name: exactly these."""

    members: MemberNames


def address_book_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(prefix="/address-book/{book}", tags=TAGS)

    def books() -> AddressBook:
        return service.address_book

    def opened(book: str, who: Caller, *, change: bool = False) -> Book:
        return books().book(book, who.account_id, who.rights, change=change)

    # --- contacts -----------------------------------------------------------------------------

    @api.get("/contacts")
    async def get_contacts(
        book: BookParam,
        who: Reader,
        name: Annotated[
            str | None, Query(max_length=MAX_NAME_LENGTH, description="only the one so named")
        ] = None,
    ) -> list[ContactInfo]:
        """The book's contacts, by name (``name``: the one so named, or none)."""
        return await books().get_contacts(opened(book, who), name)

    @api.post("/contacts", status_code=201)
    async def add_contact(book: BookParam, contact: NewContact, who: Reader) -> ContactInfo:
        """Add a contact; its fax number follows the server's number rules."""
        where = opened(book, who, change=True)
        return await books().add_contact(where, **contact.model_dump(), actor=who.name)

    @api.get("/contacts/{contact_id}")
    async def get_contact(book: BookParam, contact_id: ContactIdParam, who: Reader) -> ContactInfo:
        return await books().get_contact(opened(book, who), parse_id(contact_id))

    @api.patch("/contacts/{contact_id}")
    async def edit_contact(
        book: BookParam, contact_id: ContactIdParam, change: ContactPatch, who: Reader
    ) -> ContactInfo:
        """Change the fields given of a contact."""
        where = opened(book, who, change=True)
        fields = change.model_dump(exclude_unset=True)
        return await books().edit_contact(where, parse_id(contact_id), **fields, actor=who.name)

    @api.delete("/contacts/{contact_id}", status_code=204, response_class=Response)
    async def remove_contact(book: BookParam, contact_id: ContactIdParam, who: Reader) -> None:
        where = opened(book, who, change=True)
        await books().remove_contact(where, parse_id(contact_id), actor=who.name)

    # --- groups -------------------------------------------------------------------------------

    @api.get("/groups")
    async def get_groups(book: BookParam, who: Reader) -> list[ContactGroupInfo]:
        """The book's groups, by name, each with its members' names."""
        return await books().get_groups(opened(book, who))

    @api.post("/groups", status_code=201)
    async def add_group(book: BookParam, group: NewGroup, who: Reader) -> ContactGroupInfo:
        where = opened(book, who, change=True)
        return await books().add_group(where, group.name, group.members, actor=who.name)

    @api.get("/groups/{name}")
    async def get_group(book: BookParam, name: GroupParam, who: Reader) -> ContactGroupInfo:
        return await books().get_group(opened(book, who), name)

    @api.put("/groups/{name}/members")
    async def set_members(
        book: BookParam, name: GroupParam, members: Members, who: Reader
    ) -> ContactGroupInfo:
        """Make the group hold exactly the contacts named."""
        where = opened(book, who, change=True)
        return await books().set_members(where, name, members.members, actor=who.name)

    @api.delete("/groups/{name}", status_code=204, response_class=Response)
    async def remove_group(book: BookParam, name: GroupParam, who: Reader) -> None:
        """Remove a group; its contacts stay."""
        await books().remove_group(opened(book, who, change=True), name, actor=who.name)

    # --- files --------------------------------------------------------------------------------

    @api.post("/import")
    async def import_contacts(
        book: BookParam,
        who: Reader,
        file: Annotated[UploadFile, File(description="a CSV or vCard (3.0, 4.0) file, UTF-8")],
        file_format: Annotated[
            FileFormat | None, Form(alias="format", description="none: told by the file")
        ] = None,
    ) -> ImportResult:
        """Add the file's contacts (a name the book has is updated) in one transaction: a
        bad row is named by its line, and then nothing is imported."""
        where = opened(book, who, change=True)
        data = await file.read(service.config.address_book.max_import_kb * 1024 + 1)
        return await books().import_contacts(where, data, file_format, actor=who.name)

    @api.get("/export", response_class=Response)
    async def export_contacts(
        book: BookParam,
        who: Reader,
        file_format: Annotated[FileFormat, Query(alias="format")] = "csv",
        version: Annotated[VCardVersion, Query(description="of the vCards")] = "3.0",
    ) -> Response:
        """The book as CSV (a header, a row per contact) or vCards."""
        content = await books().export_contacts(opened(book, who), file_format, version)
        name = f"{book}-address-book{SUFFIXES[file_format]}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type=MEDIA_TYPES[file_format], headers=headers)

    return api
