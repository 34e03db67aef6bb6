"""SIP message parsing and serialising, with messages written from RFC 3261, 3665 and 4475."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.errors import SipParseError
from openfax.telephony.sip import (
    CSeq,
    Headers,
    NameAddr,
    Request,
    Response,
    SipStreamParser,
    SipUri,
    Via,
    parse_message,
    response_address,
    response_to,
    stamp_source,
)


def crlf(text: str) -> bytes:
    """A message written with \\n line ends, as it travels: CRLF line ends."""
    return text.replace("\n", "\r\n").encode()


# RFC 3665 3.1, first INVITE of a successful session (SDP body shortened to its length).
INVITE_BODY = (
    b"v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
    b"s=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)
INVITE = (
    crlf(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
        "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\n"
        "Max-Forwards: 70\n"
        'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl\n'
        "To: Bob <sip:bob@biloxi.example.com>\n"
        "Call-ID: 3848276298220188511@atlanta.example.com\n"
        "CSeq: 1 INVITE\n"
        "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\n"
        "Content-Type: application/sdp\n"
        f"Content-Length: {len(INVITE_BODY)}\n"
        "\n"
    )
    + INVITE_BODY
)

# RFC 4475 3.1.1.1 "wsinv" (short tortuous INVITE), trimmed to what this parser must survive:
# folded lines, odd whitespace around colons and slashes, compact forms, escaped quotes.
TORTUOUS = crlf(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    "TO :\n"
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    'from   : "J Rosenberg \\\\\\"" <sip:jdrosen@example.com>\n'
    "  ;\n"
    "  tag = 98asjd8\n"
    "MaX-fOrWaRdS: 0068\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
    "Content-Length   : 0\n"
    "cseq: 0009\n"
    "  INVITE\n"
    "Via  : SIP  /   2.0\n"
    " /UDP\n"
    "    192.0.2.2;rport;branch=390skdjuw\n"
    "s :\n"
    "NewFangledHeader:   newfangled value\n"
    " continued newfangled value\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    "Content-Type: application/sdp\n"
    "Route:\n"
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
    "  branch  =   z9hG4bK9ikj8  ,\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
    " z9hG4bK30239\n"
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n'
    "      newvalue ;\n"
    "  secondparam ; q = 0.33\n"
    "\n"
)


def test_invite_from_rfc3665_parses_into_typed_headers() -> None:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    assert (message.method, message.uri) == ("INVITE", "sip:bob@biloxi.example.com")
    via = message.top_via
    assert (via.transport, via.host, via.port, via.branch) == (
        "TCP",
        "client.atlanta.example.com",
        5060,
        "z9hG4bK74bf9",
    )
    assert message.from_ == NameAddr(
        "sip:alice@atlanta.example.com", "Alice", {"tag": "9fxced76sl"}
    )
    assert message.to.display_name == "Bob"
    assert message.to.tag is None
    assert message.cseq == CSeq(1, "INVITE")
    assert message.call_id == "3848276298220188511@atlanta.example.com"
    assert message.contacts[0].sip_uri().transport == "TCP"
    assert message.content_type == "application/sdp"
    assert message.body == INVITE_BODY


def test_serialised_message_parses_back_to_the_same_message() -> None:
    message = parse_message(INVITE)
    assert parse_message(message.to_bytes()) == message
    assert message.to_bytes() == INVITE


def test_tortuous_invite_from_rfc4475_survives_folding_whitespace_and_compact_forms() -> None:
    message = parse_message(TORTUOUS)
    assert isinstance(message, Request)
    assert message.to.tag == "1918181833n"
    assert message.from_.display_name == 'J Rosenberg \\"'
    assert message.from_.tag == "98asjd8"
    assert message.cseq == CSeq(9, "INVITE")
    assert message.headers.get("Max-Forwards") == "0068"
    assert message.headers.get("Subject") == ""
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    vias = message.vias
    assert [(via.transport, via.host, via.branch) for via in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert vias[0].wants_rport
    assert vias[0].rport is None
    contact = message.contacts[0]
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    route = NameAddr.parse(message.headers.get_all("Route")[0], "Route")
    assert route.sip_uri().params["lr"] is None


def test_compact_forms_expand_to_full_names() -> None:
    message = parse_message(
        crlf(
            "OPTIONS sip:carol@chicago.example.com SIP/2.0\n"
            "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\n"
            "f: <sip:alice@atlanta.example.com>;tag=1928301774\n"
            "t: <sip:carol@chicago.example.com>\n"
            "i: a84b4c76e66710\n"
            "CSeq: 63104 OPTIONS\n"
            "m: <sip:alice@pc33.atlanta.example.com>\n"
            "k: timer, 100rel\n"
            "s: fax\n"
            "c: application/sdp\n"
            "l: 0\n\n"
        )
    )
    names = [name for name, _ in message.headers]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Supported",
        "Subject",
        "Content-Type",
    ]
    assert message.headers.get_all("Supported") == ["timer", "100rel"]
    assert message.call_id == "a84b4c76e66710"


def test_several_header_lines_and_comma_lists_give_every_value_in_order() -> None:
    headers = Headers.of(
        [
            ("Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
            ("Subject", "a, b"),
            ("Route", '"Proxy, three" <sip:p3.example.com;lr>'),
        ]
    )
    routes = [NameAddr.parse(value).uri for value in headers.get_all("route")]
    assert routes == ["sip:p1.example.com;lr", "sip:p2.example.com;lr", "sip:p3.example.com;lr"]
    assert headers.get_all("Subject") == ["a, b"]
    assert headers.replace("Route", "<sip:x;lr>").get_all("Route") == ["<sip:x;lr>"]
    assert "route" in headers
    assert "Contact" not in headers


def test_response_to_copies_the_transaction_headers_and_adds_the_to_tag() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    response = response_to(request, 180, "Ringing", to_tag="8321234356")
    assert response.to.tag == "8321234356"
    assert response.top_via == request.top_via
    assert (response.call_id, response.cseq, response.from_) == (
        request.call_id,
        request.cseq,
        request.from_,
    )
    assert parse_message(response.to_bytes()) == response


def test_response_status_line_and_received_rport() -> None:
    message = parse_message(
        crlf(
            "SIP/2.0 486 Busy Here\n"
            "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKnashds8;received=192.0.2.1;rport=6022\n"
            "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"
        )
    )
    assert isinstance(message, Response)
    assert (message.status, message.reason) == (486, "Busy Here")
    via = message.top_via
    assert (via.received, via.rport, via.port) == ("192.0.2.1", 6022, 5062)
    assert Via.parse(str(via)) == via


def test_udp_body_without_content_length_is_the_rest_and_extra_bytes_are_ignored() -> None:
    head = "MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
    head += "From: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 2 MESSAGE\n"
    assert parse_message(crlf(head + "\n") + b"hello").body == b"hello"
    assert parse_message(crlf(head + "Content-Length: 3\n\n") + b"hello").body == b"hel"
    with pytest.raises(SipParseError, match="Content-Length 9 but only 5"):
        parse_message(crlf(head + "Content-Length: 9\n\n") + b"hello")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("INVITE sip:a@b SIP/7.0\n", "protocol version"),
        ("INVITE sip:a@b SIP/2.0\nCSeq: 1 INVITE\n", "missing Via"),
        ("INVITE bob SIP/2.0\n", "no scheme"),
        ("SIP/2.0 99 Odd\n", "outside 100..699"),
        ("INV ITE sip:a@b SIP/2.0\n", "bad start line"),
        ("INVITE sip:a@b SIP/2.0\nNo colon here\n", "bad header line"),
        # RFC 4475 3.1.2.9: CSeq method mismatch
        ("OPTIONS sip:a@b SIP/2.0\n{common}CSeq: 1 INVITE\n", "does not match"),
        # RFC 4475 3.1.2.16: the CSeq number is not below 2**31
        ("INVITE sip:a@b SIP/2.0\n{common}CSeq: 36893488147419103232 INVITE\n", "2\\*\\*31"),
        # RFC 4475 3.1.2.13: unterminated quoted display name
        (
            'INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: "Bob <sip:x@y>\n',
            "unterminated",
        ),
        ("INVITE sip:a@b SIP/2.0\n{common}CSeq: 1 INVITE\nContent-Length: 1, 2\n", "Content"),
    ],
)
def test_malformed_messages_raise_a_parse_error_saying_what(text: str, complaint: str) -> None:
    common = (
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c\n"
    )
    with pytest.raises(SipParseError, match=complaint):
        parse_message(crlf(text.replace("{common}", common) + "\n"))


def test_oversized_datagram_is_refused() -> None:
    with pytest.raises(SipParseError, match="larger than"):
        parse_message(INVITE + b"x" * 70000)


def test_stream_parser_frames_messages_fed_in_odd_fragments() -> None:
    stream = b"\r\n\r\n" + INVITE + INVITE + b"\r\n" + INVITE
    for size in (1, 7, 100, len(stream)):
        parser = SipStreamParser()
        messages = []
        for start in range(0, len(stream), size):
            messages += parser.feed(stream[start : start + size])
        assert messages == [parse_message(INVITE)] * 3
        assert parser.buffered == 0


def test_stream_parser_needs_content_length_and_stays_failed() -> None:
    parser = SipStreamParser()
    without_length = INVITE.replace(b"Content-Length: ", b"X-Length: ")
    with pytest.raises(SipParseError, match="missing Content-Length"):
        parser.feed(without_length)
    with pytest.raises(SipParseError, match="missing Content-Length"):
        parser.feed(INVITE)


def test_stream_parser_refuses_a_header_block_that_never_ends() -> None:
    parser = SipStreamParser(max_size=1000)
    with pytest.raises(SipParseError, match="no end of headers"):
        parser.feed(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 200)


def test_sip_uri_round_trip_and_ipv6() -> None:
    uri = SipUri.parse("sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=fax")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "[2001:db8::10]",
        5061,
    )
    assert uri.params == {"transport": "tcp", "lr": None}
    assert uri.headers == "subject=fax"
    assert SipUri.parse(str(uri)) == uri
    with pytest.raises(SipParseError, match="not a SIP URI"):
        SipUri.parse("tel:+15551234")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_but_a_parse_error(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_messages_never_raise_anything_but_a_parse_error(data: st.DataObject) -> None:
    raw = bytearray(TORTUOUS if data.draw(st.booleans()) else INVITE)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.sampled_from(b'\r\n :;,<>"\\/=@\x00\xff0aZ'))
    try:
        message = parse_message(bytes(raw))
    except SipParseError:
        return
    assert parse_message(message.to_bytes()) == message
    for read in (lambda: message.vias, lambda: message.contacts, lambda: message.to.sip_uri()):
        with contextlib.suppress(SipParseError):
            read()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_stream_parser_fed_garbage_raises_only_parse_errors(data: bytes, size: int) -> None:
    parser = SipStreamParser(max_size=2000)
    try:
        for start in range(0, len(data), size):
            parser.feed(INVITE[:start] + data[start : start + size])
    except SipParseError:
        pass


def test_the_source_address_is_stamped_on_the_top_via_and_the_response_goes_back_there() -> None:
    request = parse_message(
        crlf(
            "OPTIONS sip:gw@198.51.100.20 SIP/2.0\n"
            "Via: SIP/2.0/UDP pbx.example.com:5062;branch=z9hG4bKb1;rport\n"
            "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKb0\n"
            "From: <sip:pbx@example.com>;tag=1\nTo: <sip:gw@198.51.100.20>\n"
            "Call-ID: c1\nCSeq: 1 OPTIONS\n\n"
        )
    )
    assert isinstance(request, Request)
    stamped = stamp_source(request, "203.0.113.7", 40123)
    top, second = stamped.vias
    assert (top.received, top.rport, top.branch) == ("203.0.113.7", 40123, "z9hG4bKb1")
    assert second == request.vias[1]
    assert response_address(response_to(stamped, 200, "OK")) == ("203.0.113.7", 40123)
    # Without rport: received only when the host differs, and the sent-by port is kept.
    plain = parse_message(request.to_bytes().replace(b";rport", b""))
    assert isinstance(plain, Request)
    assert stamp_source(plain, "pbx.example.com", 5062) == plain
    assert response_address(response_to(stamp_source(plain, "203.0.113.7", 9), 200, "OK")) == (
        "203.0.113.7",
        5062,
    )
    assert response_address(response_to(plain, 200, "OK")) == ("pbx.example.com", 5062)


def test_a_telephone_number_user_part_with_parameters_is_kept_whole() -> None:
    uri = SipUri.parse("sip:+15551234;npdi;rn=+15550000@carrier.example.com;user=phone")
    assert (uri.user, uri.host, uri.params) == (
        "+15551234;npdi;rn=+15550000",
        "carrier.example.com",
        {"user": "phone"},
    )
    assert SipUri.parse(str(uri)) == uri
    assert SipUri.parse("sip:carrier.example.com;lr").user is None
