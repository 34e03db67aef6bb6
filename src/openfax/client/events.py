"""Server events as the client delivers them (FAXCOMEX ``IFaxServerNotify2``): the event's
name (``OnOutgoingJobChanged``), the ids it concerns, and its status fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from openfax.client._records import Field, Record, parse_time
from openfax.model import JobOperations, JobStatus, JobType

_ENVELOPE = ("seq", "type", "event", "time")

_logger = logging.getLogger(__name__)
_S = TypeVar("_S")
_E = TypeVar("_E")


def call_handlers(
    handlers: Sequence[Callable[[_S, _E], object]], source: _S, event: _E, what: str
) -> None:
    """Call each ``handler(source, event)`` (``event``: a ServerEvent, or what a connection
    handler is told); one that raises is logged as a failed ``what`` and the others still
    run, so a faulty handler cannot stop the listener thread."""
    for handler in list(handlers):
        try:
            handler(source, event)
        except Exception:
            name = event.name if isinstance(event, ServerEvent) else repr(event)
            _logger.exception("%s %r failed on %s", what, handler, name)


@dataclass(frozen=True)
class ServerEvent:
    """One server event: ``seq`` orders events and resumes a stream (``after=seq``); ``name``
    is the FAXCOMEX notification; ``data`` holds its ids and ``IFaxJobStatus`` fields."""

    seq: int
    type: str
    name: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> ServerEvent:
        data = {k: v for k, v in message.items() if k not in _ENVELOPE}
        return cls(
            message["seq"], message["type"], message["event"], parse_time(message["time"]), data
        )

    @property
    def job_id(self) -> str | None:
        value: str | None = self.data.get("job_id")
        return value

    @property
    def message_id(self) -> str | None:
        value: str | None = self.data.get("message_id")
        return value

    @property
    def device_id(self) -> int | None:
        value: int | None = self.data.get("device_id")
        return value

    @property
    def status(self) -> JobStatus | None:
        """The job's status for ``On*JobChanged``; None for other events."""
        status = self.data.get("status")
        return None if status is None else JobStatus(status)

    @property
    def job_status(self) -> FaxJobStatus:
        """FAXCOMEX ``FaxJobStatus``: what ``On*JobChanged`` says of the job."""
        return FaxJobStatus(self.data)


class FaxJobStatus(Record):
    """FAXCOMEX ``FaxJobStatus``, the state of a job as an ``On*JobChanged`` event carries it;
    a field the event does not carry reads as None."""

    status = Field(JobStatus)
    extended_status_code = Field[int](key="extended_status")
    extended_status = Field[str](key="extended_status_text")
    """The provider's own status text, empty for standard codes (as in FAXCOMEX)."""
    available_operations = Field(JobOperations)
    job_type = Field(JobType)
    pages = Field[int]()
    current_page = Field[int]()
    size = Field[int]()
    device_id = Field[int]()
    retries = Field[int]()
    csid = Field[str]()
    tsid = Field[str]()
    caller_id = Field[str]()
    routing_information = Field[str]()
    scheduled_time = Field(parse_time)
    transmission_start = Field(parse_time)
    """When the call began (None while the job waits)."""
    transmission_end = Field(parse_time)
    """When the call ended (None until it has)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(dict.fromkeys(_JOB_STATUS_KEYS) | data)


_JOB_STATUS_KEYS = [str(f.key) for f in vars(FaxJobStatus).values() if isinstance(f, Field)]


def decode(text: str | bytes) -> dict[str, Any]:
    """One WebSocket message of the event stream."""
    message: dict[str, Any] = json.loads(text)
    return message
