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

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openfax import __version__
from openfax.errors import ConfigError, InvalidOperationError, NotSupportedError
from openfax.model import ProviderStatus
from openfax.model.events import ConfigChanged
from openfax.plugins import failure, load_entry_point
from openfax.providers import DeviceProvider, LoopbackProvider, Transport
from openfax.providers.modem.provider import ModemProvider
from openfax.providers.sip import DestinationMemory, SipProvider
from openfax.routing import normalize_guid
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.config_file import ServiceConfig
from openfax.service.context import ServiceContext
from openfax.store import queries as q

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
        return dataclasses.asdict(self)

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


def built_in_providers(config: ServiceConfig, memory: DestinationMemory) -> list[DeviceProvider]:
    """The node's own providers: the loopback lines, then the SIP trunks and the modem
    lines if any (``memory`` keeps what last worked per destination)."""
    loopback = config.loopback
    providers: list[DeviceProvider] = [
        LoopbackProvider(
            loopback.lines,
            base_number=loopback.base_number,
            name=loopback.name,
            transport=Transport(loopback.transport),
            pace=loopback.pace,
        )
    ]
    if config.sip.trunks:
        providers.append(
            SipProvider(
                config.sip.trunks,
                memory=memory,
                dns_servers=config.sip.dns_servers,
                dns_timeout=config.sip.dns_timeout,
            )
        )
    if config.modem.lines:
        providers.append(ModemProvider(config.modem.lines))
    return providers


class DeviceProviders:
    """FAXCOMEX ``GetDeviceProviders``, ``RegisterDeviceProvider`` and
    ``UnregisterDeviceProvider``: the running service's ``providers``, the built-in ones and
    the registered ones as loaded at start."""

    def __init__(self, ctx: ServiceContext, built_in: Sequence[DeviceProvider]) -> None:
        self._ctx = ctx
        self.built_in = list(built_in)
        self._registered: list[LoadedProvider] = []

    @property
    def loopback(self) -> LoopbackProvider:
        """The loopback lines' provider (every node has one)."""
        return next(p for p in self.built_in if isinstance(p, LoopbackProvider))

    async def load_registered(self) -> None:
        """Load the registered providers (at start; a broken one is listed with its error)."""
        async with self._ctx.db.read() as conn:
            recorded = await q.get_setting(conn, PROVIDERS_KEY, [])
        taken = {provider.name for provider in self.built_in}
        self._registered = []
        for registration in registered(recorded):
            loaded = load_provider(registration, taken)
            if loaded.provider is not None:
                taken.add(loaded.provider.name)
            self._registered.append(loaded)

    def running(self) -> list[DeviceProvider]:
        """The built-in providers and the registered ones that loaded."""
        loaded = [r.provider for r in self._registered if r.provider is not None]
        return [*self.built_in, *loaded]

    def owners_of(self, guid: str) -> list[DeviceProvider]:
        """The providers that own the extension property ``guid``: those whose
        ``extension_guids`` hold it, and the registered one of that unique name."""
        owners = [p for p in self.running() if guid in getattr(p, "extension_guids", ())]
        owners += [
            loaded.provider
            for loaded in self._registered
            if loaded.provider is not None
            and normalize_guid(loaded.registration.unique_name) == guid
        ]
        return owners

    def get_device_providers(self) -> list[ProviderInfo]:
        """FAXCOMEX ``GetDeviceProviders()``: the built-in providers, then the registered
        ones as loaded at start, with their status, load error and devices."""
        infos = [
            ProviderInfo(
                unique_name=provider.name,
                friendly_name=f"OpenFax {provider.name} lines",
                image_name=type(provider).__module__,
                tapi_provider_name="",
                version=__version__,
                status=provider.status,
                init_error=provider.error,
                device_ids=self._device_ids(provider),
            )
            for provider in self.built_in
        ]
        for loaded in self._registered:
            registration = loaded.registration
            infos.append(
                ProviderInfo(
                    unique_name=registration.unique_name,
                    friendly_name=registration.friendly_name,
                    image_name=registration.image_name,
                    tapi_provider_name=registration.tsp_name,
                    version=loaded.version,
                    status=loaded.status,
                    init_error=loaded.init_error,
                    device_ids=[] if loaded.provider is None else self._device_ids(loaded.provider),
                )
            )
        return infos

    def _device_ids(self, provider: DeviceProvider) -> list[int]:
        lines = list(provider.devices)
        return sorted(i for i, line in self._ctx.lines.items() if any(line is x for x in lines))

    async def register_device_provider(
        self,
        unique_name: str,
        friendly_name: str,
        image_name: str,
        tsp_name: str = "",
        version: int = FSPI_VERSION,
        actor: str = SERVICE_ACTOR,
    ) -> None:
        """FAXCOMEX ``RegisterDeviceProvider``: recorded now, loaded at the next start from
        the entry point ``image_name`` of the group ``openfax.providers``."""
        registration = ProviderRegistration(
            unique_name=unique_name,
            friendly_name=friendly_name or unique_name,
            image_name=image_name,
            tsp_name=tsp_name,
            version=version,
        )
        check_registration(registration, [provider.name for provider in self.built_in])
        await self._change(
            lambda recorded: with_registration(recorded, registration), unique_name, actor
        )
        _logger.info("device provider %s registered; it loads at the next start", unique_name)

    async def unregister_device_provider(
        self, unique_name: str, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``UnregisterDeviceProvider``: its lines are gone at the next start."""
        await self._change(
            lambda recorded: without_registration(recorded, unique_name), unique_name, actor
        )

    async def _change(
        self,
        change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        unique_name: str,
        actor: str,
    ) -> None:
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            recorded = await q.get_setting(conn, PROVIDERS_KEY, [])
            now = ctx.clock.now()
            await q.set_setting(conn, PROVIDERS_KEY, change(recorded), now=now)
            await record(
                conn, now, actor, AuditAction.CONFIG_CHANGED, "device_provider", unique_name
            )
            await ctx.hub.emit(conn, ConfigChanged(device_provider=unique_name))
