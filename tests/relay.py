"""A lossy UDP relay for the tests: forwards datagrams to a target, dropping some at random."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import cast


@dataclass
class RelayCounts:
    forwarded: int = 0
    dropped: int = 0


class LossyRelay:
    """Forward what arrives on each listening socket to its target, dropping a share of
    datagrams drawn from a seeded random generator, so a test's losses repeat."""

    def __init__(self, loss: float, seed: int) -> None:
        self.loss = loss
        self.counts = RelayCounts()
        self._random = random.Random(seed)
        self._transports: list[asyncio.DatagramTransport] = []

    async def forward(self, target: tuple[str, int], listen: tuple[str, int]) -> int:
        """Relay datagrams arriving at ``listen`` (port 0: any) to ``target``; the port bound."""
        relay = self

        class Forwarder(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                if relay._random.random() < relay.loss:
                    relay.counts.dropped += 1
                    return
                relay.counts.forwarded += 1
                self.transport.sendto(data, target)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Forwarder, local_addr=listen)
        self._transports.append(transport)
        port: int = transport.get_extra_info("sockname")[1]
        return port

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
