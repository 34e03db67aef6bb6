"""The fax numbers of a job sent as IPP FaxOut (PWG 5100.15): its ``destination-uris``
with ``tel:`` URIs, asked of cupsd with one Get-Job-Attributes (RFC 8011).

CUPS keeps a job's ``destination-uris`` (``ipptool``'s ``fax-job.test`` sends them with
Create-Job) but hands a backend none of them in its options, so the backend asks cupsd, on
the socket or address CUPS gives it in ``CUPS_SERVER``, before it gives up its root rights.
Only what that needs of IPP is here: the request, and a reader of the answer's attributes,
collections included, bounded in size and depth.
"""

from __future__ import annotations

import http.client
import socket
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

IPP_VERSION = b"\x02\x00"
GET_JOB_ATTRIBUTES = 0x0009
OPERATION_GROUP, END_OF_ATTRIBUTES = 0x01, 0x03
CHARSET, NATURAL_LANGUAGE, URI, INTEGER, KEYWORD, NAME = 0x47, 0x48, 0x45, 0x21, 0x44, 0x42
BEGIN_COLLECTION, END_COLLECTION, MEMBER_NAME = 0x34, 0x37, 0x4A
MAX_ANSWER_BYTES = 256 * 1024
MAX_DEPTH = 4
MAX_DESTINATIONS = 50
"""The most ``tel:`` destinations one job may have (a broadcast's recipients)."""
TIMEOUT_SECONDS = 10.0
DEFAULT_SERVER = "/run/cups/cups.sock"


class IppError(Exception):
    """cupsd could not be asked, or its answer could not be read; says which."""


def destination_numbers(environ: Mapping[str, str], job_id: int) -> list[str]:
    """The numbers of the job's ``tel:`` destination URIs, in order (other schemes, such as
    an ``ipp:`` destination, are not faxes and are left out)."""
    numbers = []
    for destination in job_destinations(environ, job_id):
        uri = destination.get("destination-uri")
        if isinstance(uri, str) and uri[:4].lower() == "tel:":
            # RFC 3966: the number, then ;parameters (ext=, isub=, phone-context=).
            numbers.append(unquote(uri[4:].partition(";")[0]).strip())
    if len(numbers) > MAX_DESTINATIONS:
        raise IppError(
            f"the job has {len(numbers)} tel: destinations, more than {MAX_DESTINATIONS}"
        )
    return [number for number in numbers if number]


def job_destinations(environ: Mapping[str, str], job_id: int) -> list[dict[str, Any]]:
    """The job's ``destination-uris`` collections (none when it has none)."""
    uri = f"ipp://localhost/jobs/{job_id}"
    request = (
        IPP_VERSION
        + struct.pack(">HI", GET_JOB_ATTRIBUTES, 1)
        + bytes([OPERATION_GROUP])
        + encode_attribute(CHARSET, "attributes-charset", b"utf-8")
        + encode_attribute(NATURAL_LANGUAGE, "attributes-natural-language", b"en")
        + encode_attribute(URI, "job-uri", uri.encode())
        + encode_attribute(NAME, "requesting-user-name", b"root")
        + encode_attribute(KEYWORD, "requested-attributes", b"destination-uris")
        + bytes([END_OF_ATTRIBUTES])
    )
    status, attributes = parse_answer(_post(environ, request))
    if status >= 0x0100:
        raise IppError(f"cupsd answered Get-Job-Attributes with status 0x{status:04x}")
    found = attributes.get("destination-uris", [])
    return [value for value in found if isinstance(value, dict)]


def encode_attribute(tag: int, name: str, value: bytes) -> bytes:
    """One attribute (or, with an empty name, another value of the one before) in IPP's
    encoding."""
    encoded = name.encode()
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def _post(environ: Mapping[str, str], body: bytes) -> bytes:
    """POST ``body`` as ``application/ipp`` to cupsd; its answer's body."""
    server = environ.get("CUPS_SERVER") or DEFAULT_SERVER
    connection: http.client.HTTPConnection
    if server.startswith("/"):
        connection = _UnixConnection(server)
    else:
        address = urlsplit(f"//{server}")
        port = address.port or int(environ.get("IPP_PORT", "631"))
        connection = http.client.HTTPConnection(
            address.hostname or "localhost", port, timeout=TIMEOUT_SECONDS
        )
    try:
        connection.request("POST", "/jobs/", body, {"Content-Type": "application/ipp"})
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise IppError(f"cannot ask cupsd at {server}: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise IppError(f"cupsd at {server} answered HTTP {response.status}")
    if len(answer) > MAX_ANSWER_BYTES:
        raise IppError(f"cupsd's answer is longer than {MAX_ANSWER_BYTES} bytes")
    return answer


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over cupsd's Unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT_SECONDS)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT_SECONDS)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def parse_answer(data: bytes) -> tuple[int, dict[str, list[Any]]]:
    """An IPP answer's status code and its attributes by name (every group together):
    strings for text values, ints for integers and enums, dicts for collections, bytes for
    the rest."""
    if len(data) < 9:
        raise IppError("cupsd's answer is shorter than an IPP header")
    (status,) = struct.unpack_from(">H", data, 2)
    reader = _Reader(data, 8)
    attributes: dict[str, list[Any]] = {}
    name = ""
    while True:
        tag = reader.byte()
        if tag == END_OF_ATTRIBUTES:
            return status, attributes
        if tag < 0x10:  # another group begins
            continue
        named, value = reader.attribute(tag, 0)
        name = named or name
        if not name:
            raise IppError("cupsd's answer has a value without a name")
        attributes.setdefault(name, []).append(value)


class _Reader:
    """Reads IPP's attribute encoding from ``data``, failing cleanly at its end."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise IppError("cupsd's answer ends inside an attribute")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def short(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def attribute(self, tag: int, depth: int) -> tuple[str, Any]:
        """The name (empty for another value of the previous one) and value of the attribute
        whose value tag ``tag`` was just read."""
        name = self.take(self.short()).decode("utf-8", "replace")
        raw = self.take(self.short())
        if tag == BEGIN_COLLECTION:
            return name, self.collection(depth + 1)
        if tag in (INTEGER, 0x23) and len(raw) == 4:  # integer, enum
            return name, struct.unpack(">i", raw)[0]
        if 0x40 <= tag <= 0x4F:  # text, name, keyword, uri, charset ...
            return name, raw.decode("utf-8", "replace")
        return name, raw

    def collection(self, depth: int) -> dict[str, Any]:
        """A collection's members, after its begCollection (RFC 8010 3.1.6)."""
        if depth > MAX_DEPTH:
            raise IppError(f"cupsd's answer nests collections deeper than {MAX_DEPTH}")
        members: dict[str, Any] = {}
        member = ""
        while True:
            tag = self.byte()
            _name, value = self.attribute(tag, depth)
            if tag == END_COLLECTION:
                return members
            if tag == MEMBER_NAME:
                member = value if isinstance(value, str) else ""
                continue
            if not member:
                raise IppError("cupsd's answer has a collection value without a member name")
            members.setdefault(member, value)
