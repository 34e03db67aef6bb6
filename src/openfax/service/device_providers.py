"""Device providers from Python entry points (FAXCOMEX ``RegisterDeviceProvider``,
``UnregisterDeviceProvider``, ``GetDeviceProviders``).

``register_device_provider`` records a provider in the settings table; it is loaded at the
next start from its entry point in the group ``openfax.providers`` (its ``image_name``),
exactly as routing extensions are (:mod:`openfax.plugins`). The entry point names a factory:
a callable taking no argument that returns a
:class:`~openfax.providers.DeviceProvider`; the service starts it with the built-in ones and
its lines become devices. How loading went is the provider's ``status`` and init error, as
``GetDeviceProviders`` shows it; a provider that did not load brings no devices and stops
nothing else. A provider reads its configuration from its extension properties.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openfax.errors import ConfigError, InvalidOperationError, NotSupportedError
from openfax.model import ProviderStatus
from openfax.plugins import failure, load_entry_point
from openfax.providers import DeviceProvider

_logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "openfax.providers"
PROVIDERS_KEY = "providers.registered"
"""Settings key of the registered providers (a list of :class:`ProviderRegistration`)."""
FSPI_VERSION = 0x00010000
"""The one provider interface version FAXCOMEX accepts (``FSPI_API_VERSION_1``)."""
_SOURCE = "device provider"


@dataclass(frozen=True, kw_only=True)
class ProviderRegistration:
    """A provider as ``RegisterDeviceProvider`` recorded it."""

    unique_name: str
    friendly_name: str
    image_name: str
    """Its entry point's name in the group ``openfax.providers``."""
    tsp_name: str = ""
    version: int = FSPI_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "unique_name": self.unique_name,
            "friendly_name": self.friendly_name,
            "image_name": self.image_name,
            "tsp_name": self.tsp_name,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ProviderRegistration:
        return cls(**{k: value[k] for k in cls.__dataclass_fields__ if k in value})


@dataclass(frozen=True, kw_only=True)
class ProviderInfo:
    """FAXCOMEX ``FaxDeviceProvider``: what was registered, how loading went, its devices."""

    unique_name: str
    friendly_name: str
    image_name: str
    tapi_provider_name: str
    version: str
    status: ProviderStatus
    init_error: str = ""
    device_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LoadedProvider:
    """A registered provider after loading: ``provider`` is None unless it loaded."""

    registration: ProviderRegistration
    status: ProviderStatus
    init_error: str
    version: str
    provider: DeviceProvider | None


def check_registration(registration: ProviderRegistration, builtin: Sequence[str]) -> None:
    """Refuse what cannot be registered (ConfigError naming the argument)."""
    if not registration.unique_name.strip() or registration.unique_name in builtin:
        raise ConfigError(
            _SOURCE, "unique_name", f"{registration.unique_name!r} cannot be registered"
        )
    if not registration.image_name.strip():
        raise ConfigError(_SOURCE, "image_name", "must name an entry point in openfax.providers")
    if registration.version != FSPI_VERSION:
        raise ConfigError(
            _SOURCE,
            "version",
            f"must be {FSPI_VERSION:#010x} (FSPI_API_VERSION_1), not {registration.version:#x}",
        )


def registered(recorded: Sequence[Mapping[str, Any]]) -> list[ProviderRegistration]:
    """The registrations kept in the settings table (an unreadable one is logged)."""
    found = []
    for value in recorded:
        try:
            found.append(ProviderRegistration.from_json(value))
        except (KeyError, TypeError) as exc:
            _logger.error("a recorded device provider is unreadable (%s): %r", exc, value)
    return found


def with_registration(
    recorded: list[dict[str, Any]], registration: ProviderRegistration
) -> list[dict[str, Any]]:
    """``recorded`` with ``registration`` added; InvalidOperationError if its name is taken."""
    if any(r.get("unique_name") == registration.unique_name for r in recorded):
        raise InvalidOperationError(
            f"a device provider named {registration.unique_name!r} is already registered"
        )
    return [*recorded, registration.to_json()]


def without_registration(recorded: list[dict[str, Any]], unique_name: str) -> list[dict[str, Any]]:
    """``recorded`` without ``unique_name``; NotSupportedError if it is not there."""
    kept = [r for r in recorded if r.get("unique_name") != unique_name]
    if len(kept) == len(recorded):
        raise NotSupportedError(f"no device provider {unique_name!r} is registered")
    return kept


def load_provider(registration: ProviderRegistration, taken: set[str]) -> LoadedProvider:
    """Load and create one registered provider; its status says what went wrong."""
    found = load_entry_point(ENTRY_POINT_GROUP, registration.image_name)
    status, error, provider = found.status, found.error, None
    if status is ProviderStatus.SUCCESS and not callable(found.target):
        status = ProviderStatus.CANT_LINK
        error = f"{registration.image_name} is not a factory of device providers"
    if status is ProviderStatus.SUCCESS:
        try:
            made = found.target()
        except Exception as exc:
            status, error = ProviderStatus.CANT_INIT, failure(exc)
        else:
            missing = [
                name
                for name in ("name", "devices", "set_listener", "start", "stop")
                if not hasattr(made, name)
            ]
            if missing:
                status = ProviderStatus.CANT_LINK
                error = f"{registration.image_name} made no device provider (no {missing[0]})"
            elif made.name in taken:
                status = ProviderStatus.BAD_GUID
                error = f"another provider is already named {made.name!r}"
            else:
                provider = made
    if provider is None:
        _logger.error(
            "device provider %s did not load (%s): %s",
            registration.unique_name,
            status.name,
            error,
        )
    return LoadedProvider(registration, status, error, found.version, provider)
