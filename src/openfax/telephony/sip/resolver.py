"""RFC 3263 location of SIP servers over DNS, with dnspython's asyncio resolver.

A host that is an IP address is used as it is (port 5060 unless given). A name with a port
is looked up for its addresses. A name without a port is looked up for SRV records of the
transport (``_sip._udp.NAME`` or ``_sip._tcp.NAME``; NAPTR is not asked: the transport is
configured), their targets ordered by :func:`~.location.srv_order` and resolved; with no SRV
record at all, the name's own addresses on port 5060. Addresses are A records when the user
agent's socket is IPv4, AAAA when it is IPv6. Answers are kept for their TTL, so a lookup
after it ran out (a REGISTER refresh, the next call) asks again.

The DNS servers are the system's (``/etc/resolv.conf``) unless given; without servers of our
own, addresses come from the system's resolver (``getaddrinfo``: ``/etc/hosts`` too, as
before), SRV records from resolv.conf's servers. A lookup that fails raises
:class:`~openfax.errors.SipLocationError` naming the host, the record and what the DNS said.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from openfax.errors import SipLocationError
from openfax.telephony.sip.location import FailedTargets, SrvRecord, Targets, TtlCache, srv_order
from openfax.telephony.sip.transport import Peer

log = logging.getLogger(__name__)

DEFAULT_PORT = 5060
NEGATIVE_TTL = 30.0
"""Seconds an answer saying there are no SRV records is kept."""
DNS_TIMEOUT = 5.0
"""Seconds one lookup may take (every server and retry included)."""


def parse_dns_server(value: str) -> tuple[str, int]:
    """A DNS server written ``"address"``, ``"address:port"`` or ``"[v6 address]:port"``
    as (address, port); ValueError saying what is wrong."""
    address, port = value, "53"
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f'must be "address" or "address:port", not {value!r}')
        port = rest[1:] or port
    elif value.count(":") == 1:
        address, _, port = value.partition(":")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"must be an IP address (and port), not {value!r}") from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"must have a port 1-65535, not {value!r}")
    return address, int(port)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SipResolver:
    """Locates SIP servers (RFC 3263) and remembers which targets failed lately.

    ``servers`` are DNS servers (:func:`parse_dns_server` forms; empty: the system's);
    ``ipv6`` asks AAAA instead of A records; ``timeout`` bounds each lookup.
    """

    def __init__(
        self,
        servers: Sequence[str] = (),
        *,
        ipv6: bool = False,
        timeout: float = DNS_TIMEOUT,
        failed: FailedTargets | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.servers = tuple(parse_dns_server(server) for server in servers)
        self.ipv6 = ipv6
        self.timeout = timeout
        self.failed = failed or FailedTargets()
        self.rng = rng or random.Random()
        self._srv: TtlCache[tuple[str, str], tuple[SrvRecord, ...]] = TtlCache()
        self._addresses: TtlCache[str, tuple[str, ...]] = TtlCache()
        self._dns: dns.asyncresolver.Resolver | None = None

    async def locate(
        self, host: str, port: int | None, transport: str, *, now: float | None = None
    ) -> Targets:
        """Where a request to ``host`` (``port`` None: not given) over ``transport`` may
        go, in the order to try; targets that failed lately come last. ``now`` is the time
        the kept answers and failures are judged at (default: the loop's clock)."""
        host = host.strip("[]")
        if now is None:
            now = asyncio.get_running_loop().time()
        if _is_address(host):
            return Targets(host, [Peer(transport, host, port or DEFAULT_PORT)], self.failed)
        if port is not None:
            peers = [Peer(transport, a, port) for a in await self._resolve(host, host, now)]
        else:
            peers = await self._by_srv(host, transport, now)
        unique = list(dict.fromkeys(peers))
        ordered = self.failed.order(unique, now)
        log.debug("SIP %s is at %s", host, ", ".join(map(str, ordered)))
        return Targets(host, ordered, self.failed)

    async def _by_srv(self, host: str, transport: str, now: float) -> list[Peer]:
        records = await self._lookup_srv(host, transport, now)
        if not records:
            addresses = await self._resolve(host, host, now)
            return [Peer(transport, a, DEFAULT_PORT) for a in addresses]
        peers: list[Peer] = []
        errors: list[str] = []
        for record in srv_order(records, self.rng):
            try:
                addresses = await self._resolve(record.target, host, now)
            except SipLocationError as error:
                log.warning("SIP %s: SRV target skipped: %s", host, error)
                errors.append(str(error))
                continue
            peers += [Peer(transport, address, record.port) for address in addresses]
        if not peers:
            why = "; ".join(errors)
            raise SipLocationError(
                f"cannot locate SIP host {host!r}: no SRV target has an address ({why})"
            )
        return peers

    async def _lookup_srv(self, host: str, transport: str, now: float) -> tuple[SrvRecord, ...]:
        """The SRV records of ``host`` for ``transport`` (none: use its addresses), kept
        from ``now`` for their TTL."""
        key = (host.lower(), transport)
        cached = self._srv.get(key, now)
        if cached is not None:
            return cached
        name = f"_sip._{transport.lower()}.{host.rstrip('.')}."
        answer = await self._query(host, name, "SRV")
        if answer is None:
            self._srv.put(key, (), NEGATIVE_TTL, now)
            return ()
        records = tuple(
            SrvRecord(rdata.priority, rdata.weight, rdata.port, rdata.target.to_text())
            for rdata in answer
        )
        usable = tuple(record for record in records if record.target != ".")
        if not usable:
            # RFC 2782: a lone target "." says the service is decidedly not there.
            raise SipLocationError(f"cannot locate SIP host {host!r}: {name} says no SIP service")
        self._srv.put(key, usable, answer.rrset.ttl if answer.rrset else NEGATIVE_TTL, now)
        return usable

    async def _resolve(self, name: str, host: str, now: float) -> tuple[str, ...]:
        """The addresses of ``name`` (``host`` is what the error names), kept from ``now``
        for their TTL."""
        key = name.lower().rstrip(".")
        cached = self._addresses.get(key, now)
        if cached is not None:
            return cached
        if not self.servers:
            return await self._system_addresses(key, host)
        kind = "AAAA" if self.ipv6 else "A"
        answer = await self._query(host, f"{key}.", kind)
        if answer is None:
            raise SipLocationError(f"cannot locate SIP host {host!r}: {key} has no {kind} record")
        addresses = tuple(rdata.to_text() for rdata in answer)
        ttl = answer.rrset.ttl if answer.rrset else NEGATIVE_TTL
        self._addresses.put(key, addresses, ttl, now)
        return addresses

    async def _system_addresses(self, name: str, host: str) -> tuple[str, ...]:
        family = socket.AF_INET6 if self.ipv6 else socket.AF_INET
        try:
            async with asyncio.timeout(self.timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    name, None, family=family, type=socket.SOCK_DGRAM
                )
        except (OSError, TimeoutError) as error:
            why = str(error) or f"no answer within {self.timeout:g} s"
            raise SipLocationError(f"cannot locate SIP host {host!r}: {name}: {why}") from None
        return tuple(dict.fromkeys(str(info[4][0]) for info in infos))

    async def _query(self, host: str, name: str, kind: str) -> dns.resolver.Answer | None:
        """The answer to one question; None when the name or the record does not exist;
        SipLocationError naming ``host`` when the DNS failed."""
        try:
            return await self._resolver(host).resolve(name, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except dns.resolver.LifetimeTimeout:
            why = f"no usable DNS answer within {self.timeout:g} s"
        except dns.resolver.NoNameservers as error:
            why = f"the DNS servers failed ({error})"
        except dns.exception.DNSException as error:
            why = str(error) or type(error).__name__
        raise SipLocationError(f"cannot locate SIP host {host!r}: {kind} {name}: {why}")

    def _resolver(self, host: str) -> dns.asyncresolver.Resolver:
        if self._dns is None:
            try:
                resolver = dns.asyncresolver.Resolver(configure=not self.servers)
            except dns.exception.DNSException as error:
                raise SipLocationError(
                    f"cannot locate SIP host {host!r}: no DNS server ({error})"
                ) from None
            if self.servers:
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(address, port) for address, port in self.servers
                ]
            resolver.lifetime = self.timeout
            resolver.timeout = min(resolver.timeout, self.timeout)
            self._dns = resolver
        return self._dns
