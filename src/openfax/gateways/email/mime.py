"""Splitting a spooled e-mail into its parts on disk, a line at a time.

The message is read from its spool file line by line. Each leaf part's body is decoded
(base64, quoted-printable, or taken as it is) into a file of its own as it is read, and a
text part is recoded to UTF-8 on the way. Only one header block at a time is held in memory
(``MAX_HEADER_BYTES`` at most), so what a message carries does not size the memory taken;
the files together are no larger than the message. Nesting and the number of parts are
limited, each refusal a MailRefusedError saying which limit.
"""

from __future__ import annotations

import binascii
import codecs
import dataclasses
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import BinaryIO, Protocol

from openfax.errors import MailRefusedError
from openfax.model import CONTROL

MAX_HEADER_BYTES = 256 * 1024
"""Bytes of one header block at most (a message's own, with its Received lines, or a part's)."""
MAX_DEPTH = 8
"""Multiparts nested in each other at most."""
BASE64_BLOCK = 64 * 1024
"""Base64 characters decoded at once."""

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


@dataclass(frozen=True)
class MailPart:
    """One leaf part, decoded into the file ``path`` (text recoded to UTF-8)."""

    content_type: str
    """Lower case, ``maintype/subtype`` (``text/plain`` when the part does not say)."""
    filename: str
    """The name the sender gave it, "" without one."""
    disposition: str
    """``attachment``, ``inline``, or "" when the part does not say."""
    has_content_id: bool
    """It carries a Content-ID: an HTML text refers to it (an inline image, a logo)."""
    path: Path
    size: int


@dataclass(frozen=True)
class SplitMail:
    """What a message holds: its subject, its Message-ID, and its leaf parts in order."""

    subject: str
    message_id: str
    parts: list[MailPart] = field(default_factory=list)

    def remove(self) -> None:
        """Delete the parts' files."""
        for part in self.parts:
            part.path.unlink(missing_ok=True)


def split_message(source: BinaryIO, folder: Path, *, max_parts: int) -> SplitMail:
    """The parts of the message in ``source`` (read from its start), each decoded into a
    new file in ``folder``; MailRefusedError (552) past ``max_parts`` leaf parts, a header
    block larger than ``MAX_HEADER_BYTES`` or multiparts nested deeper than ``MAX_DEPTH``.
    Nothing is left in ``folder`` when it raises."""
    source.seek(0)
    splitter = _Splitter(iter(source), folder, max_parts)
    try:
        headers = splitter.headers()
        splitter.entity(headers, [], 0)
    except BaseException:
        for part in splitter.parts:
            part.path.unlink(missing_ok=True)
        raise
    return SplitMail(
        subject=_one_line(str(headers.get("Subject", ""))),
        message_id=_one_line(str(headers.get("Message-ID", ""))),
        parts=splitter.parts,
    )


def _one_line(text: str) -> str:
    """A header's text on one line, without control characters."""
    return " ".join(CONTROL.sub(" ", text).split())


_Delimiter = tuple[bytes, bool]
"""A boundary line met: its boundary and whether it closes the multipart."""


class _Sink(Protocol):
    def line(self, content: bytes) -> None: ...
    def newline(self) -> None: ...
    def finish(self) -> None: ...


class _Splitter:
    """Reads entities from ``lines``, keeping the leaf parts it writes in ``parts``."""

    def __init__(self, lines: Iterator[bytes], folder: Path, max_parts: int) -> None:
        self.lines = lines
        self.folder = folder
        self.max_parts = max_parts
        self.parts: list[MailPart] = []

    def headers(self) -> EmailMessage:
        """The next header block, up to its blank line (or the end)."""
        block = bytearray()
        for line in self.lines:
            if line in (b"\r\n", b"\n"):
                break
            block += line
            if len(block) > MAX_HEADER_BYTES:
                raise MailRefusedError(
                    552, "5.3.4", f"a header block is larger than {MAX_HEADER_BYTES:,} bytes"
                )
        parsed = BytesHeaderParser(policy=default).parsebytes(bytes(block))
        assert isinstance(parsed, EmailMessage)
        return parsed

    def entity(self, headers: EmailMessage, outer: list[bytes], depth: int) -> _Delimiter | None:
        """The body of an entity whose ``headers`` were read, up to the next boundary line of
        ``outer`` (returned; None at the end of the message)."""
        boundary = None
        if headers.get_content_maintype() == "multipart":
            boundary = headers.get_param("boundary")
        if isinstance(boundary, str) and boundary:
            if depth >= MAX_DEPTH:
                raise MailRefusedError(
                    552, "5.3.4", f"multiparts are nested more than {MAX_DEPTH} deep"
                )
            return self.multipart(boundary.encode("ascii", "replace"), outer, depth)
        return self.leaf(headers, outer)

    def multipart(self, boundary: bytes, outer: list[bytes], depth: int) -> _Delimiter | None:
        inner = [boundary, *outer]
        met = self.skip(inner)  # the preamble
        while met is not None and met == (boundary, False):
            met = self.entity(self.headers(), inner, depth + 1)
        if met == (boundary, True):
            return self.skip(outer)  # the epilogue
        return met

    def skip(self, boundaries: list[bytes]) -> _Delimiter | None:
        for line in self.lines:
            met = _delimiter(line, boundaries)
            if met is not None:
                return met
        return None

    def leaf(self, headers: EmailMessage, boundaries: list[bytes]) -> _Delimiter | None:
        if len(self.parts) >= self.max_parts:
            raise MailRefusedError(
                552, "5.3.4", f"the message has more than {self.max_parts} parts"
            )
        content_type = headers.get_content_type()
        text = headers.get_content_maintype() == "text"
        with tempfile.NamedTemporaryFile(dir=self.folder, delete=False) as out:
            self.parts.append(
                MailPart(
                    content_type=content_type,
                    filename=_filename(headers),
                    disposition=headers.get_content_disposition() or "",
                    has_content_id="Content-ID" in headers,
                    path=Path(out.name),
                    size=0,
                )
            )
            recoder = _Recoder(out, headers.get_content_charset() or "utf-8") if text else None
            sink = _sink(str(headers.get("Content-Transfer-Encoding", "")), recoder or out, text)
            met = None
            pending = False
            for line in self.lines:
                met = _delimiter(line, boundaries)
                if met is not None:
                    break
                if pending:
                    sink.newline()
                content = line.removesuffix(b"\n").removesuffix(b"\r")
                sink.line(content)
                pending = len(content) < len(line)
            if met is None and pending:  # the message's end: its last line break is the body's
                sink.newline()
            sink.finish()
            if recoder is not None:
                recoder.finish()
            size = out.tell()
        self.parts[-1] = dataclasses.replace(self.parts[-1], size=size)
        return met


def _filename(headers: EmailMessage) -> str:
    try:
        name = headers.get_filename() or ""
    except (ValueError, LookupError):
        return ""
    return _one_line(name)


def _delimiter(line: bytes, boundaries: list[bytes]) -> _Delimiter | None:
    """The boundary ``line`` is a delimiter of (and whether the closing one), else None."""
    if not line.startswith(b"--"):
        return None
    rest = line[2:].rstrip(b" \t\r\n")
    for boundary in boundaries:
        if rest == boundary:
            return boundary, False
        if rest == boundary + b"--":
            return boundary, True
    return None


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Recoder:
    """Writes text in ``charset`` to ``out`` as UTF-8 (an unknown charset read as UTF-8;
    bytes that do not decode become U+FFFD)."""

    def __init__(self, out: _Writer, charset: str) -> None:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = "utf-8"
        self.out = out
        self.decoder = codecs.getincrementaldecoder(charset)(errors="replace")

    def write(self, data: bytes, /) -> int:
        return self.out.write(self.decoder.decode(data).encode())

    def finish(self) -> None:
        self.out.write(self.decoder.decode(b"", final=True).encode())


def _sink(encoding: str, out: _Writer, text: bool) -> _Sink:
    encoding = encoding.strip().lower()
    newline = b"\n" if text else b"\r\n"
    if encoding == "base64":
        return _Base64(out)
    if encoding == "quoted-printable":
        return _QuotedPrintable(out, newline)
    return _AsIs(out, newline)


class _AsIs:
    """7bit, 8bit and binary bodies: the lines as they are."""

    def __init__(self, out: _Writer, newline: bytes) -> None:
        self.out = out
        self.eol = newline

    def line(self, content: bytes) -> None:
        self.out.write(content)

    def newline(self) -> None:
        self.out.write(self.eol)

    def finish(self) -> None:
        pass


class _QuotedPrintable:
    """Quoted-printable (RFC 2045 6.7): a line ending in ``=`` runs on into the next."""

    def __init__(self, out: _Writer, newline: bytes) -> None:
        self.out = out
        self.eol = newline
        self.soft = False

    def line(self, content: bytes) -> None:
        content = content.rstrip(b" \t")
        self.soft = content.endswith(b"=")
        self.out.write(binascii.a2b_qp(content[:-1] if self.soft else content))

    def newline(self) -> None:
        if not self.soft:
            self.out.write(self.eol)

    def finish(self) -> None:
        pass


class _Base64:
    """Base64, decoded in blocks of ``BASE64_BLOCK`` characters; what is not of its alphabet
    is skipped (line breaks, padding, stray characters), as mail readers do."""

    def __init__(self, out: _Writer) -> None:
        self.out = out
        self.lines: list[bytes] = []
        self.held = 0
        self.rest = b""

    def line(self, content: bytes) -> None:
        self.lines.append(content)
        self.held += len(content)
        if self.held >= BASE64_BLOCK:
            self._decode()

    def _decode(self) -> None:
        data = self.rest + _NOT_BASE64.sub(b"", b"".join(self.lines))
        self.lines.clear()
        self.held = 0
        whole = len(data) // 4 * 4
        if whole:
            self.out.write(binascii.a2b_base64(data[:whole]))
        self.rest = data[whole:]

    def newline(self) -> None:
        pass

    def finish(self) -> None:
        self._decode()
        if len(self.rest) >= 2:  # one character alone carries no whole byte
            self.out.write(binascii.a2b_base64(self.rest + b"=" * (-len(self.rest) % 4)))
