"""Secrets in the settings as clients see them: a password, a webhook secret or a token that
an administrator saved is never given back in clear. It reads as :data:`MASK` when one is
set (empty when not), and saving a value equal to the mask keeps the stored secret, so a
client can send back what it read. One shape for every secret: the receipt options' SMTP
password, the keys of routing configurations that :func:`is_secret` names, and a password
written in a URL (``https://user:password@host/``), which reads with the mask in its place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "********"
"""What a set secret reads as; saving it keeps the stored secret."""
_SECRET_WORDS = ("password", "secret", "token")


def is_secret(key: str) -> bool:
    """Whether a configuration key holds a secret: its name has ``password``, ``secret``
    or ``token`` in it (``password``, ``smtp_password``, ``secret``, ``api_token``), so a
    third-party method's credentials are masked as the built-in ones are."""
    name = key.lower()
    return any(word in name for word in _SECRET_WORDS)


def masked_url(url: str) -> str:
    """``url`` with a password written in it (``https://user:password@host/``) masked, as
    clients, the log and messages show it; any other text as it is."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL (an unclosed IPv6 bracket, a bad port)
        return url
    if password is None:
        return url
    login, _, place = parts.netloc.rpartition("@")
    user = login.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{place}"))


def _shown(key: str, value: Any) -> Any:
    if is_secret(key) and value:
        return MASK
    return masked_url(value) if isinstance(value, str) else value


def masked(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration with each secret that is set shown as the mask."""
    return {k: _shown(k, v) for k, v in configuration.items()}


def unmasked(given: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration to save: each secret given as it reads (the mask, or a URL with the
    mask for its password) is the stored one."""
    return {k: _kept(k, v, stored.get(k)) for k, v in given.items()}


def _kept(key: str, given: Any, stored: Any) -> Any:
    if is_secret(key) and given == MASK:
        return stored
    if isinstance(given, str) and isinstance(stored, str) and given == masked_url(stored):
        return stored
    return given
