"""The server's events, declared once: each kind with the ServerEvents bit that selects it,
the FAXCOMEX notification it is delivered as, and the arguments a COM sink's method gets.

The service stores an event under its :class:`EventType` value; the API sends it with its
notification's name (:func:`notification_of`); the FAXCOMEX adapter calls a sink's method
of that name with the arguments :data:`NOTIFICATIONS` lists.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openfax.model.enums import ServerEvents


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


@dataclass(frozen=True)
class EventKind:
    """What an event type is on each floor: its listener bit and its notification."""

    mask: ServerEvents
    notification: str


_E = EventType
_S = ServerEvents
EVENT_KINDS: Mapping[EventType, EventKind] = {
    _E.INCOMING_JOB_ADDED: EventKind(_S.IN_QUEUE, "OnIncomingJobAdded"),
    _E.INCOMING_JOB_REMOVED: EventKind(_S.IN_QUEUE, "OnIncomingJobRemoved"),
    _E.INCOMING_JOB_CHANGED: EventKind(_S.IN_QUEUE, "OnIncomingJobChanged"),
    _E.OUTGOING_JOB_ADDED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobAdded"),
    _E.OUTGOING_JOB_REMOVED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobRemoved"),
    _E.OUTGOING_JOB_CHANGED: EventKind(_S.OUT_QUEUE, "OnOutgoingJobChanged"),
    _E.INCOMING_MESSAGE_ADDED: EventKind(_S.IN_ARCHIVE, "OnIncomingMessageAdded"),
    _E.INCOMING_MESSAGE_REMOVED: EventKind(_S.IN_ARCHIVE, "OnIncomingMessageRemoved"),
    _E.OUTGOING_MESSAGE_ADDED: EventKind(_S.OUT_ARCHIVE, "OnOutgoingMessageAdded"),
    _E.OUTGOING_MESSAGE_REMOVED: EventKind(_S.OUT_ARCHIVE, "OnOutgoingMessageRemoved"),
    _E.CONFIG_CHANGED: EventKind(_S.CONFIG, "OnGeneralServerConfigChanged"),
    _E.QUEUES_STATUS_CHANGED: EventKind(_S.QUEUE_STATE, "OnQueuesStatusChange"),
    _E.NEW_CALL: EventKind(_S.INCOMING_CALL, "OnNewCall"),
    _E.DEVICE_STATUS_CHANGED: EventKind(_S.DEVICE_STATUS, "OnDeviceStatusChange"),
    _E.ACTIVITY_CHANGED: EventKind(_S.ACTIVITY, "OnServerActivityChange"),
    _E.SERVER_SHUT_DOWN: EventKind(_S.FXSSVC_ENDED, "OnServerShutDown"),
}
del _E, _S

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


def notification_of(type: EventType, payload: Mapping[str, Any]) -> str:
    """The FAXCOMEX notification an event of ``type`` with ``payload`` is delivered as."""
    if type is EventType.CONFIG_CHANGED:
        if "device_id" in payload:
            return DEVICES_CONFIG_CHANGE
        for key in ("outbound_routing", "configuration", "options"):
            if key in payload:
                return CONFIG_NOTIFICATIONS.get((key, payload[key]), type.notification)
    return type.notification


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
