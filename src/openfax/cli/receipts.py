"""``openfax receipts`` and ``openfax logging``: the receipt options (the SMTP server of
delivery receipts, the receipt types allowed), the receipts queued, and the activity and
event logging options of a running openfaxd."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import print_rows, retry_row
from openfax.cli.options import ask_password, listing, on_server

if TYPE_CHECKING:
    from openfax.client import FaxServer
    from openfax.client._records import Collection
    from openfax.client.options import FaxReceipt, FaxReceiptOptions

LEVELS = click.Choice(["none", "min", "med", "max"])
RECEIPT_COLUMNS = ("id", "job", "address", "kind", "status", "attempts", "next_attempt", "error")
RECEIPT_OPTIONAL = ("attempts", "next_attempt", "job", "kind")
"""The columns left out first, in this order, where the terminal is narrow (``--wide``)."""


def show(values: dict[str, Any], title: str, as_json: bool) -> None:
    """Options as a two-column table, or as one JSON object."""
    if as_json:
        click.echo(json.dumps(values))
        return
    rows = [{"option": k, "value": v} for k, v in values.items()]
    print_rows(rows, ("option", "value"), title, False)


@click.group()
def receipts() -> None:
    """Delivery receipts: the SMTP server they go through and the types allowed."""


def _receipt_values(options: FaxReceiptOptions) -> dict[str, Any]:
    from openfax.model import ReceiptType

    values = options.to_dict()
    allowed = ReceiptType(values["allowed_receipts"])
    values["allowed_receipts"] = "mail" if allowed & ReceiptType.MAIL else "none"
    values["authentication_type"] = ("anonymous", "basic", "ntlm")[values["authentication_type"]]
    return values


@receipts.command("show")
@on_server
def receipts_show(server: FaxServer, as_json: bool) -> None:
    """Show the receipt options (the password as ********)."""
    values = _receipt_values(server.receipt_options)
    show(values, "Receipt options", as_json)


@receipts.command("set")
@click.option("--allow", type=click.Choice(["mail", "none"]), help="Receipt types allowed.")
@click.option("--smtp-server", help="The SMTP server's host.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="Its port.")
@click.option("--sender", "smtp_sender", help="The receipts' From: address.")
@click.option("--auth", type=click.Choice(["anonymous", "basic", "ntlm"]), help="Login.")
@click.option("--user", "smtp_user", help="The login's user name (basic).")
@click.option(
    "--password",
    "ask",
    is_flag=True,
    help="Ask for the login's password (basic), from the terminal or standard input.",
)
@click.option("--starttls/--no-starttls", default=None, help="Upgrade to TLS first.")
@click.option(
    "--use-for-inbound-routing/--not-for-inbound-routing",
    default=None,
    help="E-mail routing takes the SMTP settings it leaves out from these.",
)
@on_server
def receipts_set(server: FaxServer, as_json: bool, ask: bool, **given: Any) -> None:
    """Change the receipt options given; the others are kept."""
    from openfax.model import ReceiptType, SmtpAuthenticationType

    options = server.receipt_options
    if ask:
        options.smtp_password = ask_password()
    for name, value in given.items():
        if value is None:
            continue
        if name == "allow":
            options.allowed_receipts = ReceiptType.MAIL if value == "mail" else ReceiptType(0)
        elif name == "auth":
            options.authentication_type = SmtpAuthenticationType[value.upper()]
        else:
            setattr(options, name, value)
    options.save()
    values = _receipt_values(options)
    show(values, "Receipt options", as_json)


@receipts.command("list")
@click.option("--failed", is_flag=True, help="Only those the SMTP server never took.")
@click.option("--pending", is_flag=True, help="Only those still to send.")
@listing("Delivery receipts", RECEIPT_COLUMNS, RECEIPT_OPTIONAL)
def receipts_list(server: FaxServer, failed: bool, pending: bool) -> list[dict[str, Any]]:
    """List the delivery receipts queued, the latest change first."""
    status = "failed" if failed else "pending" if pending else None
    found: Collection[FaxReceipt] = server.get_receipts(status)
    return [
        {
            "id": r.id,
            "job": r.job_id or f"broadcast {r.submission_id}",
            "address": r.address,
            "kind": "DR" if r.delivered else "NDR",
            **retry_row(r),
        }
        for r in found
    ]


def _receipt_change(name: str, status: str, done: str, summary: str) -> None:
    """The command ``openfax receipts NAME RECEIPT_ID``: the receipt in ``status`` with that
    id (ClickException if there is none) has its method ``name`` called, then is printed
    as JSON or said to be ``done``."""

    @receipts.command(name, help=summary)
    @click.argument("receipt_id")
    @on_server
    def change(server: FaxServer, receipt_id: str, as_json: bool) -> None:
        found = {r.id: r for r in server.get_receipts(status, limit=1000)}
        receipt = found.get(receipt_id.lower())
        if receipt is None:
            raise click.ClickException(f"no {status} receipt has the id {receipt_id}")
        getattr(receipt, name)()
        if as_json:
            click.echo(json.dumps(receipt.to_dict()))
        else:
            click.echo(f"receipt {receipt.id} {done}")


for _name, _status, _done, _summary in [
    ("resend", "failed", "is pending again", "Send a failed receipt again, with fresh retries."),
    (
        "cancel",
        "pending",
        "is cancelled",
        "Never send a pending receipt (it is listed failed; resend still sends it).",
    ),
]:
    _receipt_change(_name, _status, _done, _summary)


@click.group("logging")
def logging_group() -> None:
    """Activity logging (inbox and outbox logs) and event logging levels."""


def _logging_values(server: FaxServer) -> dict[str, Any]:
    activity = server.logging_options.activity_logging.to_dict()
    levels = server.logging_options.event_logging.to_dict()
    names = ("none", "min", "med", "max")
    return activity | {k: names[v] for k, v in levels.items()}


@logging_group.command("show")
@on_server
def logging_show(server: FaxServer, as_json: bool) -> None:
    """Show the activity logging options and the event logging levels."""
    values = _logging_values(server)
    show(values, "Logging options", as_json)


@logging_group.command("set")
@click.option("--log-incoming/--no-log-incoming", default=None, help="Log received faxes.")
@click.option("--log-outgoing/--no-log-outgoing", default=None, help="Log sent faxes.")
@click.option(
    "--folder", "database_path", help="Folder of InboxLOG.txt and OutboxLOG.txt (absolute)."
)
@click.option("--init", "init_events_level", type=LEVELS, help="Start and stop events.")
@click.option("--inbound", "inbound_events_level", type=LEVELS, help="Reception events.")
@click.option("--outbound", "outbound_events_level", type=LEVELS, help="Transmission events.")
@click.option("--general", "general_events_level", type=LEVELS, help="Other events.")
@on_server
def logging_set(server: FaxServer, as_json: bool, **given: Any) -> None:
    """Change the logging options given; the others are kept."""
    from openfax.model import LogLevel

    activity = server.logging_options.activity_logging
    levels = server.logging_options.event_logging
    changed = {"activity": False, "levels": False}
    for name, value in given.items():
        if value is None:
            continue
        if name.endswith("_level"):
            setattr(levels, name, LogLevel[value.upper()])
            changed["levels"] = True
        else:
            setattr(activity, name, value)
            changed["activity"] = True
    if changed["activity"]:
        activity.save()
    if changed["levels"]:
        levels.save()
    values = _logging_values(server)
    show(values, "Logging options", as_json)
