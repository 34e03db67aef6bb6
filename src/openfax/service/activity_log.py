"""FAXCOMEX ``FaxActivityLogging``: one line per fax in the inbox and outbox logs.

As Windows keeps ``InboxLOG.txt`` and ``OutboxLOG.txt`` in the activity log folder
(``DatabasePath``), OpenFax appends one CSV line per received fax when it is archived, and
one per sent fax when its job ends (completed and archived, or failed or cancelled: Windows
logs those too), under a header row naming the FAXCOMEX fields. They name who faxed whom:
a missing folder is made 0700, and a new file is 0640 when its folder lets its group read
(an administrators' group), else 0600 (:func:`~openfax.file_modes.handed_over_mode`). The
options are kept in the store's ``settings`` (``logging.activity``) and apply at once.
A line is written just after the transaction that archived the fax or ended the job; a
crash in between loses that line, never the fax.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openfax.errors import ConfigError
from openfax.file_modes import FILE_MODE, FOLDER_MODE, handed_over_mode
from openfax.model import CONTROL, ExtendedStatus, JobStatus, format_id
from openfax.service.system_log import general_events
from openfax.store import IncomingJob, OutgoingJob, Submission

ACTIVITY_LOGGING_KEY = "logging.activity"
INBOX_LOG = "InboxLOG.txt"
OUTBOX_LOG = "OutboxLOG.txt"
SOURCE = "activity logging"

_CALL_COLUMNS = (
    "Status",
    "ExtendedStatusCode",
    "ExtendedStatus",
    "TransmissionStart",
    "TransmissionEnd",
    "DeviceName",
)
"""The columns both logs give the call: its status, how it ended, when, and on which line
(``_call_values``)."""
INBOX_COLUMNS = (
    "JobId",
    *_CALL_COLUMNS,
    "CSID",
    "TSID",
    "CallerId",
    "RoutingInformation",
    "Pages",
    "Size",
)
OUTBOX_COLUMNS = (
    "JobId",
    "SubmissionId",
    "SubmissionTime",
    "OriginalScheduledTime",
    *_CALL_COLUMNS,
    "RecipientNumber",
    "RecipientName",
    "CSID",
    "TSID",
    "Pages",
    "TotalPages",
    "Size",
    "Retries",
    "DocumentName",
    "Subject",
    "HasCoverPage",
    "Priority",
    "UserName",
    "SenderName",
    "SenderFaxNumber",
    "SenderCompany",
    "SenderEmail",
    "BillingCode",
)


@dataclass(frozen=True, kw_only=True)
class ActivityLogging:
    """FAXCOMEX ``FaxActivityLogging``; ``database_path`` empty: ``activity`` in the data
    folder."""

    log_incoming: bool = True
    log_outgoing: bool = True
    database_path: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ActivityLogging:
        return cls().changed(value or {})

    def changed(self, given: Mapping[str, Any]) -> ActivityLogging:
        """These options with those in ``given`` changed; ConfigError names a wrong one."""
        if not isinstance(given, Mapping):
            raise ConfigError(SOURCE, "(options)", "must be a JSON object")
        changes: dict[str, Any] = {}
        for key, value in given.items():
            if key in ("log_incoming", "log_outgoing"):
                if not isinstance(value, bool):
                    raise ConfigError(SOURCE, key, f"must be true or false, not {value!r}")
            elif key == "database_path":
                absolute = isinstance(value, str) and (not value or Path(value).is_absolute())
                if not absolute or CONTROL.search(value):
                    raise ConfigError(SOURCE, key, f"must be an absolute folder, not {value!r}")
            else:
                raise ConfigError(
                    SOURCE, key, "unknown option (known: log_incoming, log_outgoing, database_path)"
                )
            changes[key] = value
        return dataclasses.replace(self, **changes)


class ActivityLog:
    """Appends the lines; ``options`` may change at any time (the next line follows them)."""

    def __init__(self, default_folder: Path, options: ActivityLogging | None = None) -> None:
        self.default_folder = default_folder
        self.options = options or ActivityLogging()
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        chosen = self.options.database_path
        return Path(chosen) if chosen else self.default_folder

    def incoming_line(self, job: IncomingJob, device_name: str) -> list[str] | None:
        """The inbox line of a fax just archived, or None when received faxes are not
        logged."""
        if not self.options.log_incoming:
            return None
        return [
            format_id(job.id),
            *_call_values(job, "PARTIALLY_RECEIVED" if job.partial else "RECEIVED", device_name),
            job.csid,
            job.tsid,
            job.caller_id,
            job.routing_information,
            str(job.pages),
            str(job.size),
        ]

    def outgoing_line(
        self, job: OutgoingJob, submission: Submission, device_name: str
    ) -> list[str] | None:
        """The outbox line of a job that ended, or None when sent faxes are not logged."""
        if not self.options.log_outgoing:
            return None
        sender = submission.sender
        status = (job.status & ~(JobStatus.PAUSED | JobStatus.NOLINE)).name or str(int(job.status))
        return [
            format_id(job.id),
            format_id(submission.id),
            _time(submission.submitted_at),
            _time(job.original_scheduled_at),
            *_call_values(job, status, device_name),
            job.recipient_number,
            job.recipient_name,
            job.csid,
            job.tsid,
            str(job.pages_confirmed),
            str(job.total_pages),
            str(job.size),
            str(job.retries),
            submission.document_name,
            submission.subject,
            str(bool(submission.cover_page_type)),
            job.priority.name,
            submission.owner,
            str(sender.get("name", "")),
            str(sender.get("fax_number", "")),
            str(sender.get("company", "")),
            str(sender.get("email", "")),
            str(sender.get("billing_code", "")),
        ]

    def append(self, name: str, columns: Sequence[str], line: Sequence[str]) -> None:
        """Append ``line`` to the log ``name`` (header row first in a new file). Blocks:
        call from a worker thread. A failure is logged (general events), never raised."""
        folder = self.folder
        path = folder / name
        try:
            with self._lock:
                folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
                with os.fdopen(fd, "a", encoding="utf-8", newline="") as file:
                    text = io.StringIO()
                    writer = csv.writer(text)
                    if file.tell() == 0:
                        os.fchmod(fd, handed_over_mode(folder))
                        writer.writerow(columns)
                    writer.writerow(line)
                    file.write(text.getvalue())
        except OSError as exc:
            general_events.error("the activity log %s cannot be written: %s", path, exc)


def _call_values(job: IncomingJob | OutgoingJob, status: str, device_name: str) -> list[str]:
    """The values of ``_CALL_COLUMNS`` for ``job``, whose status is written ``status``."""
    return [
        status,
        str(job.extended_status),
        job.extended_status_text or _extended_name(job.extended_status),
        _time(job.started_at),
        _time(job.ended_at),
        device_name,
    ]


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _extended_name(code: int) -> str:
    try:
        return ExtendedStatus(code).name if code else ""
    except ValueError:
        return ""
