"""FAXCOMEX ``FaxReceiptOptions`` and ``FaxLoggingOptions`` (``FaxActivityLogging``,
``FaxEventLogging``): option objects read when reached, changed by setting their
properties, sent with ``save()`` and read again with ``refresh()``; and the delivery
receipts the server queued."""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Any, TypeVar

from openfax.client._records import Collection, Field, Retried, parse_time, segment
from openfax.model import LogLevel, ReceiptType, SmtpAuthenticationType

if TYPE_CHECKING:
    from openfax.client._connection import Connection

T = TypeVar("T")


class Option(Field[T]):
    """A read-write property over ``self._data[name]``, converted on the way out; what is
    set (an enumeration as its number) is sent by ``save()``."""

    def __set__(self, obj: object, value: T) -> None:
        assert self.key is not None
        data: dict[str, Any] = obj._data  # type: ignore[attr-defined]
        data[self.key] = int(value) if isinstance(value, IntEnum | IntFlag) else value


class _Options:
    """An option object of the server: ``refresh()`` reads it, ``save()`` sends it."""

    _path: str

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._data: dict[str, Any] = connection.get(self._path)

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the options again, dropping unsaved changes."""
        self._data = self._connection.get(self._path)

    def save(self) -> None:
        """FAXCOMEX ``Save()``: ConfigError names an option the server refuses."""
        self._data = self._connection.patch(self._path, dict(self._data))

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._data}>"


class FaxReceiptOptions(_Options):
    """FAXCOMEX ``FaxReceiptOptions``: the SMTP server of delivery receipts and the receipt
    types allowed. ``smtp_password`` reads as ``********`` (saved so, it is kept);
    ``authentication_type`` NTLM and ``allowed_receipts`` with MSGBOX are refused (Windows
    only); ``starttls`` is OpenFax's own."""

    _path = "/receipt-options"

    allowed_receipts = Option(ReceiptType)
    smtp_server = Option[str]()
    smtp_port = Option[int]()
    smtp_sender = Option[str]()
    authentication_type = Option(SmtpAuthenticationType)
    starttls = Option[bool]()
    smtp_user = Option[str]()
    smtp_password = Option[str]()
    use_for_inbound_routing = Option[bool]()


class FaxActivityLogging(_Options):
    """FAXCOMEX ``FaxActivityLogging``: one CSV line per received (``log_incoming``) and
    sent (``log_outgoing``) fax in InboxLOG.txt and OutboxLOG.txt in ``database_path``."""

    _path = "/logging-options/activity"

    log_incoming = Option[bool]()
    log_outgoing = Option[bool]()
    database_path = Option[str]()


class FaxEventLogging(_Options):
    """FAXCOMEX ``FaxEventLogging``: how much each category tells the system log
    (``openfax.events.init|inbound|outbound|general``)."""

    _path = "/logging-options/events"

    init_events_level = Option(LogLevel)
    inbound_events_level = Option(LogLevel)
    outbound_events_level = Option(LogLevel)
    general_events_level = Option(LogLevel)


class FaxLoggingOptions:
    """FAXCOMEX ``FaxLoggingOptions``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def activity_logging(self) -> FaxActivityLogging:
        return FaxActivityLogging(self._connection)

    @property
    def event_logging(self) -> FaxEventLogging:
        return FaxEventLogging(self._connection)


class FaxReceipt(Retried):
    """A delivery (``delivered``) or non-delivery receipt: one job's, or a broadcast's
    summary (``job_id`` None); ``status`` is ``pending``, ``done`` or ``failed``."""

    _path = "/receipts"

    submission_id = Field[str]()
    job_id = Field[str]()
    address = Field[str]()
    delivered = Field[bool]()
    attach = Field[bool]()
    sent_at = Field(parse_time)

    def cancel(self) -> None:
        """Never send a pending receipt: it becomes failed, ``last_error`` naming who
        cancelled it (``resend()`` still sends it); InvalidOperationError otherwise."""
        self._data = self._connection.post(f"/receipts/{segment(self.id)}/cancel")


def get_receipts(
    connection: Connection, status: str | None = None, limit: int = 100
) -> Collection[FaxReceipt]:
    """The receipts the server queued (those in ``status``), the latest change first."""
    params: dict[str, Any] = {"limit": limit}
    if status is not None:
        params["status"] = status
    found = connection.get("/receipts", **params)
    receipts = [FaxReceipt(connection, data) for data in found]
    return Collection(receipts, key=lambda receipt: receipt.id)
