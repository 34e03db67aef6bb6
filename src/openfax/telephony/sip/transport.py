"""SIP over asyncio sockets (RFC 3261 section 18): one UDP socket and one TCP listener on the
same port, TCP connections opened on demand and reused, stream framing with
:class:`~openfax.telephony.sip.message.SipStreamParser`.

The transport parses what arrives, marks requests with where they came from
(:func:`~openfax.telephony.sip.message.stamp_source`) and hands each message to its user
with the :class:`Peer` it came from; it sends messages to a peer. Every message sent or
received gets one log line (method or status, Call-ID, CSeq, peer). Malformed input is
logged and dropped, and a request readable enough to be answered gets a 400; nothing a peer
sends raises out of the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from openfax.errors import SipParseError, TelephonyError
from openfax.telephony.sip._grammar import quote
from openfax.telephony.sip.headers import SipUri
from openfax.telephony.sip.message import (
    MAX_MESSAGE_SIZE,
    Message,
    Request,
    Response,
    SipStreamParser,
    canonical_name,
    parse_message,
    response_address,
    stamp_source,
)

log = logging.getLogger(__name__)

TRANSPORTS = ("UDP", "TCP")
"""The transports spoken; a peer names one of them."""

_REQUEST_LINE = re.compile(r"([A-Za-z]+) (\S+) SIP/2\.0")
_ECHOED = ("Via", "From", "To", "Call-ID", "CSeq")
"""The headers a 400 to a malformed request copies (RFC 3261 8.2.6.2), when they can be read."""


@dataclass(frozen=True)
class Peer:
    """Where a message came from or goes to: transport, IP address and port."""

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        """True for a transport that delivers what it is given (TCP, TLS): no message of
        ours is resent over it."""
        return self.transport != "UDP"

    @classmethod
    def of_uri(cls, uri: str, default_transport: str = "UDP") -> Peer:
        """The next hop a SIP URI names: its host, its port or 5060, its ``transport``
        parameter or ``default_transport``. The host may be a name, which
        :class:`~openfax.telephony.sip.resolver.SipResolver` locates (RFC 3263)."""
        parsed = SipUri.parse(uri)
        transport = parsed.transport or default_transport
        if transport not in TRANSPORTS:
            raise SipParseError(f"URI {uri!r}: transport {transport} is not UDP or TCP")
        return cls(transport, parsed.host.strip("[]"), parsed.port or 5060)

    def __str__(self) -> str:
        return f"{self.transport} {self.host}:{self.port}"


MessageHandler = Callable[[Message, Peer], None]
"""Receives each well-formed message with the peer it came from."""
ErrorHandler = Callable[[Peer, str], None]
"""Told when a message could not be sent to a peer (connection refused or lost)."""


def describe(message: Message) -> str:
    """The log text of a message: request line or status, Call-ID and CSeq."""
    if isinstance(message, Request):
        start = f"{message.method} {message.uri}"
    else:
        start = f"{message.status} {message.reason}"
    return f"{start} (Call-ID {message.call_id}, CSeq {message.required('CSeq')})"


def bad_request_reply(data: bytes, reason: str) -> bytes | None:
    """The 400 answering a malformed request, when its request line and the headers a
    response copies (Via, From, To, Call-ID, CSeq) can still be read; None otherwise (and for
    a malformed ACK, which is never answered)."""
    text = data[:MAX_MESSAGE_SIZE].decode("utf-8", "replace").lstrip("\r\n")
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)
    start = _REQUEST_LINE.fullmatch(lines[0])
    if start is None or start[1].upper() == "ACK":
        return None
    copied: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = canonical_name(name.strip())
        if colon and name in _ECHOED and value.strip().isprintable():
            copied.setdefault(name, []).append(value.strip())
    if any(name not in copied for name in _ECHOED):
        return None
    reply = ["SIP/2.0 400 Bad Request"]
    reply += [f"{name}: {value}" for name in _ECHOED for value in copied[name]]
    reply.append(f"Warning: 399 openfax {quote(reason[:200])}")
    reply.append("Content-Length: 0")
    return ("\r\n".join(reply) + "\r\n\r\n").encode()


MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
_RECVERR = {
    socket.AF_INET: (socket.IPPROTO_IP, getattr(socket, "IP_RECVERR", 11)),
    socket.AF_INET6: (socket.IPPROTO_IPV6, getattr(socket, "IPV6_RECVERR", 25)),
}
"""Linux's socket options (level, name) that queue the ICMP errors a datagram meets."""
UNREACHABLE_ERRORS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})
"""The errors that say a peer cannot be reached (port, host or network unreachable)."""


def icmp_error(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The error number of a message read from a Linux socket's error queue: the
    ``ee_errno`` of its ``sock_extended_err`` (IP_RECVERR or IPV6_RECVERR), or None."""
    for level, kind, data in ancillary:
        if (level, kind) in _RECVERR.values() and len(data) >= 4:
            return int(struct.unpack_from("=I", data)[0])
    return None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.owner._received(data, Peer("UDP", str(addr[0]), int(str(addr[1]))))

    def error_received(self, exc: Exception) -> None:
        self.owner._udp_error(exc)


class _Stream(asyncio.Protocol):
    """One TCP connection: framing with a stream parser, writes, and its loss."""

    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner
        self.parser = SipStreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", str(host), int(port))
        self.owner._connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        assert self.transport is not None
        try:
            messages = self.parser.feed(data)
        except SipParseError as error:
            log.warning("SIP rejected stream from %s: %s; closing the connection", self.peer, error)
            self.transport.close()
            return
        for message in messages:
            self.owner._deliver(message, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner._connections.get(self.peer) is self:
            del self.owner._connections[self.peer]

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class SipTransport:
    """A UDP socket and a TCP listener on one address, and the TCP connections to peers.

    ``on_message`` receives every well-formed message; ``on_error`` is told when sending to a
    peer failed, so the transactions waiting on it can end (RFC 3261 8.1.3.1: a transport
    error counts as a 503).
    """

    def __init__(
        self,
        on_message: MessageHandler,
        *,
        on_error: ErrorHandler | None = None,
        host: str = "127.0.0.1",
        port: int = 5060,
        tcp: bool = True,
    ) -> None:
        self.on_message = on_message
        self.on_error = on_error
        self.host = host
        self.port = port
        self.tcp = tcp
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_sock: socket.socket | None = None
        self._sending: Peer | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[Peer, _Stream] = {}
        self._pending: dict[Peer, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind the UDP socket and, with ``tcp``, the TCP listener on the same port (port 0
        picks a free port that both transports then share)."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            sock = await self._udp_socket()
            udp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)
            port = int(udp.get_extra_info("sockname")[1])
            if not self.tcp:
                break
            try:
                self._server = await loop.create_server(
                    lambda: _Stream(self), self.host, port, reuse_address=True
                )
            except OSError:
                udp.close()
                if self.port != 0:
                    raise
                continue
            break
        else:
            raise TelephonyError(f"no port on {self.host} is free for both UDP and TCP")
        self._udp = udp
        self._udp_sock = sock
        self.port = port
        log.info("SIP listening on %s:%d (%s)", self.host, port, "UDP, TCP" if self.tcp else "UDP")

    async def _udp_socket(self) -> socket.socket:
        """A UDP socket bound to our address and asking the kernel for the ICMP errors its
        datagrams meet (Linux ``IP_RECVERR``), so that a closed port fails a request at once;
        elsewhere such a request waits for its timeout."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        option = _RECVERR.get(family)
        if option is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(*option, 1)
        return sock

    def _udp_error(self, exc: Exception) -> None:
        """The UDP socket reported an error: the ICMP errors queued for our datagrams
        (RFC 3261 18.4: port or host unreachable is a transport error, told to ``on_error``
        with the address the datagram went to), or a send that failed at once."""
        reported = False
        for peer, code in self._icmp_errors():
            reported = True
            if code not in UNREACHABLE_ERRORS:
                log.info("SIP UDP to %s: %s (ignored)", peer, os.strerror(code))
                continue
            log.warning("SIP UDP to %s: %s", peer, os.strerror(code))
            if self.on_error is not None:
                self.on_error(peer, os.strerror(code))
        if reported:
            return
        number = exc.errno if isinstance(exc, OSError) else None
        if self._sending is not None and number in UNREACHABLE_ERRORS - {errno.ECONNREFUSED}:
            # sendto failed at once (no route): the peer is the one being sent to.
            log.warning("SIP UDP to %s: %s", self._sending, exc)
            if self.on_error is not None:
                self.on_error(self._sending, str(exc))
            return
        log.warning("SIP UDP socket error: %s", exc)

    def _icmp_errors(self) -> list[tuple[Peer, int]]:
        """Drain the socket's error queue: each datagram's destination and error number."""
        errors: list[tuple[Peer, int]] = []
        sock = self._udp_sock
        while sock is not None and len(errors) < 64:
            try:
                _, ancillary, _, address = sock.recvmsg(1, 512, MSG_ERRQUEUE)
            except OSError:
                break
            code = icmp_error(ancillary)
            if code is not None and isinstance(address, tuple):
                errors.append((Peer("UDP", str(address[0]), int(address[1])), code))
        return errors

    async def close(self) -> None:
        """Close the sockets and every connection."""
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for stream in list(self._connections.values()):
            if stream.transport is not None:
                stream.transport.close()
        for task in list(self._tasks):
            task.cancel()
        self._connections.clear()

    def send(self, message: Message, peer: Peer) -> None:
        """Send a message to a peer (an address, not a name). A response received over UDP
        goes where its top Via says (RFC 3261 18.2.2); over TCP it goes back on the
        connection of the request, or a new one to the Via's sent-by if that is closed."""
        if isinstance(message, Response) and peer.transport == "UDP":
            host, port = response_address(message)
            peer = Peer("UDP", host, port)
        log.info("SIP sent %s to %s", describe(message), peer)
        data = message.to_bytes()
        if peer.transport == "UDP":
            if self._udp is not None:
                self._sending = peer
                try:
                    self._udp.sendto(data, (peer.host, peer.port))
                finally:
                    self._sending = None
            return
        stream = self._connections.get(peer)
        if stream is not None:
            stream.write(data)
            return
        if isinstance(message, Response):
            via = message.top_via
            peer = Peer("TCP", via.received or via.host, via.port or 5060)
            if (stream := self._connections.get(peer)) is not None:
                stream.write(data)
                return
        waiting = self._pending.get(peer)
        if waiting is not None:
            waiting.append(data)
            return
        self._pending[peer] = [data]
        task = asyncio.get_running_loop().create_task(self._connect(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, stream = await loop.create_connection(lambda: _Stream(self), peer.host, peer.port)
        except OSError as error:
            self._pending.pop(peer, None)
            log.warning("SIP cannot connect to %s: %s", peer, error)
            if self.on_error is not None:
                self.on_error(peer, str(error))
            return
        # The connection is known by the address it reached, which is the peer asked for.
        assert stream.peer is not None
        if stream.peer != peer:
            self._connections[peer] = stream
        for data in self._pending.pop(peer, []):
            stream.write(data)

    def _received(self, data: bytes, peer: Peer) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive (RFC 5626 4.4.1)
        try:
            message = parse_message(data)
        except SipParseError as error:
            log.warning("SIP rejected %d bytes from %s: %s", len(data), peer, error)
            reply = bad_request_reply(data, str(error))
            if reply is not None and self._udp is not None:
                log.info("SIP sent 400 Bad Request to %s", peer)
                self._udp.sendto(reply, (peer.host, peer.port))
            return
        self._deliver(message, peer)

    def _deliver(self, message: Message, peer: Peer) -> None:
        if isinstance(message, Request):
            try:
                message = stamp_source(message, peer.host, peer.port)
            except SipParseError as error:
                log.warning("SIP rejected a request from %s: %s", peer, error)
                return
        log.info("SIP received %s from %s", describe(message), peer)
        try:
            self.on_message(message, peer)
        except TelephonyError as error:
            log.warning("SIP rejected %s from %s: %s", describe(message), peer, error)
