"""Server events as the client delivers them (FAXCOMEX ``IFaxServerNotify2``): the event's
name (``OnOutgoingJobChanged``), the ids it concerns, and its status fields."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol, TypeVar

from openfax.client._connection import Connection, ServerUnavailableError
from openfax.client._records import Field, Record, parse_time
from openfax.errors import FaxError
from openfax.model import JobOperations, JobStatus, JobType, ServerEvents
from openfax.model.events import (
    EventPayload,
    EventType,
    IncomingJobChanged,
    OutgoingJobChanged,
    job_json,
    payload_of,
)

POLL_SECONDS = 0.2
"""How often a blocked event reader looks at its deadline or stop flag."""
RECONNECT_SECONDS = 0.5
"""How long a listener waits before it reconnects a lost event stream."""


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
    is the FAXCOMEX notification; ``data`` holds its ids and ``IFaxJobStatus`` fields as
    sent, ``payload`` the record of them."""

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

    @cached_property
    def payload(self) -> EventPayload | None:
        """The record of the event's fields (:mod:`openfax.model.events`); None for a kind
        of event this client does not know, or fields it cannot read (a newer server)."""
        try:
            return payload_of(EventType(self.type), self.data)
        except ValueError:  # pydantic's ValidationError is one
            return None

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
        payload = self.payload
        return payload.status if isinstance(payload, _JOB_CHANGED) else None

    @property
    def job_status(self) -> FaxJobStatus:
        """FAXCOMEX ``FaxJobStatus``: what ``On*JobChanged`` says of the job (every field
        None for another event)."""
        payload = self.payload
        return FaxJobStatus.of(payload) if isinstance(payload, _JOB_CHANGED) else FaxJobStatus({})


_JOB_CHANGED = (IncomingJobChanged, OutgoingJobChanged)


class FaxJobStatus(Record):
    """FAXCOMEX ``FaxJobStatus``, the state of a job as an ``On*JobChanged`` event carries it
    (:func:`openfax.model.events.job_json`: named as the job's JSON names them); a field
    the event does not carry (an incoming job's caller to an outgoing one) reads as None."""

    status = Field(JobStatus)
    extended_status_code = Field[int]()
    extended_status = Field[str]()
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

    @classmethod
    def of(cls, payload: IncomingJobChanged | OutgoingJobChanged) -> FaxJobStatus:
        """The status an ``On*JobChanged`` event's record says."""
        return cls(job_json(payload))


_JOB_STATUS_KEYS = [str(f.key) for f in vars(FaxJobStatus).values() if isinstance(f, Field)]


def decode(text: str | bytes) -> dict[str, Any]:
    """One WebSocket message of the event stream."""
    message: dict[str, Any] = json.loads(text)
    return message


class Dispatcher(Protocol):
    """What a listener hands its events to, and tells when the stream is lost (with what
    broke it) and back (None): a FaxServer or a FaxAccount."""

    def _dispatch(self, event: ServerEvent) -> None: ...

    def _connection_changed(self, lost: BaseException | None) -> None: ...


class Listener:
    """The thread behind ``listen_to_server_events``: reads the stream, calls the handlers,
    reconnects after a lost connection from the last event delivered."""

    def __init__(
        self,
        server: Dispatcher,
        connection: Connection,
        mask: ServerEvents,
        after: int | None,
        account: str | None = None,
    ) -> None:
        self.mask = mask
        self.account = account
        self.after = after
        self.failure: BaseException | None = None
        self.started = threading.Event()
        self._server = server
        self._connection = connection
        self._lost = False
        """The stream broke and is not back yet (the dispatcher was told once)."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openfax-events", daemon=True)
        self._thread.start()

    def stop(self) -> int | None:
        """Stop the thread; the ``seq`` of the last event it delivered."""
        self._stopping.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        return self.after

    def _run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while not self._stopping.is_set():
            try:
                socket = self._connection.events_socket(int(self.mask), self.after, self.account)
                with socket as ws:
                    self._read(ws)
            except (ServerUnavailableError, ConnectionClosed, OSError) as exc:
                if not self.started.is_set():
                    self.failure = exc
                    self.started.set()
                    return
                if not self._lost and not self._stopping.is_set():
                    self._lost = True
                    self._server._connection_changed(exc)
                self._stopping.wait(RECONNECT_SECONDS)
            except FaxError as exc:  # the server refused: the caller raises it, or hears it
                self.failure = exc
                if self.started.is_set():
                    self._server._connection_changed(exc)
                self.started.set()
                return
            except BaseException as exc:
                self.failure = exc
                self.started.set()
                raise

    def _read(self, ws: Any) -> None:
        hello = decode(ws.recv())
        if self.after is None:
            self.after = hello["seq"]
        self.started.set()
        if self._lost:
            self._lost = False
            self._server._connection_changed(None)
        while not self._stopping.is_set():
            try:
                text = ws.recv(timeout=POLL_SECONDS)
            except TimeoutError:
                continue
            event = ServerEvent.from_wire(decode(text))
            self.after = event.seq
            self._server._dispatch(event)
