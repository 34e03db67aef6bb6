"""What a fax number is: what a client may submit as a recipient, and what a line dials.

One definition for the service (which refuses a number it could never dial at submission),
the providers (which dial it) and their tests. A number is digits, ``*`` and ``#``, maybe a
leading ``+``, written with separators (space, ``-``, ``.``, brackets) and ``,`` pauses; or a
SIP URI (``sip:fax@example.com``), which only a SIP line dials.
"""

from __future__ import annotations

import re

SEPARATORS = " -.()"
"""Characters written in a number for the eye, never dialled."""
PAUSE = ","
"""A pause (as on a modem's dial string): it changes when the digits after it are dialled,
not which; a network line (loopback, SIP) has nothing to wait for and dials straight on."""
DIALLABLE = re.compile(r"\+?[0-9*#]+")
"""A number as a line dials it (:func:`canonical_number`): digits, ``*`` and ``#``, maybe a
leading ``+``."""
SIP_URI = re.compile(r"sips?:[^\s@<>\"]+@[^\s@<>\"]+", re.IGNORECASE)
"""A SIP URI with a user part (``sip:fax@pbx.example.com;transport=tcp``): dialled as it is."""
_NOT_DIALLED = re.compile(f"[{re.escape(SEPARATORS + PAUSE)}]")
_WRITTEN = re.compile(rf"\+?[0-9*#{re.escape(SEPARATORS + PAUSE)}]+")

WHAT_A_NUMBER_IS = (
    "a fax number has digits, * and #, maybe a leading +, "
    f"separators ({' '.join(repr(c) for c in SEPARATORS)}) and {PAUSE!r} for a pause"
)
"""What an error about a number says a number may hold."""


def is_sip_uri(number: str) -> bool:
    """Whether ``number`` is a SIP URI (``sip:`` or ``sips:`` with a user part)."""
    return SIP_URI.fullmatch(number.strip()) is not None


def canonical_number(number: str) -> str:
    """The number a line dials: without separators and pauses (``+1 555-0100`` and
    ``+1,5550100`` are one number ``+15550100``); a SIP URI as it is, trimmed."""
    if is_sip_uri(number):
        return number.strip()
    return _NOT_DIALLED.sub("", number)


def is_phone_number(number: str) -> bool:
    """Whether ``number`` is a telephone number as written (:data:`WHAT_A_NUMBER_IS`): at
    least one digit, ``*`` or ``#``, a ``+`` only first."""
    stripped = number.strip(SEPARATORS)
    return (
        _WRITTEN.fullmatch(stripped) is not None
        and DIALLABLE.fullmatch(canonical_number(stripped)) is not None
    )
