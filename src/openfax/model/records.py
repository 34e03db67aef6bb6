"""The records of the wire protocol, declared once: a fax's sender and recipients, the jobs
of the queues and the archived faxes as the service shows them, and its lines and state.

They are frozen dataclasses that the service builds, the API serialises as they are (a
pydantic ``TypeAdapter`` reads the annotations: ids as 16 hex digits, times as ISO 8601 in
UTC, enumerations as their FAXCOMEX numbers with the names beside the status a person reads),
the client derives its FAXCOMEX objects from, and cover pages show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    computed_field,
)

from openfax.model.enums import (
    DeliveryStatus,
    Direction,
    ExtendedStatus,
    JobOperations,
    JobStatus,
    JobType,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    ServerApiVersion,
)
from openfax.model.ids import format_id, parse_id
from openfax.model.text import CONTROL_CHARACTERS

MAX_IDENT_LENGTH = 20
"""Characters of a TSID or CSID at most (T.30's identity field)."""
MAX_FIELD_LENGTH = 500
"""Characters of a recipient's or the sender's field at most (a name, an address line)."""
MAX_NUMBER_LENGTH = 100
MAX_SUBJECT_LENGTH = 1000
MAX_NOTE_LENGTH = 10_000
MAX_DOCUMENT_NAME_LENGTH = 255
MAX_ADDRESS_LENGTH = 320
"""An e-mail address's longest length (RFC 3696)."""

NodeState = Literal["running", "stopped", "lapsed"]
"""Whether a node of the cluster runs, stopped cleanly, or let its heartbeat lapse."""

ID_PATTERN = "^[0-9a-fA-F]{16}$"
NO_NUL = r"^[^\x00]*$"


def utc_text(value: datetime) -> str:
    """``value`` in ISO 8601, UTC, with a ``Z``."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _id_from_wire(value: Any) -> Any:
    return parse_id(value) if isinstance(value, str) else value


FaxId = Annotated[
    int,
    BeforeValidator(_id_from_wire),
    PlainSerializer(format_id, return_type=str),
    WithJsonSchema({"type": "string", "pattern": ID_PATTERN}),
]
"""A job, message or submission id: an int in Python, 16 hex digits on the wire (either
is read back)."""
UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Ident = Annotated[str, Field(max_length=MAX_IDENT_LENGTH, pattern=r"^[\x20-\x7e]*$")]
"""A TSID or CSID: at most 20 printable ASCII characters."""
CoverText = Annotated[str, Field(max_length=MAX_FIELD_LENGTH, pattern=NO_NUL)]
"""A recipient's or the sender's cover-page field."""
FaxNumber = Annotated[
    str, Field(max_length=MAX_NUMBER_LENGTH, pattern=f"^[^{CONTROL_CHARACTERS}]*$")
]
"""A number to dial: no control characters. Whether a line could dial it
(:mod:`openfax.model.numbers`) the service checks, for every client alike (NumberError)."""
_FROM_CLIENT = ConfigDict(extra="forbid")
"""A record a client sends: unknown fields are refused, so a typo does not pass silently."""


@dataclass(frozen=True, kw_only=True)
class _Person:
    """The cover-page fields a recipient and the sender share (FAXCOMEX ``FaxRecipient``'s
    and ``FaxSender``'s)."""

    __pydantic_config__ = _FROM_CLIENT

    name: CoverText = ""
    fax_number: FaxNumber = ""
    company: CoverText = ""
    street_address: CoverText = ""
    city: CoverText = ""
    state: CoverText = ""
    zip_code: CoverText = ""
    country: CoverText = ""
    title: CoverText = ""
    department: CoverText = ""
    office_location: CoverText = ""
    home_phone: CoverText = ""
    office_phone: CoverText = ""

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Self:
        """The record of the fields a job, message or account keeps (those left out are
        empty)."""
        return cls(**{name: stored.get(name, "") for name in _field_names(cls)})


@dataclass(frozen=True, kw_only=True)
class Recipient(_Person):
    """One recipient (FAXCOMEX ``FaxRecipient`` and its cover-page fields): a number to dial."""

    fax_number: FaxNumber = field()
    """Required, unlike the sender's."""


@dataclass(frozen=True, kw_only=True)
class Sender(_Person):
    """The sender (FAXCOMEX ``FaxSender``); ``tsid`` is the identity the fax machine sends."""

    email: CoverText = ""
    billing_code: CoverText = ""
    tsid: Ident = ""


def _field_names(kind: type[_Person]) -> tuple[str, ...]:
    """A record's field names, looked up once (a listing makes thousands of records)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


_FIELD_NAMES: dict[type[_Person], tuple[str, ...]] = {}

RECIPIENT_FIELDS = _field_names(Recipient)
SENDER_FIELDS = _field_names(Sender)


def person_fields(record: Recipient | Sender) -> dict[str, str]:
    """A recipient's or sender's fields by name, as stored and shown on cover pages."""
    names = RECIPIENT_FIELDS if isinstance(record, Recipient) else SENDER_FIELDS
    return {name: getattr(record, name) for name in names}


@cache
def status_name(status: int) -> str:
    """``"PENDING|PAUSED"``: the FAXCOMEX names of a job status's bits (remembered: a
    listing asks for a handful of statuses thousands of times)."""
    return JobStatus(status).names


@cache
def extended_status_name(code: int) -> str:
    """The ExtendedStatus member name, or ``""`` for a provider's own code (remembered)."""
    try:
        return ExtendedStatus(code).name
    except ValueError:
        return ""


ExtendedCode = Annotated[int, Field(alias="extended_status_code")]
"""The extended status code, which the wire calls ``extended_status_code``."""
ExtendedText = Annotated[str, Field(alias="extended_status")]
"""The provider's own status text, which the wire calls ``extended_status``."""


@dataclass(frozen=True, kw_only=True)
class JobStatusNames:
    """The names a person reads beside a job's status codes, computed on the way out."""

    status: JobStatus
    extended_status: ExtendedCode

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_name(self) -> str:
        return status_name(self.status)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def extended_status_name(self) -> str:
        return extended_status_name(self.extended_status)


@dataclass(frozen=True, kw_only=True)
class OutgoingJobInfo(JobStatusNames):
    """FAXCOMEX ``IFaxOutgoingJob2``: one recipient's job with its submission's fields."""

    id: FaxId
    submission_id: FaxId
    extended_status_text: ExtendedText
    failure_cause: str | None
    available_operations: JobOperations
    recipient: Recipient
    sender: Sender
    subject: str
    document_name: str
    pages: int
    pages_confirmed: int
    current_page: int
    bit_rate: int
    """The speed the call negotiated (bit/s); 0 outside a call and before training."""
    page_bytes: int
    page_bytes_sent: int
    """How far the call is into ``current_page``: bytes sent (estimated from the line time
    and ``bit_rate``) of the page's size as encoded for the line; 0 between pages."""
    size: int
    retries: int
    attempts: int
    device_id: int | None
    csid: str
    tsid: str
    priority: Priority
    schedule_type: ScheduleType
    receipt_type: ReceiptType
    receipt_address: str
    has_cover_page: bool
    group_broadcast_receipts: bool
    original_scheduled_time: UtcTime
    scheduled_time: UtcTime
    submission_time: UtcTime
    transmission_start: UtcTime | None
    transmission_end: UtcTime | None
    owner: str
    owner_id: Annotated[int | None, Field(exclude=True)] = None
    """The submitting account's id (``owner``: its name then; None: the service's own),
    kept off the wire."""

    @property
    def recipient_number(self) -> str:
        return self.recipient.fax_number

    @property
    def recipient_name(self) -> str:
        return self.recipient.name


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """FAXCOMEX ``ConnectedSubmit2``'s outcome: the submission's id and its jobs' in
    recipient order; ``created`` is False for a submission found again by its idempotency
    key (nothing new queued)."""

    submission_id: int
    job_ids: list[int]
    created: bool


@dataclass(frozen=True, kw_only=True)
class IncomingJobInfo(JobStatusNames):
    """FAXCOMEX ``IFaxIncomingJob``: a fax being received or routed."""

    id: FaxId
    job_type: JobType
    extended_status_text: ExtendedText
    available_operations: JobOperations
    device_id: int
    caller_id: str
    routing_information: str
    csid: str
    tsid: str
    pages: int
    current_page: int
    size: int
    retries: int
    partial: bool
    transmission_start: UtcTime
    transmission_end: UtcTime | None


@dataclass(frozen=True, kw_only=True)
class QueueSwitches:
    """The queue switches (FAXCOMEX ``OutgoingQueue.Blocked/Paused``, ``IncomingQueue.Blocked``)."""

    outgoing_blocked: bool = False
    outgoing_paused: bool = False
    incoming_blocked: bool = False


@dataclass(frozen=True, kw_only=True)
class Activity:
    """FAXCOMEX ``IFaxActivity``: faxes being received, routed, sent, and waiting."""

    incoming_messages: int
    routing_messages: int
    outgoing_messages: int
    queued_messages: int


@dataclass(frozen=True, kw_only=True)
class MessageInfo:
    """An archived fax: FAXCOMEX ``IFaxIncomingMessage2`` or ``IFaxOutgoingMessage2`` (the
    fields of the other direction are empty)."""

    id: FaxId
    direction: Annotated[Direction, Field(exclude=True)]
    submission_id: FaxId | None
    subject: str
    document_name: str
    sender: dict[str, str]
    """The sender's fields as the submission gave them (those left empty left out)."""
    sender_name: str
    sender_fax_number: str
    recipient: Recipient | None
    recipients: str
    was_reassigned: bool
    priority: Priority | None
    receipt_type: ReceiptType | None
    receipt_address: str
    has_cover_page: bool
    read: bool
    pages: int
    size: int
    retries: int
    device_name: str
    csid: str
    tsid: str
    caller_id: str
    routing_information: str
    original_scheduled_time: UtcTime | None
    submission_time: UtcTime | None
    transmission_start: UtcTime | None
    transmission_end: UtcTime | None
    partial: bool
    owner: str | None
    owner_id: Annotated[int | None, Field(exclude=True)] = None
    """The id of the account the fax is its sender's or assigned to, kept off the wire."""


@dataclass(frozen=True, kw_only=True)
class CallAttemptInfo:
    """One call made for an outgoing job, with the T.30 transcript of the session."""

    attempt: int
    device_id: int | None
    started_at: UtcTime
    ended_at: UtcTime | None
    result_code: int | None
    result_name: str | None
    failure_cause: str | None
    pages_confirmed: int
    transcript: list[Any]


@dataclass(frozen=True, kw_only=True)
class AuditEntryInfo:
    """One line of the audit trail: who did what to which object, and when."""

    seq: int
    time: UtcTime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ReceiptInfo:
    """A delivery (``delivered``) or non-delivery receipt: one job's, or a broadcast's
    summary (``job_id`` null); ``status`` pending, done (the SMTP server took it) or failed."""

    id: FaxId
    submission_id: FaxId
    job_id: FaxId | None
    address: str
    delivered: bool
    attach: bool
    status: DeliveryStatus
    attempts: int
    last_error: str
    next_attempt_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime
    sent_at: UtcTime | None


@dataclass(frozen=True, kw_only=True)
class DeliveryInfo:
    """One inbound routing method's work on one received fax."""

    id: FaxId
    message_id: FaxId
    device_id: int
    method: str
    method_name: str
    priority: int
    status: DeliveryStatus
    attempts: int
    last_error: str
    next_attempt_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime
    delivered_at: UtcTime | None


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    """FAXCOMEX ``IFaxDevice``: a line's settings and what it is doing now."""

    __pydantic_config__ = ConfigDict(use_attribute_docstrings=True)

    id: int
    device_name: str
    provider_unique_name: str
    number: str
    description: str
    tsid: str
    csid: str
    rings_before_answer: int
    receive_mode: ReceiveMode
    send_enabled: bool
    used_routing_methods: list[str]
    powered_off: bool
    """No line in service, or the registration it depends on failed (it cannot be called)."""
    sending_now: bool
    receiving_now: bool
    ringing_now: bool
    registration: str = ""
    """The line's registration: registering, registered or failed ("" for a line that
    needs none, like the loopback lines); a SIP channel shows its trunk's."""
    registration_error: str = ""
    """Why the last registration attempt failed ("" once registered)."""
    hardware: str = ""
    """What the line's hardware says of itself: a modem's probe (maker, model, classes,
    modulations); "" for a line without hardware."""
    node_id: str = ""
    """The node whose line it is (every node lists every node's lines)."""
    node_state: NodeState = "running"
    """Whether that node is ``running``, ``stopped`` or ``lapsed`` (its heartbeat is
    overdue: dead or cut off); the lines of a node not running are powered off."""


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    """FAXCOMEX ``IFaxServer`` identity properties."""

    server_name: str
    version: str
    api_version: ServerApiVersion
