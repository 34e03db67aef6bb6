"""The quick path of ``openfax send`` (without ``--wait``), ``openfax jobs`` and ``openfax
render``: the same options, work and output as the Click commands in
``openfax.cli.commands``, read by a small parser of the standard library so that neither
Click nor anything else the work does not need is imported.

It takes only command lines it reads exactly as Click would; for any other (an unknown or
incomplete option, ``--help``, ``--wait``, a file that is not there, a bad ``--priority``)
it answers None and the Click application runs instead, so usage errors keep Click's
messages and exit status 2. Failures of the work itself are reported as Click reports
them: ``Error: <class>: <message>`` on stderr and exit status 1.
"""

from __future__ import annotations

import os
import sys

from openfax.errors import BodyError, FaxError

TYPE_CHECKING = False
"""Not ``typing.TYPE_CHECKING``: importing ``typing`` would cost this path a good part of
its time (mypy reads any name TYPE_CHECKING as true)."""
if TYPE_CHECKING:
    from collections.abc import Callable

    from openfax.client import FaxServer

PRIORITY_NUMBERS = {"low": 0, "normal": 1, "high": 2}
"""``--priority`` choices (the Click command's ``click.Choice``) as ``Priority`` numbers;
written out, as importing ``openfax.model`` would cost the quick path more than its work."""
SERVER_COVER_PAGE = 2
"""``CoverPageType.SERVER``: ``--cover`` names a cover page the server keeps."""
TIMEOUT = 30.0
"""Seconds a request may take, as ``FaxServer.connect``'s default."""
SERVER_OPTIONS = {"--server": "server_name", "--token": "token"}


class _Command:
    """What the command line said, under the Click commands' parameter names."""

    def __init__(self) -> None:
        self.arguments: list[str] = []
        self.values: dict[str, list[str]] = {}
        self.flags: set[str] = set()

    def value(self, name: str, default: str | None) -> str | None:
        given = self.values.get(name)
        return given[-1] if given else default


COMMANDS = {
    "send": (
        {"--to": "to", "--subject": "subject", "--note": "note", "--cover": "cover"}
        | {"--priority": "priority"}
        | SERVER_OPTIONS,
        {"--json": "as_json"},
    ),
    "jobs": (SERVER_OPTIONS, {"--json": "as_json", "--wide": "wide"}),
    "render": (
        {"-o": "output", "--output": "output", "--workers": "workers"}
        | {"--resolution": "resolution", "--page-size": "page_size"}
        | {"--compression": "compression"},
        {"--json": "as_json"},
    ),
}
"""Per command: its options that take a value, and its flags (option -> parameter name)."""


def run_quick(argv: list[str]) -> int | None:
    """Run ``argv`` (without the program name) if it is a plain ``send`` or ``jobs``; its
    exit status, or None when the Click application should run it instead."""
    if not argv or argv[0] not in COMMANDS:
        return None
    command = _parse(argv[1:], *COMMANDS[argv[0]])
    if command is None:
        return None
    if argv[0] == "render":
        return _render(command)
    server_name = command.value("server_name", os.environ.get("OPENFAX_SERVER") or "") or ""
    token = command.value("token", os.environ.get("OPENFAX_TOKEN") or None)
    if argv[0] == "send":
        return _send(command, server_name, token)
    if command.arguments:
        return None
    return _jobs(command, server_name, token)


def _parse(args: list[str], values: dict[str, str], flags: dict[str, str]) -> _Command | None:
    """The arguments and options of a command line, or None if it holds anything else."""
    command = _Command()
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            command.arguments.extend(rest)
            break
        if not arg.startswith("-") or arg == "-":
            command.arguments.append(arg)
            continue
        name, has_value, value = arg.partition("=")
        if name in flags and not has_value:
            command.flags.add(flags[name])
        elif name in values:
            if not has_value:
                value = next(rest, "")
                if not value or value.startswith("-"):
                    return None
            command.values.setdefault(values[name], []).append(value)
        else:
            return None
    return command


def _send(command: _Command, server_name: str, token: str | None) -> int | None:
    """``openfax send`` without ``--wait``: one multipart POST and one GET per job on the
    client's connection, printed as the Click command prints them."""
    files = command.arguments
    to = command.values.get("to", [])
    priority = command.value("priority", "normal")
    if not files or not to or priority not in PRIORITY_NUMBERS:
        return None
    if not all(os.path.isfile(path) for path in files):
        return None
    import json
    from pathlib import Path

    from openfax.cli.fax import print_sent
    from openfax.client._connection import Connection

    document: dict[str, object] = {
        "recipients": [{"fax_number": number} for number in to],
        "subject": command.value("subject", "") or "",
        "note": command.value("note", "") or "",
        "priority": PRIORITY_NUMBERS[str(priority)],
    }
    cover = command.value("cover", None)
    if cover:
        document |= {"cover_page_type": SERVER_COVER_PAGE, "cover_page": cover}

    def work() -> None:
        connection = Connection(server_name, token, TIMEOUT)
        try:
            submitted = connection.post(
                "/submissions",
                fields={"document": json.dumps(document)},
                uploads=[("bodies", Path(path)) for path in files],
            )
            jobs = [connection.get(f"/outgoing-jobs/{job_id}") for job_id in submitted["job_ids"]]
        except BodyError as exc:
            # As ``FaxDocument.connected_submit`` does: the file named as the command line did.
            raise BodyError(exc.index, files[exc.index], exc.reason) from None
        finally:
            connection.close()
        print_sent(jobs, "as_json" in command.flags)

    return _report(work)


def _render(command: _Command) -> int | None:
    """``openfax render``: the documents rendered, and the line or JSON the Click command
    prints; its errors as it reports them (``Error: <message>``)."""
    from openfax.cli.render import MAX_WORKERS, RENDER_CHOICES, render_report

    output = command.value("output", None)
    workers = command.value("workers", None)
    if not command.arguments or not output or os.path.isdir(output):
        return None
    if workers is not None and not (workers.isdigit() and 1 <= int(workers) <= MAX_WORKERS):
        return None
    options: dict[str, str] = {}
    for name, choices, default, _ in RENDER_CHOICES:
        key = name.removeprefix("--").replace("-", "_")
        options[key] = str(command.value(key, default))
        if options[key] not in choices:
            return None
    try:
        report = render_report(
            command.arguments,
            output,
            workers=None if workers is None else int(workers),
            as_json="as_json" in command.flags,
            **options,
        )
    except FaxError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nAborted!", file=sys.stderr)
        return 1
    print(report)
    return 0


def _jobs(command: _Command, server_name: str, token: str | None) -> int:
    from openfax.cli import fax

    def work() -> None:
        with _connected(server_name, token) as server:
            rows = [fax.job_row(job.to_dict()) for job in server.folders.outgoing_queue.get_jobs()]
        fax.print_rows(
            rows,
            fax.JOB_COLUMNS,
            "Outgoing queue",
            "as_json" in command.flags,
            optional=fax.JOB_OPTIONAL,
            wide="wide" in command.flags,
        )

    return _report(work)


def _connected(server_name: str, token: str | None) -> FaxServer:
    """A connected FaxServer (the ``with`` block around its use disconnects it)."""
    from openfax.client import FaxServer

    server = FaxServer()
    server.connect(server_name, token=token)
    return server


def _report(work: Callable[[], None]) -> int:
    """Run ``work``; 0, or 1 after reporting a FaxError or an interruption as Click does."""
    from openfax.cli.fax import failure

    try:
        work()
    except FaxError as exc:
        print(f"Error: {failure(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nAborted!", file=sys.stderr)
        return 1
    return 0
