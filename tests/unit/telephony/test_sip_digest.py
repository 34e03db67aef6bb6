"""Digest authentication against the worked examples of RFC 2069, RFC 2617 and RFC 7616."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.errors import SipParseError, TelephonyError
from openfax.telephony.sip import parse_message
from openfax.telephony.sip.digest import DigestChallenge, digest_response

RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)


def field(header: str, name: str) -> str:
    """One parameter of an Authorization value, unquoted."""
    for piece in header.removeprefix("Digest ").split(", "):
        key, _, value = piece.partition("=")
        if key == name:
            return value.strip('"')
    raise AssertionError(f"{name} not in {header}")


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples_give_the_published_responses(algorithm: str, expected: str) -> None:
    challenge = DigestChallenge.parse(RFC7616_CHALLENGE.format(algorithm=algorithm))
    assert challenge.qop == ("auth", "auth-int")
    assert challenge.algorithm == algorithm
    header = digest_response(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert field(header, "response") == expected
    assert (field(header, "qop"), field(header, "nc"), field(header, "algorithm")) == (
        "auth",
        "00000001",
        algorithm,
    )
    assert field(header, "opaque") == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_rfc2617_and_rfc2069_examples() -> None:
    with_qop = DigestChallenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = digest_response(
        with_qop,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert field(header, "response") == "6629fae49393a05397450978507c4ef1"
    without_qop = DigestChallenge.parse(
        'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"'
    )
    header = digest_response(
        without_qop, method="GET", uri="/dir/index.html", username="Mufasa", password="CircleOfLife"
    )
    assert field(header, "response") == "1949323746fe6a43ef61f9606e7febea"
    assert "qop=" not in header
    assert "cnonce=" not in header


def test_a_sip_401_challenge_is_answered_in_a_header_that_parses() -> None:
    challenge_response = parse_message(
        b"SIP/2.0 401 Unauthorized\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;received=192.0.2.10\r\n"
        b"From: <sip:fax@example.net>;tag=a73kszlfl\r\nTo: <sip:fax@example.net>;tag=1410948204\r\n"
        b"Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\nCSeq: 1 REGISTER\r\n"
        b'WWW-Authenticate: Digest realm="example.net", nonce="ea9c8e88df84f1cec4341ae6cbe5a359",'
        b' algorithm=SHA-256-sess, qop="auth", stale=TRUE\r\nContent-Length: 0\r\n\r\n"'
    )
    challenge = DigestChallenge.parse(challenge_response.required("WWW-Authenticate"))
    assert challenge.stale
    assert challenge.algorithm == "SHA-256-SESS"
    first = digest_response(
        challenge, method="REGISTER", uri="sip:example.net", username="fax", password="s3cret"
    )
    second = digest_response(
        challenge,
        method="REGISTER",
        uri="sip:example.net",
        username="fax",
        password="s3cret",
        nonce_count=2,
    )
    assert field(second, "nc") == "00000002"
    assert field(first, "cnonce") != field(second, "cnonce")  # drawn at random
    assert field(first, "response") != field(second, "response")


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ('Basic realm="x"', "not Digest"),
        ('Digest nonce="n"', "without realm"),
        ('Digest realm="r", nonce="n", algorithm=SHA-1', "not MD5 or SHA-256"),
        ('Digest realm="r", nonce="n", oops', "bad parameter"),
        ('Digest realm="r, nonce="n"', "unterminated"),
    ],
)
def test_bad_challenges_are_parse_errors(value: str, complaint: str) -> None:
    with pytest.raises(SipParseError, match=complaint):
        DigestChallenge.parse(value)


def test_a_challenge_allowing_only_auth_int_is_refused_saying_so() -> None:
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth-int"')
    with pytest.raises(TelephonyError, match="auth-int is not supported") as refused:
        digest_response(challenge, method="INVITE", uri="sip:x", username="u", password="p")
    assert not isinstance(refused.value, SipParseError)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_challenge_text_gives_a_challenge_or_a_parse_error(value: str) -> None:
    with contextlib.suppress(SipParseError):
        DigestChallenge.parse("Digest " + value)
