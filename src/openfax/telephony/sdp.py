"""SDP (RFC 4566) parsing and serialising, and the offer/answer (RFC 3264) of a fax call.

A fax call carries one stream: G.711 audio (PCMU or PCMA over RTP, 20 ms packets, telephone
events optional) or T.38 over UDPTL with its attributes (ITU-T T.38 Annex D / E). An offer
may list both (T.38 first with an audio fallback, or a re-INVITE to T.38 keeping the audio
line at port 0); :func:`make_answer` accepts one stream, rejects the others with port 0 as
RFC 3264 6 requires, and raises :class:`~openfax.errors.SdpNegotiationError` (488) when
nothing can be accepted, saying why.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, replace
from typing import NoReturn, TypeVar

from openfax.errors import SdpError, SdpNegotiationError

MAX_SDP_SIZE = 16384
"""A session description larger than this is refused: a fax call needs a few hundred bytes."""

PTIME_MS = 20
"""The packet time OpenFax sends and asks for: 160 samples of G.711."""

MAX_WARNINGS = 4
"""Warnings a refusal carries at most (one per refused stream): an offer of hundreds of
m= lines must not make a 488 larger than a SIP message may be."""

_STATIC_AUDIO = {0: "PCMU", 8: "PCMA"}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_E = TypeVar("_E", bound=enum.StrEnum)


@dataclass(frozen=True)
class Origin:
    """The ``o=`` line: who made the description, and its version (raised on every change)."""

    username: str = "-"
    session_id: int = 0
    version: int = 0
    net_type: str = "IN"
    addr_type: str = "IP4"
    address: str = "0.0.0.0"

    def next_version(self) -> Origin:
        """The same origin with the version raised by one, for a changed description."""
        return replace(self, version=self.version + 1)

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.net_type} {self.addr_type} {self.address}"
        )


@dataclass(frozen=True)
class Connection:
    """The ``c=`` line: where media is to be sent. ``0.0.0.0`` means on hold (RFC 3264 8.4)."""

    address: str
    addr_type: str = "IP4"
    net_type: str = "IN"

    def __str__(self) -> str:
        return f"{self.net_type} {self.addr_type} {self.address}"


Attribute = tuple[str, str | None]
"""An ``a=`` line: the name and the value after the colon, or None for a flag."""


@dataclass(frozen=True)
class MediaDescription:
    """One ``m=`` section with its connection, bandwidth and attribute lines."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    bandwidths: tuple[str, ...] = ()

    def attribute(self, name: str) -> str | None:
        """The value of the first attribute of this name (case-insensitive), '' for a flag."""
        for key, value in self.attributes:
            if key.lower() == name.lower():
                return "" if value is None else value
        return None

    def rtpmap(self) -> dict[int, str]:
        """Payload type to ``encoding/clock`` from the ``a=rtpmap`` lines."""
        mapping: dict[int, str] = {}
        for key, value in self.attributes:
            if key.lower() == "rtpmap" and value:
                number, _, encoding = value.partition(" ")
                if number.isdigit():
                    mapping[int(number)] = encoding.strip()
        return mapping

    @property
    def direction(self) -> str:
        """sendrecv, sendonly, recvonly or inactive (RFC 3264 5.1; sendrecv when absent)."""
        for key, _ in self.attributes:
            if key.lower() in ("sendrecv", "sendonly", "recvonly", "inactive"):
                return key.lower()
        return "sendrecv"

    def lines(self) -> list[str]:
        """The section's lines, ``m=`` first."""
        out = [f"m={self.media} {self.port} {self.proto} {' '.join(self.formats)}"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={bandwidth}" for bandwidth in self.bandwidths]
        out += [_attribute_line(attribute) for attribute in self.attributes]
        return out


@dataclass(frozen=True)
class SessionDescription:
    """A whole description: origin, session-level connection and attributes, media sections."""

    origin: Origin
    connection: Connection | None = None
    media: tuple[MediaDescription, ...] = ()
    session_name: str = "-"
    timing: str = "0 0"
    attributes: tuple[Attribute, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()

    def connection_for(self, media: MediaDescription) -> Connection:
        """Where to send this stream: its own ``c=`` or the session's (RFC 4566 5.7)."""
        connection = media.connection or self.connection
        if connection is None:
            raise SdpError(f"m={media.media}: no c= line at media or session level")
        return connection

    def to_bytes(self) -> bytes:
        """The description as it goes in a SIP body, with CRLF line ends."""
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        lines += [f"{kind}={value}" for kind, value in self.other_lines if kind in "iuep"]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [f"{kind}={value}" for kind, value in self.other_lines if kind == "b"]
        lines.append(f"t={self.timing}")
        lines += [f"{kind}={value}" for kind, value in self.other_lines if kind in "rzk"]
        lines += [_attribute_line(attribute) for attribute in self.attributes]
        for media in self.media:
            lines += media.lines()
        return ("\r\n".join(lines) + "\r\n").encode()


def _attribute_line(attribute: Attribute) -> str:
    name, value = attribute
    return f"a={name}" if value is None else f"a={name}:{value}"


def parse_sdp(data: bytes) -> SessionDescription:
    """Parse a session description; anything malformed raises SdpError naming the line."""
    if len(data) > MAX_SDP_SIZE:
        raise SdpError(f"session description of {len(data)} bytes is larger than {MAX_SDP_SIZE}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SdpError(f"session description is not UTF-8 (byte {error.start})") from None
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise SdpError("a session description must start with v=0")
    # Sections: the session's lines, then one list per m= line; each line numbered from 1.
    sections: list[list[tuple[str, str, str]]] = [[]]
    for number, line in enumerate(lines[1:], start=2):
        kind, equals, value = line.partition("=")
        if not equals or len(kind) != 1 or not kind.islower():
            raise SdpError(f"line {number}: not '<letter>=<value>': {line[:60]!r}")
        if _CONTROL.search(value):
            raise SdpError(f"line {number}: control character in {kind}= line")
        if kind == "m":
            sections.append([])
        sections[-1].append((kind, value, f"line {number} ({kind}=)"))
    origin: Origin | None = None
    session_name = "-"
    timing = "0 0"
    connection: Connection | None = None
    attributes: list[Attribute] = []
    others: list[tuple[str, str]] = []
    for kind, value, where in sections[0]:
        if kind == "o":
            origin = _parse_origin(value, where)
        elif kind == "s":
            session_name = value
        elif kind == "t":
            timing = value
        elif kind == "c":
            connection = _parse_connection(value, where)
        elif kind == "a":
            attributes.append(_parse_attribute(value, where))
        elif kind != "v":
            others.append((kind, value))
    if origin is None:
        raise SdpError("missing o= line")
    return SessionDescription(
        origin=origin,
        connection=connection,
        media=tuple(_parse_media(section) for section in sections[1:]),
        session_name=session_name,
        timing=timing,
        attributes=tuple(attributes),
        other_lines=tuple(others),
    )


def _parse_origin(value: str, where: str) -> Origin:
    fields = value.split()
    if len(fields) != 6 or not fields[1].isdigit() or not fields[2].isdigit():
        raise SdpError(f"{where}: expected 'user id version IN IP4 address', got {value!r}")
    return Origin(fields[0], int(fields[1]), int(fields[2]), fields[3], fields[4], fields[5])


def _parse_connection(value: str, where: str) -> Connection:
    fields = value.split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise SdpError(f"{where}: expected 'IN IP4|IP6 address', got {value!r}")
    return Connection(fields[2].split("/")[0], fields[1], fields[0])


def _parse_attribute(value: str, where: str) -> Attribute:
    name, colon, rest = value.partition(":")
    if not name or any(char.isspace() for char in name):
        raise SdpError(f"{where}: bad attribute {value[:60]!r}")
    return (name, rest.strip() if colon else None)


def _parse_media(section: list[tuple[str, str, str]]) -> MediaDescription:
    """One m= section: its m= line, then the c=, b= and a= lines that belong to it."""
    _, value, where = section[0]
    fields = value.split()
    if len(fields) < 4:
        raise SdpError(f"{where}: expected 'media port proto formats...', got {value!r}")
    port_text = fields[1].split("/")[0]
    if not port_text.isdigit() or int(port_text) > 65535:
        raise SdpError(f"{where}: bad port {fields[1]!r}")
    connection: Connection | None = None
    attributes: list[Attribute] = []
    bandwidths: list[str] = []
    for kind, value, where in section[1:]:
        if kind == "c":
            connection = _parse_connection(value, where)
        elif kind == "a":
            attributes.append(_parse_attribute(value, where))
        elif kind == "b":
            bandwidths.append(value)
    return MediaDescription(
        fields[0],
        int(port_text),
        fields[2],
        tuple(fields[3:]),
        connection,
        tuple(attributes),
        tuple(bandwidths),
    )


# --- T.38 attributes ------------------------------------------------------------------------


class RateManagement(enum.StrEnum):
    """T38FaxRateManagement: who makes the TCF training check (T.38 clause 8)."""

    TRANSFERRED_TCF = "transferredTCF"
    LOCAL_TCF = "localTCF"


class UdpErrorCorrection(enum.StrEnum):
    """T38FaxUdpEC: how UDPTL protects against loss."""

    REDUNDANCY = "t38UDPRedundancy"
    FEC = "t38UDPFEC"


@dataclass(frozen=True)
class T38Parameters:
    """The T.38 attributes of an ``m=image ... udptl t38`` section (T.38 Annex D.2.3).

    ``max_buffer`` and ``max_datagram`` describe the sender of the description's own receive
    side; ``error_correction`` None means no UDPTL error correction.
    """

    version: int = 0
    max_bit_rate: int = 14400
    rate_management: RateManagement = RateManagement.TRANSFERRED_TCF
    max_buffer: int | None = 2000
    max_datagram: int | None = 400
    error_correction: UdpErrorCorrection | None = UdpErrorCorrection.REDUNDANCY
    fill_bit_removal: bool = False
    transcoding_mmr: bool = False
    transcoding_jbig: bool = False

    @classmethod
    def from_media(cls, media: MediaDescription) -> T38Parameters:
        """Read the attributes (names compared without case, as gateways vary) with T.38's
        defaults for those absent: version 0, transferred TCF, no error correction."""
        values = {name.lower(): value for name, value in media.attributes}

        def number(name: str) -> int | None:
            raw = values.get(name.lower())
            if raw is None:
                return None
            if not raw.strip().isdigit():
                raise SdpError(f"{name}:{raw} is not a number")
            return int(raw)

        def flag(name: str) -> bool:
            if name.lower() not in values:
                return False
            raw = values[name.lower()]
            return raw is None or raw.strip() not in ("0", "false")

        rate = values.get("t38faxratemanagement")
        ec = values.get("t38faxudpec")
        rate_management = _enum_value(RateManagement, rate, "T38FaxRateManagement")
        error_correction = _enum_value(UdpErrorCorrection, ec, "T38FaxUdpEC")
        return cls(
            version=number("T38FaxVersion") or 0,
            max_bit_rate=number("T38MaxBitRate") or 14400,
            rate_management=rate_management or RateManagement.TRANSFERRED_TCF,
            max_buffer=number("T38FaxMaxBuffer"),
            max_datagram=number("T38FaxMaxDatagram"),
            error_correction=error_correction,
            fill_bit_removal=flag("T38FaxFillBitRemoval"),
            transcoding_mmr=flag("T38FaxTranscodingMMR"),
            transcoding_jbig=flag("T38FaxTranscodingJBIG"),
        )

    def attributes(self) -> tuple[Attribute, ...]:
        """The ``a=`` lines, in the usual spelling; false flags are left out."""
        out: list[Attribute] = [
            ("T38FaxVersion", str(self.version)),
            ("T38MaxBitRate", str(self.max_bit_rate)),
        ]
        if self.fill_bit_removal:
            out.append(("T38FaxFillBitRemoval", None))
        if self.transcoding_mmr:
            out.append(("T38FaxTranscodingMMR", None))
        if self.transcoding_jbig:
            out.append(("T38FaxTranscodingJBIG", None))
        out.append(("T38FaxRateManagement", self.rate_management.value))
        if self.max_buffer is not None:
            out.append(("T38FaxMaxBuffer", str(self.max_buffer)))
        if self.max_datagram is not None:
            out.append(("T38FaxMaxDatagram", str(self.max_datagram)))
        if self.error_correction is not None:
            out.append(("T38FaxUdpEC", self.error_correction.value))
        return tuple(out)


def _enum_value(kind: type[_E], raw: str | None, name: str) -> _E | None:
    if raw is None:
        return None
    for member in kind:
        if member.value.lower() == raw.strip().lower():
            return member
    raise SdpError(f"{name}:{raw} is not one of {[member.value for member in kind]}")


# --- Offer and answer -----------------------------------------------------------------------


class StreamKind(enum.StrEnum):
    """What a fax call's one active stream carries."""

    AUDIO = "audio"
    T38 = "t38"


@dataclass(frozen=True)
class LocalMedia:
    """What this end can receive, where, and how it wants to negotiate.

    ``t38_port`` None refuses T.38; ``telephone_event`` is the RTP payload type offered for
    RFC 4733 events, None to neither offer nor accept them; ``prefer_t38`` decides when an
    offer holds both acceptable audio and T.38.
    """

    address: str
    audio_port: int
    t38_port: int | None = None
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    telephone_event: int | None = None
    t38: T38Parameters = T38Parameters()
    prefer_t38: bool = True

    @property
    def addr_type(self) -> str:
        """IP6 for an IPv6 address, else IP4."""
        return "IP6" if ":" in self.address else "IP4"


@dataclass(frozen=True)
class NegotiatedStream:
    """The stream both ends agreed on, as this end must use it.

    For audio: the payload type and encoding to send, and the telephone-event payload type
    if agreed. For T.38: the agreed version, bit rate, rate management and error correction,
    with ``max_datagram``/``max_buffer`` being the far end's receive limits, which bound what
    this end sends.
    """

    kind: StreamKind
    remote_address: str
    remote_port: int
    direction: str = "sendrecv"
    payload_type: int | None = None
    encoding: str | None = None
    telephone_event: int | None = None
    ptime: int = PTIME_MS
    t38: T38Parameters | None = None

    @property
    def sends(self) -> bool:
        """Whether this end sends media: not when the stream is recvonly or inactive for
        us, nor to a held address (``c=0.0.0.0``, RFC 3264 8.4)."""
        return self.direction in ("sendrecv", "sendonly") and not held(self.remote_address)


def held(address: str) -> bool:
    """True for the connection address of a stream on hold the RFC 2543 way (0.0.0.0 or
    ::): the far end wants nothing sent to it."""
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False


_HELD = {"sendrecv": "sendonly", "recvonly": "inactive"}
"""The direction an offer with a held address (``c=0.0.0.0``) really asks for: the
offerer receives nothing."""

_MIRROR = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def make_offer(
    local: LocalMedia, origin: Origin, *, audio: bool = True, t38: bool = False
) -> SessionDescription:
    """An offer of G.711 audio, T.38, or both (T.38 listed first, as the stronger wish)."""
    if not audio and not t38:
        raise ValueError("an offer needs audio, T.38 or both")
    sections: list[MediaDescription] = []
    if t38:
        if local.t38_port is None:
            raise ValueError("a T.38 offer needs LocalMedia.t38_port")
        sections.append(_t38_section(local.t38_port, local.t38.attributes(), "sendrecv"))
    if audio:
        types = [_payload_type(codec) for codec in local.codecs]
        sections.append(_audio_section(local, types, local.telephone_event, "sendrecv"))
    return SessionDescription(
        origin=origin,
        connection=Connection(local.address, local.addr_type),
        media=tuple(sections),
    )


def make_answer(
    offer: SessionDescription, local: LocalMedia, origin: Origin
) -> tuple[SessionDescription, NegotiatedStream]:
    """Answer an offer: accept one stream, reject the others with port 0, in the offer's
    order (RFC 3264 6). Raises SdpNegotiationError (488) when no stream is acceptable; a
    stream whose attributes cannot be read (a malformed T.38 line, no connection address)
    is refused like one that holds nothing acceptable, so the others can still be taken."""
    choices: list[tuple[int, MediaDescription, NegotiatedStream]] = []
    refusals: list[SdpError] = []
    for index, media in enumerate(offer.media):
        try:
            section, stream = _answer_stream(offer, media, local)
        except SdpError as refusal:
            refusals.append(refusal)
            continue
        choices.append((index, section, stream))
    if not choices:
        if not refusals:
            raise SdpNegotiationError(
                "nothing acceptable in the offer: it has no media",
                warnings=((304, "the offer has no media"),),
            )
        reasons = "; ".join(str(refusal) for refusal in refusals)
        warnings = [
            warning
            for refusal in refusals
            for warning in (
                refusal.warnings
                if isinstance(refusal, SdpNegotiationError)
                else ((399, str(refusal)),)
            )
        ]
        raise SdpNegotiationError(
            f"nothing acceptable in the offer: {reasons}", warnings=tuple(warnings[:MAX_WARNINGS])
        )
    wanted = StreamKind.T38 if local.prefer_t38 else StreamKind.AUDIO
    index, section, stream = next(
        (choice for choice in choices if choice[2].kind is wanted), choices[0]
    )
    sections = [
        section if position == index else _rejected(media)
        for position, media in enumerate(offer.media)
    ]
    answer = SessionDescription(
        origin=origin,
        connection=Connection(local.address, local.addr_type),
        media=tuple(sections),
    )
    return answer, stream


def read_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedStream:
    """The stream the far end accepted in its answer to our offer; raises
    SdpNegotiationError when the answer accepts nothing or something never offered."""
    if len(answer.media) != len(offer.media):
        raise SdpNegotiationError(
            f"the answer has {len(answer.media)} media lines for {len(offer.media)} offered"
        )
    for offered, media in zip(offer.media, answer.media, strict=True):
        if media.port == 0:
            continue
        if media.media != offered.media:
            raise SdpNegotiationError(f"answer m={media.media} where m={offered.media} was offered")
        address = answer.connection_for(media).address
        direction = _MIRROR.get(media.direction, "sendrecv")
        if media.media == "image":
            ours = T38Parameters.from_media(offered)
            theirs = T38Parameters.from_media(media)
            if _strength(theirs.error_correction) > _strength(ours.error_correction):
                raise SdpNegotiationError(
                    f"the answer chose {theirs.error_correction} that was not offered"
                )
            agreed = replace(
                theirs,
                version=min(ours.version, theirs.version),
                max_bit_rate=min(ours.max_bit_rate, theirs.max_bit_rate),
            )
            return NegotiatedStream(StreamKind.T38, address, media.port, direction, t38=agreed)
        codec = _pick_codec(media, tuple(_offered_codecs(offered)))
        if codec is None:
            raise SdpNegotiationError(f"the answer holds no offered codec: {media.formats}")
        event = _telephone_event(media) if _telephone_event(offered) else None
        return _audio_stream(media, address, direction, codec, event)
    raise SdpNegotiationError("the answer rejected every offered stream")


def _answer_stream(
    offer: SessionDescription, media: MediaDescription, local: LocalMedia
) -> tuple[MediaDescription, NegotiatedStream]:
    where = f"m={media.media} {media.port} {media.proto}"
    if media.port == 0:
        _refuse(304, f"{where}: rejected by the offerer (port 0)")
    offered = media.direction
    if held(offer.connection_for(media).address):
        offered = _HELD.get(offered, offered)
    direction = _MIRROR.get(offered, "sendrecv")
    if media.media == "image":
        if local.t38_port is None:
            _refuse(304, f"{where}: T.38 is not accepted on this line")
        if media.proto.lower() != "udptl":
            _refuse(302, f"{where}: only T.38 over UDPTL is supported")
        if "t38" not in (f.lower() for f in media.formats):
            _refuse(305, f"{where}: only T.38 over UDPTL is supported")
        theirs = T38Parameters.from_media(media)
        agreed = _agree_t38(theirs, local.t38)
        ours = replace(agreed, max_buffer=local.t38.max_buffer, max_datagram=local.t38.max_datagram)
        section = _t38_section(local.t38_port, ours.attributes(), direction)
        address = offer.connection_for(media).address
        return section, NegotiatedStream(StreamKind.T38, address, media.port, direction, t38=agreed)
    if media.media == "audio":
        if media.proto.upper() not in ("RTP/AVP", "RTP/AVPF"):
            _refuse(302, f"{where}: only RTP/AVP audio is supported")
        codec = _pick_codec(media, local.codecs)
        if codec is None:
            _refuse(305, f"{where}: none of the payloads {list(media.formats)} is G.711")
        event = _telephone_event(media) if local.telephone_event is not None else None
        section = _audio_section(local, [codec[0]], event, direction)
        address = offer.connection_for(media).address
        return section, _audio_stream(media, address, direction, codec, event)
    _refuse(304, f"{where}: media {media.media!r} is not used for fax")


def _refuse(code: int, reason: str) -> NoReturn:
    """Refuse one offered stream with the RFC 3261 20.43 warn-code saying why (304 media
    type, 305 media format, 302 transport protocol)."""
    raise SdpNegotiationError(reason, warnings=((code, reason),))


def _agree_t38(theirs: T38Parameters, ours: T38Parameters) -> T38Parameters:
    """The answer's T.38 parameters (T.38 Annex D.2.3.2): version and bit rate no higher
    than offered, the offered rate management, error correction no stronger than offered."""
    correction = min(theirs.error_correction, ours.error_correction, key=_strength)
    return replace(
        theirs,
        version=min(theirs.version, ours.version),
        max_bit_rate=min(theirs.max_bit_rate, ours.max_bit_rate),
        error_correction=correction,
        fill_bit_removal=False,
        transcoding_mmr=False,
        transcoding_jbig=False,
    )


def _strength(correction: UdpErrorCorrection | None) -> int:
    """Error correction schemes ordered from none to FEC, the strongest an offer can ask for."""
    return 0 if correction is None else 2 if correction is UdpErrorCorrection.FEC else 1


def _payload_type(codec: str) -> int:
    for number, name in _STATIC_AUDIO.items():
        if name == codec.upper():
            return number
    raise ValueError(f"unknown codec {codec!r}: PCMU or PCMA")


def _offered_codecs(media: MediaDescription) -> list[str]:
    mapping = media.rtpmap()
    names: list[str] = []
    for fmt in media.formats:
        if fmt.isdigit():
            name = _codec_name(int(fmt), mapping)
            if name is not None:
                names.append(name)
    return names


def _codec_name(number: int, mapping: dict[int, str]) -> str | None:
    if number in mapping:
        encoding, _, clock = mapping[number].partition("/")
        if encoding.upper() in _STATIC_AUDIO.values() and clock.split("/")[0] in ("8000", ""):
            return encoding.upper()
        return None
    return _STATIC_AUDIO.get(number)


def _pick_codec(media: MediaDescription, accepted: tuple[str, ...]) -> tuple[int, str] | None:
    """The first of the offerer's payloads (its preference order) that is an accepted codec."""
    mapping = media.rtpmap()
    for fmt in media.formats:
        if fmt.isdigit() and int(fmt) < 128:
            name = _codec_name(int(fmt), mapping)
            if name is not None and name in accepted:
                return int(fmt), name
    return None


def _telephone_event(media: MediaDescription) -> int | None:
    for number, encoding in media.rtpmap().items():
        if encoding.lower().startswith("telephone-event/8000") and str(number) in media.formats:
            return number
    return None


def _audio_stream(
    media: MediaDescription,
    address: str,
    direction: str,
    codec: tuple[int, str],
    telephone_event: int | None,
) -> NegotiatedStream:
    """The audio stream agreed on ``media`` (an offer we answer or an answer we read): the
    codec chosen, RFC 4733 events if both ends take them, and the far end's ptime."""
    return NegotiatedStream(
        StreamKind.AUDIO,
        address,
        media.port,
        direction,
        payload_type=codec[0],
        encoding=codec[1],
        telephone_event=telephone_event,
        ptime=_ptime(media),
    )


def _ptime(media: MediaDescription) -> int:
    raw = media.attribute("ptime")
    if raw is None or not raw.strip().isdigit() or int(raw) == 0:
        return PTIME_MS
    return int(raw)


def _audio_section(
    local: LocalMedia, payload_types: list[int], event: int | None, direction: str
) -> MediaDescription:
    formats = [str(number) for number in payload_types]
    attributes: list[Attribute] = [
        ("rtpmap", f"{number} {_STATIC_AUDIO[number]}/8000") for number in payload_types
    ]
    if event is not None:
        formats.append(str(event))
        attributes += [("rtpmap", f"{event} telephone-event/8000"), ("fmtp", f"{event} 0-15")]
    attributes += [("ptime", str(PTIME_MS)), (direction, None)]
    return MediaDescription(
        "audio", local.audio_port, "RTP/AVP", tuple(formats), None, tuple(attributes)
    )


def _t38_section(port: int, attributes: tuple[Attribute, ...], direction: str) -> MediaDescription:
    all_attributes = (*attributes, (direction, None)) if direction != "sendrecv" else attributes
    return MediaDescription("image", port, "udptl", ("t38",), None, all_attributes)


def _rejected(media: MediaDescription) -> MediaDescription:
    return MediaDescription(media.media, 0, media.proto, media.formats)
