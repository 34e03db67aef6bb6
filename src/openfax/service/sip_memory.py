"""The sip provider's memory of what last worked per destination, kept in the store's
settings table (one key ``sip.destination.<number>`` each), so it survives restarts and is
shared by the nodes of a cluster.

The memory is a hint: a store error while reading it dials as if nothing were remembered,
and one while saving it loses that one update (the next call to the number saves again);
either is logged, never raised into the call."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from openfax.providers.sip import Preference, destination_key
from openfax.service.context import ServiceContext
from openfax.store import queries as q

KEY_PREFIX = "sip.destination."

_logger = logging.getLogger(__name__)


class StoredDestinations:
    """A :class:`~openfax.providers.sip.DestinationMemory` over the settings table; the
    context is looked up at each use (it exists once the service has started)."""

    def __init__(self, context: Callable[[], ServiceContext]) -> None:
        self._context = context

    async def recall(self, number: str) -> Preference | None:
        ctx = self._context()
        try:
            async with ctx.db.read() as conn:
                value = await q.get_setting(conn, KEY_PREFIX + destination_key(number))
        except SQLAlchemyError:
            _logger.warning("what worked for %s could not be read", number, exc_info=True)
            return None
        return Preference.from_json(value)

    async def remember(self, number: str, preference: Preference) -> None:
        ctx = self._context()
        key = KEY_PREFIX + destination_key(number)
        try:
            async with ctx.db.transaction() as conn:
                await q.set_setting(conn, key, preference.to_json(), now=ctx.clock.now())
        except SQLAlchemyError:
            _logger.warning("what worked for %s could not be saved", number, exc_info=True)
