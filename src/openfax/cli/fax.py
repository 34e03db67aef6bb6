"""The ``openfax`` sub-commands that talk to a running openfaxd through the client.

Each command connects with :class:`openfax.client.FaxServer` (the local socket, or
``--server host:port`` with a token) and prints a table, or JSON with ``--json``. The client
is imported inside the commands so that ``openfax --help`` and the document commands do not
pay for it; Click only inside the functions that need it, so that the quick path of
``send`` and ``jobs`` (``openfax.cli.quick``) runs these same functions without it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime

from openfax.errors import FaxError

TYPE_CHECKING = False
"""Not ``typing.TYPE_CHECKING``: the quick path imports this module and not ``typing``."""
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from pathlib import Path
    from typing import Any

    from openfax.client import FaxIncomingJob, FaxOutgoingJob, FaxServer

JOB_COLUMNS = ("id", "status", "recipient", "pages", "sent", "retries", "device", "scheduled")
MESSAGE_COLUMNS = ("id", "when", "pages", "from", "to", "subject", "partial")
DEVICE_COLUMNS = ("id", "name", "number", "state", "send", "receive", "tsid", "csid")


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
    }


def status_of(job: Mapping[str, Any]) -> str:
    """A job's status in words, from its JSON."""
    return str(job["status_name"] or job["status"])


def queued_job(server: FaxServer, job_id: str, incoming: bool) -> FaxOutgoingJob | FaxIncomingJob:
    """The job with that id in the outgoing queue, else (``incoming``) in the incoming one;
    MessageNotFoundError if it is in neither."""
    from openfax.errors import MessageNotFoundError

    try:
        return server.folders.outgoing_queue.get_job(job_id)
    except MessageNotFoundError:
        if not incoming:
            raise
        return server.folders.incoming_queue.get_job(job_id)


def print_sent(jobs: list[dict[str, Any]], as_json: bool) -> None:
    """What ``openfax send`` prints of the jobs it queued (their JSON): one line each, or a
    JSON array of their rows."""
    rows = [job_row(job) for job in jobs]
    if as_json:
        echo(json.dumps(rows, default=str))
    else:
        for row in rows:
            echo(f"{row['id']}  {row['recipient']}  {row['status']}")


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
    """What ``openfax devices`` shows of a line."""
    state = (
        "sending" if device.sending_now
        else "receiving" if device.receiving_now
        else "ringing" if device.ringing_now
        else "unregistered" if device.registration == "failed"
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
    }


def print_result(row: Mapping[str, Any], text: str, as_json: bool) -> None:
    """What a command that changes one thing did: a line for people, or its JSON object."""
    echo(json.dumps(dict(row), default=str) if as_json else text)


def print_rows(
    rows: Iterable[dict[str, Any]], columns: tuple[str, ...], title: str, as_json: bool
) -> None:
    """Rows as a Rich table, or as one JSON array."""
    rows = list(rows)
    if as_json:
        echo(json.dumps(rows, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column in {"id", "when", "scheduled"})
    for row in rows:
        table.add_row(*(str(row[column]) for column in columns))
    Console().print(table)


def send(
    server: FaxServer,
    files: tuple[str, ...],
    to: tuple[str, ...],
    *,
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
    """Submit one fax to every ``to`` number (asking for a ``receipt``: ``none`` or
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


def get_fax(server: FaxServer, message_id: str, output: Path, sent: bool) -> dict[str, Any]:
    """Save an archived fax as PDF (or TIFF when ``output`` ends in .tif/.tiff); looks in the
    incoming archive first, then the outgoing one, unless ``sent`` names the outgoing one.
    What was saved: the message's id and archive, the file and its pages."""
    import click

    from openfax.errors import MessageNotFoundError

    archives: list[tuple[str, Any]] = [("outgoing", server.folders.outgoing_archive)]
    if not sent:
        archives.insert(0, ("incoming", server.folders.incoming_archive))
    for archive_name, archive in archives:
        try:
            message = archive.get_message(message_id)
        except MessageNotFoundError:
            continue
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
    raise click.ClickException(f"no archived fax has the id {message_id}")


def watch(server: FaxServer, as_json: bool) -> None:
    """Print every server event as it happens, until interrupted (SIGINT, Ctrl-C).

    The interrupt only sets a flag the stream looks at between reads: as KeyboardInterrupt
    it could land inside the WebSocket client's reading of a frame, and the watcher then
    hung instead of closing the stream and ending.
    """
    import signal
    import threading

    import click

    from openfax.model import ServerEvents

    everything = ServerEvents(sum(int(member) for member in ServerEvents))
    interrupted = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    try:
        with server.iter_events(everything, until=interrupted) as events:
            for event in events:
                if as_json:
                    click.echo(json.dumps({"seq": event.seq, "event": event.name, **event.data}))
                else:
                    details = " ".join(f"{k}={v}" for k, v in event.data.items())
                    click.echo(f"{_when(event.time)}  {event.name}  {details}")
    finally:
        signal.signal(signal.SIGINT, previous)
