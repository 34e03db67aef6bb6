"""FAXCOMEX ``FaxEventLogging``: how much the service tells the system log, per category.

Windows' four event log categories are four Python loggers, ``openfax.events.init``
(start and stop), ``openfax.events.inbound`` (receptions and their routing),
``openfax.events.outbound`` (transmissions) and ``openfax.events.general`` (the rest:
receipts, the activity log), so that journald or syslog get them through whatever handler
the process has. A category's ``FAX_LOG_LEVEL_ENUM`` sets its logger's level: none logs
nothing, min severe errors only, medium errors and warnings, max every event. The levels are
kept in the store's ``settings`` (``logging.events``) and apply at once on the node that
saves them (at start on the others).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openfax.errors import ConfigError
from openfax.model import LogLevel

EVENT_LOGGING_KEY = "logging.events"
SOURCE = "event logging"

# Windows' four event logging categories: loggers named for what they report, not for a
# module, each at the level the configuration gives its category.
init_events = logging.getLogger("openfax.events.init")
inbound_events = logging.getLogger("openfax.events.inbound")
outbound_events = logging.getLogger("openfax.events.outbound")
general_events = logging.getLogger("openfax.events.general")

PYTHON_LEVELS = {
    LogLevel.NONE: logging.CRITICAL + 10,
    LogLevel.MIN: logging.ERROR,
    LogLevel.MED: logging.WARNING,
    LogLevel.MAX: logging.INFO,
}
"""The logger level of each FAXCOMEX level (none: above every record's level)."""


@dataclass(frozen=True, kw_only=True)
class EventLogging:
    """FAXCOMEX ``FaxEventLogging``: one level per category."""

    init_events_level: LogLevel = LogLevel.MED
    inbound_events_level: LogLevel = LogLevel.MED
    outbound_events_level: LogLevel = LogLevel.MED
    general_events_level: LogLevel = LogLevel.MED

    def to_json(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> EventLogging:
        return cls().changed(value or {})

    def changed(self, given: Mapping[str, Any]) -> EventLogging:
        """These levels with those in ``given`` changed (a number 0-3 or a name: none, min,
        med or medium, max); ConfigError names a wrong one."""
        if not isinstance(given, Mapping):
            raise ConfigError(SOURCE, "(levels)", "must be a JSON object")
        names = [f.name for f in dataclasses.fields(self)]
        changes = {}
        for key, value in given.items():
            if key not in names:
                raise ConfigError(SOURCE, key, f"unknown level (known: {', '.join(names)})")
            changes[key] = parse_level(key, value)
        return dataclasses.replace(self, **changes)

    def apply(self) -> None:
        """Set the category loggers' levels."""
        for logger, level in (
            (init_events, self.init_events_level),
            (inbound_events, self.inbound_events_level),
            (outbound_events, self.outbound_events_level),
            (general_events, self.general_events_level),
        ):
            logger.setLevel(PYTHON_LEVELS[level])


def parse_level(key: str, value: Any) -> LogLevel:
    """A FAXCOMEX log level from its number or name."""
    if isinstance(value, str):
        name = value.strip().upper()
        name = {"MEDIUM": "MED"}.get(name, name)
        if name in LogLevel.__members__:
            return LogLevel[name]
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return LogLevel(value)
    raise ConfigError(SOURCE, key, f"must be none, min, med or max (0-3), not {value!r}")
