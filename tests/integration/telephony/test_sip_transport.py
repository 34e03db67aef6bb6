"""The SIP transport's ICMP errors (RFC 3261 18.4): a datagram to a closed UDP port is
reported as a transport error to that address at once, read from Linux's socket error
queue."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import sys

import pytest

from openfax.telephony.sip import parse_message
from openfax.telephony.sip.transport import Peer, SipTransport, icmp_error

pytestmark = pytest.mark.anyio

OPTIONS = parse_message(
    b"OPTIONS sip:fax@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\n"
    b"To: <sip:fax@127.0.0.1>\r\n"
    b"Call-ID: icmp@test\r\n"
    b"CSeq: 1 OPTIONS\r\n\r\n"
)


def extended_error(number: int, origin: int = 2) -> bytes:
    """A Linux ``sock_extended_err``: errno, origin (2: ICMP), type, code, pad, info, data."""
    return struct.pack("=IBBBBII", number, origin, 3, 3, 0, 0, 0)


def test_the_error_number_is_read_from_the_ip_and_ipv6_extended_errors() -> None:
    refused = extended_error(errno.ECONNREFUSED)
    assert icmp_error([(socket.IPPROTO_IP, 11, refused)]) == errno.ECONNREFUSED
    assert icmp_error([(socket.IPPROTO_IPV6, 25, extended_error(113))]) == 113
    # Other ancillary data, and a truncated error, say nothing.
    assert icmp_error([(socket.SOL_SOCKET, socket.SCM_RIGHTS, refused)]) is None
    assert icmp_error([(socket.IPPROTO_IP, 11, b"\x6f")]) is None
    assert icmp_error([]) is None


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="the ICMP error queue is Linux's")
async def test_a_datagram_to_a_closed_port_is_a_transport_error_to_that_address() -> None:
    errors: asyncio.Queue[tuple[Peer, str]] = asyncio.Queue()
    transport = SipTransport(
        lambda _message, _peer: None,
        on_error=lambda peer, reason: errors.put_nowait((peer, reason)),
        port=0,
        tcp=False,
    )
    await transport.start()
    try:
        closed = Peer("UDP", "127.0.0.1", closed_port())
        transport.send(OPTIONS, closed)
        peer, reason = await asyncio.wait_for(errors.get(), 10)
        # A second datagram elsewhere is told apart by its own address.
        other = Peer("UDP", "127.0.0.1", closed_port())
        transport.send(OPTIONS, other)
        second, _ = await asyncio.wait_for(errors.get(), 10)
    finally:
        await transport.close()
    assert (peer, reason) == (closed, "Connection refused")
    assert second == other
