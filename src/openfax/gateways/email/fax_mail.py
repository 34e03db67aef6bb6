"""What of an e-mail becomes the fax: the attachments in order are its body, the text
part its cover page note (or its body when nothing is attached), the subject its subject.

An HTML-only message is faxed as its text. Inline parts an HTML text refers to (logos,
signature images: they carry a Content-ID) are not faxed. Office documents are faxed when
the service has LibreOffice, else refused with the reason (naming the packages to install),
as are more attachments than the gateway takes."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePath

from openfax.documents.filetype import OFFICE_SUFFIXES, FileType
from openfax.errors import MailRefusedError
from openfax.gateways.email.mime import MailPart, SplitMail
from openfax.model.records import MAX_DOCUMENT_NAME_LENGTH, MAX_NOTE_LENGTH, MAX_SUBJECT_LENGTH

OFFICE_TYPES = (
    ("application/msword", FileType.WORD),
    ("application/rtf", FileType.WORD),
    ("text/rtf", FileType.WORD),
    ("text/html", FileType.WORD),
    ("application/vnd.ms-excel", FileType.SPREADSHEET),
    ("application/vnd.ms-powerpoint", FileType.PRESENTATION),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml", FileType.SPREADSHEET),
    ("application/vnd.openxmlformats-officedocument.presentationml", FileType.PRESENTATION),
    ("application/vnd.openxmlformats-officedocument.", FileType.WORD),
    ("application/vnd.oasis.opendocument.spreadsheet", FileType.SPREADSHEET),
    ("application/vnd.oasis.opendocument.presentation", FileType.PRESENTATION),
    ("application/vnd.oasis.opendocument.", FileType.WORD),
)
"""Content types (or their beginnings) of the same documents, for parts without a name."""
SIGNATURE_TYPES = frozenset(
    ("application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature")
)
"""Parts that sign the message (``smime.p7s``, ``signature.asc``): not faxed."""
BLOCK = 64 * 1024


@dataclass(frozen=True)
class FaxMail:
    """The fax an e-mail makes: its bodies (files) in order with the names its refusals
    give them, the cover page note ("" for none), the subject and the document's name."""

    bodies: list[Path]
    names: list[str]
    note: str
    subject: str
    document_name: str


def fax_of(
    mail: SplitMail,
    folder: Path,
    *,
    max_attachments: int,
    office: Callable[[FileType], str] = lambda kind: "this server takes no Office documents",
) -> FaxMail:
    """The fax ``mail`` makes (an HTML text is made text in a file in ``folder``: one of the
    ``bodies`` to remove with the mail's parts, or deleted here when it is the note); refused
    (MailRefusedError) with nothing to fax, too many attachments, or an Office document that
    ``office`` (the converter's `OfficeConverter.missing`) says cannot be converted here."""
    attachments = [part for part in mail.parts if _is_attachment(part)]
    if len(attachments) > max_attachments:
        raise MailRefusedError(
            552,
            "5.3.4",
            f"the message has {len(attachments)} attachments, more than the "
            f"{max_attachments} this gateway faxes at once",
        )
    for index, part in enumerate(attachments):
        if part.content_type == "message/rfc822":
            raise MailRefusedError(
                554,
                "5.6.1",
                f"attachment {_name(part, index)!r} is an e-mail of its own (message/rfc822): "
                "forward its documents as attachments of this message instead",
            )
        kind = _office_kind(part)
        refusal = office(kind) if kind else ""
        if refusal:
            raise MailRefusedError(
                554, "5.6.1", f"attachment {_name(part, index)!r} is an Office document: {refusal}"
            )
    text = _text_of(mail, folder)
    names = [_name(part, index) for index, part in enumerate(attachments)]
    bodies = [part.path for part in attachments]
    note = ""
    if text is not None:
        written = _note(text) if _short(text) else None
        if not bodies or written is None:
            bodies.insert(0, text)  # the text is the fax, or too long for a cover page note
            names.insert(0, "the message's text")
        else:
            note = written
            if text not in {part.path for part in mail.parts}:
                text.unlink()  # made from the HTML, and read: not needed any more
    if not bodies:
        raise MailRefusedError(
            554, "5.6.0", "the message has neither an attachment nor text: nothing to fax"
        )
    subject = mail.subject[:MAX_SUBJECT_LENGTH]
    document = _name(attachments[0], 0) if attachments else subject or "e-mail"
    return FaxMail(
        bodies=bodies,
        names=names,
        note=note,
        subject=subject,
        document_name=document[:MAX_DOCUMENT_NAME_LENGTH],
    )


def _is_attachment(part: MailPart) -> bool:
    """An attached document: said so, named, or neither text nor referred to by HTML; a
    signature of the message (S/MIME, OpenPGP) is none."""
    if part.content_type in SIGNATURE_TYPES:
        return False
    if part.disposition == "attachment" or part.filename:
        return True
    if part.content_type in ("text/plain", "text/html"):
        return False
    return not part.has_content_id and part.size > 0


def _office_kind(part: MailPart) -> FileType | None:
    """The kind of Office document ``part`` says it is by its name or its type, or None."""
    suffix = PurePath(part.filename).suffix.lower()
    if suffix in OFFICE_SUFFIXES:
        return OFFICE_SUFFIXES[suffix]
    return next((kind for t, kind in OFFICE_TYPES if part.content_type.startswith(t)), None)


def _name(part: MailPart, index: int) -> str:
    return part.filename or f"attachment {index + 1} ({part.content_type})"


def _note(text: Path) -> str:
    """The text file as a cover page note: without its outer white space and without NULs
    (which a note cannot hold)."""
    return text.read_text(errors="replace").replace("\x00", "").strip()


def _short(text: Path) -> bool:
    """Whether ``text`` may be a cover page note (read whole only then)."""
    return text.stat().st_size <= MAX_NOTE_LENGTH


def _text_of(mail: SplitMail, folder: Path) -> Path | None:
    """The message's text as a UTF-8 file: its first plain text part, else its first HTML
    part made text; None when it has neither, or only blank ones."""
    texts = [p for p in mail.parts if not _is_attachment(p)]
    plain = next((p for p in texts if p.content_type == "text/plain" and _has_words(p.path)), None)
    if plain is not None:
        return plain.path
    html = next((p for p in texts if p.content_type == "text/html"), None)
    if html is None:
        return None
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".txt") as out:
        converter = _HtmlText(out.write)
        with open(html.path, encoding="utf-8", errors="replace") as source:
            while block := source.read(BLOCK):
                converter.feed(block)
        converter.close()
    made = Path(out.name)
    if _has_words(made):
        return made
    made.unlink()
    return None


def _has_words(path: Path) -> bool:
    """Whether the text file holds more than white space (its first blocks are read)."""
    with open(path, "rb") as source:
        while block := source.read(BLOCK):
            if block.strip():
                return True
    return False


class _HtmlText(HTMLParser):
    """HTML to the text a reader sees: tags dropped, scripts and styles left out, a line
    break for each break, paragraph, heading, row and list item, runs of spaces as one."""

    BREAKS = frozenset(
        (
            *("br", "p", "div", "tr", "li", "blockquote", "pre", "table", "ul", "ol", "hr"),
            *("h1", "h2", "h3", "h4", "h5", "h6"),
        )
    )
    HIDDEN = frozenset(("script", "style", "head", "title"))

    def __init__(self, write: Callable[[str], object]) -> None:
        super().__init__(convert_charrefs=True)
        self._write = write
        self._hidden = 0
        self._line_start = True
        self._space = False

    def _emit(self, text: str) -> None:
        self._write(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BREAKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BREAKS and tag != "br":
            self._break()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        words = " ".join(data.split())
        if not words:
            self._space = self._space or bool(data)
            return
        if not self._line_start and (self._space or data[:1].isspace()):
            words = " " + words
        self._emit(words)
        self._line_start = False
        self._space = data[-1:].isspace()

    def _break(self) -> None:
        self._emit("\n")
        self._line_start = True
        self._space = False
