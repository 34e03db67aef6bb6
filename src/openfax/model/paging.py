"""Paged listings: where a listing of a queue or an archive stopped, and the opaque text a
client gets for it (``next_cursor``) and sends back (``after``).

A cursor names rows by their place in the listing's order (a time, then an id), never by a
position, so pages read while the queue changes show no row twice and skip none.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from openfax.errors import InvalidIdError
from openfax.model.ids import MAX_ID, format_id, parse_id

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class MessageCursor:
    """Where an archive listing stopped: the last message returned."""

    archived_at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class MessagePage(Generic[R]):
    """One batch of an archive's messages, oldest first; ``next_cursor`` is None at the end
    of the archive."""

    messages: list[R]
    next_cursor: MessageCursor | None


@dataclass(frozen=True, slots=True)
class QueueKey:
    """A job's place in its queue's order: its time (an outgoing job's creation, an incoming
    job's start), then its id."""

    at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Where a queue listing stopped, and the snapshot it reads: ``after`` is the last job
    returned, ``until`` the last job in the queue when the first page was read, ``count``
    how many jobs the queue then held."""

    after: QueueKey
    until: QueueKey
    count: int


@dataclass(frozen=True, slots=True)
class QueuePage(Generic[R]):
    """One batch of a queue snapshot in queue order; ``count`` is the snapshot's size and
    ``next_cursor`` None at its end."""

    jobs: list[R]
    count: int
    next_cursor: QueueCursor | None


def encode_cursor(cursor: MessageCursor) -> str:
    """An opaque archive cursor: where a listing stopped, base64url of ``time~id``."""
    return _encode([_key_text(cursor.archived_at, cursor.id)])


def decode_cursor(text: str) -> MessageCursor:
    """The cursor ``encode_cursor`` made; InvalidIdError for anything else."""
    (after,) = _decode(text, keys=1, counted=False)
    return MessageCursor(archived_at=after.at, id=after.id)


def encode_queue_cursor(cursor: QueueCursor) -> str:
    """An opaque queue cursor: base64url of ``time~id~time~id~count`` (the last job
    returned, the snapshot's last job, its count)."""
    return _encode(
        [
            _key_text(cursor.after.at, cursor.after.id),
            _key_text(cursor.until.at, cursor.until.id),
            str(cursor.count),
        ]
    )


def decode_queue_cursor(text: str) -> QueueCursor:
    """The cursor ``encode_queue_cursor`` made; InvalidIdError for anything else."""
    after, until, count = _decode(text, keys=2, counted=True)
    return QueueCursor(after, until, count)


def _key_text(at: datetime, row_id: int) -> str:
    return f"{at.astimezone(UTC).isoformat()}~{format_id(row_id)}"


def _encode(parts: list[str]) -> str:
    return base64.urlsafe_b64encode("~".join(parts).encode()).decode().rstrip("=")


def _decode(text: str, *, keys: int, counted: bool) -> list[Any]:
    """The ``keys`` (time, id) pairs of a cursor as QueueKeys, then its count if
    ``counted``; InvalidIdError for a cursor of another shape."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split("~")
        if len(raw) != 2 * keys + counted:
            raise ValueError(text)
        found: list[Any] = []
        for index in range(keys):
            at = datetime.fromisoformat(raw[2 * index])
            if at.tzinfo is None:
                raise ValueError(text)
            found.append(QueueKey(at.astimezone(UTC), parse_id(raw[2 * index + 1])))
        if counted:
            count = int(raw[-1])
            if not 0 <= count <= MAX_ID:
                raise ValueError(text)
            found.append(count)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidIdError(text) from None
    return found
