"""FAXCOMEX ``FaxFolders``: the two queues (their switches and their jobs, page by page) and
the two archives, of the whole server or of one account."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from openfax.client._records import Collection, Pages, id_segment
from openfax.client.administration import ConfigurationOf, FaxConfiguration
from openfax.client.jobs import FaxIncomingJob, FaxOutgoingJob
from openfax.client.messages import FaxIncomingArchive, FaxOutgoingArchive

if TYPE_CHECKING:
    from openfax.client.server import FaxServer

FIRST_JOBS_PAGE = 25
"""Jobs a queue's ``get_jobs()`` brings with the count in its first request: few, so the
collection is ready at once however long the queue; the pages after it grow to the largest
the server gives (eightfold to 10,000 in the outgoing queue's table form, twice to 1,000 in
the incoming queue's)."""
_J = TypeVar("_J", FaxOutgoingJob, FaxIncomingJob)


class _Queue:
    """What both queues share: switches read when first looked at (so that reaching a
    queue's jobs costs no request for them) and job collections read page by page."""

    _path: str
    _jobs_path: str

    def __init__(self, server: FaxServer, account: str | None = None) -> None:
        self._server = server
        self._switches: dict[str, bool] | None = None
        self._settings: FaxConfiguration | None = None
        self._params = {} if account is None else {"account": account}

    @property
    def blocked(self) -> bool:
        """The queue takes nothing in: the outgoing one refuses new submissions
        (QueueBlockedError), the incoming one answers no call."""
        return self._switch("blocked")

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self._set_switch("blocked", value)

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the switches (and the configuration's properties
        once looked at) again, dropping unsaved changes."""
        self._switches = self._server._connected.get(self._path)
        if self._settings is not None:
            self._settings.refresh()

    def _configuration(self) -> FaxConfiguration:
        """The server's configuration, read when a property of it is first looked at."""
        if self._settings is None:
            self._settings = FaxConfiguration(self._server._connected)
        return self._settings

    def _switch(self, name: str) -> bool:
        if self._switches is None:
            # Only the switches: settings changed and not yet saved stay.
            self._switches = self._server._connected.get(self._path)
        return self._switches[name]

    def _set_switch(self, name: str, value: bool) -> None:
        self._switch(name)
        assert self._switches is not None
        self._switches[name] = value

    def _save(self, names: tuple[str, ...]) -> None:
        if self._settings is not None:
            self._settings.save()
        changes = {name: self._switch(name) for name in names}
        self._switches = self._server._connected.patch(self._path, changes)

    def _get_jobs(self, make: Callable[[dict[str, Any]], _J], prefetch_size: int) -> Collection[_J]:
        """The queue's jobs: a snapshot taken by the first request, which brings its count
        and first ``prefetch_size`` jobs; the rest is read on demand, in pages that grow.

        Later pages read the jobs of the snapshot as they are then: none twice, none still
        queued skipped, none queued after the snapshot; a job that left the queue before its
        page was read is not shown (``count`` says so once the end is reached).
        """
        connection = self._server._connected
        pages = Pages(
            connection, self._jobs_path, "jobs", prefetch_size, grow=2, params=self._params
        )

        def batch() -> list[_J]:
            return [make(data) for data in pages.next_page()]

        first = batch()
        return Collection(first, key=lambda job: job.id, count=pages.count, more=batch)


class FaxOutgoingQueue(_Queue):
    """FAXCOMEX ``FaxOutgoingQueue``: its switches and settings (change, then ``save()``;
    the settings are the server configuration's, read when first looked at) and its jobs."""

    _path = "/outgoing-queue"
    _jobs_path = "/outgoing-jobs"

    retries = ConfigurationOf("retries", "Retransmission attempts after the first failure.")
    retry_delay = ConfigurationOf("retry_delay", "Minutes between attempts.")
    discount_rate_start = ConfigurationOf(
        "discount_rate_start", "Start of the daily cheap-rate window (set a time or datetime)."
    )
    discount_rate_end = ConfigurationOf("discount_rate_end", "End of the cheap-rate window.")
    age_limit = ConfigurationOf(
        "outgoing_queue_age_limit", "Days a failed job stays queued (0: until deleted)."
    )
    branding = ConfigurationOf("branding", "A header line on every page sent.")
    use_device_tsid = ConfigurationOf("use_device_tsid", "Send with the line's TSID.")
    allow_personal_cover_pages = ConfigurationOf(
        "allow_personal_cover_pages", "Accept cover page templates sent by clients."
    )

    @property
    def paused(self) -> bool:
        """Jobs stay queued but are not sent."""
        return self._switch("paused")

    @paused.setter
    def paused(self, value: bool) -> None:
        self._set_switch("paused", value)

    def save(self) -> None:
        """FAXCOMEX ``Save()``: set both switches and the settings changed on the server."""
        self._save(("blocked", "paused"))

    def get_jobs(self, prefetch_size: int = FIRST_JOBS_PAGE) -> Collection[FaxOutgoingJob]:
        """FAXCOMEX ``GetJobs()``: a snapshot of the queue, oldest first (see ``_get_jobs``),
        read in the listing's table form: a job's JSON is read from its line when the job
        is first looked at."""
        from openfax.model.job_table import MAX_TABLE_PAGE_SIZE, TABLE_FORM, read_table

        server = self._server
        pages = Pages(
            server._connected,
            self._jobs_path,
            "jobs",
            prefetch_size,
            grow=8,
            most=MAX_TABLE_PAGE_SIZE,
            params={**self._params, "form": TABLE_FORM},
            decode=read_table,
        )

        def batch() -> list[FaxOutgoingJob]:
            lines: list[Any] = pages.next_page()
            rows = _TableRows(pages.page)
            return [FaxOutgoingJob(server, rows, line) for line in lines]

        first = batch()
        return Collection(first, key=lambda job: job.id, count=pages.count, more=batch)

    def get_job(self, job_id: str) -> FaxOutgoingJob:
        """FAXCOMEX ``GetJob(id)``; MessageNotFoundError if the queue has no such job."""
        return FaxOutgoingJob(
            self._server, self._server._connected.get(f"/outgoing-jobs/{id_segment(job_id)}")
        )


class _TableRows:
    """The rows of a page of the table form, whose jobs read their JSON from it."""

    def __init__(self, page: dict[str, Any]) -> None:
        self._columns = page["columns"]
        self._submissions = page["submissions"]

    def read(self, key: bytes) -> dict[str, Any]:
        from openfax.model.job_table import outgoing_job_json

        return outgoing_job_json(self._columns, key, self._submissions)


class FaxIncomingQueue(_Queue):
    """FAXCOMEX ``FaxIncomingQueue``: whether calls are answered, and the faxes arriving."""

    _path = "/incoming-queue"
    _jobs_path = "/incoming-jobs"

    def save(self) -> None:
        """FAXCOMEX ``Save()``: set the switch on the server."""
        self._save(("blocked",))

    def get_jobs(self, prefetch_size: int = FIRST_JOBS_PAGE) -> Collection[FaxIncomingJob]:
        """FAXCOMEX ``GetJobs()``: a snapshot of the queue by start time (see ``_get_jobs``)."""
        connection = self._server._connected
        return self._get_jobs(lambda data: FaxIncomingJob(connection, data), prefetch_size)

    def get_job(self, job_id: str) -> FaxIncomingJob:
        connection = self._server._connected
        return FaxIncomingJob(connection, connection.get(f"/incoming-jobs/{id_segment(job_id)}"))


class FaxFolders:
    """FAXCOMEX ``FaxFolders``: the two queues and the two archives (as far as the caller's
    rights reach: an account without the "all" rights sees its own faxes). Made with an
    account's name, FAXCOMEX ``FaxAccountFolders``: that account's faxes only."""

    def __init__(self, server: FaxServer, account: str | None = None) -> None:
        self._server = server
        self._account = account

    @property
    def outgoing_queue(self) -> FaxOutgoingQueue:
        return FaxOutgoingQueue(self._server, self._account)

    @property
    def incoming_queue(self) -> FaxIncomingQueue:
        return FaxIncomingQueue(self._server, self._account)

    @property
    def incoming_archive(self) -> FaxIncomingArchive:
        return FaxIncomingArchive(self._server._connected, self._account)

    @property
    def outgoing_archive(self) -> FaxOutgoingArchive:
        return FaxOutgoingArchive(self._server._connected, self._account)
