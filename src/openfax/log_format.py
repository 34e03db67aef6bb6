"""How ``openfaxd``'s log lines look: plain text, or one JSON object per record for a log
collector (``[log] format = "json"``), with the ids of the node, job and call it concerns.

The job and the call are those of the asyncio task that logs: the task that runs a call
says which with :func:`log_job` as it starts, and every record it makes from then on (its
own, the provider's, the store's) carries them. asyncio gives each task a copy of the
context it was made in, so one task's ids never leak into another's.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The plain format's line (tests and administrators read it)."""

_job: ContextVar[int | None] = ContextVar("openfax_log_job", default=None)
_call: ContextVar[int | None] = ContextVar("openfax_log_call", default=None)


def log_job(job_id: int, call_id: int | None = None) -> None:
    """Say that the current task works for job ``job_id`` (and incoming call ``call_id``):
    what it logs from now on names them."""
    _job.set(job_id)
    if call_id is not None:
        _call.set(call_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message``, ``node``, and ``job`` (16 hex digits) and ``call`` where known;
    a traceback goes in ``exception`` rather than on lines of its own."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "node": self.node_id,
        }
        job = getattr(record, "job_id", None) or _job.get()
        if job is not None:
            line["job"] = f"{job:016x}"
        call = getattr(record, "call_id", None) or _call.get()
        if call is not None:
            line["call"] = call
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(*, verbose: bool = False) -> None:
    """Log to stderr in the plain format, at INFO (DEBUG when ``verbose``): before the
    configuration is read, so that its errors are logged too."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format=PLAIN_FORMAT, stream=sys.stderr
    )


def use_format(format: Literal["plain", "json"], node_id: str) -> None:
    """Write the root logger's records in ``format`` from now on (``node_id`` names the
    node in JSON lines)."""
    formatter = JsonFormatter(node_id) if format == "json" else logging.Formatter(PLAIN_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
