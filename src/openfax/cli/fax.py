"""The ``openfax`` sub-commands that talk to a running openfaxd through the client.

Each command connects with :class:`openfax.client.FaxServer` (the local socket, or
``--server host:port`` with a token) and prints a table, or JSON with ``--json``. The client
is imported inside the commands so that ``openfax --help`` and the document commands do not
pay for it; Click only inside the functions that need it, so that the quick path of
``send`` and ``jobs`` (``openfax.cli.quick``) runs these same functions without it.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager, suppress
from datetime import datetime

from openfax.errors import FaxError

TYPE_CHECKING = False
"""Not ``typing.TYPE_CHECKING``: the quick path imports this module and not ``typing``."""
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from pathlib import Path
    from typing import Any

    from openfax.client import FaxIncomingJob, FaxOutgoingJob, FaxServer
    from openfax.client._records import Retried, Versioned
    from openfax.client.events import ServerEvent

JOB_COLUMNS = (
    "id", "status", "recipient", "pages", "sent", "retries", "device", "scheduled", "reason",
)  # fmt: skip
JOB_OPTIONAL = ("device", "retries", "scheduled", "sent")
"""The columns of ``jobs`` left out first, in this order, where the terminal is narrow."""
MESSAGE_COLUMNS = ("id", "when", "pages", "from", "to", "subject", "partial")
MESSAGE_OPTIONAL = ("to", "pages")
SENT_COLUMNS = ("id", "when", "to", "pages", "status", "reason", "subject", "from", "retries")
SENT_OPTIONAL = ("retries", "from", "subject", "pages")
DEVICE_COLUMNS = ("id", "name", "number", "state", "send", "receive", "tsid", "csid")
DEVICE_OPTIONAL = ("csid", "tsid", "receive", "send")
WRAP_WIDTH = 20
"""A table column whose cells are longer may wrap them to as narrow as this; a column whose
cells are all shorter (ids, times, states) never wraps."""
GAP = 3
"""Characters between two table columns: a space, the rule, a space."""


@contextmanager
def connected(server_name: str, token: str | None) -> Iterator[FaxServer]:
    """A connected FaxServer; any FaxError becomes a one-line command error."""
    import click

    from openfax.client import FaxServer

    server = FaxServer()
    try:
        server.connect(server_name, token=token)
        with server:
            yield server
    except FaxError as exc:
        raise click.ClickException(failure(exc)) from None


def failure(exc: FaxError) -> str:
    """A FaxError as a command reports it (after ``Error: ``): its class and message."""
    return f"{type(exc).__name__}: {exc}"


def echo(text: str) -> None:
    """One line of a command's result on stdout."""
    print(text, flush=True)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _soon(value: datetime | None) -> str:
    """A time as ``_when`` shows it, without the date when that is today."""
    shown = _when(value)
    today = datetime.now().astimezone().strftime("%Y-%m-%d ")
    return shown.removeprefix(today)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def job_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """What ``openfax jobs`` shows of an outgoing job, from its JSON (as the server sends it,
    or ``FaxOutgoingJob.to_dict()``)."""
    return {
        "id": job["id"],
        "status": status_of(job),
        "recipient": job["recipient"]["fax_number"],
        "pages": job["pages"],
        "sent": job["pages_confirmed"],
        "retries": job["retries"],
        "device": job.get("device_id") or "",
        # A job followed to its end may have left the queue (it shows what its message does).
        "scheduled": _when(_time(job.get("scheduled_time"))),
        "reason": reason_of(job),
    }


def status_of(job: Mapping[str, Any]) -> str:
    """A job's status in words, from its JSON."""
    return str(job["status_name"] or job["status"])


def reason_of(job: Mapping[str, Any]) -> str:
    """Why a job is where it is, in words, from its JSON: the stage of its call, or the
    cause of the call that failed and the line's own words for it, and when a job waiting
    to try again tries; empty for a job not yet tried or sent without a remark."""
    states = status_of(job).split("|")
    name = str(job.get("extended_status_name") or "")
    text = str(job.get("extended_status") or "")
    if text == "OK":  # a call without a T.30 error says no more than its status
        text = ""
    if "COMPLETED" in states:
        return text
    stage = "" if name in ("", "NONE") else name.replace("_", " ").lower()
    if stage == "transmitting" and job.get("current_page"):
        stage += f" page {job['current_page']} of {job['pages']}"
    said = ": ".join(part for part in (stage, text) if part)
    if "RETRYING" in states:
        retry = f"next try {_soon(_time(job.get('scheduled_time')))}"
        said = f"{said}; {retry}" if said else retry
    return said


def sent_row(message: Any) -> dict[str, Any]:
    """What ``openfax sent`` shows of a sent fax (a FaxOutgoingMessage)."""
    return message_row(message) | {"status": "COMPLETED", "reason": "", "retries": message.retries}


def failed_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """What ``openfax sent`` shows of an outgoing job that failed, from its JSON: what it
    shows of a sent fax, with the job's status and why."""
    return {
        "id": job["id"],
        "when": _when(_time(job["transmission_end"] or job["scheduled_time"])),
        "pages": job["pages"],
        "from": job["sender"]["fax_number"] or job["tsid"],
        "to": job["recipient"]["fax_number"],
        "subject": job["subject"],
        "partial": False,
        "status": status_of(job),
        "reason": reason_of(job),
        "retries": job["retries"],
    }


def queued_job(server: FaxServer, job_id: str, incoming: bool) -> FaxOutgoingJob | FaxIncomingJob:
    """The job with that id in the outgoing queue, else (``incoming``) in the incoming one;
    MessageNotFoundError if it is in neither."""
    from openfax.errors import MessageNotFoundError

    try:
        with _no_such_fax_beyond_ids(job_id, "outgoing job"):
            return server.folders.outgoing_queue.get_job(job_id)
    except MessageNotFoundError:
        if not incoming:
            raise
        with _no_such_fax_beyond_ids(job_id, "incoming job"):
            return server.folders.incoming_queue.get_job(job_id)


@contextmanager
def _no_such_fax_beyond_ids(fax_id: str, kind: str) -> Iterator[None]:
    """An id of 16 hex digits that no fax can have (0, or past 2**63 - 1: the server refuses
    it as invalid) is, to the user, one that is not there: MessageNotFoundError."""
    from openfax.errors import InvalidIdError, MessageNotFoundError

    try:
        yield
    except InvalidIdError:
        if len(fax_id) != 16 or not set(fax_id) <= set("0123456789abcdefABCDEF"):
            raise
        raise MessageNotFoundError(kind, int(fax_id, 16)) from None


def print_sent(jobs: list[dict[str, Any]], as_json: bool) -> None:
    """What ``openfax send`` prints of the jobs it queued (their JSON): one line each, or a
    JSON array of their rows."""
    rows = [job_row(job) for job in jobs]
    if as_json:
        echo(json.dumps(rows, default=str))
    else:
        for row in rows:
            reason = f"  {row['reason']}" if row["reason"] else ""
            echo(f"{row['id']}  {row['recipient']}  {row['status']}{reason}")


def message_row(message: Any) -> dict[str, Any]:
    """What ``openfax inbox`` and ``openfax sent`` show of an archived fax."""
    recipient = getattr(message, "recipient", None)
    return {
        "id": message.id,
        "when": _when(message.transmission_end),
        "pages": message.pages,
        "from": getattr(message, "sender_fax_number", "") or message.tsid,
        "to": recipient.fax_number if recipient is not None else message.csid,
        "subject": message.subject,
        "partial": bool(getattr(message, "partial", False)),
    }


def device_row(device: Any) -> dict[str, Any]:
    """What ``openfax devices`` shows of a line. A line out of service is "unregistered" on
    a SIP trunk (the registrar refused or did not answer) and "unavailable" elsewhere (a
    modem's port gone or its modem silent, or its node of the cluster stopped or its
    heartbeat lapsed, which the node column says); the registration column says why."""
    out_of_service = "unregistered" if device.provider_unique_name == "sip" else "unavailable"
    node_state = getattr(device, "node_state", "running")
    state = (
        "unavailable" if node_state != "running"
        else "sending" if device.sending_now
        else "receiving" if device.receiving_now
        else "ringing" if device.ringing_now
        else out_of_service if device.registration == "failed"
        else "registering" if device.registration == "registering"
        else "off" if device.powered_off
        else "idle"
    )  # fmt: skip
    return {
        "id": device.id,
        "name": device.device_name,
        "number": device.number,
        "state": state,
        "registration": device.registration_error or device.registration,
        "send": device.send_enabled,
        "receive": device.receive_mode.name.lower(),
        "tsid": device.tsid,
        "csid": device.csid,
        "hardware": getattr(device, "hardware", ""),
        "node": getattr(device, "node_id", "")
        + ("" if node_state == "running" else f" ({node_state})"),
    }


def retry_row(work: Retried) -> dict[str, Any]:
    """Where a receipt or a routing delivery stands in its retries: the columns ``openfax
    receipts`` and ``openfax routing deliveries`` show after what the work is."""
    return {
        "status": work.status,
        "attempts": work.attempts,
        "next_attempt": work.next_attempt_at or "",
        "error": work.last_error,
    }


def plugin_row(plugin: Versioned) -> dict[str, Any]:
    """A device provider or routing extension as loaded: the columns ``openfax providers
    list`` and ``openfax routing extensions`` share."""
    return {
        "unique_name": plugin.unique_name,
        "friendly_name": plugin.friendly_name,
        "image_name": plugin.image_name,
        "version": plugin.version,
        "status": plugin.status.name,
        "error": plugin.init_error_message,
    }


def print_registration(unique_name: str, registered: bool, as_json: bool) -> None:
    """What registering or unregistering a plug-in (a device provider, a routing extension)
    did: it takes effect when openfaxd next starts."""
    row = {"unique_name": unique_name, "registered": registered}
    news = "registered; it loads" if registered else "unregistered; it is gone"
    print_result(row, f"{unique_name} {news} when openfaxd next starts", as_json)


def print_result(row: Mapping[str, Any], text: str, as_json: bool) -> None:
    """What a command that changes one thing did: a line for people, or its JSON object."""
    echo(json.dumps(dict(row), default=str) if as_json else text)


def print_rows(
    rows: Iterable[dict[str, Any]],
    columns: tuple[str, ...],
    title: str,
    as_json: bool,
    *,
    optional: tuple[str, ...] = (),
    wide: bool = False,
) -> None:
    """Rows as one JSON array (every field), or as a Rich table that fits the terminal: a
    column of cells longer than WRAP_WIDTH wraps them, and the ``optional`` columns are left
    out, in their order, while the others would not fit unwrapped. ``wide`` shows every
    column, each as wide as its longest cell, however wide the table gets."""
    rows = list(rows)
    if as_json:
        echo(json.dumps(rows, default=str))
        return
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = {column: [_cell(row[column]) for row in rows] for column in columns}
    longest = {column: max(map(cell_len, [column, *cells[column]])) for column in columns}
    console = Console()
    shown = list(columns)
    if wide:
        width = sum(longest.values()) + GAP * (len(columns) - 1)
        console = Console(width=max(console.width, width))
    else:
        for column in optional:
            least = sum(min(longest[c], WRAP_WIDTH) for c in shown) + GAP * (len(shown) - 1)
            if least <= console.width:
                break
            shown.remove(column)
    table = Table(title=title, show_edge=False, pad_edge=False)
    for column in shown:
        table.add_column(column, no_wrap=longest[column] <= WRAP_WIDTH, overflow="fold")
    for index in range(len(rows)):
        # Text, not markup: a subject or a file name in brackets is shown as it is.
        table.add_row(*(Text(cells[column][index]) for column in shown))
    console.print(table)


def _cell(value: Any) -> str:
    """A value as a table shows it: a time (a datetime, or as the API writes one) as the
    other tables' times are, in local time to the second; a list's items joined with
    commas; anything else as it is."""
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        with suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _when(value)
    return str(value)


def send(
    server: FaxServer,
    files: tuple[str, ...],
    to: tuple[str, ...],
    *,
    groups: tuple[str, ...] = (),
    subject: str,
    note: str,
    cover: str | None,
    priority: str,
    wait: bool,
    as_json: bool,
    receipt: str = "none",
    receipt_address: str = "",
    attach: bool = False,
    group_receipts: bool = False,
) -> bool:
    """Submit one fax to every ``to`` number and every member of the address book
    ``groups`` (asking for a ``receipt``: ``none`` or
    ``mail``); with ``wait``, follow each job to its end with a progress bar of pages.
    Returns whether every job completed (always True without wait)."""
    from openfax.client import FaxDocument, FaxOutgoingJob
    from openfax.model import CoverPageType, JobStatus, Priority, ReceiptType

    document = FaxDocument(bodies=list(files), subject=subject, note=note)
    document.priority = Priority[priority.upper()]
    document.receipt_type = ReceiptType.MAIL if receipt == "mail" else ReceiptType.NONE
    document.receipt_address = receipt_address
    document.attach_fax_to_receipt = attach
    document.group_broadcast_receipts = group_receipts
    if cover:
        document.cover_page_type = CoverPageType.SERVER
        document.cover_page = cover
    for number in to:
        document.recipients.add(number)
    document.recipient_groups = list(groups)
    job_ids = document.connected_submit(server)
    if wait:
        # Each job is read only once its events are subscribed to (in ``wait``): a job sent
        # and gone from the queue before it was read is found in the outgoing archive.
        jobs = [_follow(FaxOutgoingJob(server, {"id": job_id})) for job_id in job_ids]
    else:
        jobs = [server.folders.outgoing_queue.get_job(job_id) for job_id in job_ids]
    print_sent([job.to_dict() for job in jobs], as_json)
    return not wait or all(job.status & JobStatus.COMPLETED for job in jobs)


def _follow(job: FaxOutgoingJob) -> FaxOutgoingJob:
    """Wait for a job with a Rich progress bar on stderr (stdout stays the command's result):
    its pages, the current one filling as its bytes go out, and the negotiated speed. Quiet
    when stderr is not a terminal: the bar would only fill a log."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return job.wait()
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(job.id, total=None, detail="")

        def update(current: FaxOutgoingJob) -> None:
            pages, done = current.pages, current.pages_confirmed
            size, sent = current.page_bytes or 0, current.page_bytes_sent or 0
            progress.update(
                task,
                total=pages or None,
                completed=done + (min(sent / size, 1.0) if size and done < pages else 0.0),
                description=f"{current.recipient.fax_number} {current.status.names}",
                detail=_page_detail(current),
            )

        return job.wait(progress=update)


def _page_detail(job: FaxOutgoingJob) -> str:
    """``page 1/2  6.3/12.4 kB  14400 bit/s`` during a call; ``1/2 pages`` else."""
    from openfax.model import JobStatus

    if not job.status & JobStatus.INPROGRESS or not job.current_page:
        return f"{job.pages_confirmed}/{job.pages} pages"
    parts = [f"page {job.current_page}/{job.pages}"]
    if job.page_bytes:
        parts.append(f"{(job.page_bytes_sent or 0) / 1000:.1f}/{job.page_bytes / 1000:.1f} kB")
    if job.bit_rate:
        parts.append(f"{job.bit_rate} bit/s")
    return "  ".join(parts)


def get_fax(server: FaxServer, message_id: str | None, output: Path, sent: bool) -> dict[str, Any]:
    """Save an archived fax as PDF (or TIFF when ``output`` ends in .tif/.tiff); looks in the
    incoming archive first, then the outgoing one, unless ``sent`` names the outgoing one.
    Without ``message_id``, the newest fax of the first archive looked in.
    What was saved: the message's id and archive, the file and its pages."""
    folders = server.folders
    archives: list[tuple[str, str, Any]] = [("outgoing", "sent", folders.outgoing_archive)]
    if not sent:
        archives.insert(0, ("incoming", "received", folders.incoming_archive))
    if message_id is None:
        archive_name, message = _newest(*archives[0])
    else:
        archive_name, message = _archived(archives, message_id)
    if output.suffix.lower() in {".tif", ".tiff"}:
        message.copy_tiff(output)
    else:
        message.save_pdf(output)
    return {
        "id": message.id,
        "archive": archive_name,
        "output": str(output),
        "pages": message.pages,
    }


def _newest(name: str, kind: str, archive: Any) -> tuple[str, Any]:
    """The archive's newest message (the last of its listing, oldest first)."""
    from collections import deque

    import click

    newest = deque(archive.get_messages(), maxlen=1)
    if not newest:
        raise click.ClickException(f"no {kind} fax yet")
    return name, newest[0]


def _archived(archives: list[tuple[str, str, Any]], message_id: str) -> tuple[str, Any]:
    """The message with that id in the first of the archives that has it."""
    import click

    from openfax.errors import MessageNotFoundError

    for name, _, archive in archives:
        try:
            with _no_such_fax_beyond_ids(message_id, "message"):
                return name, archive.get_message(message_id)
        except MessageNotFoundError:
            continue
    kinds = " or ".join(kind for _, kind, _ in archives)
    raise click.ClickException(f"no such fax: no {kinds} fax has the id {message_id}")


def watch(server: FaxServer, as_json: bool) -> None:
    """Print every server event as it happens, until interrupted (Ctrl-C).

    The client's listener reads the stream on a thread of its own, so an interrupt never
    lands inside the reading of a frame, and reconnects when the stream breaks (openfaxd
    restarted), resuming after the last event printed: none is missed. The start of the
    subscription, the loss and the return are said on stderr, so that stdout stays the
    events; a reconnection the server refuses (the account removed) ends it with that error.
    """
    import queue

    from openfax.client import ServerUnavailableError
    from openfax.client.events import ServerEvent
    from openfax.model import ServerEvents

    arrived: queue.SimpleQueue[ServerEvent | BaseException | None] = queue.SimpleQueue()
    server.add_event_handler(lambda _, event: arrived.put(event))
    server.add_connection_handler(lambda _, lost: arrived.put(lost))
    server.listen_to_server_events(ServerEvents(sum(int(member) for member in ServerEvents)))
    print("watching the fax server's events (Ctrl-C stops)", file=sys.stderr, flush=True)
    while True:
        item = arrived.get()
        if isinstance(item, ServerEvent):
            echo(event_line(item, as_json))
        elif item is None:
            print("reconnected to the fax server: its events go on", file=sys.stderr, flush=True)
        elif isinstance(item, FaxError) and not isinstance(item, ServerUnavailableError):
            raise item  # the server refused the reconnection: no events will come
        else:
            lost = f"lost the fax server's events ({type(item).__name__}: {item}); reconnecting"
            print(lost, file=sys.stderr, flush=True)


EVENT_FIELDS_LEFT_OUT = frozenset({"available_operations"})
"""Event fields ``watch`` prints only with --json (a bit mask that says nothing at a glance)."""


def event_line(event: ServerEvent, as_json: bool) -> str:
    """One event as ``watch`` prints it: its JSON, or its time, FAXCOMEX name and fields, with
    statuses and job types by name and empty fields left out."""
    if as_json:
        return json.dumps({"seq": event.seq, "event": event.name, **event.data})
    fields = [
        f"{key}={_event_value(key, value)}"
        for key, value in event.data.items()
        if value not in ("", None) and key not in EVENT_FIELDS_LEFT_OUT
    ]
    return f"{_when(event.time)}  {event.name}  {' '.join(fields)}".rstrip()


def _event_value(key: str, value: Any) -> str:
    from openfax.model import ExtendedStatus, JobStatus, JobType

    named = {"status": JobStatus, "extended_status": ExtendedStatus, "job_type": JobType}
    if key in named and isinstance(value, int):
        try:
            member = named[key](value)
        except ValueError:  # a provider's own extended status code
            return str(value)
        return member.names if isinstance(member, JobStatus) else str(member.name)
    if isinstance(value, str) and any(c.isspace() for c in value):
        return json.dumps(value)
    return str(value)
