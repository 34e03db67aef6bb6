"""``openfax contacts`` and ``openfax send --to-group`` run as a user runs them against a
real daemon: contacts and groups kept, shown as tables and JSON, files exported and
imported, clear errors, and a fax to a group that reaches each member."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import SAMPLES
from tests.integration.cli.test_fax_commands import openfax


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def run_json(daemon: Daemon, *args: str | Path) -> Any:
    done = openfax(daemon, "contacts", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_contacts_are_kept_shown_and_changed(daemon: Daemon) -> None:
    added = run_json(
        daemon, "add", "Helen Carter", "+1 555 0100", "--company", "Northside", "--group", "Labs"
    )
    assert (added["name"], added["fax_number"], added["groups"]) == (
        "Helen Carter",
        "+1 555 0100",
        ["Labs"],
    )
    run_json(daemon, "add", "Ravi Patel", "1002")
    table = openfax(daemon, "contacts", "list")
    assert table.returncode == 0, table.stderr
    assert "Address book" in table.stdout
    assert "Northside" in table.stdout
    assert "Ravi Patel" in table.stdout

    edited = run_json(daemon, "edit", "Ravi Patel", "--fax-number", "1001", "--group", "Labs")
    assert (edited["fax_number"], edited["groups"]) == ("1001", ["Labs"])
    groups = run_json(daemon, "groups", "list")
    assert groups == [{"name": "Labs", "members": ["Helen Carter", "Ravi Patel"]}]
    assert run_json(daemon, "groups", "set", "Labs", "Ravi Patel")["members"] == ["Ravi Patel"]

    refused = openfax(daemon, "contacts", "add", "Nobody", "call me")
    assert refused.returncode == 1
    assert "AddressBookError" in refused.stderr
    assert "'call me' is not a fax number" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = openfax(daemon, "contacts", "remove", "Ghost")
    assert missing.returncode == 1
    assert "ContactNotFoundError" in missing.stderr

    assert run_json(daemon, "remove", "Helen Carter")["removed"]
    assert [c["name"] for c in run_json(daemon, "list")] == ["Ravi Patel"]
    assert run_json(daemon, "groups", "remove", "Labs")["removed"]
    assert run_json(daemon, "remove", "Ravi Patel")["removed"]


def test_a_book_is_exported_and_imported_as_files(daemon: Daemon, tmp_path: Path) -> None:
    source = tmp_path / "clinics.csv"
    source.write_text(
        "name,fax_number,company,notes,groups\n"
        "North Clinic,1001,North,Mornings only,Clinics\n"
        "South Clinic,1002,South,,Clinics; Labs\n"
    )
    result = run_json(daemon, "import", source, "--shared")
    assert (result["added"], result["groups_added"]) == (2, 2)
    text = openfax(daemon, "contacts", "import", source, "--shared")
    assert text.returncode == 0, text.stderr
    assert "0 added, 2 updated, 0 groups added" in text.stdout

    cards = openfax(daemon, "contacts", "export", "--shared", "--format", "vcard")
    assert cards.returncode == 0, cards.stderr
    assert cards.stdout.count("BEGIN:VCARD") == 2
    assert "TEL;TYPE=fax:1002" in cards.stdout
    assert "CATEGORIES:Clinics,Labs" in cards.stdout
    written = run_json(daemon, "export", "--shared", "-o", tmp_path / "back.csv")
    assert written["bytes"] == (tmp_path / "back.csv").stat().st_size
    assert (tmp_path / "back.csv").read_text().splitlines()[2] == (
        "South Clinic,1002,South,,Clinics; Labs"
    )

    vcf = tmp_path / "back.vcf"
    vcf.write_text(cards.stdout)
    mine = run_json(daemon, "import", vcf)
    assert (mine["added"], mine["groups_added"]) == (2, 2)
    shared = {c["name"]: c for c in run_json(daemon, "list", "--shared")}
    assert {c["name"]: c["groups"] for c in run_json(daemon, "list")} == {
        name: contact["groups"] for name, contact in shared.items()
    }

    bad = tmp_path / "bad.csv"
    bad.write_text("name,fax_number\nGood,1001\nBad,abc\n")
    refused = openfax(daemon, "contacts", "import", bad)
    assert refused.returncode == 1
    assert "line 3: fax_number: 'abc' is not a fax number" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert "Good" not in [c["name"] for c in run_json(daemon, "list")]


def test_send_to_a_group_faxes_each_member(daemon: Daemon) -> None:
    run_json(daemon, "add", "Desk one", "1001", "--group", "Desks")
    run_json(daemon, "add", "Desk two", "1002", "--group", "Desks")
    sent = openfax(
        daemon, "send", SAMPLES / "letter.txt", "--to-group", "Desks", "--wait", "--json"
    )
    assert sent.returncode == 0, sent.stderr
    jobs = json.loads(sent.stdout)
    assert sorted(job["recipient"] for job in jobs) == ["1001", "1002"]
    unknown = openfax(daemon, "send", SAMPLES / "letter.txt", "--to-group", "Nobody")
    assert unknown.returncode == 1
    assert "no group 'Nobody'" in unknown.stderr
    neither = openfax(daemon, "send", SAMPLES / "letter.txt")
    assert neither.returncode == 2
    assert "--to NUMBER or --to-group NAME" in neither.stderr
