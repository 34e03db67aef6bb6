"""FAXCOMEX ``FaxDocument``: what to send, to whom and how; ``connected_submit`` uploads it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openfax.client._connection import Upload
from openfax.client.routing import send_json
from openfax.client.server import FaxServer
from openfax.errors import BodyError
from openfax.model import CoverPageType, Priority, ReceiptType, ScheduleType
from openfax.model.records import SENDER_FIELDS, Recipient, Sender, person_fields

if TYPE_CHECKING:
    from openfax.client._connection import Connection


class _Changeable:
    """A record of :mod:`openfax.model.records` that a script changes in place, as FAXCOMEX's
    objects are (``document.sender.name = ...``): the fields are the model's, declared
    there once, and set here without the freezing."""

    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__
    __hash__ = None  # type: ignore[assignment]  # changed in place: not hashable


class FaxSender(_Changeable, Sender):
    """FAXCOMEX ``FaxSender``: who sends (cover page fields, TSID), and ``server``: where
    ``load_default_sender``/``save_default_sender`` keep the default sender, a connected
    FaxServer (None: the local openfaxd, reached for the call, as FAXCOMEX's sender, which
    needs no connection)."""

    def __init__(self, *, server: FaxServer | None = None, **fields: str) -> None:
        super().__init__(**fields)
        self.server = server

    def load_default_sender(self) -> None:
        """FAXCOMEX ``LoadDefaultSender()``: fill every field with the default sender the
        account keeps on the server (empty fields when none was saved)."""
        with _default_sender_connection(self.server) as connection:
            saved = connection.get(DEFAULT_SENDER_PATH)
        for name in SENDER_FIELDS:
            setattr(self, name, saved.get(name, ""))

    def save_default_sender(self) -> None:
        """FAXCOMEX ``SaveDefaultSender()``: keep these fields as the account's default
        sender on the server (a SubmissionError-like 400 names a field too long)."""
        with _default_sender_connection(self.server) as connection:
            send_json(connection, "PUT", DEFAULT_SENDER_PATH, person_fields(self))


DEFAULT_SENDER_PATH = "/account/default-sender"


@contextmanager
def _default_sender_connection(server: FaxServer | None) -> Iterator[Connection]:
    """The connection of ``server``, or of a FaxServer connected to the local openfaxd for
    the ``with`` block."""
    if server is not None:
        yield server._connected
        return
    with FaxServer() as local:
        local.connect("")
        yield local._connected


class FaxRecipient(_Changeable, Recipient):
    """FAXCOMEX ``FaxRecipient``: a number to dial and the cover page fields of its holder."""


@dataclass
class FaxRecipients:
    """FAXCOMEX ``FaxRecipients``: ``add(number, name)``, ``remove(i)``, 1-based ``item(i)``
    and ``[i]``."""

    _items: list[FaxRecipient] = field(default_factory=list)

    def add(self, fax_number: str, name: str = "") -> FaxRecipient:
        recipient = FaxRecipient(fax_number=fax_number, name=name)
        self._items.append(recipient)
        return recipient

    def remove(self, index: int) -> None:
        """Remove the recipient at 1-based ``index``."""
        del self._items[self._position(index)]

    def __getitem__(self, index: int) -> FaxRecipient:
        return self.item(index)

    def item(self, index: int) -> FaxRecipient:
        """FAXCOMEX ``Item(index)``: the recipient at 1-based ``index``."""
        return self._items[self._position(index)]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items)

    @property
    def count(self) -> int:
        return len(self._items)

    def _position(self, index: int) -> int:
        if not 1 <= index <= len(self._items):
            raise IndexError(f"recipient {index} is not in 1..{len(self._items)}")
        return index - 1


@dataclass
class FaxDocument:
    """FAXCOMEX ``FaxDocument2``. Bodies are local files (PDF, images, text) uploaded on
    submission; ``body`` is one of them, ``bodies`` several (a list, or ``;``-separated as
    in FAXCOMEX). A repeated ``idempotency_key`` returns the jobs of the first submission
    instead of queueing the fax again (safe to retry after a lost answer)."""

    body: str | Path | None = None
    bodies: list[str | Path] | str = field(default_factory=list)
    sender: FaxSender = field(default_factory=FaxSender)
    recipients: FaxRecipients = field(default_factory=FaxRecipients)
    recipient_groups: list[str] = field(default_factory=list)
    """Address book groups (an OpenFax extension): each member is a recipient too, once,
    after ``recipients``; a group is looked for in the account's book, then the shared one."""
    subject: str = ""
    note: str = ""
    document_name: str = ""
    cover_page_type: CoverPageType = CoverPageType.NONE
    cover_page: str = ""
    """A server cover page's name (SERVER), or a local template file (LOCAL, uploaded)."""
    priority: Priority = Priority.LOW
    schedule_type: ScheduleType = ScheduleType.NOW
    schedule_time: datetime | None = None
    """For SPECIFIC_TIME; an aware datetime (a naive one is taken as local time)."""
    receipt_type: ReceiptType = ReceiptType.NONE
    receipt_address: str = ""
    attach_fax_to_receipt: bool = False
    group_broadcast_receipts: bool = False
    idempotency_key: str | None = None
    submission_id: str | None = None
    """Set by a successful submission: shared by the jobs of all recipients."""

    def body_paths(self) -> list[Path]:
        """Every body in order: ``body`` first, then ``bodies``."""
        bodies = self.bodies.split(";") if isinstance(self.bodies, str) else self.bodies
        paths = [] if self.body is None else [self.body]
        return [Path(p) for p in [*paths, *bodies] if str(p).strip()]

    def connected_submit(self, server: FaxServer) -> list[str]:
        """FAXCOMEX ``ConnectedSubmit``: queue the fax on a connected server; one job id per
        recipient, in order (the members of ``recipient_groups`` last). A failing body
        raises BodyError with its ``index``."""
        schedule_time = self.schedule_time
        if schedule_time is not None and schedule_time.tzinfo is None:
            schedule_time = schedule_time.astimezone()
        if schedule_time is not None and schedule_time < datetime.now(schedule_time.tzinfo):
            # FAXCOMEX sends a fax whose time has passed at once (a COM DATE holding only a
            # time of day, CDate("4:35 PM"), is on 1899-12-30).
            schedule_time = datetime.now(schedule_time.tzinfo)
        document = {
            "recipients": [person_fields(r) for r in self.recipients],
            "recipient_groups": list(self.recipient_groups),
            "sender": person_fields(self.sender),
            "subject": self.subject,
            "note": self.note,
            "document_name": self.document_name,
            "cover_page_type": int(self.cover_page_type),
            "cover_page": "" if self.cover_page_type is CoverPageType.LOCAL else self.cover_page,
            "priority": int(self.priority),
            "schedule_type": int(self.schedule_type),
            "schedule_time": None if schedule_time is None else schedule_time.isoformat(),
            "receipt_type": int(self.receipt_type),
            "receipt_address": self.receipt_address,
            "attach_fax_to_receipt": self.attach_fax_to_receipt,
            "group_broadcast_receipts": self.group_broadcast_receipts,
        }
        headers = {} if self.idempotency_key is None else {"Idempotency-Key": self.idempotency_key}
        bodies = self.body_paths()
        uploads: list[Upload] = [("bodies", path) for path in bodies]
        if self.cover_page_type is CoverPageType.LOCAL and self.cover_page:
            uploads.append(("cover_page_file", Path(self.cover_page)))
        try:
            result = server._connected.post(
                "/submissions",
                fields={"document": json.dumps(document)},
                uploads=uploads,
                headers=headers,
            )
        except BodyError as exc:
            # The server knows the file by its name alone: name it as the caller did.
            raise BodyError(exc.index, bodies[exc.index], exc.reason) from None
        self.submission_id = result["submission_id"]
        job_ids: list[str] = result["job_ids"]
        return job_ids

    def submit(self, server_name: str = "", *, token: str | None = None) -> list[str]:
        """FAXCOMEX ``Submit(server)``: connect, submit and disconnect."""
        server = FaxServer()
        server.connect(server_name, token=token)
        try:
            return self.connected_submit(server)
        finally:
            server.disconnect()

    def connected_submit2(self, server: FaxServer) -> tuple[int, list[str]]:
        """FAXCOMEX ``ConnectedSubmit2``, as win32com returns a method with a return value
        and an out parameter: ``(error_body_file, job_ids)``. ``error_body_file`` is -1
        since the fax was queued; when a body fails, the BodyError raised carries its
        0-based position in ``index`` (a COM caller reads it as ``com_error.error.index``)."""
        return NO_BODY_FAILED, self.connected_submit(server)

    def submit2(self, server_name: str = "", *, token: str | None = None) -> tuple[int, list[str]]:
        """FAXCOMEX ``Submit2(server)``: connect, ``connected_submit2`` and disconnect."""
        return NO_BODY_FAILED, self.submit(server_name, token=token)


NO_BODY_FAILED = -1
"""``ConnectedSubmit2``'s error body index when every body was taken."""
