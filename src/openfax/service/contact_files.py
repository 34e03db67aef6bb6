"""Address book files: contacts read from and written to CSV and vCard (3.0 and 4.0).

Reading gives each contact with the line of the file it starts on (a vCard's BEGIN line),
so that the address book can name the line of each bad row; a whole file is read before
anything is stored. vCards are parsed by ``vobject`` (a card at a time, so that a broken
card is named by its line and the others are still read; 2.1, 3.0 and 4.0 alike) and
written here (:func:`write_vcards` says why). A card without a fax number
(``TEL;TYPE=fax``, or 2.1's ``TEL;FAX``) is no fax contact and is left out, counted. A
card's CATEGORIES are the groups of its book it belongs to, as a CSV row's ``groups``
column (separated by ``;``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import vobject

from openfax.model.contacts import CONTACT_FIELDS, ContactInfo
from openfax.model.numbers import is_sip_uri

FileFormat = Literal["csv", "vcard"]
FILE_FORMATS: tuple[str, ...] = get_args(FileFormat)
VCardVersion = Literal["3.0", "4.0"]
VCARD_VERSIONS: tuple[str, ...] = get_args(VCardVersion)
GROUP_SEPARATOR = ";"
"""Between the group names of a CSV row's ``groups`` column."""
REQUIRED_COLUMNS = ("name", "fax_number")
FOLD_OCTETS = 75
"""The longest line of a vCard, in octets (RFC 6350 3.2)."""
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "vcard": "text/vcard; charset=utf-8"}
SUFFIXES = {"csv": ".csv", "vcard": ".vcf"}


@dataclass(frozen=True)
class ContactRow:
    """One contact as a file gives it, with the line it starts on."""

    line: int
    name: str
    fax_number: str
    company: str = ""
    notes: str = ""
    groups: tuple[str, ...] = ()


@dataclass
class ReadFile:
    """What a file held: its contacts, what is wrong with it (``line N: ...`` each) and the
    vCards left out for having no fax number."""

    rows: list[ContactRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0


def detect_format(data: bytes) -> FileFormat:
    """``vcard`` when the file's first text is ``BEGIN:VCARD``, else ``csv``."""
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return "vcard" if head.startswith(b"BEGIN:VCARD") else "csv"


def read_contacts(data: bytes, file_format: FileFormat) -> ReadFile:
    """The contacts of a CSV or vCard file (UTF-8, a byte order mark allowed)."""
    found = ReadFile()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        found.problems.append(f"line {line}: is not UTF-8 text")
        return found
    if file_format == "csv":
        _read_csv(text, found)
    else:
        _read_vcards(text, found)
    return found


def split_groups(text: str) -> tuple[str, ...]:
    """The group names of a ``groups`` cell: separated by ``;``, blanks dropped."""
    return tuple(name.strip() for name in text.split(GROUP_SEPARATOR) if name.strip())


def _read_csv(text: str, found: ReadFile) -> None:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        found.problems.append(f"line 1: {exc}")
        return
    if header is None:
        return
    columns = [name.strip().lower().replace(" ", "_") for name in header]
    unknown = [name for name in columns if name not in CONTACT_FIELDS]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        what = (
            f"unknown columns {unknown}"
            if unknown
            else f"no column {missing}"
            if missing
            else "a column named twice"
        )
        found.problems.append(
            f"line 1: the header has {what}: a CSV address book has the columns "
            f"{', '.join(CONTACT_FIELDS)} (name and fax_number required)"
        )
        return
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            found.problems.append(f"line {line}: {exc}")
            break
        if any(cell.strip() for cell in cells):
            if len(cells) != len(columns):
                found.problems.append(
                    f"line {line}: has {len(cells)} fields, the header {len(columns)}"
                )
            else:
                row = dict(zip(columns, cells, strict=True))
                found.rows.append(
                    ContactRow(
                        line=line,
                        name=row["name"].strip(),
                        fax_number=row["fax_number"].strip(),
                        company=row.get("company", "").strip(),
                        notes=row.get("notes", ""),
                        groups=split_groups(row.get("groups", "")),
                    )
                )
        line = reader.line_num + 1


def _cards(text: str, found: ReadFile) -> Iterator[tuple[int, str]]:
    """Each ``BEGIN:VCARD`` ... ``END:VCARD`` of ``text`` with the line it begins on; text
    outside a card is a problem (a folded line begins with a space, so no card line is taken
    for a card's end)."""
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.strip().upper()
        if start:
            lines.append(line)
            if word == "END:VCARD":
                yield start, "\r\n".join(lines) + "\r\n"
                start, lines = 0, []
        elif word == "BEGIN:VCARD":
            start, lines = number, [line]
        elif word:
            found.problems.append(f"line {number}: is outside a BEGIN:VCARD ... END:VCARD card")
            return
    if start:
        found.problems.append(f"line {start}: the card has no END:VCARD")


def _read_vcards(text: str, found: ReadFile) -> None:
    for start, card_text in _cards(text, found):
        try:
            card = vobject.readOne(card_text)
        except Exception as exc:  # vobject raises ParseError and others on broken cards
            # Named by the card's first line: vobject's own line numbers are not the card's.
            found.problems.append(f"line {start}: the card is not a vCard: {_reason(exc)}")
            continue
        number = _fax_number(card)
        if number is None:
            found.skipped += 1
            continue
        name = _first_value(card, "fn")
        if not name:
            found.problems.append(f"line {start}: the card has no name (FN)")
            continue
        organisation = _first_value(card, "org")
        company = organisation[0] if isinstance(organisation, list) and organisation else ""
        categories = _first_value(card, "categories")
        groups = categories if isinstance(categories, list) else []
        found.rows.append(
            ContactRow(
                line=start,
                name=str(name).strip(),
                fax_number=number,
                company=str(company).strip(),
                notes=str(_first_value(card, "note") or ""),
                groups=tuple(str(g).strip() for g in groups if str(g).strip()),
            )
        )


def _reason(exc: BaseException) -> str:
    """A vobject error's message without the line it names (the card's line is given)."""
    return str(exc).split(": ", 1)[-1] if str(exc).startswith("At line") else str(exc)


def _first_value(card: Any, name: str) -> Any:
    entries = card.contents.get(name) or []
    return entries[0].value if entries else None


def _fax_number(card: Any) -> str | None:
    """The number of the card's first fax TEL (``tel:`` URIs without their ``tel:`` and
    parameters), or None."""
    for tel in card.contents.get("tel") or []:
        types = [*tel.params.get("TYPE", []), *getattr(tel, "singletonparams", [])]
        kinds = {kind.strip().lower() for value in types for kind in str(value).split(",")}
        if "fax" in kinds:
            value = str(tel.value).strip()
            if value.lower().startswith("tel:"):
                value = value[4:].split(";", 1)[0]
            return value
    return None


def write_csv(contacts: Iterable[ContactInfo]) -> bytes:
    """A CSV address book: the header, then a row per contact."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CONTACT_FIELDS)
    for contact in contacts:
        groups = f"{GROUP_SEPARATOR} ".join(contact.groups)
        writer.writerow([contact.name, contact.fax_number, contact.company, contact.notes, groups])
    return out.getvalue().encode()


def write_vcards(contacts: Iterable[ContactInfo], version: VCardVersion = "3.0") -> bytes:
    """A vCard file: a card per contact, with FN (and N, which 3.0 requires), ORG, the fax
    TEL (4.0: a ``tel:`` URI), NOTE and the groups as CATEGORIES.

    Written here rather than by vobject, whose writer costs over a millisecond a card (ten
    seconds and more for a full book): the format's text escaping and line folding (RFC
    6350 3.2 and 3.4) are a few lines, and vobject reads every card back (the tests)."""
    out = io.StringIO()
    for contact in contacts:
        lines = ["BEGIN:VCARD", f"VERSION:{version}", f"FN:{_text(contact.name)}"]
        if version == "3.0":
            lines.append(f"N:;{_text(contact.name)};;;")
        if contact.company:
            lines.append(f"ORG:{_text(contact.company)}")
        if version == "4.0":
            lines.append(f"TEL;VALUE=uri;TYPE=fax:{_uri(contact.fax_number)}")
        else:
            lines.append(f"TEL;TYPE=fax:{contact.fax_number}")
        if contact.notes:
            lines.append(f"NOTE:{_text(contact.notes)}")
        if contact.groups:
            lines.append("CATEGORIES:" + ",".join(_text(group) for group in contact.groups))
        lines.append("END:VCARD")
        for line in lines:
            out.write(_folded(line))
    return out.getvalue().encode()


def _text(value: str) -> str:
    """A vCard text value: ``\\``, line breaks, ``,`` and ``;`` escaped."""
    value = value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _folded(line: str) -> str:
    """A content line with CRLF, folded into lines of at most 75 octets (a space begins
    each continuation; a character is never split)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > FOLD_OCTETS:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts) + "\r\n"


def _uri(number: str) -> str:
    """A fax number as vCard 4.0's TEL URI: a SIP URI as it is, a telephone number as a
    ``tel:`` URI (its spaces written as ``-``, which RFC 3966 reads as a separator too)."""
    if is_sip_uri(number):
        return number
    return "tel:" + "-".join(number.replace("-", " ").split())
