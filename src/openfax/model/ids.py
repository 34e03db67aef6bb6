"""Job, message and submission ids: 63-bit random positive integers shown as 16 hex digits.

63 bits fit a signed BIGINT column; random ids reveal nothing about queue volume and need no
shared counter between nodes.
"""

from __future__ import annotations

import re
import secrets

from openfax.errors import InvalidIdError

MAX_ID = 2**63 - 1
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")


def new_id() -> int:
    """A fresh random id in 1..MAX_ID."""
    return secrets.randbelow(MAX_ID) + 1


def new_ids(count: int) -> list[int]:
    """``count`` fresh random ids from one read of the system's random source (a broadcast's
    jobs: one read per id showed in its submission time)."""
    data = secrets.token_bytes(8 * count)
    ids = [int.from_bytes(data[i : i + 8]) >> 1 for i in range(0, len(data), 8)]
    return [value or new_id() for value in ids]


def format_id(value: int) -> str:
    """``value`` as 16 lower-case hex digits, the form users and the wire see."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidIdError(value)
    return f"{value:016x}"


def parse_id(text: str) -> int:
    """The id written as 16 hex digits in ``text`` (either case); anything else is refused."""
    if not isinstance(text, str) or not _HEX16.fullmatch(text):
        raise InvalidIdError(text)
    value = int(text, 16)
    if not 1 <= value <= MAX_ID:
        raise InvalidIdError(text)
    return value
