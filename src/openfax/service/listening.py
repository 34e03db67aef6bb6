"""Listening to the server's events (FAXCOMEX ``ListenToServerEvents``): the events of the
kinds a listener asks for, from now on or from a number it last saw."""

from __future__ import annotations

from collections.abc import AsyncIterator

from openfax.model import ServerEvents
from openfax.service.events import EventHub, ServerEvent

ALL_EVENTS = ServerEvents(sum(ServerEvents))


class Listening:
    """The running service's ``listening``."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub

    async def events(
        self, mask: ServerEvents = ALL_EVENTS, after: int | None = None
    ) -> AsyncIterator[ServerEvent]:
        """The server events of the kinds in ``mask`` from now on, or those numbered after
        ``after``."""
        async for event in self._hub.subscribe(mask, after):
            yield event

    async def last_seq(self) -> int:
        """The number of the newest server event, where ``events`` from now on starts."""
        return await self._hub.last_seq()
