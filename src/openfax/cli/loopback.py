"""``openfax loopback``: render documents, fax them between two engine sessions, report.

A demonstration and a diagnostic: it proves spandsp, the documents pipeline and the engine
work together on this machine, and prints what a real call would negotiate.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from openfax.cli.render import render_to_tiff
from openfax.errors import FaxError


@dataclass
class LoopbackReport:
    """What ``openfax loopback`` prints, as a table or as JSON."""

    result: str
    result_text: str
    ok: bool
    transport: str
    pages_in_document: int
    pages_sent: int
    pages_received: int
    modem: str | None
    bit_rate: int | None
    ecm: bool | None
    compression: str | None
    resolution: str | None
    remote_ident: str | None
    line_seconds: float
    cpu_seconds: float
    output: str


def transfer(
    send_file: Path,
    receive_file: Path,
    *,
    transport: str,
    modem: str | None,
    ecm: bool,
    tsid: str,
    csid: str,
) -> dict[str, Any]:
    """Run one back-to-back transfer; returns the fields of the report the engine decides."""
    from openfax.engine import (
        ALL_MODEMS,
        AudioSession,
        Modem,
        Negotiated,
        Role,
        SessionOptions,
        T38Session,
        run_pair,
    )

    modems = Modem[modem.upper()] if modem else ALL_MODEMS
    caller_options = SessionOptions(ident=tsid, ecm=ecm, modems=modems)
    answerer_options = SessionOptions(ident=csid, ecm=ecm, modems=modems)
    if transport == "t38":
        caller: Any = T38Session(Role.CALL, caller_options, send_file=send_file, paced=False)
        answerer: Any = T38Session(
            Role.ANSWER, answerer_options, receive_file=receive_file, paced=False
        )
    else:
        caller = AudioSession(Role.CALL, caller_options, send_file=send_file)
        answerer = AudioSession(Role.ANSWER, answerer_options, receive_file=receive_file)
    negotiated: list[Negotiated] = []

    def keep_negotiated(session: object, event: object) -> None:
        if session is caller and isinstance(event, Negotiated):
            negotiated.append(event)

    started = time.process_time()
    with caller, answerer:
        link = run_pair(caller, answerer, on_event=keep_negotiated)
    cpu = time.process_time() - started
    assert caller.result is not None
    assert answerer.result is not None
    last = negotiated[-1] if negotiated else None
    return {
        "result": caller.result.code.name,
        "result_text": caller.result.text,
        "ok": caller.result.ok and answerer.result.ok,
        "pages_sent": caller.result.pages,
        "pages_received": answerer.result.pages,
        "modem": str(last.modem.name) if last else None,
        "bit_rate": last.bit_rate if last else None,
        "ecm": last.ecm if last else None,
        "compression": str(last.compression.name) if last else None,
        "resolution": str(last.resolution.name).lower() if last else None,
        "remote_ident": last.remote_ident if last else None,
        "line_seconds": round(link.line_seconds, 2),
        "cpu_seconds": round(cpu, 4),
    }


def run_loopback(
    inputs: list[str],
    output: str,
    *,
    resolution: str,
    page_size: str,
    compression: str,
    transport: str,
    modem: str | None,
    no_ecm: bool,
    tsid: str,
    csid: str,
    as_json: bool,
) -> None:
    """Render, transfer, write what the answering side received, and report."""
    try:
        with tempfile.TemporaryDirectory(prefix="openfax-loopback-") as work:
            send_file = Path(work) / "send.tif"
            pages = render_to_tiff(
                inputs,
                send_file,
                resolution=resolution,
                page_size=page_size,
                compression=compression,
                header_tsid=tsid,
            )
            fields = transfer(
                send_file,
                Path(output),
                transport=transport,
                modem=modem,
                ecm=not no_ecm,
                tsid=tsid,
                csid=csid,
            )
    except (FaxError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    report = LoopbackReport(transport=transport, pages_in_document=pages, output=output, **fields)
    if as_json:
        click.echo(json.dumps(report.__dict__))
    else:
        _print_table(report)
    if not report.ok:
        raise SystemExit(1)


def _print_table(report: LoopbackReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Loopback fax", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    outcome = "OK" if report.ok else f"FAILED ({report.result}): {report.result_text}"
    rows = [
        ("result", outcome),
        (
            "pages",
            f"{report.pages_sent} sent, {report.pages_received} received "
            f"of {report.pages_in_document}",
        ),
        ("transport", report.transport),
        ("modem", f"{report.modem} at {report.bit_rate} bit/s" if report.modem else "-"),
        ("ECM", "on" if report.ecm else "off"),
        ("line compression", report.compression or "-"),
        ("resolution", report.resolution or "-"),
        ("remote ident", report.remote_ident or "-"),
        ("simulated line time", f"{report.line_seconds:.1f} s"),
        ("CPU time", f"{report.cpu_seconds:.3f} s"),
        ("received fax", report.output),
    ]
    for what, value in rows:
        table.add_row(what, value)
    Console().print(table)
