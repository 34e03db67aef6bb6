"""The typed bodies of the wire protocol, from which FastAPI generates the OpenAPI document.

Ids of jobs, messages and submissions travel as 16 hex digits; times as ISO 8601 in UTC
(``...Z``); enumerations as their FAXCOMEX numbers, with the member names beside the
status fields a person reads.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path as PathParam
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
)

from openfax.errors import InvalidIdError
from openfax.model import (
    CoverPageType,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    format_id,
    parse_id,
    version_numbers,
)
from openfax.model.records import (
    MAX_ADDRESS_LENGTH,
    MAX_DOCUMENT_NAME_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SUBJECT_LENGTH,
    NO_NUL,
    CoverText,
    FaxId,
    FaxNumber,
    Ident,
    IncomingJobInfo,
    OutgoingJobInfo,
    Recipient,
    Sender,
    UtcTime,
)
from openfax.service.submission import SubmitRequest
from openfax.service.views import Activity, DeviceInfo, QueueSwitches, ServerInfo
from openfax.store import CallAttempt, Message
from openfax.store.queries import MessageCursor, MessagePage, QueueCursor, QueueKey, QueuePage

MAX_INT64 = 2**63 - 1
"""The largest integer the store keeps (SQLite's INTEGER, PostgreSQL's bigint): the most a
sequence number from a client may be."""
MAX_LONG = 2**31 - 1
"""The largest FAXCOMEX ``long``: device ids, country and area codes."""
DeviceIdParam = Annotated[int, PathParam(ge=0, le=MAX_LONG, description="a device's id")]
"""A device id in a path; a number out of range is refused (400), not looked up."""


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


# --- requests -----------------------------------------------------------------------------------


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo does not pass silently."""

    model_config = ConfigDict(extra="forbid")


class DocumentModel(Strict):
    """The ``document`` part of a submission (FAXCOMEX ``FaxDocument``); the bodies are the
    ``bodies`` file parts in order, a local cover page template the ``cover_page_file`` part."""

    recipients: list[Recipient]
    sender: Sender = Sender()
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
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        del fields["cover_page"]
        return SubmitRequest(
            **fields,
            bodies=bodies,
            cover_page=cover_page,
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


class OutgoingJobPageModel(BaseModel):
    """One page of a snapshot of the outgoing queue, oldest first: ``count`` jobs were queued
    when its first page was read; ``next_cursor`` (null at the end) reads on in it."""

    count: int
    jobs: list[OutgoingJobInfo]
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


class IncomingJobPageModel(BaseModel):
    """One page of a snapshot of the incoming queue, as ``OutgoingJobPageModel``."""

    count: int
    jobs: list[IncomingJobInfo]
    next_cursor: str | None


OUTGOING_JOB = TypeAdapter(OutgoingJobInfo)
INCOMING_JOB = TypeAdapter(IncomingJobInfo)


def job_json(adapter: TypeAdapter[Any], job: OutgoingJobInfo | IncomingJobInfo) -> bytes:
    """A job as the wire shows it, serialised by pydantic straight from its record."""
    return adapter.dump_json(job, by_alias=True)


def queue_page_json(
    page: QueuePage[Any], model: type[OutgoingJobPageModel | IncomingJobPageModel]
) -> bytes:
    """A queue page as the JSON of its page ``model``, in one go (its records are not
    validated again)."""
    cursor = page.next_cursor
    body = model.model_construct(
        count=page.count,
        jobs=page.jobs,
        next_cursor=None if cursor is None else encode_queue_cursor(cursor),
    )
    return body.model_dump_json(by_alias=True).encode()


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
    recipient: Recipient | None
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
            recipient = Recipient.of(
                {
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
