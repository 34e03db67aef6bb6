"""The address books through ``server.address_book`` and the API of a real daemon: each
account's book kept from the others, the shared one changed only with far2MANAGE_CONFIG,
numbers checked by the server's rules, the limits, CSV and vCard round trips, an import
refused whole with its bad rows named by line, and a group faxed to its members over the
loopback lines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxOutgoingJob, FaxServer
from openfax.errors import (
    AccessDeniedError,
    AddressBookError,
    ContactNotFoundError,
    InvalidOperationError,
    RequestTooLargeError,
)
from openfax.model import JobStatus
from openfax.model.contacts import ContactInfo
from openfax.model.numbers import canonical_number
from tests.daemon import Daemon, running
from tests.factories import make_pdf

MAX_CONTACTS = 8
MAX_IMPORT_KB = 4
MAX_GROUPS = 3
WAIT = 120.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    limits = {
        "max_contacts": MAX_CONTACTS,
        "max_groups": MAX_GROUPS,
        "max_import_kb": MAX_IMPORT_KB,
    }
    with running(tmp_path_factory.mktemp("openfaxd"), address_book=limits) as started:
        yield started


@pytest.fixture(scope="module")
def admin(daemon: Daemon) -> Iterator[FaxServer]:
    """The token holder: an administrator (every right), over TCP."""
    with daemon.connected() as server:
        yield server


def account(daemon: Daemon, admin: FaxServer, name: str) -> FaxServer:
    """A connection of the account ``name`` (added with the default rights: submit, read
    the configuration), over TCP with its password."""
    with contextlib.suppress(InvalidOperationError):
        admin.fax_account_set.add_account(name, "secret")
    server = FaxServer()
    server.connect(daemon.address, user=name, password="secret")
    return server


def by_name(contacts: list[ContactInfo]) -> dict[str, tuple[str, str, str, list[str]]]:
    """What a round trip keeps of each contact: number (as dialled), company, notes, groups."""
    return {
        c.name: (canonical_number(c.fax_number), c.company, c.notes, c.groups) for c in contacts
    }


def test_an_accounts_book_is_its_own(daemon: Daemon, admin: FaxServer) -> None:
    with account(daemon, admin, "alice") as alice, account(daemon, admin, "bob") as bob:
        book = alice.address_book.personal
        helen = book.add_contact(
            "Helen Carter", "+1 (555) 010-0100", company="Northside Clinic", groups=["Clinics"]
        )
        assert (helen.name, helen.company, helen.groups) == (
            "Helen Carter",
            "Northside Clinic",
            ["Clinics"],
        )
        assert [c.name for c in book.get_contacts()] == ["Helen Carter"]
        assert book.get_contact("Helen Carter").id == helen.id
        assert [(g.name, g.members) for g in book.get_groups()] == [("Clinics", ["Helen Carter"])]

        # Bob sees his own book only: Alice's contact is not there, not even by its id.
        assert bob.address_book.personal.get_contacts() == []
        assert bob.address_book.personal.get_groups() == []
        with pytest.raises(ContactNotFoundError):
            bob.address_book.personal.get_contact(helen.id)
        with pytest.raises(ContactNotFoundError):
            bob.address_book.personal.edit_contact(helen.id, notes="mine now")
        with pytest.raises(ContactNotFoundError):
            bob.address_book.personal.remove_contact(helen.id)
        assert book.get_contact(helen.id).notes == ""

        edited = book.edit_contact("Helen Carter", fax_number="1002", groups=[])
        assert (edited.fax_number, edited.groups) == ("1002", [])
        with pytest.raises(InvalidOperationError, match="already"):
            book.add_contact("Helen Carter", "1001")
        book.remove_contact(helen.id)
        assert book.get_contacts() == []


def test_the_shared_book_is_changed_with_manage_config_only(
    daemon: Daemon, admin: FaxServer
) -> None:
    with account(daemon, admin, "carol") as carol:
        with pytest.raises(AccessDeniedError, match="far2MANAGE_CONFIG"):
            carol.address_book.shared.add_contact("Front desk", "1001")
        admin.address_book.shared.add_contact("Front desk", "1001", groups=["Everyone"])
        assert [c.name for c in carol.address_book.shared.get_contacts()] == ["Front desk"]
        with pytest.raises(AccessDeniedError):
            carol.address_book.shared.remove_contact("Front desk")
        with pytest.raises(AccessDeniedError):
            carol.address_book.shared.import_file(_write_csv(daemon, "Lab,1002\n"))
    audit = [
        (e.actor, e.object_id, e.details["change"], e.details["name"])
        for e in admin.get_audit(limit=1000)
        if e.object_type == "address_book"
    ]
    assert ("robot", "shared", "contact added", "Front desk") in audit


def test_fields_and_numbers_follow_the_servers_rules(daemon: Daemon, admin: FaxServer) -> None:
    with account(daemon, admin, "dave") as dave:
        book = dave.address_book.personal
        with pytest.raises(AddressBookError, match=r"fax_number: 'call me' is not a fax number"):
            book.add_contact("Nobody", "call me")
        with pytest.raises(AddressBookError, match="no line of this server dials one"):
            book.add_contact("Pbx", "sip:fax@pbx.example.com")
        with pytest.raises(AddressBookError, match="name: is empty"):
            book.add_contact("  ", "1002")
        with pytest.raises(AddressBookError, match="group: 'a;b' has"):
            book.add_group("a;b")
        with pytest.raises(ContactNotFoundError, match="no contact 'Ghost'"):
            book.add_group("Ghosts", ["Ghost"])
        book.add_contact("Grouped", "1001", groups=["One", "Two", "Three"])
        with pytest.raises(AddressBookError, match=r"at most 3 groups \(address_book.max_groups"):
            book.add_group("Four")
        assert [g.name for g in book.get_groups()] == ["One", "Three", "Two"]
        book.remove_contact("Grouped")
        for index in range(MAX_CONTACTS):
            book.add_contact(f"Contact {index}", f"555 01{index:02d}")
        with pytest.raises(AddressBookError, match=r"at most 8 contacts \(address_book"):
            book.add_contact("One too many", "555 0199")
        assert len(book.get_contacts()) == MAX_CONTACTS


def _write_csv(daemon: Daemon, rows: str, name: str = "book.csv") -> Path:
    path = daemon.data_dir.parent / name
    path.write_text("name,fax_number\n" + rows)
    return path


def test_a_bad_import_names_its_lines_and_imports_nothing(daemon: Daemon, admin: FaxServer) -> None:
    with account(daemon, admin, "erin") as erin:
        book = erin.address_book.personal
        path = daemon.data_dir.parent / "erin.csv"
        path.write_text(
            "name,fax_number,company,groups\n"
            "Good One,1001,Acme,Labs\n"
            "Bad Number,fax me,Acme,Labs\n"
            '"Multi\nLine",1002,,\n'
            "Good One,1002,Twice,\n"
            ",1002,No name,\n"
        )
        with pytest.raises(AddressBookError) as refused:
            book.import_file(path)
        message = str(refused.value)
        assert "nothing was imported" in message
        assert "line 3: fax_number: 'fax me' is not a fax number" in message
        assert "line 4: name: has a control character" in message
        assert "line 6: the name 'Good One' is on line 2 too" in message
        assert "line 7: name: is empty" in message
        assert "line 2:" not in message
        assert book.get_contacts() == []
        assert book.get_groups() == []

        path.write_text("name,fax,notes\nA,1\n")
        with pytest.raises(AddressBookError, match=r"line 1: the header has unknown columns"):
            book.import_file(path)
        path.write_bytes(b"name,fax_number\nJos\xe9,1001\n")
        with pytest.raises(AddressBookError, match="line 2: is not UTF-8 text"):
            book.import_file(path)
        path.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Ok\nTEL;TYPE=fax:1001\nEND:VCARD\nhello\n")
        with pytest.raises(AddressBookError, match="line 6: is outside a BEGIN:VCARD"):
            book.import_file(path)
        path.write_text("name,fax_number\n" + "x" * (MAX_IMPORT_KB * 1024))
        with pytest.raises(RequestTooLargeError, match="max_import_kb"):
            book.import_file(path)
        many = "".join(f"Person {i},555 02{i:02d}\n" for i in range(MAX_CONTACTS + 1))
        with pytest.raises(AddressBookError, match="at most 8 contacts"):
            book.import_file(_write_csv(daemon, many))
        assert book.get_contacts() == []


@pytest.mark.parametrize(
    ("file_format", "version"), [("csv", "3.0"), ("vcard", "3.0"), ("vcard", "4.0")]
)
def test_a_book_goes_out_and_back_in_whole(
    daemon: Daemon, admin: FaxServer, file_format: str, version: str
) -> None:
    with (
        account(daemon, admin, f"frank-{file_format}-{version}") as source,
        account(daemon, admin, f"grace-{file_format}-{version}") as target,
    ):
        book = source.address_book.personal
        book.add_contact(
            "Dr. Lee, Cardiology",
            "+44 20 7946 0000",
            company="St Mary's; Wing B",
            notes='Fax before 5 pm.\nAsk for "Ann", not the desk.',
            groups=["Referrals", "Hospitals"],
        )
        book.add_contact("Ørsted Lab", "1002", groups=["Referrals"])
        book.add_contact("Plain", "1001")
        exported = book.export(file_format, version)
        if file_format == "vcard":
            assert exported.count(b"BEGIN:VCARD") == 3
            assert f"VERSION:{version}".encode() in exported
        path = daemon.data_dir.parent / f"export-{file_format}-{version}"
        path.write_bytes(exported)
        result = target.address_book.personal.import_file(path)
        assert (result.added, result.updated, result.groups_added, result.skipped) == (3, 0, 2, 0)
        assert by_name(target.address_book.personal.get_contacts()) == by_name(book.get_contacts())
        # Imported again, the same file updates the contacts: nothing doubles.
        again = target.address_book.personal.import_file(path)
        assert (again.added, again.updated, again.groups_added) == (0, 3, 0)


def test_vcards_of_other_programs_are_read(daemon: Daemon, admin: FaxServer) -> None:
    cards = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old Phone\r\nTEL;WORK;FAX:1001\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:New Phone\r\nORG:Acme;Sales\r\n"
        'TEL;VALUE=uri;TYPE="fax,work":tel:+1-555-0100\r\nCATEGORIES:Vendors\r\nEND:VCARD\r\n'
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Voice Only\r\nTEL;TYPE=voice:1002\r\nEND:VCARD\r\n"
    )
    with account(daemon, admin, "heidi") as heidi:
        path = daemon.data_dir.parent / "phones.vcf"
        path.write_text(cards)
        result = heidi.address_book.personal.import_file(path)
        assert (result.added, result.skipped) == (2, 1)
        found = {c.name: c for c in heidi.address_book.personal.get_contacts()}
        assert found["Old Phone"].fax_number == "1001"
        new = found["New Phone"]
        assert (new.fax_number, new.company, new.groups) == ("+1-555-0100", "Acme", ["Vendors"])


def test_a_group_is_a_broadcast_that_really_sends(
    daemon: Daemon, admin: FaxServer, tmp_path: Path
) -> None:
    shared = admin.address_book.shared
    shared.add_contact("Line one", "1001", groups=["Both lines"])
    shared.add_contact("Line two", "1002", groups=["Both lines", "Second"])
    with account(daemon, admin, "ivan") as ivan:
        # Ivan's own "Second" is found before the shared one.
        ivan.address_book.personal.add_contact("Me on two", "10-02", groups=["Second"])
        document = FaxDocument(body=make_pdf(tmp_path / "memo.pdf", 1), subject="To everyone")
        document.recipient_groups = ["Both lines", "Second"]
        job_ids = document.connected_submit(ivan)
        # Line two is in both groups and "10-02" dials as 1002: one fax to each number.
        assert len(job_ids) == 2
        # Followed by their events: a job sent before it is read is found in the archive.
        jobs = [FaxOutgoingJob(ivan, {"id": job_id}).wait(WAIT) for job_id in job_ids]
        assert sorted((j.recipient.fax_number, j.recipient.name) for j in jobs) == [
            ("1001", "Line one"),
            ("1002", "Line two"),
        ]
        assert all(j.status & JobStatus.COMPLETED for j in jobs), [j.status for j in jobs]

        document.recipient_groups = ["Nobody's"]
        with pytest.raises(ContactNotFoundError, match='no group "Nobody\'s"'):
            document.connected_submit(ivan)
        ivan.address_book.personal.add_group("Empty")
        document.recipient_groups = ["Empty"]
        with pytest.raises(AddressBookError, match="has no members"):
            document.connected_submit(ivan)
