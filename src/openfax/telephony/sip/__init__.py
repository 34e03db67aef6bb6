"""SIP (RFC 3261 subset) without I/O: messages and typed headers, digest authentication;
transactions in :mod:`.transaction` and dialogs in :mod:`.dialog` build on them."""

from openfax.telephony.sip.digest import DigestChallenge, digest_response
from openfax.telephony.sip.headers import CSeq, NameAddr, SipUri, Via
from openfax.telephony.sip.message import (
    COMPACT_FORMS,
    MAX_MESSAGE_SIZE,
    Headers,
    Message,
    Request,
    Response,
    SipStreamParser,
    canonical_name,
    parse_message,
    response_address,
    response_to,
    stamp_source,
)

__all__ = [
    "COMPACT_FORMS",
    "MAX_MESSAGE_SIZE",
    "CSeq",
    "DigestChallenge",
    "Headers",
    "Message",
    "NameAddr",
    "Request",
    "Response",
    "SipStreamParser",
    "SipUri",
    "Via",
    "canonical_name",
    "digest_response",
    "parse_message",
    "response_address",
    "response_to",
    "stamp_source",
]
