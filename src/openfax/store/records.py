"""The rows of the store as typed, immutable records.

Each record's fields are exactly its table's columns (a test checks it), so a row converts to
a record with ``Record(**row)`` and back with ``values(record)``. Fields the caller usually
leaves alone have defaults; timestamps never do, because only the service's clock says what
time it is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openfax.model import (
    CoverPageType,
    JobStatus,
    JobType,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    new_id,
)
from openfax.model.enums import DeliveryStatus as DeliveryStatus  # the store names them
from openfax.model.enums import Direction as Direction  # here too

JSONObject = dict[str, Any]


def values(record: Any) -> dict[str, Any]:
    """The column values of a record, for an INSERT."""
    return {name: getattr(record, name) for name in field_names(type(record))}


def field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once (``dataclasses.fields`` is slow enough to
    show in a broadcast's thousands of rows)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """One ``FaxDocument`` as submitted: what every recipient's job shares."""

    id: int = field(default_factory=new_id)
    idempotency_key: str | None = None
    """Unique among the submissions of one owner (``owner_id``): another account's key is
    another key."""
    owner: str
    """The name of the account that submitted it, as it was then (what is shown)."""
    owner_id: int | None = None
    """The id of that account (None: the service's own, or an account removed before ids
    were kept): who may see and manage it. A later account of the same name is another."""
    document_name: str = ""
    subject: str = ""
    note: str = ""
    sender: JSONObject = field(default_factory=dict)
    cover_page_type: CoverPageType = CoverPageType.NONE
    cover_page: str = ""
    receipt_type: ReceiptType = ReceiptType.NONE
    receipt_address: str = ""
    attach_fax_to_receipt: bool = False
    group_broadcast_receipts: bool = False
    priority: Priority = Priority.LOW
    schedule_type: ScheduleType = ScheduleType.NOW
    schedule_time: datetime | None = None
    body_path: str | None = None
    """The body pages, rendered once into the spool and sent by every job of the submission
    (None without bodies, and once the last job left the queue)."""
    page_count: int = 0
    submitted_at: datetime
    job_ids: list[int] = field(default_factory=list)
    """The submission's jobs in recipient order (``insert_submission`` fills them in)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingJob:
    """One recipient of a submission, from queueing until it leaves the outgoing queue."""

    id: int = field(default_factory=new_id)
    submission_id: int
    recipient_index: int
    recipient_number: str
    recipient_name: str = ""
    recipient: JSONObject = field(default_factory=dict)
    document_path: str | None = None
    """The pages as composed for the last call, header lines drawn (None before the first
    call; the archived message keeps it). Jobs queued before migration 0003 have their whole
    document here and neither ``cover_path`` nor a shared body."""
    status: JobStatus = JobStatus.PENDING
    extended_status: int = 0
    extended_status_text: str = ""
    failure_cause: str | None = None
    retryable: bool = False
    total_pages: int = 0
    pages_confirmed: int = 0
    current_page: int = 0
    attempts: int = 0
    retries: int = 0
    device_id: int | None = None
    csid: str = ""
    tsid: str = ""
    priority: Priority = Priority.LOW
    original_scheduled_at: datetime
    scheduled_at: datetime
    kill_at: datetime | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    size: int = 0
    node_id: str | None = None
    lease_until: datetime | None = None
    version: int = 1
    header_at_send: bool = False
    """Draw the header line (TSID, date and time, page x of y) on each page when the pages
    are composed for a call: branding was on when the fax was submitted."""
    cover_path: str | None = None
    """This recipient's cover page in the spool, when one was asked for."""
    interrupted_calls: int = 0
    """The job's last calls in a row that were cut off by the death of their node (killed,
    out of memory, a lost lease); 0 again once a call ends. Two make the job set aside."""
    bit_rate: int = 0
    """The speed its call negotiated (bit/s); 0 outside a call and before training."""
    page_bytes: int = 0
    page_bytes_sent: int = 0
    """How far the call is into its current page: bytes sent of the page's encoded size
    (:class:`~openfax.engine.PageProgress`, written a few times a second at most); 0 outside
    a call, and between pages."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAttempt:
    """One call made for an outgoing job, with what the line and the T.30 session said; kept
    with the archived message (same id) when the job leaves the queue."""

    job_id: int
    attempt: int
    device_id: int | None = None
    started_at: datetime
    ended_at: datetime | None = None
    result_code: int | None = None
    result_name: str | None = None
    failure_cause: str | None = None
    pages_confirmed: int = 0
    transcript: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingJob:
    """A fax being received on a line, then routed."""

    id: int = field(default_factory=new_id)
    device_id: int
    node_id: str | None = None
    job_type: JobType = JobType.RECEIVE
    status: JobStatus = JobStatus.INPROGRESS
    extended_status: int = 0
    extended_status_text: str = ""
    failure_cause: str | None = None
    caller_id: str = ""
    routing_information: str = ""
    csid: str = ""
    tsid: str = ""
    pages: int = 0
    current_page: int = 0
    size: int = 0
    retries: int = 0
    started_at: datetime
    ended_at: datetime | None = None
    partial: bool = False
    receive_path: str | None = None
    routing_state: JSONObject = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """An archived fax, incoming or outgoing; its id is the id its job had."""

    id: int
    direction: Direction
    owner: str | None = None
    """The name of the account the fax is its sender's or assigned to (as it was then)."""
    owner_id: int | None = None
    """That account's id: who sees it as its own (None: no account)."""
    submission_id: int | None = None
    subject: str = ""
    document_name: str = ""
    sender: JSONObject = field(default_factory=dict)
    sender_name: str = ""
    sender_fax_number: str = ""
    recipient_number: str = ""
    recipient_name: str = ""
    recipient: JSONObject = field(default_factory=dict)
    recipients: str = ""
    was_reassigned: bool = False
    priority: Priority | None = None
    receipt_type: ReceiptType | None = None
    receipt_address: str = ""
    has_cover_page: bool = False
    read: bool = False
    pages: int = 0
    size: int = 0
    retries: int = 0
    device_name: str = ""
    csid: str = ""
    tsid: str = ""
    caller_id: str = ""
    routing_information: str = ""
    original_scheduled_at: datetime | None = None
    submitted_at: datetime | None = None
    transmission_start: datetime | None = None
    transmission_end: datetime | None = None
    partial: bool = False
    tiff_path: str | None = None
    archived_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageText:
    """What OCR read of a received fax: its text (searched), its words with their boxes by
    page (the PDF's text layer, as ``openfax.documents.ocr`` writes them), or why it failed
    (``error``, the text then empty)."""

    message_id: int
    text: str
    pages: list[Any]
    error: str
    read_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A line offered by a device provider, with its configuration."""

    id: int
    provider: str
    name: str
    node_id: str | None = None
    number: str = ""
    description: str = ""
    tsid: str = ""
    csid: str = ""
    rings_before_answer: int = 1
    receive_mode: ReceiveMode = ReceiveMode.NO_ANSWER
    send_enabled: bool = True
    routing_methods: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None
    """What the line last reported of itself (a ``DeviceStatusChanged``'s fields), written by
    its node; None: idle since its node started."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """A node of the cluster: when it started, and when it last said it was alive (None
    once it stopped)."""

    node_id: str
    version: str
    started_at: datetime
    heartbeat_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One entry of the event log, numbered in commit order."""

    seq: int
    type: str
    payload: JSONObject
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One line of the audit trail: who (``actor``) did what (``action``) to which object,
    and when; ``details`` holds ids and names, never document content."""

    seq: int = 0
    """Assigned by the database when the entry is written."""
    created_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingDelivery:
    """One inbound routing method's work on one received fax (``message_id``)."""

    id: int = field(default_factory=new_id)
    message_id: int
    device_id: int
    method: str
    """The method's GUID, ``{xxxxxxxx-...}`` in lower case."""
    priority: int
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundGroup:
    """An outbound routing group: a name and its device ids in the order they are tried."""

    name: str
    device_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRule:
    """An outbound routing rule: a country and area code (0: any) to a group or a device,
    and the T.38 policy of its calls (None: each trunk's own)."""

    country_code: int
    area_code: int
    group_name: str | None = None
    device_id: int | None = None
    t38_policy: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A delivery (``delivered``) or non-delivery receipt to e-mail to ``address``: one job's
    (``job_id``), or a broadcast's summary (``job_id`` None). ``report`` is what it tells,
    taken when the job or the broadcast reached its final state; ``status`` DONE once the SMTP
    server took it."""

    id: int = field(default_factory=new_id)
    submission_id: int
    job_id: int | None = None
    address: str
    delivered: bool
    attach: bool = False
    report: JSONObject = field(default_factory=dict)
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None
    """When it is due (queued: at once); None once sent or failed for good."""
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A fax account: who submits, owns and sees faxes; its password hash and granted
    rights (None: the defaults). ``id`` never changes and is never reused: the faxes an
    account owns refer to it, so a later account of a removed one's name starts empty."""

    name: str
    id: int = field(default_factory=new_id)
    created_at: datetime
    password_hash: str | None = None
    rights: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountToken:
    """One API token of an account, known by the SHA-256 hash of its text."""

    id: int = field(default_factory=new_id)
    account_name: str
    token_hash: str
    label: str = ""
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupGrant:
    """Rights granted to every account whose Unix user is in the group."""

    group_name: str
    rights: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """A contact of an address book (``owner_id``: its account's id, 0 for the shared book)."""

    id: int = field(default_factory=new_id)
    owner_id: int
    name: str
    company: str = ""
    fax_number: str
    notes: str = ""
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactGroup:
    """A group of contacts of one address book."""

    id: int = field(default_factory=new_id)
    owner_id: int
    name: str
