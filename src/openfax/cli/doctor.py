"""``openfax doctor``: the findings of :mod:`openfax.doctor`, one line each or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openfax.doctor import Level, examine

_MARKS = {Level.OK: "ok", Level.WARNING: "warning", Level.FAULT: "FAULT"}


def run_doctor(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Print the findings; exit with status 1 when one is a fault."""
    findings = examine(config, data_dir)
    if as_json:
        click.echo(json.dumps([finding.to_dict() for finding in findings]))
    else:
        width = max(len(finding.check) for finding in findings)
        for finding in findings:
            fix = f" -> {finding.fix}" if finding.fix else ""
            line = f"{_MARKS[finding.level]:<7}  {finding.check:<{width}}  {finding.found}{fix}"
            click.echo(line)
    if any(finding.level is Level.FAULT for finding in findings):
        raise SystemExit(1)
