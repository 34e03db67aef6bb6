"""The ``openfax`` command's Click application: a group whose sub-commands import their
work lazily.

Start-up stays quick because nothing heavy (spandsp, pypdfium2, numpy) is imported until a
sub-command that needs it runs; ``openfax.cli.main`` runs the plainest ``send`` and ``jobs``
without Click at all (``openfax.cli.quick``).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openfax import __version__
from openfax.cli import fax
from openfax.cli.accounts import accounts, rights
from openfax.cli.administration import (
    audit,
    config,
    coverpages,
    extension_property,
    providers,
)
from openfax.cli.contacts import contacts
from openfax.cli.cups import cups
from openfax.cli.options import (
    install_options,
    json_option,
    listing,
    on_server,
    render_options,
    server_options,
    wide_option,
)
from openfax.cli.outbound import outbound
from openfax.cli.receipts import logging_group, receipts
from openfax.cli.render import MAX_WORKERS
from openfax.cli.routing import routing
from openfax.cli.tls import tls

if TYPE_CHECKING:
    from openfax.client import FaxServer


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="openfax")
@click.option(
    "-v", "--verbose", count=True, help="More log detail: -v for progress, -vv for T.30 traces."
)
def cli(verbose: int) -> None:
    """OpenFax: send, receive and manage faxes."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="TIFF to write."
)
@render_options
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=None,
    help="Processes that render PDF pages at once [default: one per CPU].",
)
@json_option
def render(inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Render documents (PDF, images, text) to a TIFF Class F fax file."""
    from openfax.cli.render import run_render

    run_render(list(inputs), output, **options)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="TIFF the answering side writes.",
)
@render_options
@click.option(
    "--transport",
    type=click.Choice(["audio", "t38"]),
    default="audio",
    show_default=True,
    help="Audio (G.711-style PCM) or T.38 packets between the two ends.",
)
@click.option(
    "--modem",
    type=click.Choice(["v17", "v29", "v27ter"]),
    default=None,
    help="Allow only this modem (default: all, the fastest wins).",
)
@click.option("--no-ecm", is_flag=True, help="Turn error correction mode off.")
@click.option("--tsid", default="OpenFax", show_default=True, help="Sending station id (20 chars).")
@click.option("--csid", default="OpenFax loopback", show_default=True, help="Receiving station id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def loopback(inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Render documents and fax them through two engine sessions back to back."""
    from openfax.cli.loopback import run_loopback

    run_loopback(list(inputs), output, **options)


@cli.command("virtual-modems")
@click.option(
    "--pair",
    "paths",
    nargs=2,
    required=True,
    type=click.Path(dir_okay=False),
    metavar="PATH_A PATH_B",
    help="Symlinks to create for the two modems' ports (they must not exist).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True, max=8),
    default=1.0,
    show_default=True,
    help="Line time as a multiple of real time (fax programs need about real time).",
)
@click.option(
    "--numbers",
    nargs=2,
    default=("1001", "1002"),
    show_default=True,
    metavar="NUMBER_A NUMBER_B",
    help="The modems' numbers: the caller id each shows the other (AT+VCID=1).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the modems as one JSON object (a line)."
)
def virtual_modems(
    paths: tuple[str, str], speed: float, numbers: tuple[str, str], as_json: bool
) -> None:
    """Run two virtual Class 1 fax modems whose lines are connected, until interrupted.

    ATD on one rings the other; ATA connects them. Point efax, HylaFAX or an OpenFax modem
    line at each path to fax between them without hardware.
    """
    from openfax.cli.virtual_modems import run_virtual_modems

    run_virtual_modems(*paths, speed=speed, numbers=numbers, as_json=as_json)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "to", multiple=True, help="A fax number; repeat for more.")
@click.option(
    "--to-group",
    "to_groups",
    multiple=True,
    help="An address book group (yours, else the shared one's): each member; repeat for more.",
)
@click.option("--subject", default="", help="Subject (cover page, archive).")
@click.option("--note", default="", help="Note (cover page).")
@click.option("--cover", default=None, help="Name of a server cover page to put first.")
@click.option(
    "--priority",
    type=click.Choice(["low", "normal", "high"]),
    default="normal",
    show_default=True,
)
@click.option("--wait", is_flag=True, help="Follow the fax with a progress bar until it ends.")
@click.option(
    "--receipt", type=click.Choice(["none", "mail"]), default="none", help="Receipt to ask for."
)
@click.option("--receipt-address", default="", help="Where a mail receipt goes.")
@click.option("--attach", is_flag=True, help="Attach the fax to the receipt as a PDF.")
@click.option("--group-receipts", is_flag=True, help="One receipt for all recipients.")
@json_option
@server_options
def send(
    files: tuple[str, ...], to: tuple[str, ...], to_groups: tuple[str, ...], **options: Any
) -> None:
    """Send FILES as one fax to each --to number and each member of each --to-group; prints
    one job id per recipient.

    With --wait, exits with status 1 unless every fax was delivered.
    """
    if not to and not to_groups:
        raise click.UsageError("give a recipient: --to NUMBER or --to-group NAME")
    server_name, token = options.pop("server_name"), options.pop("token")
    with fax.connected(server_name, token) as server:
        delivered = fax.send(server, files, to, groups=to_groups, **options)
    if not delivered:
        raise SystemExit(1)


@cli.command()
@listing("Outgoing queue", fax.JOB_COLUMNS, fax.JOB_OPTIONAL)
def jobs(server: FaxServer) -> list[dict[str, Any]]:
    """List the outgoing queue: each fax's state and why (a call's stage, the cause of a
    failed call, when it is tried again)."""
    return [fax.job_row(job.to_dict()) for job in server.folders.outgoing_queue.get_jobs()]


def _job_operation(name: str, summary: str) -> None:
    @cli.command(name=name, help=summary)
    @click.argument("job_id")
    @on_server
    def operate(server: FaxServer, job_id: str, as_json: bool) -> None:
        job = fax.queued_job(server, job_id, incoming=name == "cancel")
        getattr(job, name)()
        row = {"id": job.id, "status": fax.status_of(job.to_dict())}
        fax.print_result(row, f"{row['id']}  {row['status']}", as_json)


for _name, _summary in [
    ("cancel", "Cancel a fax being sent, received or routed (hangs up if it is in a call)."),
    ("pause", "Pause a waiting outgoing fax."),
    ("resume", "Resume a paused outgoing fax."),
    ("restart", "Queue a failed outgoing fax again."),
]:
    _job_operation(_name, _summary)


@cli.command()
@click.option(
    "--search",
    metavar="WORDS",
    default="",
    help="Only the faxes whose text (read by OCR) holds each of these words.",
)
@listing("Received faxes", fax.MESSAGE_COLUMNS, fax.MESSAGE_OPTIONAL)
def inbox(server: FaxServer, search: str) -> list[dict[str, Any]]:
    """List the received faxes, the newest last."""
    archive = server.folders.incoming_archive
    return [fax.message_row(message) for message in archive.get_messages(search=search)]


@cli.command()
@listing("Sent faxes", fax.SENT_COLUMNS, fax.SENT_OPTIONAL)
def sent(server: FaxServer) -> list[dict[str, Any]]:
    """List the sent faxes, and those that failed (they wait in the queue for `openfax
    restart ID`) with why, the newest last."""
    from openfax.model import JobStatus

    failed = JobStatus.FAILED | JobStatus.RETRIES_EXCEEDED
    folders = server.folders
    rows = [fax.sent_row(message) for message in folders.outgoing_archive.get_messages()]
    jobs = folders.outgoing_queue.get_jobs()
    rows += [fax.failed_row(job.to_dict()) for job in jobs if job.status & failed]
    return sorted(rows, key=lambda row: row["when"])


@cli.command()
@click.argument("message_id", required=False)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="PDF (or .tif) to write."
)
@click.option("--sent", is_flag=True, help="Look in the sent faxes only.")
@click.option("--last", is_flag=True, help="The newest received fax (with --sent, sent).")
@json_option
@server_options
def get(
    message_id: str | None,
    output: str,
    sent: bool,
    last: bool,
    as_json: bool,
    server_name: str,
    token: str | None,
) -> None:
    """Save an archived fax, MESSAGE_ID or the --last, as PDF (or TIFF)."""
    from pathlib import Path

    if last == (message_id is not None):
        raise click.UsageError("give a fax's MESSAGE_ID or --last (one of them)")
    with fax.connected(server_name, token) as server:
        row = fax.get_fax(server, message_id, Path(output), sent)
    pages = row["pages"]
    fax.print_result(row, f"{output}: {pages} page{'s' if pages != 1 else ''}", as_json)


@cli.command()
@json_option
@wide_option
@server_options
def devices(as_json: bool, wide: bool, server_name: str, token: str | None) -> None:
    """List the fax lines and what they are doing."""
    with fax.connected(server_name, token) as server:
        rows = [fax.device_row(device) for device in server.get_devices()]
    # Lines that register (SIP channels) show their registration and its last error.
    registering = any(row["registration"] for row in rows)
    columns = (*fax.DEVICE_COLUMNS, "registration") if registering else fax.DEVICE_COLUMNS
    # The lines of a cluster's nodes show whose they are.
    if len({row["node"] for row in rows}) > 1:
        columns = (*columns[:3], "node", *columns[3:])
    # Lines with hardware (modems) show what it said of itself, in a wide listing.
    if wide and any(row["hardware"] for row in rows):
        columns = (*columns, "hardware")
    optional = fax.DEVICE_OPTIONAL
    fax.print_rows(rows, columns, "Devices", as_json, optional=optional, wide=wide)


@cli.command()
@json_option
@server_options
def watch(as_json: bool, server_name: str, token: str | None) -> None:
    """Print the server's events as they happen (Ctrl-C to stop); after a lost connection
    (openfaxd restarted) it reconnects and goes on where it was."""
    with fax.connected(server_name, token) as server, contextlib.suppress(KeyboardInterrupt):
        fax.watch(server, as_json)


@cli.command()
@install_options("openfaxd's configuration file (as given to openfaxd --config).")
@json_option
def doctor(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Check the install (libraries, fonts, data folder, database, ports, lines) and say
    how to fix each finding; exits with status 1 when one is a fault."""
    from openfax.cli.doctor import run_doctor

    run_doctor(config, data_dir, as_json)


@cli.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@server_options
def backup(output: Path, as_json: bool, server_name: str, token: str | None) -> None:
    """Save a backup of the running server (its database and every fax) to OUTPUT, a new
    private file; the server writes it while it works on, consistent at one moment."""
    from openfax.cli.backup import run_backup

    run_backup(output, as_json, server_name, token)


@cli.command()
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@install_options("openfaxd's configuration file: where the database and the spool go.")
@json_option
def restore(backup_file: Path, config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Put a backup back into an empty data folder (or an empty PostgreSQL database) with
    openfaxd stopped; the whole file is checked against its manifest first."""
    from openfax.cli.backup import run_restore

    run_restore(backup_file, config, data_dir, as_json)


cli.add_command(routing)
cli.add_command(outbound)
cli.add_command(contacts)
cli.add_command(config)
cli.add_command(audit)
cli.add_command(receipts)
cli.add_command(logging_group)
cli.add_command(accounts)
cli.add_command(rights)
cli.add_command(coverpages)
cli.add_command(extension_property)
cli.add_command(providers)
cli.add_command(tls)
cli.add_command(cups)
