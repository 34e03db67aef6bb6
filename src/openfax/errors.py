"""The one exception hierarchy of OpenFax.

Each class carries the FAXCOMEX HRESULT where one exists, so that numbers in logs and on the
wire match the Windows documentation.
"""

from __future__ import annotations

from pathlib import Path

E_FAIL = 0x80004005
E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
ERROR_FILE_NOT_FOUND = 0x80070002
ERROR_NOT_SUPPORTED = 0x80070032


class FaxError(Exception):
    """Base of every error OpenFax raises on purpose."""

    hresult: int = E_FAIL


class DocumentError(FaxError):
    """A document could not be read or turned into fax pages; names the file and the reason."""

    hresult = E_INVALIDARG

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{reason}")


class EngineError(FaxError):
    """The fax engine could not be set up or driven as asked."""


class SpandspUnavailableError(EngineError):
    """libspandsp could not be loaded; says which library was tried and how to install it."""


class FaxFileError(EngineError):
    """A TIFF handed to a fax session is missing, unreadable or not a fax image."""

    hresult = ERROR_FILE_NOT_FOUND

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModemError(EngineError):
    """The virtual Class 1 modem could not be created or driven."""


class InvalidIdError(FaxError, ValueError):
    """A job, message or submission id is not 16 hex digits of a positive 63-bit number."""

    hresult = E_INVALIDARG

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"not a fax id (16 hex digits): {value!r}")


class AccessDeniedError(FaxError):
    """The caller lacks the access right the operation needs."""

    hresult = E_ACCESSDENIED


class SignInThrottledError(AccessDeniedError):
    """Too many failed sign-ins for the account or from the client's address: the next
    password is checked after ``retry_after`` seconds (HTTP 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"too many failed sign-ins for this account or from this address: try again in "
            f"{retry_after} s"
        )


class AccountNotFoundError(FaxError):
    """No fax account has that name (ERROR_NO_SUCH_USER); names it."""

    hresult = 0x80070525

    def __init__(self, account_name: str) -> None:
        self.account_name = account_name
        super().__init__(f"no fax account named {account_name!r}")


class AccountError(FaxError, ValueError):
    """An account name, password or grant cannot be accepted; says which and why."""

    hresult = E_INVALIDARG


class AddressBookError(FaxError, ValueError):
    """A contact, a group or an import cannot be accepted by an address book: names the
    field (or the file's line) and says what is wrong."""

    hresult = E_INVALIDARG


class ContactNotFoundError(FaxError):
    """The address book has no contact or group of that id or name; names it."""

    hresult = ERROR_FILE_NOT_FOUND


class NotSupportedError(FaxError):
    """The device or server cannot do what was asked (for example a manual answer)."""

    hresult = ERROR_NOT_SUPPORTED


class ServerOutOfMemoryError(FaxError):
    """FAX_E_SRV_OUTOFMEMORY: the server could not allocate memory."""

    hresult = 0x80041B59


class GroupNotFoundError(FaxError):
    """FAX_E_GROUP_NOT_FOUND: no outbound routing group has that name."""

    hresult = 0x80041B5A


class BadGroupConfigurationError(FaxError):
    """FAX_E_BAD_GROUP_CONFIGURATION: an outbound routing group is configured wrongly."""

    hresult = 0x80041B5B


class GroupInUseError(FaxError):
    """FAX_E_GROUP_IN_USE: the group is still referenced by an outbound routing rule."""

    hresult = 0x80041B5C


class RuleNotFoundError(FaxError):
    """FAX_E_RULE_NOT_FOUND: no outbound routing rule for that country and area code."""

    hresult = 0x80041B5D


class DirectoryInUseError(FaxError):
    """FAX_E_DIRECTORY_IN_USE: the same folder was chosen for both archives."""

    hresult = 0x80041B5F


class FileAccessDeniedError(FaxError):
    """FAX_E_FILE_ACCESS_DENIED: the service cannot access a file or folder."""

    hresult = 0x80041B60


class MessageNotFoundError(FaxError):
    """FAX_E_MESSAGE_NOT_FOUND: no job or message with that id; names what was looked for."""

    hresult = 0x80041B61

    def __init__(self, kind: str, message_id: int) -> None:
        self.kind = kind
        self.message_id = message_id
        super().__init__(f"no {kind} with id {message_id:016x}")


class VersionMismatchError(FaxError):
    """FAX_E_VERSION_MISMATCH: the server's API version is too old for the request."""

    hresult = 0x80041B64


class RecipientsLimitError(FaxError):
    """FAX_E_RECIPIENTS_LIMIT: a broadcast has more recipients than the configured limit
    (``outgoing.max_recipients``); ``recipients`` is its count, ``limit`` the server's."""

    hresult = 0x80041B65

    def __init__(self, recipients: int, limit: int) -> None:
        self.recipients = recipients
        self.limit = limit
        super().__init__(
            f"the fax has {recipients:,} recipients, more than the {limit:,} this server takes "
            "in one submission (outgoing.max_recipients); nothing was queued"
        )


class StoreError(FaxError):
    """The database or the document spool could not do what was asked; says which and why."""


class BackupError(StoreError):
    """A backup cannot be made, or a backup file is refused (damaged, of an unknown format,
    or a restore into a data folder that is not empty); says what is wrong."""


class ConfigError(FaxError):
    """The configuration file is wrong; names the file and the key, and says what is wrong."""

    hresult = E_INVALIDARG

    def __init__(self, source: str | Path, key: str, reason: str) -> None:
        self.source = str(source)
        self.key = key
        self.reason = reason
        super().__init__(f"{self.source}: {key}: {reason}")


class InvalidOperationError(FaxError):
    """ERROR_INVALID_OPERATION: the job's status does not allow the operation asked for."""

    hresult = 0x800710DD


class InvalidTransitionError(InvalidOperationError):
    """A job in ``status`` was given an input its life cycle does not allow there
    (:mod:`openfax.model.lifecycle`); ``status`` and ``input_name`` say which."""

    def __init__(self, message: str, status: int, input_name: str) -> None:
        self.status = status
        self.input_name = input_name
        super().__init__(message)


class QueueBlockedError(FaxError):
    """The outgoing queue is blocked: it refuses new submissions until it is unblocked."""

    hresult = E_ACCESSDENIED


class RequestTooLargeError(FaxError):
    """A request's body is larger than the server takes on that route (``limit`` bytes)."""

    hresult = E_INVALIDARG

    def __init__(self, message: str, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


class ServerBusyError(FaxError):
    """The server takes no more of this kind of request now; ``retry_after`` seconds on, it
    may."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class NotReadyError(FaxError):
    """The node is not ready to work (``/readyz``): its store, its schema or a device
    provider; ``reason`` says which, and why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not ready: {reason}")


class SubmissionError(FaxError, ValueError):
    """A submission is incomplete or contradicts itself (no recipient, nothing to send ...)."""

    hresult = E_INVALIDARG


class NumberError(SubmissionError):
    """A recipient's fax number can never be dialled (letters, a SIP URI where no line dials
    one); ``index`` is the recipient's place in the list (from 0) and ``number`` what was
    given. The message names the recipient (and their ``name``, if given) and says what a
    fax number is."""

    def __init__(self, index: int, number: str, reason: str, name: str = "") -> None:
        self.index = index
        self.number = number
        whose = f" ({name})" if name else ""
        super().__init__(f"recipients.{index}.fax_number{whose}: {number!r} {reason}")


class PageLimitError(SubmissionError):
    """A submission has more pages than the server sends in one fax (``outgoing.max_pages``);
    ``pages`` is its count (cover page included), ``limit`` the server's."""

    def __init__(self, pages: int, limit: int) -> None:
        self.pages = pages
        self.limit = limit
        super().__init__(
            f"the fax has {pages:,} pages, more than the {limit:,} pages this server sends "
            "in one fax (outgoing.max_pages); nothing was queued"
        )


class BodyError(DocumentError):
    """One body of a submission cannot be rendered; ``index`` is its place in the list (from 0),
    as FAXCOMEX's ConnectedSubmit2 reports the failing body. ``reason`` stays the document's
    own, so naming the body again (the API names the client's file) does not repeat "body N"."""

    def __init__(self, index: int, path: str | Path | None, reason: str) -> None:
        self.index = index
        super().__init__(path, f"body {index}: {reason}")
        self.reason = reason


class RoutingError(FaxError):
    """An inbound routing method could not deliver a received fax; ``retryable`` says whether
    trying again later may succeed (a full mailbox) or not (a refused address)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(reason)


class MailError(FaxError):
    """An e-mail (a routed fax, a delivery receipt) could not be handed to the SMTP server;
    ``retryable`` says whether trying again later may succeed (a server down, a 4xx reply)
    or not (a 5xx reply: a refused address, a failed login)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(reason)


# --- Telephony: SIP, SDP, UDPTL and RTP (openfax.telephony) ---------------------------------


class MailRefusedError(FaxError):
    """The e-mail gateway refuses a message or a command of its SMTP dialogue: ``code`` is the
    SMTP reply code (4xx: try again later, 5xx: never), ``status`` the enhanced status code
    (RFC 3463, ``5.6.1``), and the message says why, as the sender's mail program shows it."""

    def __init__(self, code: int, status: str, reason: str) -> None:
        self.code = code
        self.status = status
        self.reason = reason
        super().__init__(reason)

    @property
    def reply(self) -> str:
        """The SMTP reply line: ``554 5.6.1 why``."""
        return f"{self.code} {self.status} {self.reason}"


class TelephonyError(FaxError):
    """A SIP, SDP, UDPTL or RTP peer sent something the telephony cores cannot accept."""

    hresult = E_INVALIDARG


class SipParseError(TelephonyError):
    """A SIP message is malformed or too large; says which part and why."""


class SdpError(TelephonyError):
    """A session description is malformed; names the line and what is wrong with it."""


class SdpNegotiationError(SdpError):
    """An SDP offer holds nothing this end can accept; ``status`` is the SIP answer to give,
    ``warnings`` the RFC 3261 20.43 warn-codes and texts saying why (304 media type not
    available, 305 incompatible media format, 302 incompatible transport; 399 otherwise)."""

    def __init__(
        self, reason: str, status: int = 488, warnings: tuple[tuple[int, str], ...] = ()
    ) -> None:
        self.status = status
        self.warnings = warnings or ((399, reason),)
        super().__init__(reason)


class MediaPacketError(TelephonyError):
    """A UDPTL or RTP packet is malformed; says which field and why."""


class SipTransactionError(TelephonyError):
    """The transaction user asked a SIP transaction for something its state does not allow."""


class SipLocationError(TelephonyError):
    """A SIP host could not be located in DNS (RFC 3263): names the host, the record looked
    up and what the DNS said (no such name, server failure, no answer in time, garbage)."""


class OcrError(FaxError):
    """The text of a received fax could not be read (Tesseract missing, failed or past its
    time limit); the fax itself is archived and routed all the same."""
