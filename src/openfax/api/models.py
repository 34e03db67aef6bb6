"""The typed bodies of the wire protocol, from which FastAPI generates the OpenAPI document.

Ids of jobs, messages and submissions travel as 16 hex digits; times as ISO 8601 in UTC
(``...Z``); enumerations as their FAXCOMEX numbers, with the member names beside the
status fields a person reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
)

from openfax.model import (
    CoverPageType,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    version_numbers,
)
from openfax.model.contacts import MAX_GROUP_NAME_LENGTH
from openfax.model.paging import MessagePage, QueuePage, encode_cursor, encode_queue_cursor
from openfax.model.records import (
    MAX_ADDRESS_LENGTH,
    MAX_DOCUMENT_NAME_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SUBJECT_LENGTH,
    NO_NUL,
    CallAttemptInfo,
    CoverText,
    FaxId,
    FaxNumber,
    Ident,
    IncomingJobInfo,
    MessageInfo,
    OutgoingJobInfo,
    QueueSwitches,
    Recipient,
    Sender,
    ServerInfo,
)
from openfax.service.submission import SubmitRequest

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
    recipient_groups: Annotated[
        list[Annotated[str, Field(max_length=MAX_GROUP_NAME_LENGTH)]], Field(max_length=100)
    ] = []
    """Address book groups (the caller's book first, then the shared one): each member is
    a recipient too, once."""
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
        del fields["cover_page"], fields["recipient_groups"]
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


class RecordModel(BaseModel):
    """A response that shows one of the service's records: each field is the record's
    attribute of the same name, but for those the model works out itself (given to
    :meth:`read`), so that a field the record gains is not copied out by hand."""

    @classmethod
    def read(cls, record: object, **derived: Any) -> Self:
        """The model of ``record``, with ``derived`` for the fields it does not hold as is."""
        names = cls.model_fields.keys() - derived.keys()
        return cls(**{name: getattr(record, name) for name in names}, **derived)


class ServerModel(RecordModel):
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
        return cls.read(
            info,
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


TABLE_FORM_SCHEMA = {
    "type": "string",
    "description": "form=table: JSON Lines. The first line is {count, columns, submissions, "
    "next_cursor}: columns names each row's values as OutgoingJobInfo names its fields "
    "(recipient holds its fields that are not empty), submissions the fields every job of a "
    "submission shows (sender, subject, owner, ...) by the submission's id. Then one line a "
    "job: an array of its values. status_name and extended_status_name are left to the reader.",
}
"""The OpenAPI description of the table form of ``GET /v1/outgoing-jobs``."""


class IncomingJobPageModel(BaseModel):
    """One page of a snapshot of the incoming queue, as ``OutgoingJobPageModel``."""

    count: int
    jobs: list[IncomingJobInfo]
    next_cursor: str | None


OUTGOING_JOB = TypeAdapter(OutgoingJobInfo)
INCOMING_JOB = TypeAdapter(IncomingJobInfo)
MESSAGE = TypeAdapter(MessageInfo)
CALL_ATTEMPTS = TypeAdapter(list[CallAttemptInfo])


def record_response(adapter: TypeAdapter[Any], record: object) -> Response:
    """A record of :mod:`openfax.model.records` as the wire shows it, serialised by pydantic
    straight from the record (the route's ``response_model`` documents the shape)."""
    return json_response(adapter.dump_json(record, by_alias=True))


def json_response(body: bytes) -> Response:
    """A JSON body made by the route itself."""
    return Response(body, media_type="application/json")


def message_page_json(page: MessagePage[MessageInfo]) -> bytes:
    """An archive's page as the JSON of ``MessagePageModel``."""
    cursor = page.next_cursor
    body = MessagePageModel.model_construct(
        messages=page.messages, next_cursor=None if cursor is None else encode_cursor(cursor)
    )
    return body.model_dump_json(by_alias=True).encode()


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


class MessageTextModel(BaseModel):
    """What OCR read of a received fax (``docs/design/ocr.md``): its text (lines, pages apart
    by a form feed), or why it could not be read; all empty and ``read_at`` null while it
    has not been read."""

    text: str
    error: str
    read_at: datetime | None


class MessagePageModel(BaseModel):
    """One page of an archive, oldest first; ``next_cursor`` is null at its end."""

    messages: list[MessageInfo]
    next_cursor: str | None


class AnswerModel(BaseModel):
    """Whether ``AnswerCall`` was accepted (a call was ringing); nothing about its outcome."""

    accepted: bool


class ErrorBody(BaseModel):
    class_: str = Field(alias="class")
    hresult: int
    message: str
    details: dict[str, Any] = {}


class ErrorModel(BaseModel):
    """The one shape of every error: the ``openfax.errors`` class, its HRESULT, a message, and
    the exception's attributes (``index`` of a failing body, ...)."""

    error: ErrorBody
