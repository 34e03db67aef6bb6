"""What text from a client may hold, checked alike by the service, the API and plug-ins."""

from __future__ import annotations

import re

CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
"""The control characters as a regular expression's character class holds them (for the
API's field patterns, which pydantic takes as text)."""
CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
"""A control character: refused in whatever is dialled, mailed, logged or used as a path (a
NUL ends a name in C and cannot be stored by PostgreSQL, CR and LF end a header line)."""
