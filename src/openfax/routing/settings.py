"""Checking a routing method's configuration, so that a wrong one is refused when it is set
(a :class:`~openfax.errors.ConfigError` naming the method and the key) rather than found
when a fax arrives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from openfax.errors import ConfigError
from openfax.model import CONTROL

CALLED_NUMBERS = "called_numbers"
"""The key every method's configuration may carry: the called numbers (DIDs) it routes;
empty or absent routes every fax of the line."""
WORDS = "words"
"""The key every method's configuration may carry: words of which the text read of a fax
(OCR) must hold one (letter case aside) for the method to route it; empty or absent routes
every fax, a fax whose text was not read routes only to methods without words."""
MAX_WORDS = 100
"""The most words a configuration's ``words`` lists."""
MAX_WORD_LENGTH = 100
MAX_TEXT_LENGTH = 4096
"""The longest text of a configuration (a path, an address, a URL)."""


class Checker:
    """Reads the keys of one configuration, checking each; ``done`` refuses keys not read."""

    def __init__(self, method: str, configuration: Mapping[str, Any]) -> None:
        self.source = f"routing method {method}"
        if not isinstance(configuration, Mapping):
            raise ConfigError(self.source, "(configuration)", "must be a JSON object")
        self.given = configuration
        self.read: set[str] = set()

    def fail(self, key: str, reason: str) -> NoReturn:
        raise ConfigError(self.source, key, reason)

    def _get(self, key: str, default: Any, required: bool) -> Any:
        self.read.add(key)
        if key not in self.given or self.given[key] is None:
            if required:
                self.fail(key, "is required")
            return default
        return self.given[key]

    def text(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self._get(key, default, required)
        if not isinstance(value, str) or (required and not value):
            self.fail(key, f"must be a non-empty string, not {value!r}")
        self._plain(key, value)
        return value

    def _plain(self, key: str, value: str) -> None:
        """Refuse a text no path, address, header or URL takes: a control character (a NUL,
        a line break that would start a header of its own), or one too long."""
        if CONTROL.search(value):
            self.fail(key, f"must not hold a control character: {value!r}")
        if len(value) > MAX_TEXT_LENGTH:
            self.fail(key, f"must be at most {MAX_TEXT_LENGTH} characters, not {len(value):,}")

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default, False)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {value!r}")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, default, False)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self._get(key, default, False)
        if value not in choices:
            self.fail(key, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return str(value)

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        value = self._get(key, [], required)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"must be a list of non-empty strings, not {value!r}")
        if required and not value:
            self.fail(key, "must name at least one")
        for text in value:
            self._plain(key, text)
        return list(value)

    def done(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with the called-number and words filters, once every given key has
        been read."""
        numbers = self.texts(CALLED_NUMBERS)
        words = self.texts(WORDS)
        if len(words) > MAX_WORDS:
            self.fail(WORDS, f"must list at most {MAX_WORDS} words, not {len(words)}")
        for word in words:
            if len(word) > MAX_WORD_LENGTH or not word.strip():
                self.fail(WORDS, f"must be words of 1 to {MAX_WORD_LENGTH} characters: {word!r}")
        unknown = sorted(set(self.given) - self.read)
        if unknown:
            self.fail(unknown[0], f"unknown key (known: {', '.join(sorted(self.read))})")
        return (
            values
            | ({CALLED_NUMBERS: numbers} if numbers else {})
            | ({WORDS: words} if words else {})
        )


def free_form(method: str, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """A third-party method's configuration: any JSON object (the method reads it), with the
    called-number filter checked."""
    checker = Checker(method, configuration)
    checker.read.update(configuration)
    return checker.done(dict(configuration))
