"""The server's events, declared once: each kind with the ServerEvents bit that selects it,
the FAXCOMEX notification it is delivered as, the record of its fields, and the arguments a
COM sink's method gets.

The service builds an event's record (:class:`OutgoingJobChanged`...) and stores it under
its :class:`EventType` value as :func:`payload_json` writes it; the API sends that JSON with
its notification's name (:func:`notification_of`); the client reads the record back
(:func:`payload_of`); the FAXCOMEX adapter calls a sink's method of that name with the
arguments :func:`com_arguments` takes from the record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    PlainSerializer,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    WithJsonSchema,
    model_serializer,
)

from openfax.model.enums import JobOperations, JobType, ServerEvents
from openfax.model.records import (
    Activity,
    ExtendedText,
    FaxId,
    JobStatusNames,
    QueueSwitches,
)


class EventType(enum.Enum):
    """The FAXCOMEX ``IFaxServerNotify2`` events; the value is the type stored in the log
    and sent on the wire."""

    INCOMING_JOB_ADDED = "incoming_job_added"
    INCOMING_JOB_REMOVED = "incoming_job_removed"
    INCOMING_JOB_CHANGED = "incoming_job_changed"
    OUTGOING_JOB_ADDED = "outgoing_job_added"
    OUTGOING_JOB_REMOVED = "outgoing_job_removed"
    OUTGOING_JOB_CHANGED = "outgoing_job_changed"
    INCOMING_MESSAGE_ADDED = "incoming_message_added"
    INCOMING_MESSAGE_REMOVED = "incoming_message_removed"
    OUTGOING_MESSAGE_ADDED = "outgoing_message_added"
    OUTGOING_MESSAGE_REMOVED = "outgoing_message_removed"
    CONFIG_CHANGED = "config_changed"
    QUEUES_STATUS_CHANGED = "queues_status_changed"
    NEW_CALL = "new_call"
    DEVICE_STATUS_CHANGED = "device_status_changed"
    ACTIVITY_CHANGED = "activity_changed"
    SERVER_SHUT_DOWN = "server_shut_down"

    @property
    def mask(self) -> ServerEvents:
        """The ServerEvents bit a listener sets to receive this event."""
        return EVENT_KINDS[self].mask

    @property
    def notification(self) -> str:
        """The FAXCOMEX notification an event of this kind is delivered as (a CONFIG_CHANGED
        one may be a more precise one: :func:`notification_of`)."""
        return EVENT_KINDS[self].notification


EventTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A time among an event's fields: ISO 8601 with its offset (``+00:00``), as the log keeps
it (the client reads either form)."""


@dataclass(frozen=True, kw_only=True)
class JobEvent:
    """An event about one job of a queue: ``On*JobAdded``, ``On*JobRemoved``."""

    job_id: FaxId


@dataclass(frozen=True, kw_only=True)
class IncomingJobAdded(JobEvent):
    """A call is being received."""


@dataclass(frozen=True, kw_only=True)
class IncomingJobRemoved(JobEvent):
    """A reception left the incoming queue (routed, cancelled, or nothing received)."""


@dataclass(frozen=True, kw_only=True)
class OutgoingJobAdded(JobEvent):
    """A recipient's job of a submission entered the outgoing queue."""

    submission_id: FaxId


@dataclass(frozen=True, kw_only=True)
class OutgoingJobRemoved(JobEvent):
    """A job left the outgoing queue."""


@dataclass(frozen=True, kw_only=True)
class JobChanged(JobStatusNames, JobEvent):
    """FAXCOMEX ``IFaxJobStatus``: what ``On*JobChanged`` says of a job; its status fields are
    the job record's (``extended_status`` the code, ``extended_status_text`` the provider's
    text; the job's JSON names them by their aliases)."""

    job_type: JobType
    extended_status_text: ExtendedText
    available_operations: JobOperations
    pages: int


@dataclass(frozen=True, kw_only=True)
class OutgoingJobChanged(JobChanged):
    """An outgoing job's status (:class:`openfax.model.records.OutgoingJobInfo`'s fields)."""

    pages_confirmed: int
    current_page: int
    bit_rate: int
    page_bytes: int
    page_bytes_sent: int
    device_id: int | None
    retries: int
    csid: str
    tsid: str
    scheduled_time: EventTime
    size: int
    transmission_start: EventTime | None
    transmission_end: EventTime | None


@dataclass(frozen=True, kw_only=True)
class IncomingJobChanged(JobChanged):
    """An incoming job's status (:class:`openfax.model.records.IncomingJobInfo`'s fields)."""

    current_page: int
    device_id: int
    retries: int
    csid: str
    tsid: str
    caller_id: str
    routing_information: str
    partial: bool
    transmission_start: EventTime
    transmission_end: EventTime | None


@dataclass(frozen=True, kw_only=True)
class MessageEvent:
    """An event about one archived fax: ``OnOutgoingMessageAdded``, ``...Removed``."""

    message_id: FaxId


@dataclass(frozen=True, kw_only=True)
class IncomingMessageAdded(MessageEvent):
    """A received fax was archived: into the receive folder (FAXCOMEX
    ``IFaxAccountNotify``'s ``fAddedToReceiveFolder``), or reassigned to an account."""

    added_to_receive_folder: bool


@dataclass(frozen=True, kw_only=True)
class IncomingMessageRemoved(MessageEvent):
    """A received fax left the archive; ``removed_from_receive_folder``: True unless it had
    been reassigned to an account (``fRemovedFromReceiveFolder``)."""

    removed_from_receive_folder: bool


@dataclass(frozen=True, kw_only=True)
class OutgoingMessageAdded(MessageEvent):
    """A job's fax was archived once sent, under the job's id (the job leaves the queue in
    an ``OnOutgoingJobRemoved`` of its own)."""


@dataclass(frozen=True, kw_only=True)
class OutgoingMessageRemoved(MessageEvent):
    """A sent fax left the archive: deleted, or past the archive's age limit (its file goes
    with it)."""


@dataclass(frozen=True, kw_only=True)
class ConfigChanged:
    """Something of the configuration changed: the one field given names what (None: not
    this part), and picks the FAXCOMEX notification (:attr:`notification`)."""

    security: bool | None = None
    """Accounts or rights (``OnSecurityConfigChange``)."""
    outbound_routing: str | None = None
    """``groups`` or ``rules``."""
    configuration: str | None = None
    """A FAXCOMEX configuration: ``outgoing_queue``, ``outgoing_archive``..."""
    options: str | None = None
    """``receipts``, ``activity_logging`` or ``event_logging``."""
    device_id: int | None = None
    """A line's settings, or the line of an extension property."""
    routing_method: str | None = None
    device: int | None = None
    """The line of a routing method's configuration (0: every line)."""
    routing_extension: str | None = None
    extension_property: str | None = None
    cover_page: str | None = None
    change: str | None = None
    """What happened to the cover page: added or removed."""
    device_provider: str | None = None
    provider_status: str | None = None
    provider_error: str | None = None

    @model_serializer(mode="wrap")
    def _given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Only the fields given: the parts left alone are not in the event."""
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def notification(self) -> str:
        """The FAXCOMEX notification of this change (the most precise there is)."""
        if self.device_id is not None:
            return DEVICES_CONFIG_CHANGE
        for part in ("outbound_routing", "configuration", "options"):
            value = getattr(self, part)
            if value is not None:
                return CONFIG_NOTIFICATIONS.get((part, value), GENERAL_CONFIG_CHANGE)
        return GENERAL_CONFIG_CHANGE


@dataclass(frozen=True, kw_only=True)
class QueuesStatusChanged(QueueSwitches):
    """The queue switches now (``OnQueuesStatusChange``)."""


@dataclass(frozen=True, kw_only=True)
class NewCall:
    """A line rings (``OnNewCall``)."""

    call_id: int
    device_id: int
    caller_id: str


@dataclass(frozen=True, kw_only=True)
class DeviceStatusChanged:
    """What a line is doing now (``OnDeviceStatusChange``), and its registration."""

    device_id: int
    powered_off: bool
    sending: bool
    receiving: bool
    ringing: bool
    registration: str
    registration_error: str


@dataclass(frozen=True, kw_only=True)
class ActivityChanged(Activity):
    """What the server is doing now (``OnServerActivityChange``)."""


@dataclass(frozen=True, kw_only=True)
class ServerShutDown:
    """The service stops (``OnServerShutDown``): nothing more comes on the stream."""


EventPayload = (
    IncomingJobAdded
    | IncomingJobRemoved
    | IncomingJobChanged
    | OutgoingJobAdded
    | OutgoingJobRemoved
    | OutgoingJobChanged
    | IncomingMessageAdded
    | IncomingMessageRemoved
    | OutgoingMessageAdded
    | OutgoingMessageRemoved
    | ConfigChanged
    | QueuesStatusChanged
    | NewCall
    | DeviceStatusChanged
    | ActivityChanged
    | ServerShutDown
)
"""The record of an event's fields, one class per :class:`EventType`."""


@dataclass(frozen=True)
class EventKind:
    """What an event type is on each floor: its listener bit, its notification and the
    record of its fields."""

    mask: ServerEvents
    notification: str
    payload: type[EventPayload]


_E = EventType
_S = ServerEvents
EVENT_KINDS: Mapping[EventType, EventKind] = {
    _E.INCOMING_JOB_ADDED: EventKind(_S.IN_QUEUE, "OnIncomingJobAdded", IncomingJobAdded),
    _E.INCOMING_JOB_REMOVED: EventKind(_S.IN_QUEUE, "OnIncomingJobRemoved", IncomingJobRemoved),
    _E.INCOMING_JOB_CHANGED: EventKind(_S.IN_QUEUE, "OnIncomingJobChanged", IncomingJobChanged),
    _E.OUTGOING_JOB_ADDED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobAdded", OutgoingJobAdded),
    _E.OUTGOING_JOB_REMOVED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobRemoved", OutgoingJobRemoved),
    _E.OUTGOING_JOB_CHANGED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobChanged", OutgoingJobChanged),
    _E.INCOMING_MESSAGE_ADDED: EventKind(
        _S.IN_ARCHIVE, "OnIncomingMessageAdded", IncomingMessageAdded
    ),
    _E.INCOMING_MESSAGE_REMOVED: EventKind(
        _S.IN_ARCHIVE, "OnIncomingMessageRemoved", IncomingMessageRemoved
    ),
    _E.OUTGOING_MESSAGE_ADDED: EventKind(
        _S.OUT_ARCHIVE, "OnOutgoingMessageAdded", OutgoingMessageAdded
    ),
    _E.OUTGOING_MESSAGE_REMOVED: EventKind(
        _S.OUT_ARCHIVE, "OnOutgoingMessageRemoved", OutgoingMessageRemoved
    ),
    _E.CONFIG_CHANGED: EventKind(_S.CONFIG, "OnGeneralServerConfigChanged", ConfigChanged),
    _E.QUEUES_STATUS_CHANGED: EventKind(
        _S.QUEUE_STATE, "OnQueuesStatusChange", QueuesStatusChanged
    ),
    _E.NEW_CALL: EventKind(_S.INCOMING_CALL, "OnNewCall", NewCall),
    _E.DEVICE_STATUS_CHANGED: EventKind(
        _S.DEVICE_STATUS, "OnDeviceStatusChange", DeviceStatusChanged
    ),
    _E.ACTIVITY_CHANGED: EventKind(_S.ACTIVITY, "OnServerActivityChange", ActivityChanged),
    _E.SERVER_SHUT_DOWN: EventKind(_S.FXSSVC_ENDED, "OnServerShutDown", ServerShutDown),
}
del _E, _S
EVENT_TYPES: Mapping[type[EventPayload], EventType] = {
    kind.payload: type for type, kind in EVENT_KINDS.items()
}
"""The event type of each record."""


def event_type(payload: EventPayload) -> EventType:
    """The type of the event ``payload`` is the record of."""
    return EVENT_TYPES[type(payload)]


_ADAPTERS: dict[type[EventPayload], TypeAdapter[Any]] = {}


def _adapter(kind: type[EventPayload]) -> TypeAdapter[Any]:
    """The pydantic adapter of a record (made at its first use, not at import)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def payload_json(payload: EventPayload) -> dict[str, Any]:
    """An event's fields as the log stores them and the WebSocket sends them: by their
    names (not the job JSON's aliases), ids as 16 hex digits, times with ``+00:00``."""
    data: dict[str, Any] = _adapter(type(payload)).dump_python(
        payload, mode="json", exclude_computed_fields=True
    )
    return data


def payload_of(type: EventType, data: Mapping[str, Any]) -> EventPayload:
    """The record of an event of ``type`` from its stored or sent fields (others, such as
    the WebSocket's envelope, are left aside). pydantic's ValidationError if they do not fit."""
    adapter = _adapter(EVENT_KINDS[type].payload)
    payload: EventPayload = adapter.validate_python(data, by_name=True, by_alias=False)
    return payload


def job_json(payload: IncomingJobChanged | OutgoingJobChanged) -> dict[str, Any]:
    """A job status event's fields as the job's own JSON names them (its aliases), with the
    status names a person reads, for a client to update the job it holds (whose id it is)."""
    data: dict[str, Any] = _adapter(type(payload)).dump_python(
        payload, mode="json", by_alias=True, exclude={"job_id"}
    )
    return data


CONFIG_NOTIFICATIONS: Mapping[tuple[str, str], str] = {
    ("outbound_routing", "groups"): "OnOutboundRoutingGroupsConfigChange",
    ("outbound_routing", "rules"): "OnOutboundRoutingRulesConfigChange",
    ("configuration", "outgoing_queue"): "OnOutgoingQueueConfigChange",
    ("configuration", "outgoing_archive"): "OnOutgoingArchiveConfigChange",
    ("configuration", "incoming_archive"): "OnIncomingArchiveConfigChange",
    ("options", "receipts"): "OnReceiptOptionsChange",
    ("options", "activity_logging"): "OnActivityLoggingConfigChange",
    ("options", "event_logging"): "OnEventLoggingConfigChange",
}
"""The notification of a CONFIG_CHANGED event by what its payload says changed (FAXCOMEX's
fsetCONFIG parts); a device's change is ``OnDevicesConfigChange``, any other change
``OnGeneralServerConfigChanged``."""
DEVICES_CONFIG_CHANGE = "OnDevicesConfigChange"
GENERAL_CONFIG_CHANGE = "OnGeneralServerConfigChanged"


def notification_of(payload: EventPayload) -> str:
    """The FAXCOMEX notification the event of ``payload`` is delivered as."""
    if isinstance(payload, ConfigChanged):
        return payload.notification
    return event_type(payload).notification


@dataclass(frozen=True)
class Notification:
    """A FAXCOMEX notification: the event fields a COM sink's method gets, in order, after
    the server (``IFaxServerNotify2``), and after the account (``IFaxAccountNotify``; None:
    an account's listener does not get it)."""

    arguments: tuple[str, ...] = ()
    account_arguments: tuple[str, ...] | None = None


_JOB = Notification(("job_id",), ("job_id",))
_JOB_CHANGED = Notification(("job_id", "job_status"), ("job_id", "job_status"))
_OUT_MESSAGE = Notification(("message_id",), ("message_id",))
_CONFIG = Notification()
NOTIFICATIONS: Mapping[str, Notification] = {
    "OnIncomingJobAdded": _JOB,
    "OnIncomingJobRemoved": _JOB,
    "OnIncomingJobChanged": _JOB_CHANGED,
    "OnOutgoingJobAdded": _JOB,
    "OnOutgoingJobRemoved": _JOB,
    "OnOutgoingJobChanged": _JOB_CHANGED,
    "OnIncomingMessageAdded": Notification(
        ("message_id",), ("message_id", "added_to_receive_folder")
    ),
    "OnIncomingMessageRemoved": Notification(
        ("message_id",), ("message_id", "removed_from_receive_folder")
    ),
    "OnOutgoingMessageAdded": _OUT_MESSAGE,
    "OnOutgoingMessageRemoved": _OUT_MESSAGE,
    "OnReceiptOptionsChange": _CONFIG,
    "OnActivityLoggingConfigChange": _CONFIG,
    "OnSecurityConfigChange": _CONFIG,
    "OnEventLoggingConfigChange": _CONFIG,
    "OnOutgoingQueueConfigChange": _CONFIG,
    "OnOutgoingArchiveConfigChange": _CONFIG,
    "OnIncomingArchiveConfigChange": _CONFIG,
    "OnDevicesConfigChange": _CONFIG,
    "OnOutboundRoutingGroupsConfigChange": _CONFIG,
    "OnOutboundRoutingRulesConfigChange": _CONFIG,
    "OnGeneralServerConfigChanged": _CONFIG,
    "OnServerActivityChange": Notification(
        ("incoming_messages", "routing_messages", "outgoing_messages", "queued_messages")
    ),
    "OnQueuesStatusChange": Notification(
        ("outgoing_blocked", "outgoing_paused", "incoming_blocked")
    ),
    "OnNewCall": Notification(("call_id", "device_id", "caller_id")),
    "OnDeviceStatusChange": Notification(
        ("device_id", "powered_off", "sending", "receiving", "ringing")
    ),
    "OnServerShutDown": Notification((), ()),
}
"""Every FAXCOMEX notification the server sends, by name."""


def com_arguments(payload: EventPayload, *, account: bool = False) -> tuple[Any, ...]:
    """The arguments a COM sink's method gets for the event of ``payload`` after the server
    (after the account with ``account``; none where an account's sink does not get it), as
    :data:`NOTIFICATIONS` names them: each field as the wire carries it (ids 16 hex digits),
    and for ``job_status`` the record itself, which the adapter wraps as ``FaxJobStatus``."""
    notification = NOTIFICATIONS[notification_of(payload)]
    names = (notification.account_arguments if account else notification.arguments) or ()
    fields = payload_json(payload)
    return tuple(payload if name == "job_status" else fields[name] for name in names)
