"""Jobs in the queues: FAXCOMEX ``FaxOutgoingJob`` (with its operations) and ``FaxIncomingJob``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openfax.client._records import Field, Record, Source, parse_time, segment
from openfax.client.events import ServerEvent
from openfax.errors import MessageNotFoundError
from openfax.model import (
    ExtendedStatus,
    JobOperations,
    JobStatus,
    JobType,
    Priority,
    ReceiptType,
    ScheduleType,
    ServerEvents,
)
from openfax.model.events import OutgoingJobChanged, job_json
from openfax.model.records import Recipient, Sender

if TYPE_CHECKING:
    from openfax.client._connection import Connection
    from openfax.client.server import FaxServer

FINAL = JobStatus.COMPLETED | JobStatus.CANCELED | JobStatus.FAILED | JobStatus.RETRIES_EXCEEDED
"""The statuses after which a job changes no more by itself."""


def _extended(code: int) -> ExtendedStatus | int:
    try:
        return ExtendedStatus(code)
    except ValueError:
        return code


class _Job(Record):
    """What outgoing and incoming jobs share."""

    id = Field[str]()
    status = Field(JobStatus)
    extended_status_code = Field(_extended)
    extended_status = Field[str]()
    """The provider's own status text, empty for standard codes (as in FAXCOMEX)."""
    available_operations = Field(JobOperations)
    pages = Field[int]()
    current_page = Field[int]()
    size = Field[int]()
    retries = Field[int]()
    device_id = Field[int]()
    csid = Field[str]()
    tsid = Field[str]()
    transmission_start = Field(parse_time)
    transmission_end = Field(parse_time)

    _path: str

    def __init__(
        self, connection: Connection, data: dict[str, Any] | Source, key: Any = None
    ) -> None:
        super().__init__(data, key)
        self._connection = connection

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the job's state again (MessageNotFoundError once it
        has left the queue)."""
        self._data = self._connection.get(f"{self._path}/{segment(self.id)}")

    def cancel(self) -> None:
        """FAXCOMEX ``Cancel()``: an outgoing job waiting ends, one in a call is hung up; an
        incoming job being received is hung up (the pages that arrived are archived), one
        being routed stops and leaves the queue (the fax stays archived)."""
        self._operate("cancel")

    def copy_tiff(self, path: str | Path) -> None:
        """FAXCOMEX ``CopyTiff(path)``: the fax (TIFF-F, every page) into ``path``: an outgoing
        one as it is sent, an incoming one as received (InvalidOperationError while it still
        arrives)."""
        self._connection.download(f"{self._path}/{segment(self.id)}/tiff", path)

    def _operate(self, operation: str) -> None:
        self._data = self._connection.post(f"{self._path}/{segment(self.id)}/{operation}")


class FaxOutgoingJob(_Job):
    """FAXCOMEX ``FaxOutgoingJob2``: one recipient's fax in the outgoing queue."""

    _path = "/outgoing-jobs"

    submission_id = Field[str]()
    subject = Field[str]()
    document_name = Field[str]()
    pages_confirmed = Field[int]()
    """Pages the receiver confirmed; a retry sends from the next one."""
    bit_rate = Field[int]()
    """The speed the call negotiated (bit/s); 0 outside a call and before training."""
    page_bytes = Field[int]()
    page_bytes_sent = Field[int]()
    """How far the call is into ``current_page``: bytes sent of the page's size as encoded
    for the line (the server's estimate from the line time); 0 between pages."""
    attempts = Field[int]()
    failure_cause = Field[str]()
    priority = Field(Priority)
    schedule_type = Field(ScheduleType)
    receipt_type = Field(ReceiptType)
    receipt_address = Field[str]()
    has_cover_page = Field[bool]()
    group_broadcast_receipts = Field[bool]()
    original_scheduled_time = Field(parse_time)
    scheduled_time = Field(parse_time)
    submission_time = Field(parse_time)
    owner = Field[str]()

    def __init__(self, server: FaxServer, data: dict[str, Any] | Source, key: Any = None) -> None:
        super().__init__(server._connected, data, key)
        self._server = server

    @property
    def sender(self) -> Sender:
        return Sender.of(self._data["sender"])

    @property
    def recipient(self) -> Recipient:
        return Recipient.of(self._data["recipient"])

    def pause(self) -> None:
        """FAXCOMEX ``Pause()``: a pending or retrying job waits (InvalidOperationError else)."""
        self._operate("pause")

    def resume(self) -> None:
        """FAXCOMEX ``Resume()``: a paused job may be sent again."""
        self._operate("resume")

    def restart(self) -> None:
        """FAXCOMEX ``Restart()``: a failed job is queued again with its retries reset."""
        self._operate("restart")

    def get_call_attempts(self) -> list[dict[str, Any]]:
        """The calls made for this job, each with its result and T.30 transcript."""
        attempts: list[dict[str, Any]] = self._connection.get(
            f"{self._path}/{segment(self.id)}/attempts"
        )
        return attempts

    def wait(
        self,
        timeout: float | None = None,
        progress: Callable[[FaxOutgoingJob], object] | None = None,
    ) -> FaxOutgoingJob:
        """Block until the job is completed, cancelled or has failed, following it through
        the server's events; ``progress(job)`` is called after every change. TimeoutError
        after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._server.iter_events(ServerEvents.OUT_QUEUE, deadline=deadline) as events:
            try:
                self.refresh()
            except MessageNotFoundError:
                # Gone from the queue already: sent, if the outgoing archive has it; the
                # job then shows what its message does.
                sent = self._server.folders.outgoing_archive.get_message(self.id)
                self._data = {
                    **sent.to_dict(),
                    **self._data,
                    "status": int(JobStatus.COMPLETED),
                    "status_name": JobStatus.COMPLETED.names,
                    "pages_confirmed": sent.pages,
                }
            if progress is not None:
                progress(self)
            if self._is_final():
                return self
            for event in events:
                if event.job_id != self.id:
                    continue
                if event.name == "OnOutgoingJobRemoved":
                    break
                self._apply(event)
                if progress is not None:
                    progress(self)
                if self._is_final():
                    break
        return self

    def _is_final(self) -> bool:
        return bool(self.status & FINAL)

    def _apply(self, event: ServerEvent) -> None:
        if isinstance(event.payload, OutgoingJobChanged):
            changed = job_json(event.payload)
            del changed["job_type"]  # the outgoing job's JSON has none: it is always a send
            self._data.update(changed)


class FaxIncomingJob(_Job):
    """FAXCOMEX ``FaxIncomingJob``: a fax being received or routed."""

    _path = "/incoming-jobs"

    job_type = Field(JobType)
    caller_id = Field[str]()
    routing_information = Field[str]()
    partial = Field[bool]()
    """The call ended before the fax did; what arrived is kept."""
