"""The typed bodies of the wire protocol, from which FastAPI generates the OpenAPI document.

Ids of jobs, messages and submissions travel as 16 hex digits; times as ISO 8601 in UTC
(``...Z``); enumerations as their FAXCOMEX numbers, with the member names beside the
status fields a person reads.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Path as PathParam
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from openfax.errors import InvalidIdError
from openfax.model import (
    CONTROL_CHARACTERS,
    CoverPageType,
    ExtendedStatus,
    JobStatus,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    format_id,
    parse_id,
    version_numbers,
)
from openfax.service.submission import (
    MAX_ADDRESS_LENGTH,
    MAX_DOCUMENT_NAME_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_SUBJECT_LENGTH,
    Recipient,
    Sender,
    SubmitRequest,
)
from openfax.service.views import (
    Activity,
    DeviceInfo,
    IncomingJobInfo,
    OutgoingJobInfo,
    QueueSwitches,
    ServerInfo,
)
from openfax.store import CallAttempt, Message
from openfax.store.queries import MessageCursor, MessagePage, QueueCursor, QueueKey, QueuePage

ID_PATTERN = "^[0-9a-fA-F]{16}$"
MAX_INT64 = 2**63 - 1
"""The largest integer the store keeps (SQLite's INTEGER, PostgreSQL's bigint): the most a
sequence number from a client may be."""
MAX_LONG = 2**31 - 1
"""The largest FAXCOMEX ``long``: device ids, country and area codes."""
DeviceIdParam = Annotated[int, PathParam(ge=0, le=MAX_LONG, description="a device's id")]
"""A device id in a path; a number out of range is refused (400), not looked up."""


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


def utc_text(value: datetime) -> str:
    """``value`` in ISO 8601, UTC, with a ``Z``."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Ident = Annotated[str, Field(max_length=20, pattern=r"^[\x20-\x7e]*$")]
"""A TSID or CSID: at most 20 printable ASCII characters."""
NO_NUL = r"^[^\x00]*$"
CoverText = Annotated[str, Field(max_length=MAX_FIELD_LENGTH, pattern=NO_NUL)]
"""A recipient's or the sender's cover-page field."""
FaxNumber = Annotated[
    str, Field(max_length=MAX_NUMBER_LENGTH, pattern=f"^[^{CONTROL_CHARACTERS}]*$")
]
"""A number to dial: no control characters. Whether a line could dial it
(:mod:`openfax.model.numbers`) the service checks, for every client alike (NumberError)."""


def _in_utc(value: datetime) -> datetime:
    """``value`` in UTC (a naive one is taken as UTC); ValueError for one with no UTC time
    (its offset would take it before year 1 or past 9999)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range in UTC (years 1 to 9999)") from None


UtcInput = Annotated[datetime, AfterValidator(_in_utc)]
"""A time from a client, in UTC when given without an offset."""


def _utc_or_none(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


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


# --- requests -----------------------------------------------------------------------------------


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo does not pass silently."""

    model_config = ConfigDict(extra="forbid")


class RecipientModel(Strict):
    """FAXCOMEX ``FaxRecipient`` with its cover-page fields."""

    fax_number: FaxNumber
    name: CoverText = ""
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


class SenderModel(Strict):
    """FAXCOMEX ``FaxSender``."""

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
    email: CoverText = ""
    billing_code: CoverText = ""
    tsid: Ident = ""


_RECIPIENT_BLANK = dict.fromkeys(RecipientModel.model_fields, "")
_SENDER_BLANK = dict.fromkeys(SenderModel.model_fields, "")
"""The cover-page fields a job's recipient or sender leaves out, shown empty."""


class DocumentModel(Strict):
    """The ``document`` part of a submission (FAXCOMEX ``FaxDocument``); the bodies are the
    ``bodies`` file parts in order, a local cover page template the ``cover_page_file`` part."""

    recipients: list[RecipientModel]
    sender: SenderModel = SenderModel()
    subject: Annotated[str, Field(max_length=MAX_SUBJECT_LENGTH, pattern=NO_NUL)] = ""
    note: Annotated[str, Field(max_length=MAX_NOTE_LENGTH, pattern=NO_NUL)] = ""
    document_name: Annotated[str, Field(max_length=MAX_DOCUMENT_NAME_LENGTH, pattern=NO_NUL)] = ""
    cover_page_type: CoverPageType = CoverPageType.NONE
    cover_page: Annotated[str, Field(max_length=MAX_FIELD_LENGTH, pattern=NO_NUL)] = ""
    priority: Priority = Priority.NORMAL
    schedule_type: ScheduleType = ScheduleType.NOW
    schedule_time: AwareDatetime | None = None
    receipt_type: ReceiptType = ReceiptType.NONE
    receipt_address: Annotated[str, Field(max_length=MAX_ADDRESS_LENGTH, pattern=NO_NUL)] = ""
    attach_fax_to_receipt: bool = False
    group_broadcast_receipts: bool = False

    def request(
        self,
        bodies: list[str],
        cover_page: str,
        idempotency_key: str | None,
        owner: str,
        owner_id: int,
    ) -> SubmitRequest:
        """The service's request for this document with the uploaded files' paths."""
        fields = self.model_dump(exclude={"recipients", "sender", "cover_page"})
        return SubmitRequest(
            **fields,
            bodies=bodies,
            cover_page=cover_page,
            recipients=[Recipient(**r.model_dump()) for r in self.recipients],
            sender=Sender(**self.sender.model_dump()),
            idempotency_key=idempotency_key,
            owner=owner,
            owner_id=owner_id,
        )


class OutgoingQueuePatch(Strict):
    blocked: bool | None = None
    paused: bool | None = None


class IncomingQueuePatch(Strict):
    blocked: bool | None = None


class DevicePatch(Strict):
    """The FAXCOMEX ``IFaxDevice`` properties a client may change (``Save()``); a property
    left out keeps its value, and none can be set to null."""

    description: Annotated[str, Field(max_length=1000, pattern=NO_NUL)] | None = None
    tsid: Ident | None = None
    csid: Ident | None = None
    rings_before_answer: Annotated[int, Field(ge=0, le=99)] | None = None
    receive_mode: ReceiveMode | None = None
    send_enabled: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


# --- responses ----------------------------------------------------------------------------------


class ServerModel(BaseModel):
    """FAXCOMEX ``IFaxServer``: name, version (Major.Minor.MajorBuild.MinorBuild), API level."""

    server_name: str
    version: str
    major_version: int
    minor_version: int
    major_build: int
    minor_build: int
    debug: bool
    api_version: int

    @classmethod
    def of(cls, info: ServerInfo) -> ServerModel:
        major, minor, build, revision = version_numbers(info.version)
        return cls(
            server_name=info.server_name,
            version=info.version,
            major_version=major,
            minor_version=minor,
            major_build=build,
            minor_build=revision,
            debug=False,
            api_version=int(info.api_version),
        )


class OutgoingQueueModel(BaseModel):
    blocked: bool
    paused: bool

    @classmethod
    def of(cls, switches: QueueSwitches) -> OutgoingQueueModel:
        return cls(blocked=switches.outgoing_blocked, paused=switches.outgoing_paused)


class IncomingQueueModel(BaseModel):
    blocked: bool

    @classmethod
    def of(cls, switches: QueueSwitches) -> IncomingQueueModel:
        return cls(blocked=switches.incoming_blocked)


class SubmissionModel(BaseModel):
    """What ``ConnectedSubmit`` returns: the submission and one job per recipient, in order."""

    submission_id: FaxId
    job_ids: list[FaxId]


class OutgoingJobModel(BaseModel):
    """FAXCOMEX ``IFaxOutgoingJob2``."""

    id: FaxId
    submission_id: FaxId
    status: int
    status_name: str
    extended_status_code: int
    extended_status_name: str
    extended_status: str
    failure_cause: str | None
    available_operations: int
    recipient: RecipientModel
    sender: SenderModel
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
    priority: int
    schedule_type: int
    receipt_type: int
    receipt_address: str
    has_cover_page: bool
    group_broadcast_receipts: bool
    original_scheduled_time: UtcTime
    scheduled_time: UtcTime
    submission_time: UtcTime
    transmission_start: UtcTime | None
    transmission_end: UtcTime | None
    owner: str


def outgoing_job_json(job: OutgoingJobInfo) -> dict[str, Any]:
    """An outgoing job as ``OutgoingJobModel`` shows it, built straight as JSON values: a
    listing of thousands skips pydantic's validation and serialization (the API tests hold
    every response to the model)."""
    return {
        "id": format_id(job.id),
        "submission_id": format_id(job.submission_id),
        "status": int(job.status),
        "status_name": status_name(job.status),
        "extended_status_code": job.extended_status,
        "extended_status_name": extended_status_name(job.extended_status),
        "extended_status": job.extended_status_text,
        "failure_cause": job.failure_cause,
        "available_operations": int(job.available_operations),
        "recipient": {
            **_RECIPIENT_BLANK,
            **job.recipient,
            "fax_number": job.recipient_number,
            "name": job.recipient_name,
        },
        "sender": {**_SENDER_BLANK, **job.sender},
        "subject": job.subject,
        "document_name": job.document_name,
        "pages": job.pages,
        "pages_confirmed": job.pages_confirmed,
        "current_page": job.current_page,
        "bit_rate": job.bit_rate,
        "page_bytes": job.page_bytes,
        "page_bytes_sent": job.page_bytes_sent,
        "size": job.size,
        "retries": job.retries,
        "attempts": job.attempts,
        "device_id": job.device_id,
        "csid": job.csid,
        "tsid": job.tsid,
        "priority": int(job.priority),
        "schedule_type": int(job.schedule_type),
        "receipt_type": int(job.receipt_type),
        "receipt_address": job.receipt_address,
        "has_cover_page": job.has_cover_page,
        "group_broadcast_receipts": job.group_broadcast_receipts,
        "original_scheduled_time": utc_text(job.original_scheduled_time),
        "scheduled_time": utc_text(job.scheduled_time),
        "submission_time": utc_text(job.submission_time),
        "transmission_start": _utc_or_none(job.transmission_start),
        "transmission_end": _utc_or_none(job.transmission_end),
        "owner": job.owner,
    }


class OutgoingJobPageModel(BaseModel):
    """One page of a snapshot of the outgoing queue, oldest first: ``count`` jobs were queued
    when its first page was read; ``next_cursor`` (null at the end) reads on in it."""

    count: int
    jobs: list[OutgoingJobModel]
    next_cursor: str | None


class CallAttemptModel(BaseModel):
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

    @classmethod
    def of(cls, attempt: CallAttempt) -> CallAttemptModel:
        fields = {f: getattr(attempt, f) for f in cls.model_fields}
        return cls(**fields)


class IncomingJobModel(BaseModel):
    """FAXCOMEX ``IFaxIncomingJob``."""

    id: FaxId
    job_type: int
    status: int
    status_name: str
    extended_status_code: int
    extended_status_name: str
    extended_status: str
    available_operations: int
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


def incoming_job_json(job: IncomingJobInfo) -> dict[str, Any]:
    """An incoming job as ``IncomingJobModel`` shows it (see ``outgoing_job_json``)."""
    return {
        "id": format_id(job.id),
        "job_type": int(job.job_type),
        "status": int(job.status),
        "status_name": status_name(job.status),
        "extended_status_code": job.extended_status,
        "extended_status_name": extended_status_name(job.extended_status),
        "extended_status": job.extended_status_text,
        "available_operations": int(job.available_operations),
        "device_id": job.device_id,
        "caller_id": job.caller_id,
        "routing_information": job.routing_information,
        "csid": job.csid,
        "tsid": job.tsid,
        "pages": job.pages,
        "current_page": job.current_page,
        "size": job.size,
        "retries": job.retries,
        "partial": job.partial,
        "transmission_start": utc_text(job.transmission_start),
        "transmission_end": _utc_or_none(job.transmission_end),
    }


class IncomingJobPageModel(BaseModel):
    """One page of a snapshot of the incoming queue, as ``OutgoingJobPageModel``."""

    count: int
    jobs: list[IncomingJobModel]
    next_cursor: str | None


def queue_page_json(page: QueuePage[Any], job_json: Callable[[Any], dict[str, Any]]) -> bytes:
    """A queue page as the JSON of its page model, encoded in one go."""
    cursor = page.next_cursor
    body = {
        "count": page.count,
        "jobs": [job_json(job) for job in page.jobs],
        "next_cursor": None if cursor is None else encode_queue_cursor(cursor),
    }
    return json.dumps(body, separators=(",", ":")).encode()


class MessageModel(BaseModel):
    """An archived fax: FAXCOMEX ``IFaxIncomingMessage2`` or ``IFaxOutgoingMessage2`` (the
    fields of the other direction are empty)."""

    id: FaxId
    submission_id: FaxId | None
    subject: str
    document_name: str
    sender: dict[str, str]
    sender_name: str
    sender_fax_number: str
    recipient: RecipientModel | None
    recipients: str
    was_reassigned: bool
    priority: int | None
    receipt_type: int | None
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

    @classmethod
    def of(cls, message: Message) -> MessageModel:
        recipient = None
        if message.recipient_number:
            # As stored: the limits of a new submission's fields are not checked again.
            recipient = RecipientModel.model_construct(
                **{
                    **message.recipient,
                    "fax_number": message.recipient_number,
                    "name": message.recipient_name,
                }
            )
        return cls(
            id=message.id,
            submission_id=message.submission_id,
            subject=message.subject,
            document_name=message.document_name,
            sender=message.sender,
            sender_name=message.sender_name,
            sender_fax_number=message.sender_fax_number,
            recipient=recipient,
            recipients=message.recipients,
            was_reassigned=message.was_reassigned,
            priority=None if message.priority is None else int(message.priority),
            receipt_type=None if message.receipt_type is None else int(message.receipt_type),
            receipt_address=message.receipt_address,
            has_cover_page=message.has_cover_page,
            read=message.read,
            pages=message.pages,
            size=message.size,
            retries=message.retries,
            device_name=message.device_name,
            csid=message.csid,
            tsid=message.tsid,
            caller_id=message.caller_id,
            routing_information=message.routing_information,
            original_scheduled_time=message.original_scheduled_at,
            submission_time=message.submitted_at,
            transmission_start=message.transmission_start,
            transmission_end=message.transmission_end,
            partial=message.partial,
            owner=message.owner,
        )


class MessagePatch(Strict):
    """FAXCOMEX ``Message.Save()``: the read flag; on a received fax also what a routing
    assistant fills in (far2MANAGE_RECEIVE_FOLDER). A sent fax's other fields are fixed."""

    read: bool | None = None
    subject: Annotated[str, Field(max_length=MAX_SUBJECT_LENGTH, pattern=NO_NUL)] | None = None
    sender_name: CoverText | None = None
    sender_fax_number: FaxNumber | None = None
    has_cover_page: bool | None = None


class ArchiveModel(BaseModel):
    """An archive (FAXCOMEX ``SizeLow/High``): the bytes of the faxes it shows the caller."""

    size: int


class MessagePageModel(BaseModel):
    """One page of an archive, oldest first; ``next_cursor`` is null at its end."""

    messages: list[MessageModel]
    next_cursor: str | None

    @classmethod
    def of(cls, page: MessagePage) -> MessagePageModel:
        cursor = page.next_cursor
        return cls(
            messages=[MessageModel.of(m) for m in page.messages],
            next_cursor=None if cursor is None else encode_cursor(cursor),
        )


class DeviceModel(BaseModel):
    """FAXCOMEX ``IFaxDevice``."""

    id: int
    device_name: str
    provider_unique_name: str
    number: str
    description: str
    tsid: str
    csid: str
    rings_before_answer: int
    receive_mode: int
    send_enabled: bool
    used_routing_methods: list[str]
    powered_off: bool
    sending_now: bool
    receiving_now: bool
    ringing_now: bool
    registration: str = Field(
        "",
        description='registering, registered or failed; "" for a line that needs none',
    )
    registration_error: str = Field(
        "", description='why the last registration attempt failed; "" once registered'
    )

    @classmethod
    def of(cls, device: DeviceInfo) -> DeviceModel:
        return cls(**{f: getattr(device, f) for f in cls.model_fields})


class AnswerModel(BaseModel):
    """Whether ``AnswerCall`` was accepted (a call was ringing); nothing about its outcome."""

    accepted: bool


class ActivityModel(BaseModel):
    """FAXCOMEX ``IFaxActivity``."""

    incoming_messages: int
    routing_messages: int
    outgoing_messages: int
    queued_messages: int

    @classmethod
    def of(cls, activity: Activity) -> ActivityModel:
        return cls(**{f: getattr(activity, f) for f in cls.model_fields})


class ErrorBody(BaseModel):
    class_: str = Field(alias="class")
    hresult: int
    message: str
    details: dict[str, Any] = {}


class ErrorModel(BaseModel):
    """The one shape of every error: the ``openfax.errors`` class, its HRESULT, a message, and
    the exception's attributes (``index`` of a failing body, ...)."""

    error: ErrorBody


# --- archive cursors ----------------------------------------------------------------------------


def encode_cursor(cursor: MessageCursor) -> str:
    """An opaque archive cursor: where a listing stopped, base64url of ``time~id``."""
    return _encode([_key_text(cursor.archived_at, cursor.id)])


def decode_cursor(text: str) -> MessageCursor:
    """The cursor ``encode_cursor`` made; InvalidIdError for anything else."""
    (after,) = _decode(text, keys=1, counted=False)
    return MessageCursor(archived_at=after.at, id=after.id)


def encode_queue_cursor(cursor: QueueCursor) -> str:
    """An opaque queue cursor: base64url of ``time~id~time~id~count`` (the last job
    returned, the snapshot's last job, its count)."""
    return _encode(
        [
            _key_text(cursor.after.at, cursor.after.id),
            _key_text(cursor.until.at, cursor.until.id),
            str(cursor.count),
        ]
    )


def decode_queue_cursor(text: str) -> QueueCursor:
    """The cursor ``encode_queue_cursor`` made; InvalidIdError for anything else."""
    after, until, count = _decode(text, keys=2, counted=True)
    return QueueCursor(after, until, count)


def _key_text(at: datetime, row_id: int) -> str:
    return f"{at.astimezone(UTC).isoformat()}~{format_id(row_id)}"


def _encode(parts: list[str]) -> str:
    return base64.urlsafe_b64encode("~".join(parts).encode()).decode().rstrip("=")


def _decode(text: str, *, keys: int, counted: bool) -> list[Any]:
    """The ``keys`` (time, id) pairs of a cursor as QueueKeys, then its count if
    ``counted``; InvalidIdError for a cursor of another shape."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split("~")
        if len(raw) != 2 * keys + counted:
            raise ValueError(text)
        found: list[Any] = []
        for index in range(keys):
            at = datetime.fromisoformat(raw[2 * index])
            if at.tzinfo is None:
                raise ValueError(text)
            found.append(QueueKey(at.astimezone(UTC), parse_id(raw[2 * index + 1])))
        if counted:
            count = int(raw[-1])
            if not 0 <= count <= MAX_INT64:
                raise ValueError(text)
            found.append(count)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidIdError(text) from None
    return found
