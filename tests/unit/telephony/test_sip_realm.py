"""The user agent's ``realm``: a trunk answers only its own realm's digest challenges."""

from __future__ import annotations

from openfax.telephony.sip import Request, Response, parse_message
from openfax.telephony.sip.useragent import UserAgent, UserAgentConfig


def test_a_realm_set_answers_only_that_realms_challenges() -> None:
    register = parse_message(
        b"REGISTER sip:pbx.example SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
        b"From: <sip:fax@pbx.example>;tag=a\r\nTo: <sip:fax@pbx.example>\r\n"
        b"Call-ID: r1\r\nCSeq: 1 REGISTER\r\n\r\n"
    )
    challenge = parse_message(
        b"SIP/2.0 401 Unauthorized\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
        b"From: <sip:fax@pbx.example>;tag=a\r\nTo: <sip:fax@pbx.example>;tag=b\r\n"
        b'Call-ID: r1\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm="other", nonce="n"\r\n'
        b"\r\n"
    )
    assert isinstance(register, Request)
    assert isinstance(challenge, Response)

    def answer(realm: str | None) -> tuple[str, str] | None:
        config = UserAgentConfig(username="fax", password="secret", realm=realm)
        return UserAgent(config).authorization(register, challenge)

    assert answer(None) is not None
    assert answer("other") is not None
    assert answer("pbx.example") is None
