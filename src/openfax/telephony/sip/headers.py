"""Typed values of the SIP headers the transaction and dialog layers read: Via, the name-addr
headers (From, To, Contact, Route, Record-Route), CSeq and SIP URIs.

Each type parses from the header's text with ``parse`` and gives it back with ``str``; a
malformed value raises :class:`~openfax.errors.SipParseError` naming the header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openfax.errors import SipParseError
from openfax.telephony.sip._grammar import (
    TOKEN,
    format_params,
    parse_params,
    quote,
    unquote,
)

MAX_CSEQ = 2**31 - 1
"""RFC 3261 8.1.1.5: the CSeq number must be less than 2**31."""

_SPACE = re.compile(r"\s")
_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)"
_VIA = re.compile(
    r"\s*(?P<name>[^\s/]+)\s*/\s*(?P<version>[^\s/]+)\s*/\s*(?P<transport>[^\s/]+)\s+"
    rf"(?P<host>{_HOST})(?:\s*:\s*(?P<port>\d{{1,5}}))?\s*(?P<params>;.*)?",
    re.DOTALL,
)
# The user part may hold ';' and '?' (RFC 3261 25.1 user-unreserved: carriers send
# "sip:+15551234;npdi;rn=+15550000@host"); '@' appears nowhere else unescaped.
_SIP_URI = re.compile(
    r"(?P<scheme>sips?):(?:(?P<user>[^:@]*)(?::(?P<password>[^@]*))?@)?"
    rf"(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?(?P<params>;[^?]*)?(?:\?(?P<headers>.*))?",
    re.IGNORECASE | re.DOTALL,
)


def _port(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    port = int(text)
    if not 0 < port <= 65535:
        raise SipParseError(f"{where}: port {port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI: user, host, port, ``;parameters`` and ``?headers``."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a SIP URI; anything else (``tel:``, garbage) raises SipParseError."""
        match = _SIP_URI.fullmatch(text.strip())
        if match is None:
            raise SipParseError(f"not a SIP URI: {text!r}")
        return cls(
            host=match["host"].lower(),
            user=match["user"],
            port=_port(match["port"], f"URI {text!r}"),
            scheme=match["scheme"].lower(),
            password=match["password"],
            params=parse_params(match["params"] or "", f"URI {text!r}"),
            headers=match["headers"],
        )

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter in upper case, or None."""
        value = self.params.get("transport")
        return None if value is None else value.upper()

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            password = "" if self.password is None else f":{self.password}"
            userinfo = f"{self.user}{password}@"
        port = "" if self.port is None else f":{self.port}"
        headers = "" if self.headers is None else f"?{self.headers}"
        return f"{self.scheme}:{userinfo}{self.host}{port}{format_params(self.params)}{headers}"


@dataclass(frozen=True)
class Via:
    """One Via value: the transport and sent-by of a hop, with branch, received and rport."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value (split several with :meth:`Headers.get_all` first)."""
        match = _VIA.fullmatch(text)
        if match is None:
            raise SipParseError(f"Via: cannot parse {text.strip()!r}")
        if match["name"].upper() != "SIP" or match["version"] != "2.0":
            raise SipParseError(f"Via: protocol {match['name']}/{match['version']} is not SIP/2.0")
        if not TOKEN.fullmatch(match["transport"]):
            raise SipParseError(f"Via: bad transport {match['transport']!r}")
        params = parse_params(match["params"] or "", "Via")
        rport = params.get("rport")
        if rport is not None and not (rport.isdigit() and 0 < int(rport) <= 65535):
            raise SipParseError(f"Via: rport={rport!r} is not a port number")
        return cls(
            transport=match["transport"].upper(),
            host=match["host"].lower(),
            port=_port(match["port"], "Via"),
            params=params,
        )

    @property
    def branch(self) -> str | None:
        """The branch parameter: the transaction id when it starts with the magic cookie."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """The address the previous hop saw this request come from, when it differs."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The source port filled in by the receiver (RFC 3581), or None when not filled."""
        value = self.params.get("rport")
        return None if value is None else int(value)

    @property
    def wants_rport(self) -> bool:
        """True when the sender asked for responses to go to its source port (RFC 3581)."""
        return "rport" in self.params

    def with_params(self, **params: str | None) -> Via:
        """A copy with parameters set (``None`` makes a flag), as a server adds ``received``."""
        return Via(self.transport, self.host, self.port, {**self.params, **params})

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"


@dataclass(frozen=True)
class NameAddr:
    """A From, To, Contact, Route or Record-Route value: display name, URI and parameters.

    ``uri`` stays text (it may be ``tel:`` or any absolute URI); :meth:`sip_uri` parses it.
    A Contact of ``*`` has ``uri == "*"``.
    """

    uri: str
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, header: str = "name-addr") -> NameAddr:
        """Parse a name-addr (``"Bob" <sip:bob@x>;tag=1``) or addr-spec (``sip:bob@x;tag=1``)."""
        value = text.strip()
        if value == "*":
            return cls("*")
        display: str | None = None
        if value.startswith('"'):
            end = _closing_quote(value, header)
            display = unquote(value[: end + 1])
            value = value[end + 1 :].lstrip()
            if not value.startswith("<"):
                raise SipParseError(f"{header}: a quoted display name must be followed by <URI>")
        elif "<" in value:
            before, _, _ = value.partition("<")
            display = before.strip() or None
            if display is not None and ";" in display:
                raise SipParseError(f"{header}: bad display name {display!r}")
            value = value[len(before) :]
        if value.startswith("<"):
            uri, closed, rest = value[1:].partition(">")
            if not closed:
                raise SipParseError(f"{header}: '<' without '>' in {text.strip()!r}")
        else:
            uri, _, rest = value.partition(";")
            rest = f";{rest}" if rest else ""
        uri = uri.strip()
        if not uri or ":" not in uri or _SPACE.search(uri):
            raise SipParseError(f"{header}: bad URI {uri!r}")
        return cls(uri, display, parse_params(rest, header))

    @property
    def tag(self) -> str | None:
        """The tag parameter that names one end of a dialog."""
        return self.params.get("tag")

    def sip_uri(self) -> SipUri:
        """The URI parsed as a SIP URI (raises SipParseError for other schemes)."""
        return SipUri.parse(self.uri)

    def with_params(self, **params: str | None) -> NameAddr:
        """A copy with parameters set, as a UAS adds its tag to To."""
        return NameAddr(self.uri, self.display_name, {**self.params, **params})

    def __str__(self) -> str:
        if self.uri == "*":
            return "*"
        display = "" if self.display_name is None else f"{quote(self.display_name)} "
        return f"{display}<{self.uri}>{format_params(self.params)}"


def _closing_quote(value: str, header: str) -> int:
    escaped = False
    for index in range(1, len(value)):
        if escaped:
            escaped = False
        elif value[index] == "\\":
            escaped = True
        elif value[index] == '"':
            return index
    raise SipParseError(f"{header}: unterminated display name")


@dataclass(frozen=True)
class CSeq:
    """The CSeq header: a sequence number and the method it belongs to."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse ``4711 INVITE``; the number must be below 2**31 (RFC 3261 8.1.1.5)."""
        pieces = text.split()
        if len(pieces) != 2 or not pieces[0].isdigit() or not TOKEN.fullmatch(pieces[1]):
            raise SipParseError(f"CSeq: expected 'number METHOD', got {text.strip()!r}")
        number = int(pieces[0])
        if number > MAX_CSEQ:
            raise SipParseError(f"CSeq: {number} is not below 2**31")
        return cls(number, pieces[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
