"""The tables of the fax store (SQLAlchemy Core).

Migrations under ``migrations/versions`` create exactly these tables; a test compares the
migrated database with this metadata on both backends, so the two cannot drift apart.
Ids of submissions, jobs and messages are random 63-bit numbers (``openfax.model.ids``);
device ids and event sequence numbers are assigned by the database.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from openfax.model import (
    CoverPageType,
    JobStatus,
    JobType,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
)
from openfax.store.records import DeliveryStatus, Direction
from openfax.store.types import EnumInt, EnumText, JSONDocument, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")
"""A database-assigned key: BIGSERIAL on PostgreSQL, the rowid on SQLite."""

CLAIMABLE_STATUSES = (
    JobStatus.PENDING,
    JobStatus.RETRYING,
    JobStatus.PENDING | JobStatus.NOLINE,
    JobStatus.RETRYING | JobStatus.NOLINE,
)
"""Statuses a job is taken from: waiting and not paused (NOLINE only says no line was free)."""

IS_CLAIMABLE = text(f"status IN ({', '.join(str(int(s)) for s in CLAIMABLE_STATUSES)})")
"""The claim's filter, in literal SQL so that SQLite can match it with the partial index."""

submissions = Table(
    "submissions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("idempotency_key", String(200)),
    Column("owner", String(256), nullable=False),
    Column("owner_id", BigInteger),
    Column("document_name", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("sender", JSONDocument, nullable=False),
    Column("cover_page_type", EnumInt(CoverPageType), nullable=False),
    Column("cover_page", Text, nullable=False),
    Column("receipt_type", EnumInt(ReceiptType), nullable=False),
    Column("receipt_address", Text, nullable=False),
    Column("attach_fax_to_receipt", Boolean, nullable=False),
    Column("group_broadcast_receipts", Boolean, nullable=False),
    Column("priority", EnumInt(Priority), nullable=False),
    Column("schedule_type", EnumInt(ScheduleType), nullable=False),
    Column("schedule_time", UTCDateTime),
    Column("body_path", Text),
    Column("page_count", Integer, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("job_ids", JSONDocument, nullable=False, server_default=text("'[]'")),
    UniqueConstraint("owner_id", "idempotency_key"),
    Index(None, "owner_id"),
)
"""A submission outlives its jobs (an archived message names it; a repeated idempotency key
finds its ``job_ids``, in recipient order, after the jobs left the queue). Its owner is an
account's id (``owner`` is only the name shown); an idempotency key is its owner's."""

outgoing_jobs = Table(
    "outgoing_jobs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "submission_id",
        BigInteger,
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("recipient_index", Integer, nullable=False),
    Column("recipient_number", Text, nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("recipient", JSONDocument, nullable=False),
    Column("document_path", Text),
    Column("status", EnumInt(JobStatus), nullable=False),
    Column("extended_status", Integer, nullable=False),
    Column("extended_status_text", Text, nullable=False),
    Column("failure_cause", Text),
    Column("retryable", Boolean, nullable=False),
    Column("total_pages", Integer, nullable=False),
    Column("pages_confirmed", Integer, nullable=False),
    Column("current_page", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("device_id", Integer),
    Column("csid", Text, nullable=False),
    Column("tsid", Text, nullable=False),
    Column("priority", EnumInt(Priority), nullable=False),
    Column("original_scheduled_at", UTCDateTime, nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("kill_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("size", BigInteger, nullable=False),
    Column("node_id", String(200)),
    Column("lease_until", UTCDateTime),
    Column("version", Integer, nullable=False),
    Column("header_at_send", Boolean, nullable=False, server_default=false()),
    Column("cover_path", Text),
    Column("interrupted_calls", Integer, nullable=False, server_default="0"),
    Column("bit_rate", Integer, nullable=False, server_default="0"),
    Column("page_bytes", Integer, nullable=False, server_default="0"),
    Column("page_bytes_sent", Integer, nullable=False, server_default="0"),
    Index(None, "status", "lease_until"),
    Index(None, "created_at", "id"),
)

# The claim walks this index in its ORDER BY and stops at the first ready row.
Index(
    "ix_outgoing_jobs_claim",
    outgoing_jobs.c.priority.desc(),
    outgoing_jobs.c.scheduled_at,
    outgoing_jobs.c.id,
    postgresql_where=IS_CLAIMABLE,
    sqlite_where=IS_CLAIMABLE,
)

# The next scheduled time of the queue: the first entry of this index.
Index(
    "ix_outgoing_jobs_due",
    outgoing_jobs.c.scheduled_at,
    postgresql_where=IS_CLAIMABLE,
    sqlite_where=IS_CLAIMABLE,
)

call_attempts = Table(
    "call_attempts",
    metadata,
    # No foreign key: the calls of a sent fax stay with its archived message (same id).
    Column("job_id", BigInteger, primary_key=True, autoincrement=False),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("device_id", Integer),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("result_code", Integer),
    Column("result_name", Text),
    Column("failure_cause", Text),
    Column("pages_confirmed", Integer, nullable=False),
    Column("transcript", JSONDocument, nullable=False),
)

incoming_jobs = Table(
    "incoming_jobs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", Integer, nullable=False),
    Column("node_id", String(200)),
    Column("job_type", EnumInt(JobType), nullable=False),
    Column("status", EnumInt(JobStatus), nullable=False),
    Column("extended_status", Integer, nullable=False),
    Column("extended_status_text", Text, nullable=False),
    Column("failure_cause", Text),
    Column("caller_id", Text, nullable=False),
    Column("routing_information", Text, nullable=False),
    Column("csid", Text, nullable=False),
    Column("tsid", Text, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("current_page", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("partial", Boolean, nullable=False),
    Column("receive_path", Text),
    Column("routing_state", JSONDocument, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "started_at", "id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("direction", EnumText(Direction), nullable=False),
    Column("owner", String(256)),
    Column("owner_id", BigInteger),
    Column("submission_id", BigInteger),
    Column("subject", Text, nullable=False),
    Column("document_name", Text, nullable=False),
    Column("sender", JSONDocument, nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("sender_fax_number", Text, nullable=False),
    Column("recipient_number", Text, nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("recipient", JSONDocument, nullable=False),
    Column("recipients", Text, nullable=False),
    Column("was_reassigned", Boolean, nullable=False),
    Column("priority", EnumInt(Priority)),
    Column("receipt_type", EnumInt(ReceiptType)),
    Column("receipt_address", Text, nullable=False),
    Column("has_cover_page", Boolean, nullable=False),
    Column("read", Boolean, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("device_name", Text, nullable=False),
    Column("csid", Text, nullable=False),
    Column("tsid", Text, nullable=False),
    Column("caller_id", Text, nullable=False),
    Column("routing_information", Text, nullable=False),
    Column("original_scheduled_at", UTCDateTime),
    Column("submitted_at", UTCDateTime),
    Column("transmission_start", UTCDateTime),
    Column("transmission_end", UTCDateTime),
    Column("partial", Boolean, nullable=False),
    Column("tiff_path", Text),
    Column("archived_at", UTCDateTime, nullable=False),
    CheckConstraint("direction IN ('in', 'out')", name="direction"),
    # Keyset pagination of one archive, all messages or one account's.
    Index(None, "direction", "archived_at", "id"),
    Index(None, "direction", "owner_id", "archived_at", "id"),
)

message_texts = Table(
    "message_texts",
    metadata,
    Column(
        "message_id",
        BigInteger,
        ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("text", Text, nullable=False),
    # The words with their boxes, page by page: the PDF's text layer is made from them.
    Column("pages", JSONDocument, nullable=False),
    Column("error", Text, nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("node_id", String(200)),
    Column("number", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("tsid", Text, nullable=False),
    Column("csid", Text, nullable=False),
    Column("rings_before_answer", Integer, nullable=False),
    Column("receive_mode", EnumInt(ReceiveMode), nullable=False),
    Column("send_enabled", Boolean, nullable=False),
    Column("routing_methods", JSONDocument, nullable=False),
    Column("status", JSONDocument),
    UniqueConstraint("provider", "name"),
)

nodes = Table(
    "nodes",
    metadata,
    Column("node_id", String(200), primary_key=True),
    Column("version", String(100), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", JSONDocument, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", SequenceNumber, primary_key=True, autoincrement=True),
    Column("type", String(100), nullable=False),
    Column("payload", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", SequenceNumber, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("details", JSONDocument, nullable=False),
    Index(None, "created_at"),
)
"""The audit trail (migration 0006): append-only, triggers refuse UPDATE and DELETE."""

routing_deliveries = Table(
    "routing_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "message_id",
        BigInteger,
        ForeignKey("messages.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("device_id", Integer, nullable=False),
    Column("method", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", EnumText(DeliveryStatus), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
    UniqueConstraint("message_id", "method"),
    Index(None, "status", "updated_at"),
)
"""One inbound routing method's work on one received fax: its attempts, its next retry and
its last error (its id is the event id a webhook carries, the same on every attempt). Rows
go with their archived message."""

outbound_groups = Table(
    "outbound_groups",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("device_ids", JSONDocument, nullable=False),
)
"""An outbound routing group: its devices in the order a job tries them. ``<All Devices>``
is not stored; the service makes it from the devices."""

outbound_rules = Table(
    "outbound_rules",
    metadata,
    Column("country_code", Integer, primary_key=True, autoincrement=False),
    Column("area_code", Integer, primary_key=True, autoincrement=False),
    Column("group_name", String(200)),
    Column("device_id", Integer),
    Column("t38_policy", String(8)),
    CheckConstraint("(group_name IS NULL) <> (device_id IS NULL)", name="target"),
)
"""An outbound routing rule: jobs to that country and area code (0: any) go out through a
group or a single device, never both, with the rule's T.38 policy (``off``, ``accept``,
``request``; NULL: the trunk's). The default rule (0, 0) is added by the service."""

receipts = Table(
    "receipts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("submission_id", BigInteger, nullable=False, index=True),
    Column("job_id", BigInteger),
    Column("address", Text, nullable=False),
    Column("delivered", Boolean, nullable=False),
    Column("attach", Boolean, nullable=False),
    Column("report", JSONDocument, nullable=False),
    Column("status", EnumText(DeliveryStatus), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
    Index(None, "status", "next_attempt_at"),
)
"""A delivery receipt (DR) or non-delivery receipt (NDR) to e-mail: queued in the transaction
that puts a job (``job_id``) or a whole broadcast (``job_id`` NULL: the summary) in its final
state, with what it reports, so that a restart neither loses nor repeats it."""

accounts = Table(
    "accounts",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("id", BigInteger, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_hash", Text),
    Column("rights", Integer),
)
"""A fax account (FAXCOMEX ``FaxAccount``): its immutable id (what owned rows refer to),
its password's argon2 hash (None: no password login) and the FAX_ACCESS_RIGHTS_ENUM_2
rights granted to it (None: the defaults)."""

account_tokens = Table(
    "account_tokens",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "account_name",
        String(256),
        ForeignKey("accounts.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token_hash", String(100), nullable=False, unique=True),
    Column("label", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""An API token of an account, kept as its SHA-256 hash; rows go with their account."""

group_grants = Table(
    "group_grants",
    metadata,
    Column("group_name", String(256), primary_key=True),
    Column("rights", Integer, nullable=False),
)
"""Rights granted to the members of a Unix group, added to each member account's own."""

address_book_contacts = Table(
    "address_book_contacts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("company", String(200), nullable=False),
    Column("fax_number", String(100), nullable=False),
    Column("notes", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("owner_id", "name"),
)
"""A contact of an address book: the book is its owner account's id, 0 for the shared book
(``openfax.service.address_book``); names are unique within a book."""

address_book_groups = Table(
    "address_book_groups",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    UniqueConstraint("owner_id", "name"),
)
"""A group of contacts of one address book (a broadcast: a fax to it goes to each member)."""

address_book_members = Table(
    "address_book_members",
    metadata,
    Column(
        "group_id",
        BigInteger,
        ForeignKey("address_book_groups.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column(
        "contact_id",
        BigInteger,
        ForeignKey("address_book_contacts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
        index=True,
    ),
)
"""Which contacts each group holds; rows go with their group or contact."""
