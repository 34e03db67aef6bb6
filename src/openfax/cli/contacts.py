"""``openfax contacts``: the address books of a running openfaxd, the account's own
(``personal``) or, with ``--shared``, the one every account shares (changing it needs
far2MANAGE_CONFIG): contacts, groups (a fax to a group: ``openfax send --to-group``), and
CSV or vCard files in and out. A contact is named by its name (unique in its book)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import print_result
from openfax.cli.options import F, apply_options, listing, on_server
from openfax.cli.outbound import show

if TYPE_CHECKING:
    from openfax.client import AddressBook, FaxServer
    from openfax.model.contacts import ContactGroupInfo, ContactInfo

CONTACT_COLUMNS = ("name", "fax_number", "company", "groups", "notes")
GROUP_COLUMNS = ("name", "members")


def shared_option(command: F) -> F:
    """Add --shared: the shared book instead of the account's own."""
    option = click.option("--shared", is_flag=True, help="The shared address book (else your own).")
    return option(command)


def contact_options(command: F) -> F:
    """Add --company, --notes and --group (repeated): a contact's other fields."""
    return apply_options(
        command,
        [
            click.option("--company", default=None, help="The company."),
            click.option("--notes", default=None, help="Notes (shown to you only)."),
            click.option(
                "--group",
                "groups",
                multiple=True,
                help="A group it belongs to (made if missing); repeat for more.",
            ),
        ],
    )


def book_of(server: FaxServer, shared: bool) -> AddressBook:
    book = server.address_book
    return book.shared if shared else book.personal


def contact_row(contact: ContactInfo) -> dict[str, Any]:
    """A contact as a row: every field as the API writes it (its id in hex, a list of
    groups, which a table shows joined)."""
    from pydantic import TypeAdapter

    from openfax.model.contacts import ContactInfo

    row: dict[str, Any] = TypeAdapter(ContactInfo).dump_python(contact, mode="json")
    return row


def group_row(group: ContactGroupInfo) -> dict[str, Any]:
    return dataclasses.asdict(group)


@click.group()
def contacts() -> None:
    """Address books: contacts and groups (yours, or --shared), CSV and vCard files."""


@contacts.command(name="list")
@shared_option
@listing("Address book", CONTACT_COLUMNS, ("notes", "company"))
def list_contacts(server: FaxServer, shared: bool) -> list[dict[str, Any]]:
    """List the contacts, by name."""
    return [contact_row(c) for c in book_of(server, shared).get_contacts()]


@contacts.command(name="add")
@click.argument("name")
@click.argument("fax_number")
@contact_options
@shared_option
@on_server
def add_contact(
    server: FaxServer,
    name: str,
    fax_number: str,
    company: str | None,
    notes: str | None,
    groups: tuple[str, ...],
    shared: bool,
    as_json: bool,
) -> None:
    """Add the contact NAME with its FAX_NUMBER."""
    added = book_of(server, shared).add_contact(
        name, fax_number, company=company or "", notes=notes or "", groups=groups
    )
    show([contact_row(added)], CONTACT_COLUMNS, "Contact", as_json)


@contacts.command(name="edit")
@click.argument("name")
@click.option("--name", "new_name", default=None, help="A new name.")
@click.option("--fax-number", default=None, help="A new fax number.")
@contact_options
@click.option("--no-groups", is_flag=True, help="Take the contact out of every group.")
@shared_option
@on_server
def edit_contact(
    server: FaxServer,
    name: str,
    new_name: str | None,
    fax_number: str | None,
    company: str | None,
    notes: str | None,
    groups: tuple[str, ...],
    no_groups: bool,
    shared: bool,
    as_json: bool,
) -> None:
    """Change the contact NAME: the fields given (--group replaces its groups)."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", new_name),
            ("fax_number", fax_number),
            ("company", company),
            ("notes", notes),
        )
        if value is not None
    }
    if groups or no_groups:
        changes["groups"] = list(groups)
    edited = book_of(server, shared).edit_contact(name, **changes)
    show([contact_row(edited)], CONTACT_COLUMNS, "Contact", as_json)


@contacts.command(name="remove")
@click.argument("name")
@shared_option
@on_server
def remove_contact(server: FaxServer, name: str, shared: bool, as_json: bool) -> None:
    """Remove the contact NAME (from its groups too)."""
    book_of(server, shared).remove_contact(name)
    print_result({"name": name, "removed": True}, f"{name} removed", as_json)


@contacts.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "vcard"]),
    default=None,
    help="The file's format (else told by its first line).",
)
@shared_option
@on_server
def import_contacts(
    server: FaxServer, file: Path, file_format: str | None, shared: bool, as_json: bool
) -> None:
    """Import the contacts of a CSV (columns name, fax_number, company, notes, groups) or
    vCard FILE: all of them, or none and the bad rows named by their line. A contact whose
    name is in the book already is updated."""
    result = book_of(server, shared).import_file(file, file_format)
    text = f"{result.added} added, {result.updated} updated, {result.groups_added} groups added" + (
        f", {result.skipped} cards without a fax number left out" if result.skipped else ""
    )
    print_result(dataclasses.asdict(result), text, as_json)


@contacts.command(name="export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Else stdout."
)
@click.option(
    "--format", "file_format", type=click.Choice(["csv", "vcard"]), default="csv", show_default=True
)
@click.option(
    "--vcard-version", type=click.Choice(["3.0", "4.0"]), default="3.0", show_default=True
)
@shared_option
@on_server
def export_contacts(
    server: FaxServer,
    output: Path | None,
    file_format: str,
    vcard_version: str,
    shared: bool,
    as_json: bool,
) -> None:
    """Export the book as CSV or vCards."""
    content = book_of(server, shared).export(file_format, vcard_version)
    if output is None:
        click.echo(content.decode(), nl=False)
    else:
        output.write_bytes(content)
        row = {"output": str(output), "bytes": len(content)}
        print_result(row, f"{output} written ({len(content):,} bytes)", as_json)


@contacts.group()
def groups() -> None:
    """Groups of contacts: a fax to one goes to each member (openfax send --to-group)."""


@groups.command(name="list")
@shared_option
@listing("Address book groups", GROUP_COLUMNS)
def list_groups(server: FaxServer, shared: bool) -> list[dict[str, Any]]:
    """List the groups and their members."""
    return [group_row(g) for g in book_of(server, shared).get_groups()]


@groups.command(name="add")
@click.argument("name")
@click.argument("members", nargs=-1)
@shared_option
@on_server
def add_group(
    server: FaxServer, name: str, members: tuple[str, ...], shared: bool, as_json: bool
) -> None:
    """Add the group NAME of the contacts MEMBERS (their names)."""
    group = book_of(server, shared).add_group(name, members)
    show([group_row(group)], GROUP_COLUMNS, "Group", as_json)


@groups.command(name="set")
@click.argument("name")
@click.argument("members", nargs=-1)
@shared_option
@on_server
def set_group(
    server: FaxServer, name: str, members: tuple[str, ...], shared: bool, as_json: bool
) -> None:
    """Give the group NAME exactly the contacts MEMBERS (none: empty it)."""
    group = book_of(server, shared).set_members(name, members)
    show([group_row(group)], GROUP_COLUMNS, "Group", as_json)


@groups.command(name="remove")
@click.argument("name")
@shared_option
@on_server
def remove_group(server: FaxServer, name: str, shared: bool, as_json: bool) -> None:
    """Remove the group NAME; its contacts stay."""
    book_of(server, shared).remove_group(name)
    print_result({"name": name, "removed": True}, f"group {name} removed", as_json)
