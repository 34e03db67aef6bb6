"""What text from a client may hold, checked alike by the service, the API and plug-ins."""

from __future__ import annotations

import re

CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
"""The control characters as a regular expression's character class holds them (for the
API's field patterns, which pydantic takes as text)."""
CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
"""A control character: refused in whatever is dialled, mailed, logged or used as a path (a
NUL ends a name in C and cannot be stored by PostgreSQL, CR and LF end a header line)."""


def version_numbers(version: str) -> tuple[int, int, int, int]:
    """FAXCOMEX's ``MajorVersion``, ``MinorVersion``, ``MajorBuild`` and ``MinorBuild`` of a
    version text (``"1.2.3"``, ``"0.4.0.dev1"``): its first four dotted parts, the digits each
    starts with, 0 for a part missing or without any."""
    numbers = [int(m[0]) if (m := re.match(r"\d+", part)) else 0 for part in version.split(".")]
    major, minor, build, revision = [*numbers, 0, 0, 0, 0][:4]
    return major, minor, build, revision
