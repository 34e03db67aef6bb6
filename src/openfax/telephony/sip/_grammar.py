"""Small lexical pieces of the SIP grammar (RFC 3261 section 25) shared by the header parsers.

Values are split on separators that are not inside a quoted string or an ``<...>`` URI, which
is what makes ``"Smith, Bob" <sip:bob@example.com>`` one Contact and not two.
"""

from __future__ import annotations

import re

from openfax.errors import SipParseError

TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
"""RFC 3261 ``token``: method names, header names, parameter names."""


def split_outside_quotes(value: str, separator: str) -> list[str]:
    """Split ``value`` at each ``separator`` that is outside quotes and angle brackets."""
    if '"' not in value and "<" not in value:
        return value.split(separator)
    parts: list[str] = []
    start = 0
    in_quotes = False
    escaped = False
    depth = 0
    for index, char in enumerate(value):
        if in_quotes:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        elif char == separator and depth == 0:
            parts.append(value[start:index])
            start = index + 1
    if in_quotes:
        raise SipParseError(f"unterminated quoted string in {value!r}")
    parts.append(value[start:])
    return parts


def unquote(value: str) -> str:
    """The text of a quoted string without its quotes and backslash escapes."""
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        raise SipParseError(f"not a quoted string: {value!r}")
    return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)


def quote(value: str) -> str:
    """``value`` as a quoted string, escaping quotes and backslashes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def parse_params(text: str, where: str) -> dict[str, str | None]:
    """``;name=value;flag`` into a dict with lower-case names; a flag maps to None.

    Quoted values keep their quotes, so that serialising gives back what was received.
    """
    params: dict[str, str | None] = {}
    if not text.strip():
        return params
    pieces = split_outside_quotes(text, ";")
    if pieces[0].strip():
        raise SipParseError(f"{where}: unexpected {pieces[0].strip()!r} before parameters")
    for piece in pieces[1:]:
        name, equals, raw = piece.partition("=")
        name = name.strip()
        if not TOKEN.fullmatch(name):
            raise SipParseError(f"{where}: bad parameter name {name!r}")
        value = raw.strip()
        if equals and not value:
            raise SipParseError(f"{where}: parameter {name!r} has an empty value")
        params[name.lower()] = value if equals else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    """The ``;name=value`` text of a parameter dict."""
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in params.items()
    )
