"""Server events as the client delivers them (FAXCOMEX ``IFaxServerNotify2``): the event's
name (``OnOutgoingJobChanged``), the ids it concerns, and its status fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openfax.client._records import parse_time
from openfax.model import JobStatus

_ENVELOPE = ("seq", "type", "event", "time")


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


def decode(text: str | bytes) -> dict[str, Any]:
    """One WebSocket message of the event stream."""
    message: dict[str, Any] = json.loads(text)
    return message
