"""The table form of an outgoing queue listing (``GET /v1/outgoing-jobs?form=table``).

The same jobs as the listing's default form, whose every job is ``OutgoingJobInfo``'s JSON
object (about 1.2 KB), but in JSON Lines (``application/jsonl``): a first line with the
page's ``count``, ``columns``, ``next_cursor`` and the fields a job takes from its
submission (sender, subject, owner, ...) once under the submission's id, then one line a
job, an array of its values in the order of ``columns``. Ten thousand jobs are about a fifth
of the bytes, encoded in a fraction of the time, and a reader splits the lines and reads a
job's line (:func:`outgoing_job_json`) only when the job is looked at.

Declared once here: the service fills the rows, the API encodes them, the client reads them.
A later form would be another ``form`` value; a server may add columns, and a client reads
them by the names the page gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from openfax.model.paging import QueueCursor, encode_queue_cursor
from openfax.model.records import (
    RECIPIENT_FIELDS,
    SENDER_FIELDS,
    extended_status_name,
    status_name,
)

TABLE_FORM = "table"
"""The ``form`` a client asks for."""

TABLE_MEDIA_TYPE = "application/jsonl"

MAX_TABLE_PAGE_SIZE = 10_000
"""The most jobs one page of the table form holds: about the bytes of the default form's
1,000 (``MAX_PAGE_SIZE``), so that a long queue is read in a few requests."""

OUTGOING_JOB_COLUMNS = (
    "id",
    "submission_id",
    "status",
    "extended_status_code",
    "extended_status",
    "failure_cause",
    "available_operations",
    "recipient",
    "pages",
    "pages_confirmed",
    "current_page",
    "bit_rate",
    "page_bytes",
    "page_bytes_sent",
    "size",
    "retries",
    "attempts",
    "device_id",
    "csid",
    "tsid",
    "priority",
    "original_scheduled_time",
    "scheduled_time",
    "transmission_start",
    "transmission_end",
)
"""A job's values in a row, named as in ``OutgoingJobInfo``'s JSON. ``recipient`` holds only
the recipient's fields that are not empty (the others are ``""``)."""

SUBMISSION_FIELDS = (
    "sender",
    "subject",
    "document_name",
    "schedule_type",
    "receipt_type",
    "receipt_address",
    "has_cover_page",
    "group_broadcast_receipts",
    "submission_time",
    "owner",
)
"""What every job of a submission shows alike, given once a page in ``submissions``."""

COMPUTED_FIELDS = ("status_name", "extended_status_name")
"""The names beside the status codes, which the reader works out from the codes."""

_EMPTY_RECIPIENT = dict.fromkeys(RECIPIENT_FIELDS, "")
_EMPTY_SENDER = dict.fromkeys(SENDER_FIELDS, "")


def outgoing_job_json(
    columns: Sequence[str], row: bytes, submissions: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A row of a table page (its line) as the job's JSON object in the default form: its
    values by ``columns``, its submission's fields (from the page's ``submissions``), every
    field of the recipient and the sender, and the status names."""
    job = dict(zip(columns, orjson.loads(row), strict=True))
    submission = submissions[job["submission_id"]]
    job.update(submission)
    job["recipient"] = {**_EMPTY_RECIPIENT, **job["recipient"]}
    job["sender"] = {**_EMPTY_SENDER, **submission["sender"]}
    job["status_name"] = status_name(job["status"])
    job["extended_status_name"] = extended_status_name(job["extended_status_code"])
    return job


@dataclass(frozen=True, slots=True)
class OutgoingJobTable:
    """One page of a snapshot of the outgoing queue in the table form, as the service gives
    it: each job's row and each of their submissions' fields already encoded (JSON), the
    snapshot's ``count``, and where the next page starts (None at the end)."""

    rows: list[bytes]
    submissions: dict[str, bytes]
    """By the submission's id (16 hex digits), as the rows give it."""
    count: int
    next_cursor: QueueCursor | None


def encode(value: Any) -> bytes:
    """``value`` as the wire's JSON: times in ISO 8601 UTC with a ``Z``, enumerations as
    their numbers (the default form's ``utc_text`` and pydantic write the same)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def table_lines(table: OutgoingJobTable) -> bytes:
    """A page of the table form as JSON Lines: first ``{count, columns, submissions,
    next_cursor}``, then one line a job, its row."""
    cursor = table.next_cursor
    head = {
        "count": table.count,
        "columns": OUTGOING_JOB_COLUMNS,
        "submissions": {key: orjson.Fragment(value) for key, value in table.submissions.items()},
        "next_cursor": None if cursor is None else encode_queue_cursor(cursor),
    }
    return b"\n".join([encode(head), *table.rows])


def read_table(body: bytes) -> dict[str, Any]:
    """A page of the table form: its first line's object, with ``jobs`` the lines of its
    rows, each left as it came (read by :func:`outgoing_job_json` when wanted)."""
    head, *rows = body.split(b"\n")
    page: dict[str, Any] = orjson.loads(head)
    page["jobs"] = rows
    return page
