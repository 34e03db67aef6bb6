"""FAXCOMEX ``FaxConfiguration``: the server settings an administrator changes while the
service runs (change the properties, then ``save()``); extension properties; device
providers; the server's cover pages; and the audit trail's entries."""

from __future__ import annotations

import base64
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openfax.client._records import Collection, Field, Record, Setting, Versioned, parse_time
from openfax.client.routing import path_guid, send_json

if TYPE_CHECKING:
    from openfax.client._connection import Connection


def time_of_day(value: str | time | datetime) -> time:
    """A discount-rate bound as FAXCOMEX's DATE gives it: a datetime's time of day (its date
    does not matter), a time, or ``"HH:MM"``; TypeError or ValueError for anything else."""
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a time of day is a datetime, a time or 'HH:MM', not {value!r}")
    return time.fromisoformat(value)


class FaxConfiguration(Record):
    """FAXCOMEX ``FaxConfiguration``: ``retry_delay`` in minutes, the water marks in MB, the
    age limits in days (0 keeps for good). Saved values win over the server's configuration
    file and are in force at once; ``refresh()`` reads them again, dropping unsaved changes."""

    retries = Setting()
    retry_delay = Setting()
    discount_rate_start = Setting(time_of_day)
    discount_rate_end = Setting(time_of_day)
    outgoing_queue_age_limit = Setting()
    branding = Setting()
    use_device_tsid = Setting()
    allow_personal_cover_pages = Setting()
    use_archive = Setting()
    archive_age_limit = Setting()
    incoming_archive_age_limit = Setting()
    size_quota_warning = Setting()
    high_quota_water_mark = Setting()
    low_quota_water_mark = Setting()
    outgoing_queue_blocked = Setting()
    outgoing_queue_paused = Setting()
    incoming_queue_blocked = Setting()
    archive_location = Field[str]()
    """The server folder the archived faxes are kept in (read-only)."""
    archive_size = Field[int]()
    """Bytes of both archives (FAXCOMEX ``ArchiveSizeLow/High`` as one number)."""
    incoming_archive_size = Field[int]()
    outgoing_archive_size = Field[int]()

    @property
    def archive_size_low(self) -> int:
        """FAXCOMEX ``ArchiveSizeLow``: the low 32 bits of ``archive_size``."""
        return size_low(self.archive_size)

    @property
    def archive_size_high(self) -> int:
        """FAXCOMEX ``ArchiveSizeHigh``: the high 32 bits of ``archive_size``."""
        return size_high(self.archive_size)

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._changes: dict[str, Any] = {}
        self._accounts: dict[str, Any] | None = None
        self._account_changes: dict[str, bool] = {}
        super().__init__(connection.get("/configuration"))

    @property
    def auto_create_account_on_connect(self) -> bool:
        """FAXCOMEX ``AutoCreateAccountOnConnect``: a Unix user without an account gets one
        when it first connects (the account setting ``FaxSecurity2`` shows too)."""
        return self._account_setting("auto_create_account_on_connect")

    @auto_create_account_on_connect.setter
    def auto_create_account_on_connect(self, value: bool) -> None:
        self._account_changes["auto_create_account_on_connect"] = value

    @property
    def incoming_faxes_are_public(self) -> bool:
        """FAXCOMEX ``IncomingFaxesArePublic``: every account sees every received fax."""
        return self._account_setting("incoming_faxes_are_public")

    @incoming_faxes_are_public.setter
    def incoming_faxes_are_public(self, value: bool) -> None:
        self._account_changes["incoming_faxes_are_public"] = value

    def _account_setting(self, name: str) -> bool:
        if name in self._account_changes:
            return self._account_changes[name]
        if self._accounts is None:
            self._accounts = self._connection.get("/security")
        return bool(self._accounts[name])

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``."""
        self._data = self._connection.get("/configuration")
        self._changes = {}
        self._accounts = None
        self._account_changes = {}

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the properties changed since the last read; ConfigError
        names a wrong one (then none is saved)."""
        changes = {
            name: time_of_day(value).isoformat("minutes") if name in _TIMES_OF_DAY else value
            for name, value in self._changes.items()
        }
        self._data = self._connection.patch("/configuration", changes)
        self._changes = {}
        if self._account_changes:
            body = {name: bool(value) for name, value in self._account_changes.items()}
            self._accounts = send_json(self._connection, "PATCH", "/security", body)
            self._account_changes = {}

    def __repr__(self) -> str:
        return f"<FaxConfiguration retries={self.retries} retry_delay={self.retry_delay}>"


_TIMES_OF_DAY = {"discount_rate_start", "discount_rate_end"}


class FaxAuditEntry(Record):
    """One line of the audit trail: ``actor`` did ``action`` (``submitted``, ``viewed``,
    ``downloaded``, ``cancelled``, ``deleted``, ``purged``, ``config_changed``, ...) to
    ``object_type`` ``object_id`` at ``time``; ``details`` holds ids, never content."""

    seq = Field[int]()
    time = Field(parse_time)
    actor = Field[str]()
    action = Field[str]()
    object_type = Field[str]()
    object_id = Field[str]()
    details = Field[dict[str, Any]]()

    def __repr__(self) -> str:
        return f"<FaxAuditEntry {self.seq} {self.actor} {self.action} {self.object_id}>"


def get_audit(
    connection: Connection, since: datetime | None, limit: int, after: int
) -> Collection[FaxAuditEntry]:
    """The audit trail's entries, oldest first (see ``FaxServer.get_audit``)."""
    params: dict[str, Any] = {"limit": limit, "after": after}
    if since is not None:
        params["since"] = since.isoformat()
    entries = [FaxAuditEntry(data) for data in connection.get("/audit", **params)]
    return Collection(entries, key=lambda entry: str(entry.seq))


class FaxCoverPage(Record):
    """A server cover page: submit with ``cover_page_type=CoverPageType.SERVER`` and
    ``cover_page=name``."""

    name = Field[str]()
    size = Field[int]()
    modified = Field(parse_time)

    def __repr__(self) -> str:
        return f"<FaxCoverPage {self.name!r}>"


def get_cover_pages(connection: Connection) -> Collection[FaxCoverPage]:
    """The server's cover pages, by 1-based position or name."""
    pages = [FaxCoverPage(data) for data in connection.get("/cover-pages")]
    return Collection(pages, key=lambda page: page.name)


def add_cover_page(connection: Connection, name: str, template: str | Path) -> FaxCoverPage:
    """Upload a template as the server cover page ``name``."""
    return FaxCoverPage(
        connection.post("/cover-pages", fields={"name": name}, uploads=[("file", Path(template))])
    )


def get_extension_property(connection: Connection, guid: str, device_id: int) -> bytes:
    """The extension property ``guid`` of a device (0: the server's); empty if never set."""
    found = connection.get(_extension_path(guid, device_id))
    return base64.b64decode(found["data"])


def set_extension_property(connection: Connection, guid: str, data: bytes, device_id: int) -> None:
    """Set the extension property ``guid`` of a device (0: the server's)."""
    body = {"data": base64.b64encode(bytes(data)).decode("ascii")}
    send_json(connection, "PUT", _extension_path(guid, device_id), body)


def _extension_path(guid: str, device_id: int) -> str:
    slot = f"/extension-properties/{path_guid(guid)}"
    return slot if device_id == 0 else f"/devices/{device_id}{slot}"


class FaxDeviceProvider(Versioned):
    """FAXCOMEX ``FaxDeviceProvider``: as loaded at the server's last start (``image_name``:
    its entry point in the group ``openfax.providers``, a module for built-in ones)."""

    tapi_provider_name = Field[str]()
    device_ids = Field[list[int]]()


def get_device_providers(connection: Connection) -> Collection[FaxDeviceProvider]:
    """The device providers, by 1-based position or unique name."""
    found = [FaxDeviceProvider(data) for data in connection.get("/device-providers")]
    return Collection(found, key=lambda provider: provider.unique_name)


class ConfigurationOf:
    """A property of the server's :class:`FaxConfiguration` shown by another FAXCOMEX
    object (the outgoing queue's ``Retries``, an archive's ``AgeLimit``, ...): the owner
    reads the configuration when first asked (``_configuration()``) and its ``save()``
    sends what was changed."""

    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc or f"FaxConfiguration's ``{name}``."

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj._configuration(), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj._configuration(), self.name, value)


def size_low(size: int) -> int:
    """FAXCOMEX's ``SizeLow`` of a 64-bit size: its low 32 bits."""
    return size & 0xFFFFFFFF


def size_high(size: int) -> int:
    """FAXCOMEX's ``SizeHigh`` of a 64-bit size: its high 32 bits."""
    return size >> 32 & 0xFFFFFFFF
