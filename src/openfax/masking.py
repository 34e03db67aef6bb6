"""Secrets in the settings as clients see them: a password, a webhook secret or a token that
an administrator saved is never given back in clear. It reads as :data:`MASK` when one is
set (empty when not), and saving a value equal to the mask keeps the stored secret, so a
client can send back what it read. One shape for every secret: the receipt options' SMTP
password and the keys of routing configurations that :func:`is_secret` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "********"
"""What a set secret reads as; saving it keeps the stored secret."""
_SECRET_WORDS = ("password", "secret", "token")


def is_secret(key: str) -> bool:
    """Whether a configuration key holds a secret: its name has ``password``, ``secret``
    or ``token`` in it (``password``, ``smtp_password``, ``secret``, ``api_token``), so a
    third-party method's credentials are masked as the built-in ones are."""
    name = key.lower()
    return any(word in name for word in _SECRET_WORDS)


def masked(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration with each secret that is set shown as the mask."""
    return {k: MASK if is_secret(k) and v else v for k, v in configuration.items()}


def unmasked(given: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration to save: each secret given as the mask is the stored one."""
    return {k: stored.get(k) if is_secret(k) and v == MASK else v for k, v in given.items()}
