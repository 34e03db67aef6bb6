"""FAXCOMEX extension properties: opaque byte blobs named by a GUID, one server-wide slot
(device 0) and one per device, kept in the store's ``settings`` table (base64 under
``extension.<GUID>.<device id>``) so that plug-ins keep their configuration in the service
and an administrator's tools can edit it remotely.

Only the plug-in that owns a GUID reads its data. Setting one tells its owner at once,
through :class:`ExtensionPropertyListener`: the routing extension one of whose methods has
that GUID, and the device providers whose ``extension_guids`` hold it. An owner that also
has ``check_extension_property(guid, device_id, data)`` is asked first: what it raises (a
ConfigError naming what is wrong) refuses the data, and nothing is kept. When the service
starts, each owner is told the values kept for its GUIDs, as FAXCOMEX extensions read theirs
when they initialize.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import ConfigError, MessageNotFoundError
from openfax.model.events import ConfigChanged
from openfax.routing import normalize_guid
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.context import ServiceContext
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

MAX_BYTES = 1 << 20
"""The largest extension property accepted."""


@runtime_checkable
class ExtensionPropertyListener(Protocol):
    """What a plug-in implements to hear that one of its extension properties was set
    (FAXCOMEX ``FaxExtRegisterForEvents``): ``device_id`` 0 is the server-wide slot."""

    def on_extension_property(self, guid: str, device_id: int, data: bytes) -> None: ...


def property_key(guid: str, device_id: int) -> str:
    """The settings key of one slot."""
    return f"extension.{guid}.{device_id}"


def checked_guid(guid: str) -> str:
    """The GUID in its braced lower-case form; ConfigError if it is not one."""
    normalized = normalize_guid(guid)
    if normalized is None:
        raise ConfigError("extension property", "guid", f"{guid!r} is not a GUID")
    return normalized


class ExtensionProperties:
    """The slots of the running service; ``owners(guid)`` gives the plug-ins that own a
    GUID, of which those that listen are told."""

    def __init__(self, ctx: ServiceContext, owners: Callable[[str], Iterable[object]]) -> None:
        self.ctx = ctx
        self._owners = owners

    def owners(self, guid: str) -> list[ExtensionPropertyListener]:
        """The owners of ``guid`` that listen."""
        return [o for o in self._owners(guid) if isinstance(o, ExtensionPropertyListener)]

    async def tell_owners(self) -> None:
        """Tell every owner the values kept for its GUIDs (at start)."""
        async with self.ctx.db.read() as conn:
            stored = await q.get_settings(conn)
        for key, value in stored.items():
            prefix, _, rest = key.partition(".")
            guid, _, device = rest.rpartition(".")
            if prefix == "extension" and device.isdigit():
                self._notify(self.owners(guid), guid, int(device), base64.b64decode(value))

    def _notify(
        self, owners: list[ExtensionPropertyListener], guid: str, device_id: int, data: bytes
    ) -> None:
        for owner in owners:
            try:
                owner.on_extension_property(guid, device_id, data)
            except Exception:
                _logger.exception("%r failed on the change of extension property %s", owner, guid)

    async def take_up(self, guid: str, device_id: int) -> None:
        """Tell the owners of ``guid`` here its value for ``device_id`` as kept (set on
        another node of the cluster)."""
        owners = self.owners(guid)
        if owners:
            async with self.ctx.db.read() as conn:
                value = await q.get_setting(conn, property_key(guid, device_id))
            data = b"" if value is None else base64.b64decode(value)
            self._notify(owners, guid, device_id, data)

    async def get(self, guid: str, device_id: int = 0) -> bytes:
        """FAXCOMEX ``GetExtensionProperty``: the server's (device 0) or a device's blob
        named by ``guid``; empty when never set."""
        key = checked_guid(guid)
        async with self.ctx.db.read() as conn:
            await _check_device(conn, device_id)
            value = await q.get_setting(conn, property_key(key, device_id))
        return b"" if value is None else base64.b64decode(value)

    async def set(
        self, guid: str, data: bytes, device_id: int = 0, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``SetExtensionProperty``: keep the blob, then tell its owners
        (``docs/design/configuration.md``). A CONFIG event and an audit entry (as
        ``actor``'s) say that (not what) it changed."""
        key = checked_guid(guid)
        if len(data) > MAX_BYTES:
            raise ConfigError("extension property", key, f"must be at most {MAX_BYTES} bytes")
        owners = self.owners(key)
        for owner in owners:
            check = getattr(owner, "check_extension_property", None)
            if callable(check):
                check(key, device_id, data)
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            await _check_device(conn, device_id)
            now = ctx.clock.now()
            encoded = base64.b64encode(data).decode("ascii")
            await q.set_setting(conn, property_key(key, device_id), encoded, now=now)
            details = {"device_id": device_id, "size": len(data)}
            await record(
                conn, now, actor, AuditAction.CONFIG_CHANGED, "extension_property", key, details
            )
            changed = ConfigChanged(extension_property=key, device_id=device_id or None)
            await ctx.hub.emit(conn, changed)
        self._notify(owners, key, device_id, data)


async def _check_device(conn: AsyncConnection, device_id: int) -> None:
    """Device 0 is the server-wide slot; any other must be a device's id."""
    if device_id < 0:
        raise ConfigError("extension property", "device_id", f"must be 0 or more, not {device_id}")
    if device_id and await q.get_device(conn, device_id) is None:
        raise MessageNotFoundError("device", device_id)
