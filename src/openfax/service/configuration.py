"""FAXCOMEX ``IFaxConfiguration``: the settings an administrator changes while the service
runs, saved in the store's ``settings`` table over the TOML file's values.

The TOML file (:mod:`openfax.service.config_file`) gives the defaults when the service starts;
the values saved with :func:`save_configuration` win over them, at once and after every
restart. Saving replaces the running service's :class:`ServiceConfig` with one that carries
the saved values, so every part that reads ``ctx.config`` (scheduler, composing, submission,
housekeeping) uses them from its next step on. Each property is checked on its own; a wrong
one is a :class:`~openfax.errors.ConfigError` naming it, and nothing is saved then.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import ConfigError
from openfax.model.events import ConfigChanged
from openfax.service.config_file import RetryPolicies, ServiceConfig, check_number, time_of_day
from openfax.service.event_hub import EventHub
from openfax.store import Direction

CONFIGURATION_KEY = "configuration"
"""Settings key of the saved properties (a JSON object: property name -> value)."""
SOURCE = "configuration"
"""What a ConfigError of a property names as its source."""

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Configuration:
    """FAXCOMEX ``IFaxConfiguration`` in snake_case; ``retry_delay`` is in minutes, the
    water marks in MB, the age limits in days (0 keeps for good). ``archive_location``
    and the sizes (bytes of both archives, and of each) are read-only; the queue switches
    are those of the queues (``docs/design/configuration.md``)."""

    retries: int
    retry_delay: float
    discount_rate_start: time
    discount_rate_end: time
    outgoing_queue_age_limit: int
    branding: bool
    use_device_tsid: bool
    allow_personal_cover_pages: bool
    use_archive: bool
    archive_location: str
    archive_age_limit: int
    incoming_archive_age_limit: int
    size_quota_warning: bool
    high_quota_water_mark: int
    low_quota_water_mark: int
    archive_size: int
    incoming_archive_size: int
    outgoing_archive_size: int
    outgoing_queue_blocked: bool
    outgoing_queue_paused: bool
    incoming_queue_blocked: bool


READ_ONLY = frozenset(
    {"archive_location", "archive_size", "incoming_archive_size", "outgoing_archive_size"}
)
SWITCHES = {
    "outgoing_queue_blocked": "outgoing_blocked",
    "outgoing_queue_paused": "outgoing_paused",
    "incoming_queue_blocked": "incoming_blocked",
}
"""The queue switches among the properties, with their names in ``QueueSwitches``."""

_OUTGOING = {
    "retries": "retries",
    "discount_rate_start": "discount_start",
    "discount_rate_end": "discount_end",
    "outgoing_queue_age_limit": "age_limit_days",
    "branding": "branding",
    "use_device_tsid": "use_device_tsid",
    "allow_personal_cover_pages": "allow_personal_cover_pages",
}
_ARCHIVE = {
    "use_archive": "archive_sent_items",
    "archive_age_limit": "outgoing_age_limit_days",
    "incoming_archive_age_limit": "incoming_age_limit_days",
    "size_quota_warning": "size_quota_warning",
    "high_quota_water_mark": "high_quota_water_mark_mb",
    "low_quota_water_mark": "low_quota_water_mark_mb",
}
SAVED = frozenset({*_OUTGOING, *_ARCHIVE, "retry_delay"})
"""The properties kept in the settings table (the switches keep their own key)."""

SECTIONS = {
    **{name: "outgoing_queue" for name in (*_OUTGOING, "retry_delay")},
    "use_archive": "outgoing_archive",
    "archive_age_limit": "outgoing_archive",
    "incoming_archive_age_limit": "incoming_archive",
    "size_quota_warning": "outgoing_archive",
    "high_quota_water_mark": "outgoing_archive",
    "low_quota_water_mark": "outgoing_archive",
}
"""Which FAXCOMEX configuration a property belongs to: its change event is named after it
(``OnOutgoingQueueConfigChange``, ``OnOutgoingArchiveConfigChange``, ...)."""


_KEYS = {**_OUTGOING, **_ARCHIVE, "retry_delay": "delay_minutes"}
"""The configuration file's key of each property, whose range it has."""


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(SOURCE, name, f"must be a whole number, 0 or more, not {value!r}")
    check_number(SOURCE, name, _KEYS[name], value)
    return value


def _minutes(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(SOURCE, name, f"must be a number of minutes, 0 or more, not {value!r}")
    check_number(SOURCE, name, _KEYS[name], value)
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(SOURCE, name, f"must be true or false, not {value!r}")
    return value


def _time_of_day(name: str, value: Any) -> time:
    return time_of_day(SOURCE, name, value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "retries": _whole,
    "retry_delay": _minutes,
    "discount_rate_start": _time_of_day,
    "discount_rate_end": _time_of_day,
    "outgoing_queue_age_limit": _whole,
    "archive_age_limit": _whole,
    "incoming_archive_age_limit": _whole,
    "high_quota_water_mark": _whole,
    "low_quota_water_mark": _whole,
}


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes as typed values; ConfigError naming the first wrong property."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name in READ_ONLY:
            why = "set spool_dir" if name == "archive_location" else "the archives' faxes"
            raise ConfigError(SOURCE, name, f"is read-only ({why})")
        if name not in SAVED and name not in SWITCHES:
            known = ", ".join(sorted(SAVED | set(SWITCHES)))
            raise ConfigError(SOURCE, name, f"unknown property (known: {known})")
        check: Callable[[str, Any], Any] = _CHECKS.get(name, _flag)
        checked[name] = check(name, value)
    return checked


def saved_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Saved properties as JSON (times as ``"HH:MM"``)."""
    return {
        name: value.isoformat("minutes") if isinstance(value, time) else value
        for name, value in values.items()
    }


def apply_saved(config: ServiceConfig, saved: Mapping[str, Any]) -> ServiceConfig:
    """``config`` (the TOML file's) with the saved properties over it; ConfigError if the
    result breaks a rule between properties (the low water mark above the high one). A
    saved value outside its range (kept before the range was checked) is logged and left
    out, so the others still apply and saving a good value replaces it."""
    values: dict[str, Any] = {}
    for name, value in saved.items():
        if name not in SAVED:
            continue
        try:
            values |= check_changes({name: value})
        except ConfigError as exc:
            _logger.warning("the saved configuration property is not used: %s", exc)
    outgoing = dataclasses.replace(
        config.outgoing, **{_OUTGOING[k]: v for k, v in values.items() if k in _OUTGOING}
    )
    if "retry_delay" in values:
        outgoing = dataclasses.replace(
            outgoing, causes=_every_delay(outgoing.causes, values["retry_delay"])
        )
    archive = dataclasses.replace(
        config.archive, **{_ARCHIVE[k]: v for k, v in values.items() if k in _ARCHIVE}
    )
    if archive.low_quota_water_mark_mb > archive.high_quota_water_mark_mb:
        raise ConfigError(
            SOURCE,
            "low_quota_water_mark",
            f"must not exceed high_quota_water_mark ({archive.high_quota_water_mark_mb} MB), "
            f"not {archive.low_quota_water_mark_mb}",
        )
    return dataclasses.replace(config, outgoing=outgoing, archive=archive)


def _every_delay(causes: RetryPolicies, minutes: float) -> RetryPolicies:
    """Every cause's delay set to ``minutes`` (FAXCOMEX has one ``RetryDelay``)."""
    changed = {
        f.name: dataclasses.replace(getattr(causes, f.name), delay_minutes=minutes)
        for f in dataclasses.fields(causes)
    }
    return RetryPolicies(**changed)


def configuration_of(
    config: ServiceConfig, switches: Mapping[str, bool], sizes: Mapping[Direction, int]
) -> Configuration:
    """The properties as the running service has them, with the archives' ``sizes`` in
    bytes. ``retry_delay`` reads as the busy cause's delay (they are all that after it was
    saved)."""
    outgoing, archive = config.outgoing, config.archive
    values: dict[str, Any] = {k: getattr(outgoing, f) for k, f in _OUTGOING.items()}
    values |= {k: getattr(archive, f) for k, f in _ARCHIVE.items()}
    values |= {k: switches[s] for k, s in SWITCHES.items()}
    return Configuration(
        **values,
        retry_delay=outgoing.causes.busy.delay_minutes,
        archive_location=str(config.spool_dir),
        archive_size=sum(sizes.values()),
        incoming_archive_size=sizes.get(Direction.IN, 0),
        outgoing_archive_size=sizes.get(Direction.OUT, 0),
    )


async def emit_changes(conn: AsyncConnection, hub: EventHub, changed: set[str]) -> None:
    """One CONFIG event per FAXCOMEX configuration touched by ``changed`` properties."""
    for section in sorted({SECTIONS[name] for name in changed if name in SECTIONS}):
        await hub.emit(conn, ConfigChanged(configuration=section))
