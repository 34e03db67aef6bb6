"""RFC 3263 client-side location of a SIP server, without I/O: the decisions.

:mod:`.resolver` asks DNS; this module decides what to do with the answers: the order of SRV
records (RFC 2782: by priority, a weighted random draw within one), how long an answer is
kept (its TTL), which targets failed lately (tried last for a while), and, for one request,
which target is tried now and whether a failure moves it to the next (RFC 3263 4.3: a
transport error, a timeout or a 503). Time is passed in; randomness is a ``random.Random``
the caller owns, so tests can fix it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from openfax.telephony.sip.message import Response
from openfax.telephony.sip.transport import Peer

log = logging.getLogger(__name__)

FAILED_HOLD = 60.0
"""Seconds a target that failed is tried after the others."""


@dataclass(frozen=True)
class SrvRecord:
    """One SRV record of ``_sip._udp.HOST`` or ``_sip._tcp.HOST`` (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


def srv_order(records: Sequence[SrvRecord], rng: random.Random) -> list[SrvRecord]:
    """The records in the order to try them (RFC 2782): lowest priority first; within one
    priority, repeatedly a uniform draw between 0 and the sum of the weights left picks the
    first record whose running sum reaches it (weight 0 records placed first, so they are
    chosen now and then, rarely)."""
    ordered: list[SrvRecord] = []
    for priority in sorted({record.priority for record in records}):
        group = sorted((r for r in records if r.priority == priority), key=lambda r: r.weight > 0)
        while group:
            pick = rng.randint(0, sum(record.weight for record in group))
            running = 0
            for record in group:
                running += record.weight
                if running >= pick:
                    break
            group.remove(record)
            ordered.append(record)
    return ordered


def fails_over(status: int, local: str | None) -> bool:
    """Whether a request's final response sends it to the next target (RFC 3263 4.3): a
    response made here (a timeout, timer B or F, or a transport error) or a 503."""
    return local is not None or status == 503


def failed_over(
    targets: Targets, response: Response, local: str | None, now: float, label: str = ""
) -> bool:
    """After a request's final response from ``targets.current`` (``local``: the endpoint's
    note when it was made here): True when the request should go to the next target, which
    is then current; the failing one is tried last for a while. ``label`` starts the log
    line (a trunk's name)."""
    if not fails_over(response.status, local):
        targets.succeeded()
        return False
    failed = targets.current
    peer = targets.fail_over(now)
    why = local or f"{response.status} {response.reason}"
    if peer is None:
        log.info("SIP %s%s: %s from %s, the last target", label, targets.host, why, failed)
        return False
    log.warning("SIP %s%s: %s from %s; trying %s", label, targets.host, why, failed, peer)
    return True


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Answers kept until their time to live runs out."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K, now: float) -> V | None:
        """The value kept for ``key``, None when there is none or it expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry[1]:
            del self._entries[key]
            return None
        return entry[0]

    def put(self, key: K, value: V, ttl: float, now: float) -> None:
        """Keep ``value`` for ``ttl`` seconds from ``now``."""
        self._entries[key] = (value, now + ttl)


class FailedTargets:
    """Targets that failed lately: tried after the others for ``hold`` seconds, the one
    that failed longest ago first."""

    def __init__(self, hold: float = FAILED_HOLD) -> None:
        self.hold = hold
        self._since: dict[Peer, float] = {}

    def fail(self, peer: Peer, now: float) -> None:
        """``peer`` failed at ``now``."""
        self._since[peer] = now

    def succeeded(self, peer: Peer) -> None:
        """``peer`` answered: it is no longer held back."""
        self._since.pop(peer, None)

    def failing(self, peer: Peer, now: float) -> bool:
        """True while ``peer`` is held back."""
        since = self._since.get(peer)
        if since is not None and now - since >= self.hold:
            del self._since[peer]
            return False
        return since is not None

    def order(self, peers: Sequence[Peer], now: float) -> list[Peer]:
        """``peers`` with those failing lately moved to the end (the order otherwise kept)."""
        good = [peer for peer in peers if not self.failing(peer, now)]
        held = sorted((peer for peer in peers if peer not in good), key=self._since.__getitem__)
        return good + held


class Targets:
    """Where one request may go, in the order to try, and the one it is tried at now: a
    failure there marks it in ``failed`` and moves on to the next (:meth:`fail_over`)."""

    def __init__(self, host: str, peers: Sequence[Peer], failed: FailedTargets) -> None:
        if not peers:
            raise ValueError(f"no targets for {host!r}")
        self.host = host
        self.peers = tuple(peers)
        self.failed = failed
        self._index = 0

    @property
    def current(self) -> Peer:
        """The target the request is sent to now."""
        return self.peers[self._index]

    @property
    def remaining(self) -> int:
        """Targets not tried yet."""
        return len(self.peers) - self._index - 1

    def fail_over(self, now: float) -> Peer | None:
        """The current target failed: remember it, and return the next one (None: none
        left)."""
        self.failed.fail(self.current, now)
        if not self.remaining:
            return None
        self._index += 1
        return self.current

    def succeeded(self) -> None:
        """The current target answered (anything but a 503)."""
        self.failed.succeeded(self.current)
