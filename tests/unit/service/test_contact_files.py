"""Address book files without a server: CSV and vCard read back what was written, whatever
the text, and a file's rows are found at the lines they start on."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.model.contacts import ContactInfo
from openfax.service.contact_files import (
    ContactRow,
    detect_format,
    read_contacts,
    write_csv,
    write_vcards,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
# Printable text, as the service keeps it: no control characters, no edge spaces.
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40).map(
    str.strip
)
NOTES = st.lists(TEXT, max_size=3).map("\n".join)
GROUP = TEXT.filter(lambda name: name and not set(name) & set(",;/"))
CONTACTS = st.lists(
    st.builds(
        lambda name, number, company, notes, groups: ContactInfo(
            id=1,
            name=name,
            fax_number=number,
            company=company,
            notes=notes,
            groups=sorted(set(groups)),
            updated_at=NOW,
        ),
        TEXT.filter(bool),
        st.from_regex(r"\+?[0-9]{1,4}( [0-9]{2,6}){0,3}", fullmatch=True),
        TEXT,
        NOTES,
        st.lists(GROUP, max_size=3),
    ),
    max_size=5,
)


def rows_of(contacts: list[ContactInfo]) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    return [(c.name, c.fax_number, c.company, c.notes, tuple(c.groups)) for c in contacts]


def read_back(rows: list[ContactRow]) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    return [(r.name, r.fax_number, r.company, r.notes, tuple(sorted(r.groups))) for r in rows]


@settings(max_examples=150, deadline=None)
@given(CONTACTS)
def test_csv_reads_back_what_it_wrote(contacts: list[ContactInfo]) -> None:
    found = read_contacts(write_csv(contacts), "csv")
    assert found.problems == []
    assert read_back(found.rows) == rows_of(contacts)


@settings(max_examples=150, deadline=None)
@given(CONTACTS, st.sampled_from(["3.0", "4.0"]))
def test_vcards_read_back_what_they_wrote(contacts: list[ContactInfo], version: str) -> None:
    data = write_vcards(contacts, "3.0" if version == "3.0" else "4.0")
    assert detect_format(data) == ("vcard" if contacts else "csv")
    found = read_contacts(data, "vcard")
    assert found.problems == []
    expected = rows_of(contacts)
    if version == "4.0":  # a tel: URI writes the number's spaces as '-'
        expected = [(n, f.replace(" ", "-"), c, o, g) for n, f, c, o, g in expected]
    assert read_back(found.rows) == expected


def test_rows_are_found_at_the_lines_they_start_on() -> None:
    data = b'\xef\xbb\xbfname,fax_number,notes\r\nA,1001,"two\r\nlines"\r\n\r\nB,1002,\r\n'
    found = read_contacts(data, "csv")
    assert [(r.line, r.name, r.notes) for r in found.rows] == [
        (2, "A", "two\r\nlines"),
        (5, "B", ""),
    ]
    cards = (
        "\nBEGIN:VCARD\nVERSION:3.0\nFN:One\nTEL;TYPE=fax:1\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Two\nTEL;TYPE=fax:2\nno colon here\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Three\n"
    )
    found = read_contacts(cards.encode(), "vcard")
    assert [(r.line, r.name) for r in found.rows] == [(2, "One")]
    assert len(found.problems) == 2
    assert found.problems[0] == (
        "line 7: the card is not a vCard: Failed to parse line: no colon here"
    )
    assert found.problems[1] == "line 13: the card has no END:VCARD"
