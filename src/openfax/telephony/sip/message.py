"""SIP messages (RFC 3261 section 7): parsing from a datagram or a byte stream, and serialising.

A message is a frozen :class:`Request` or :class:`Response` with ordered :class:`Headers` and a
body of bytes. Compact header names (``v``, ``f``, ``t`` ...) are expanded on parsing, folded
header lines are joined, and the typed headers the layers above need (Via, From, To, CSeq,
Call-ID) must be present and well formed. Everything malformed or oversized raises
:class:`~openfax.errors.SipParseError`, saying what was wrong.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from openfax.errors import SipParseError
from openfax.telephony.sip._grammar import TOKEN, split_outside_quotes
from openfax.telephony.sip.headers import CSeq, NameAddr, Via

MAX_MESSAGE_SIZE = 65535
"""The largest message accepted: the largest UDP payload, and a bound for stream framing."""

MAX_HEADERS = 256
"""More header lines than this in one message is an attack or a broken peer."""

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
"""RFC 3261 section 7.3.3 and the later RFCs' one-letter header names."""

_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authentication-Info",
        "Authorization",
        "Call-Info",
        "Content-Disposition",
        "Content-Language",
        "CSeq",
        "Date",
        "Error-Info",
        "Expires",
        "In-Reply-To",
        "Max-Forwards",
        "Min-Expires",
        "Min-SE",
        "MIME-Version",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Timestamp",
        "Unsupported",
        "User-Agent",
        "Warning",
        "WWW-Authenticate",
    )
}

LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Call-Info",
        "Contact",
        "Content-Encoding",
        "Content-Language",
        "Error-Info",
        "In-Reply-To",
        "Proxy-Require",
        "Record-Route",
        "Require",
        "Route",
        "Supported",
        "Unsupported",
        "Via",
        "Warning",
    )
)
"""Headers whose values are comma-separated lists (RFC 3261 7.3.1), so one line may hold
several values and several lines may be joined."""

_START_REQUEST = re.compile(r"(?P<method>[^ ]+) (?P<uri>[^ ]+) (?P<version>[^ ]+)")
_START_RESPONSE = re.compile(r"(?P<version>SIP/[^ ]*) (?P<status>\d{1,9})(?: (?P<reason>.*))?")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters other than tab, refused anywhere in the start line and headers."""
_LINE_END = re.compile(r"\r?\n")


def canonical_name(name: str) -> str:
    """The usual spelling of a header name, expanding compact forms; unknown names unchanged."""
    lower = name.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL.get(lower, name)


@dataclass(frozen=True)
class Headers:
    """The header fields of a message, in order; names compare without regard to case."""

    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Headers from ``(name, value)`` pairs, with compact names expanded."""
        return cls(tuple((canonical_name(name), value) for name, value in pairs))

    def get(self, name: str) -> str | None:
        """The value of the first header line with this name, or None."""
        wanted = canonical_name(name).lower()
        for field_name, value in self.fields:
            if field_name.lower() == wanted:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of the header, in order; list headers are split at their commas."""
        wanted = canonical_name(name).lower()
        values: list[str] = []
        for field_name, value in self.fields:
            if field_name.lower() != wanted:
                continue
            if wanted in LIST_HEADERS:
                pieces = split_outside_quotes(value, ",")
                values.extend(piece.strip() for piece in pieces if piece.strip())
            else:
                values.append(value)
        return values

    def add(self, name: str, value: str) -> Headers:
        """A copy with one more header line at the end."""
        return Headers((*self.fields, (canonical_name(name), value)))

    def without(self, name: str) -> Headers:
        """A copy without any line of this header."""
        wanted = canonical_name(name).lower()
        return Headers(tuple(pair for pair in self.fields if pair[0].lower() != wanted))

    def replace(self, name: str, *values: str) -> Headers:
        """A copy where the header's lines are replaced by ``values``, at its first place."""
        wanted = canonical_name(name).lower()
        kept: list[tuple[str, str]] = []
        placed = False
        for pair in self.fields:
            if pair[0].lower() != wanted:
                kept.append(pair)
            elif not placed:
                kept.extend((canonical_name(name), value) for value in values)
                placed = True
        if not placed:
            kept.extend((canonical_name(name), value) for value in values)
        return Headers(tuple(kept))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)


@dataclass(frozen=True, kw_only=True)
class _Message(abc.ABC):
    """What requests and responses share: headers, body and the typed mandatory headers."""

    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top (most recent hop) first."""
        return [Via.parse(value) for value in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        """The topmost Via: the hop that sent this message."""
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via header")
        return Via.parse(values[0])

    @property
    def from_(self) -> NameAddr:
        """The From header (``from`` is a Python keyword)."""
        return NameAddr.parse(self.required("From"), "From")

    @property
    def to(self) -> NameAddr:
        """The To header."""
        return NameAddr.parse(self.required("To"), "To")

    @property
    def call_id(self) -> str:
        """The Call-ID header."""
        return self.required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        """The CSeq header."""
        return CSeq.parse(self.required("CSeq"))

    @property
    def contacts(self) -> list[NameAddr]:
        """Every Contact value, in order."""
        return [NameAddr.parse(value, "Contact") for value in self.headers.get_all("Contact")]

    @property
    def content_type(self) -> str | None:
        """The media type of the body in lower case without parameters, or None."""
        value = self.headers.get("Content-Type")
        return None if value is None else value.split(";")[0].strip().lower()

    def required(self, name: str) -> str:
        """The value of a header that must be present; raises SipParseError naming it."""
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @abc.abstractmethod
    def _start_line(self) -> str:
        """The request or status line."""

    def to_bytes(self) -> bytes:
        """The message on the wire; Content-Length is always written from the body."""
        lines = [self._start_line()]
        lines.extend(f"{name}: {value}" for name, value in self.headers.without("Content-Length"))
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True, kw_only=True)
class Request(_Message):
    """A SIP request: method, Request-URI, headers and body."""

    method: str
    uri: str

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"


@dataclass(frozen=True, kw_only=True)
class Response(_Message):
    """A SIP response: status code, reason phrase, headers and body."""

    status: int
    reason: str

    def _start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"


Message = Request | Response


def stamp_source(request: Request, host: str, port: int) -> Request:
    """The request with its top Via marked with where it really came from (RFC 3261 18.2.1,
    RFC 3581 4): ``received`` when the sent-by host differs from the source address, and
    ``received`` with the source port in ``rport`` when the sender asked for rport."""
    values = request.headers.get_all("Via")
    top = Via.parse(values[0])
    params: dict[str, str | None] = {}
    if top.host.strip("[]") != host.lower().strip("[]"):
        params["received"] = host
    if top.wants_rport:
        params.update(received=host, rport=str(port))
    if not params:
        return request
    headers = request.headers.replace("Via", str(top.with_params(**params)), *values[1:])
    return replace(request, headers=headers)


def response_address(response: Response) -> tuple[str, int]:
    """Where a response goes over UDP (RFC 3261 18.2.2, RFC 3581 4): the ``received``
    address if the top Via has one, else its sent-by host; the ``rport`` port if filled in,
    else the sent-by port, else 5060."""
    via = response.top_via
    host = (via.received or via.host).strip("[]")
    return host, via.rport or via.port or 5060


def response_to(
    request: Request,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to ``request`` (RFC 3261 8.2.6.2): its Vias, From, Call-ID and CSeq copied,
    To copied with ``to_tag`` added when it has none yet, then ``headers``."""
    to = request.headers.get("To") or ""
    if to_tag is not None and request.to.tag is None:
        to = str(request.to.with_params(tag=to_tag))
    copied = [("Via", via) for via in request.headers.get_all("Via")]
    copied += [("From", request.required("From")), ("To", to)]
    copied += [("Call-ID", request.call_id), ("CSeq", request.required("CSeq"))]
    if status == 100 and (timestamp := request.headers.get("Timestamp")) is not None:
        copied.append(("Timestamp", timestamp))
    return Response(
        status=status, reason=reason, headers=Headers.of([*copied, *headers]), body=body
    )


def parse_message(data: bytes, *, max_size: int = MAX_MESSAGE_SIZE) -> Message:
    """Parse one message from a UDP datagram (RFC 3261 18.3).

    Without Content-Length the body is the rest of the datagram; with it, bytes past the
    length are ignored and a length longer than the datagram is an error.
    """
    if len(data) > max_size:
        raise SipParseError(f"message of {len(data)} bytes is larger than {max_size}")
    data = data.lstrip(b"\r\n")
    end = _HEADER_END.search(data)
    if end is None:
        raise SipParseError("no empty line after the headers")
    message = _parse_head(data[: end.start()])
    body = data[end.end() :]
    length = _content_length(message.headers)
    if length is not None:
        if length > len(body):
            raise SipParseError(f"Content-Length {length} but only {len(body)} body bytes")
        body = body[:length]
    return _with_body(message, body)


class SipStreamParser:
    """Frames SIP messages out of a TCP byte stream, fed in pieces of any size.

    Content-Length is mandatory on a stream. Empty lines between messages (keep-alives,
    RFC 5626) are skipped. After a parse error the stream cannot be trusted: every later call
    raises the same error, and the connection should be closed.
    """

    def __init__(self, *, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._error: SipParseError | None = None

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes; return the messages now complete, in order."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        messages: list[Message] = []
        try:
            while (message := self._next()) is not None:
                messages.append(message)
        except SipParseError as error:
            self._error = error
            raise
        return messages

    @property
    def buffered(self) -> int:
        """How many bytes wait for the rest of their message."""
        return len(self._buffer)

    def _next(self) -> Message | None:
        while self._buffer[:2] == b"\r\n" or self._buffer[:1] == b"\n":
            del self._buffer[: 2 if self._buffer[:1] == b"\r" else 1]
        end = _HEADER_END.search(self._buffer)
        if end is None:
            if len(self._buffer) > self.max_size:
                raise SipParseError(f"no end of headers within {self.max_size} bytes")
            return None
        message = _parse_head(bytes(self._buffer[: end.start()]))
        length = _content_length(message.headers)
        if length is None:
            raise SipParseError("missing Content-Length on a stream transport")
        if end.end() + length > self.max_size:
            raise SipParseError(
                f"message of {end.end() + length} bytes is larger than {self.max_size}"
            )
        if len(self._buffer) < end.end() + length:
            return None
        body = bytes(self._buffer[end.end() : end.end() + length])
        del self._buffer[: end.end() + length]
        return _with_body(message, body)


def _parse_head(head: bytes) -> Message:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SipParseError(f"headers are not UTF-8 (byte {error.start})") from None
    lines = _LINE_END.split(text)
    start = lines[0]
    if _CONTROL.search(start) or "\t" in start:
        raise SipParseError("control character in the start line")
    headers = _parse_header_lines(lines[1:])
    if start[:4].upper() == "SIP/":
        match = _START_RESPONSE.fullmatch(start)
        if match is None:
            raise SipParseError(f"bad status line {start[:80]!r}")
        _check_version(match["version"])
        status = int(match["status"])
        if not 100 <= status <= 699:
            raise SipParseError(f"status code {status} is outside 100..699")
        message: Message = Response(status=status, reason=match["reason"] or "", headers=headers)
    elif match := _START_REQUEST.fullmatch(start):
        _check_version(match["version"])
        if not TOKEN.fullmatch(match["method"]):
            raise SipParseError(f"bad method {match['method']!r}")
        if ":" not in match["uri"]:
            raise SipParseError(f"Request-URI {match['uri']!r} has no scheme")
        message = Request(method=match["method"], uri=match["uri"], headers=headers)
    else:
        raise SipParseError(f"bad start line {start[:80]!r}")
    _check_mandatory(message)
    return message


def _check_version(version: str) -> None:
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported protocol version {version!r}")


def _parse_header_lines(lines: list[str]) -> Headers:
    fields: list[tuple[str, str]] = []
    for line in lines:
        if _CONTROL.search(line):
            raise SipParseError(f"control character in header line {line[:80]!r}")
        if line[:1] in (" ", "\t"):
            if not fields:
                raise SipParseError("continuation line before any header")
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not TOKEN.fullmatch(name):
            raise SipParseError(f"bad header line {line[:80]!r}")
        fields.append((canonical_name(name), value.strip()))
        if len(fields) > MAX_HEADERS:
            raise SipParseError(f"more than {MAX_HEADERS} header lines")
    return Headers(tuple(fields))


def _content_length(headers: Headers) -> int | None:
    values = headers.get_all("Content-Length")
    if not values:
        return None
    if len(set(values)) > 1:
        raise SipParseError(f"conflicting Content-Length values {values}")
    if not values[0].isdigit():
        raise SipParseError(f"Content-Length {values[0]!r} is not a number")
    return int(values[0])


def _check_mandatory(message: Message) -> None:
    """RFC 3261 8.1.1: To, From, CSeq, Call-ID and Via must be present and parse."""
    if not message.vias:
        raise SipParseError("missing Via header")
    for name in ("From", "To"):
        if len(message.headers.get_all(name)) > 1:
            raise SipParseError(f"more than one {name} header")
        NameAddr.parse(message.required(name), name)
    if not message.call_id:
        raise SipParseError("empty Call-ID header")
    cseq = message.cseq
    if isinstance(message, Request) and cseq.method != message.method:
        raise SipParseError(f"CSeq method {cseq.method} does not match request {message.method}")


def _with_body(message: Message, body: bytes) -> Message:
    """The message with its body; Content-Length is framing, so it is dropped from the headers
    (``to_bytes`` writes it again from the body)."""
    return replace(message, headers=message.headers.without("Content-Length"), body=body)
