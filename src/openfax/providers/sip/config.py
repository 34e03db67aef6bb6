"""The configuration of the ``sip`` provider: trunks, read from ``[[sip.trunks]]`` tables.

Plain frozen dataclasses; :mod:`openfax.service.config_file` reads them from TOML and checks
every value (a wrong one is a ConfigError naming the key), so the provider can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openfax.providers.base import T38Policy
from openfax.telephony.sip.resolver import DNS_TIMEOUT


@dataclass(frozen=True, kw_only=True)
class TrunkConfig:
    """One SIP trunk: where its registrar or proxy is, who we are there, our numbers (DIDs),
    how many simultaneous calls (channels, one device each), the T.38 policy and the media."""

    name: str = "trunk"
    host: str = ""
    """The registrar or proxy (or the peer itself) that calls go to: a host name or address.
    A name without ``port`` is located by DNS (RFC 3263): the SRV records of
    ``_sip._udp.HOST`` or ``_sip._tcp.HOST`` (by ``transport``), tried in priority and weight
    order with failover, else the name's own address on port 5060."""
    port: int | None = None
    """The SIP port at ``host``; none: from the SRV records, else 5060."""
    transport: Literal["udp", "tcp"] = "udp"
    register: bool = False
    """REGISTER our contact at ``host`` (refreshed before it expires)."""
    register_retry: float = 30.0
    """Seconds before a failed REGISTER is tried again; after the registrar refused the
    credentials, the first of delays doubled at each refusal."""
    register_backoff_max: float = 900.0
    """The longest delay between two REGISTERs whose credentials were refused (15 min)."""
    not_found_window: float = 120.0
    """Seconds after the registration was renewed or failed during which a 404 to an
    outgoing call is retried once (the registrar may have lost the callee's binding); 0:
    never."""
    username: str = ""
    password: str = ""
    realm: str = ""
    """Answer digest challenges of this realm only; empty answers any."""
    numbers: tuple[str, ...] = ()
    """The numbers the trunk owns: an INVITE to one of them rings a free channel; empty
    takes every call the trunk brings."""
    caller_id: str = ""
    """The user part of From on outgoing calls; empty: the first number, else ``openfax``."""
    channels: int = 1
    t38: T38Policy = "accept"
    """``off``: G.711 only, T.38 offers are refused; ``accept``: take T.38 when the far end
    offers it, never ask; ``request``: offer T.38 first when calling and, when answering a
    G.711 call, ask for T.38 by re-INVITE at once. An outbound routing rule's policy
    replaces it for the calls the rule sends."""
    local_address: str = "0.0.0.0"
    """The address the SIP sockets (UDP and TCP) listen on."""
    local_port: int = 5060
    """The SIP port (0: any free port, for tests)."""
    media_address: str = ""
    """The address the RTP and UDPTL sockets are bound to; empty: ``local_address``."""
    advertised_address: str = ""
    """The media address written in SDP, for a NAT or a relay in front of us; empty: the
    media address, or the local address facing ``host`` when that is a wildcard."""
    media_ports: str = "10000-20000"
    """The UDP port range of RTP and UDPTL, ``"first-last"``; each call takes two ports."""
    jitter_delay: float = 0.06
    """How much later G.711 audio (seconds) a missing RTP packet is waited for before it
    counts as lost: the reorder window of the jitter buffer, which has no playout clock."""
    redundancy: int = 3
    """Earlier IFP packets repeated in each UDPTL packet (T.38 redundancy depth)."""
    t38_paced: bool = True
    """Space T.38 packets as a real line would; only another OpenFax copes with false."""
    media_speed: float = 1.0
    """The media clock as a multiple of real time; anything but 1.0 only between two
    OpenFax ends (tests)."""
    ring_timeout: float = 60.0
    """Seconds an outgoing call rings before it is cancelled as not answered."""
    ring_seconds: float = 2.0
    """Seconds between two rings of an incoming call (a 180 is sent for the first)."""
    session_expires: int = 1800
    """RFC 4028 session interval asked for; 0 turns session timers off."""
    max_call_seconds: float = 1800.0

    @property
    def media_port_range(self) -> range:
        """``media_ports`` as a range (checked when the configuration was read)."""
        first, last = parse_port_range(self.media_ports)
        return range(first, last + 1)


def parse_port_range(value: str) -> tuple[int, int]:
    """``"first-last"`` as two ports; ValueError saying what is wrong."""
    low, dash, high = value.partition("-")
    if not dash or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f'must be "first-last", like "10000-20000", not {value!r}')
    first, last = int(low), int(high)
    if not 1 <= first <= last <= 65535 or last - first < 1:
        raise ValueError(f"must be two ports 1-65535, the first lower, not {value!r}")
    return first, last


@dataclass(frozen=True, kw_only=True)
class SipConfig:
    """The ``[sip]`` table: the trunks (none: no SIP provider) and the DNS servers that
    locate trunks named by DNS."""

    trunks: tuple[TrunkConfig, ...] = ()
    dns_servers: tuple[str, ...] = ()
    """DNS servers as ``"address"`` or ``"address:port"`` (``"[v6]:port"``); empty: the
    system's (``/etc/resolv.conf``, and ``/etc/hosts`` for addresses)."""
    dns_timeout: float = DNS_TIMEOUT
    """Seconds one DNS lookup may take at most."""
