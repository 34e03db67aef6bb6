"""A real DNS server on 127.0.0.1 for the tests, answering from records the test defines.

Built with dnspython's message API on an asyncio UDP socket in its own thread, so it serves
a test's event loop and the ``openfaxd`` processes a test starts alike. Besides answers it
can misbehave on purpose for a name: SERVFAIL, silence (the client times out) or a garbage
packet. Every question asked is recorded, so a test sees what was looked up and when.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Misbehaviour = Literal["servfail", "silent", "garbage"]


class DnsServer:
    """Answers A, AAAA and SRV questions from :meth:`add`; NXDOMAIN for an unknown name,
    an empty answer (NOERROR) for a known name without records of the type asked."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], tuple[int, list[str]]] = {}
        self._misbehaving: dict[str, Misbehaviour] = {}
        self._lock = threading.Lock()
        self.questions: list[tuple[str, str]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._socket: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> str:
        """``"127.0.0.1:port"``, as the ``dns_servers`` setting takes it."""
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, kind: str, *values: str, ttl: int = 300) -> None:
        """Records of ``name`` (``kind`` A, AAAA or SRV, values in zone-file form such as
        ``"10 60 5060 sip1.example.test."``), replacing any of that kind."""
        with self._lock:
            self._records[(_absolute(name), kind.upper())] = (ttl, list(values))

    def remove(self, name: str, kind: str) -> None:
        """Forget ``name``'s records of ``kind``."""
        with self._lock:
            self._records.pop((_absolute(name), kind.upper()), None)

    def misbehave(self, name: str, how: Misbehaviour) -> None:
        """Answer every question about ``name`` with SERVFAIL, nothing, or garbage."""
        with self._lock:
            self._misbehaving[_absolute(name)] = how

    def behave(self, name: str) -> None:
        """Answer questions about ``name`` from its records again."""
        with self._lock:
            self._misbehaving.pop(_absolute(name), None)

    def asked(self, name: str, kind: str) -> int:
        """How many times ``name`` was asked for records of ``kind``."""
        with self._lock:
            return self.questions.count((_absolute(name), kind.upper()))

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._bind(), self._loop)
        future.result(10)

    def stop(self) -> None:
        if self._socket is not None:
            self._loop.call_soon_threadsafe(self._socket.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _bind(self) -> None:
        server = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                reply = server._answer(data)
                if reply is not None and server._socket is not None:
                    server._socket.sendto(reply, addr)

        self._socket, _ = await self._loop.create_datagram_endpoint(
            Protocol, local_addr=("127.0.0.1", 0)
        )
        self.port = int(self._socket.get_extra_info("sockname")[1])

    def _answer(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
            question = query.question[0]
        except Exception:
            return None
        name = question.name.to_text().lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.questions.append((name, kind))
            how = self._misbehaving.get(name)
            found = self._records.get((name, kind))
            known = any(known_name == name for known_name, _ in self._records)
        if how == "silent":
            return None
        if how == "garbage":
            return data[:2] + b"\x81\x80\xff\xff garbage, not a DNS message"
        response = dns.message.make_response(query)
        if how == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif found is not None:
            ttl, values = found
            rrset = dns.rrset.from_text_list(name, ttl, dns.rdataclass.IN, kind, values)
            response.answer.append(rrset)
        elif not known:
            response.set_rcode(dns.rcode.NXDOMAIN)
        wire: bytes = response.to_wire()
        return wire


def _absolute(name: str) -> str:
    return name.lower().rstrip(".") + "."


@contextmanager
def dns_server() -> Iterator[DnsServer]:
    """A running :class:`DnsServer`, stopped at the end."""
    server = DnsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
