"""FAXCOMEX ``FaxReceiptOptions``: the SMTP server delivery receipts go through, the receipt
types users may ask for, and whether e-mail routing shares these SMTP settings.

Kept in the store's ``settings`` under ``receipts.options``. NTLM (Windows' domain login)
and message-box receipts (pop-ups on a Windows desktop) do not exist here: asking for them
is refused with a :class:`~openfax.errors.ConfigError` saying so. The password reads as
``********``; saving the mask back keeps the stored one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from openfax.errors import ConfigError, SubmissionError
from openfax.masking import MASK
from openfax.model import CONTROL, ReceiptType, SmtpAuthenticationType
from openfax.smtp import SmtpSettings, default_sender

RECEIPT_OPTIONS_KEY = "receipts.options"
SOURCE = "receipt options"


@dataclass(frozen=True, kw_only=True)
class ReceiptOptions:
    """FAXCOMEX ``FaxReceiptOptions`` (``smtp_sender`` empty: ``openfax@<host>``)."""

    allowed_receipts: ReceiptType = ReceiptType.NONE
    """The receipt types a submission may ask for (FAXCOMEX's default: none)."""
    smtp_server: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = ""
    authentication_type: SmtpAuthenticationType = SmtpAuthenticationType.ANONYMOUS
    starttls: bool = False
    """Not in FAXCOMEX: upgrade the connection to TLS (STARTTLS) before anything else."""
    smtp_user: str = ""
    smtp_password: str = ""
    use_for_inbound_routing: bool = False
    """The e-mail routing method takes the SMTP settings its configuration leaves out from
    these options."""

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: int(value) if isinstance(value, IntEnum | IntFlag) else value
            for f in dataclasses.fields(self)
            for value in (getattr(self, f.name),)
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ReceiptOptions:
        """The options as stored (defaults for what is missing)."""
        return check_receipt_options(value or {}, cls())

    def masked(self) -> ReceiptOptions:
        """The options as a client reads them: the password as the mask, if one is set."""
        return dataclasses.replace(self, smtp_password=MASK if self.smtp_password else "")

    @property
    def sender(self) -> str:
        return self.smtp_sender or default_sender()

    def smtp(self) -> SmtpSettings:
        """How receipts are sent: the login only with basic authentication.

        Basic authentication without a user name may be saved, as FAXCOMEX lets a script set
        the user later; the options are refused here, when a message would go out.
        """
        basic = self.authentication_type is SmtpAuthenticationType.BASIC
        if basic and not self.smtp_user:
            raise ConfigError(SOURCE, "smtp_user", "is required with basic authentication")
        return SmtpSettings(
            host=self.smtp_server,
            port=self.smtp_port,
            starttls=self.starttls,
            username=self.smtp_user if basic else "",
            password=self.smtp_password if basic else "",
        )

    def routing_defaults(self) -> dict[str, Any]:
        """The e-mail routing method's SMTP keys as these options give them (empty unless
        ``use_for_inbound_routing``)."""
        if not self.use_for_inbound_routing:
            return {}
        smtp = self.smtp()
        values = {
            "sender": self.sender,
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "starttls": smtp.starttls,
        }
        if smtp.username:
            values |= {"username": smtp.username, "password": smtp.password}
        return values

    def check_request(self, receipt_type: ReceiptType, address: str) -> None:
        """Refuse (SubmissionError) a submission's receipt that these options do not allow,
        or a mail receipt without an address."""
        if not receipt_type:
            return
        kind = _flag_names(ReceiptType(receipt_type))
        if receipt_type & ReceiptType.MSGBOX:
            raise SubmissionError(
                "message-box receipts (pop-ups on a Windows desktop) are not supported: "
                "ask for a mail receipt"
            )
        if receipt_type & ~self.allowed_receipts:
            raise SubmissionError(
                f"receipt type {kind} is not allowed by the server's receipt options "
                f"(allowed: {_flag_names(self.allowed_receipts)}); an administrator allows "
                "it with `openfax receipts set --allow mail`"
            )
        check_receipt_address(address)


MAX_ADDRESS = 254
"""The longest e-mail address SMTP carries (RFC 5321's path limit less its brackets)."""
_NOT_IN_ADDRESS = frozenset(',;<>()[]\\"')
"""Characters that separate, quote or comment addresses in a header: a receipt address is
one bare ``local@domain``, never a list the mail server would send to each of."""


def check_receipt_address(address: str) -> str:
    """``address`` if it is one bare e-mail address (``local@domain``), else SubmissionError
    naming ``receipt_address``: a list (``a@x, c@y``), a display name, a comment or a line
    break would have the receipt mailed elsewhere or to several."""
    if not address.strip():
        raise SubmissionError("a mail receipt needs an e-mail address: receipt_address is empty")
    local, at, domain = address.rpartition("@")
    bad = [c for c in address if c.isspace() or not c.isprintable() or c in _NOT_IN_ADDRESS]
    if not (at and local and domain) or bad or len(address) > MAX_ADDRESS or "@" in local:
        raise SubmissionError(
            f"receipt_address is one e-mail address (local@domain, at most {MAX_ADDRESS} "
            f'characters, no spaces or any of , ; < > ( ) [ ] \\ "), not {address!r}'
        )
    return address


def check_receipt_options(given: Mapping[str, Any], current: ReceiptOptions) -> ReceiptOptions:
    """``current`` with the options in ``given`` changed, each checked (ConfigError names a
    wrong key); the password given as the mask keeps the current one."""
    if not isinstance(given, Mapping):
        raise ConfigError(SOURCE, "(options)", "must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(ReceiptOptions)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ConfigError(SOURCE, unknown[0], f"unknown option (known: {', '.join(fields)})")
    changes: dict[str, Any] = {}
    for key, value in given.items():
        if key == "smtp_password" and value == MASK:
            continue
        if key == "allowed_receipts":
            changes[key] = _allowed(value)
        elif key == "authentication_type":
            changes[key] = _authentication(value)
        elif key == "smtp_port":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
                raise ConfigError(SOURCE, key, f"must be a port from 1 to 65535, not {value!r}")
            changes[key] = value
        elif key in ("starttls", "use_for_inbound_routing"):
            if not isinstance(value, bool):
                raise ConfigError(SOURCE, key, f"must be true or false, not {value!r}")
            changes[key] = value
        else:
            if not isinstance(value, str):
                raise ConfigError(SOURCE, key, f"must be a string, not {value!r}")
            if CONTROL.search(value):
                raise ConfigError(SOURCE, key, "must not hold a control character")
            changes[key] = value.strip() if key != "smtp_password" else value
    options = dataclasses.replace(current, **changes)
    if not options.smtp_server:
        raise ConfigError(SOURCE, "smtp_server", "must name the SMTP server")
    if options.smtp_sender and "@" not in options.smtp_sender:
        sender = options.smtp_sender
        raise ConfigError(SOURCE, "smtp_sender", f"must be an e-mail address: {sender!r}")
    return options


def _allowed(value: Any) -> ReceiptType:
    """A receipt type mask from a number or names (``"mail"``, ``["mail"]``, ``"none"``)."""
    names = {"none": ReceiptType.NONE, "mail": ReceiptType.MAIL, "msgbox": ReceiptType.MSGBOX}
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list):
        mask = ReceiptType.NONE
        for name in value:
            if not isinstance(name, str) or name.lower() not in names:
                raise ConfigError(
                    SOURCE, "allowed_receipts", f"{name!r} is not a receipt type (mail, none)"
                )
            mask |= names[name.lower()]
        value = int(mask)
    if isinstance(value, bool) or not isinstance(value, int) or value & ~0x5 or value < 0:
        raise ConfigError(SOURCE, "allowed_receipts", f"must be a receipt type mask, not {value!r}")
    if value & ReceiptType.MSGBOX:
        raise ConfigError(
            SOURCE,
            "allowed_receipts",
            "message-box receipts are Windows-only (pop-ups on a desktop): allow mail or none",
        )
    return ReceiptType(value)


def _authentication(value: Any) -> SmtpAuthenticationType:
    if isinstance(value, str) and value.upper() in SmtpAuthenticationType.__members__:
        value = SmtpAuthenticationType[value.upper()]
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1, 2):
        raise ConfigError(
            SOURCE,
            "authentication_type",
            f"must be anonymous (0) or basic (1), not {value!r}",
        )
    if value == SmtpAuthenticationType.NTLM:
        raise ConfigError(
            SOURCE,
            "authentication_type",
            "NTLM is Windows-only: use basic (with starttls) or anonymous",
        )
    return SmtpAuthenticationType(value)


def _flag_names(mask: ReceiptType) -> str:
    names = [flag.name.lower() for flag in ReceiptType if flag and flag & mask and flag.name]
    return ", ".join(names) or "none"
