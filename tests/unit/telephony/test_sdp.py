"""SDP parsing and the offer/answer of fax calls: G.711 audio and T.38 over UDPTL."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.errors import SdpError, SdpNegotiationError
from openfax.telephony.sdp import (
    LocalMedia,
    Origin,
    RateManagement,
    StreamKind,
    T38Parameters,
    UdpErrorCorrection,
    make_answer,
    make_offer,
    parse_sdp,
    read_answer,
)


def sdp(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


# An audio offer as Asterisk and most carriers send it: G.729 first, PCMA, PCMU, events.
AUDIO_OFFER = sdp(
    "v=0\n"
    "o=root 1821 1821 IN IP4 198.51.100.7\n"
    "s=Asterisk PBX\n"
    "c=IN IP4 198.51.100.7\n"
    "t=0 0\n"
    "m=audio 17390 RTP/AVP 18 8 0 101\n"
    "a=rtpmap:18 G729/8000\n"
    "a=fmtp:18 annexb=no\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=ptime:20\n"
    "a=sendrecv\n"
)

# A re-INVITE to T.38 as gateways send it: the audio line kept at port 0, then the image.
T38_REINVITE = sdp(
    "v=0\n"
    "o=gw 5551 5552 IN IP4 203.0.113.9\n"
    "s=-\n"
    "t=0 0\n"
    "m=audio 0 RTP/AVP 0\n"
    "m=image 40000 udptl t38\n"
    "c=IN IP4 203.0.113.9\n"
    "b=AS:64\n"
    "a=T38FaxVersion:1\n"
    "a=T38MaxBitRate:33600\n"
    "a=T38FaxFillBitRemoval\n"
    "a=T38FaxRateManagement:transferredTCF\n"
    "a=T38FaxMaxBuffer:262\n"
    "a=T38FaxMaxDatagram:176\n"
    "a=T38FaxUdpEC:t38UDPFEC\n"
)

LOCAL = LocalMedia(address="192.0.2.10", audio_port=20000, t38_port=20002, telephone_event=101)
ORIGIN = Origin("openfax", 42, 1, address="192.0.2.10")


def test_audio_offer_parses_and_serialises_back() -> None:
    offer = parse_sdp(AUDIO_OFFER)
    assert offer.origin == Origin("root", 1821, 1821, "IN", "IP4", "198.51.100.7")
    (audio,) = offer.media
    assert (audio.media, audio.port, audio.formats) == ("audio", 17390, ("18", "8", "0", "101"))
    assert audio.rtpmap()[101] == "telephone-event/8000"
    assert audio.attribute("PTIME") == "20"
    assert audio.direction == "sendrecv"
    assert offer.connection_for(audio).address == "198.51.100.7"
    assert parse_sdp(offer.to_bytes()) == offer
    assert offer.to_bytes() == AUDIO_OFFER


def test_t38_attributes_are_read_whatever_their_case() -> None:
    image = parse_sdp(T38_REINVITE).media[1]
    assert T38Parameters.from_media(image) == T38Parameters(
        version=1,
        max_bit_rate=33600,
        rate_management=RateManagement.TRANSFERRED_TCF,
        max_buffer=262,
        max_datagram=176,
        error_correction=UdpErrorCorrection.FEC,
        fill_bit_removal=True,
    )
    lower = parse_sdp(T38_REINVITE.replace(b"T38Fax", b"t38fax").replace(b"udpfec", b"UDPFEC"))
    assert T38Parameters.from_media(lower.media[1]) == T38Parameters.from_media(image)


def test_audio_answer_follows_the_offerers_order_among_g711_codecs() -> None:
    answer, stream = make_answer(parse_sdp(AUDIO_OFFER), LOCAL, ORIGIN)
    assert (stream.kind, stream.payload_type, stream.encoding) == (StreamKind.AUDIO, 8, "PCMA")
    assert (stream.remote_address, stream.remote_port, stream.telephone_event) == (
        "198.51.100.7",
        17390,
        101,
    )
    (audio,) = parse_sdp(answer.to_bytes()).media
    assert (audio.port, audio.formats) == (20000, ("8", "101"))
    assert audio.rtpmap() == {8: "PCMA/8000", 101: "telephone-event/8000"}
    assert audio.attribute("ptime") == "20"


def test_telephone_events_are_left_out_when_this_end_does_not_use_them() -> None:
    local = LocalMedia(address="192.0.2.10", audio_port=20000, codecs=("PCMU",))
    answer, stream = make_answer(parse_sdp(AUDIO_OFFER), local, ORIGIN)
    assert (stream.payload_type, stream.telephone_event) == (0, None)
    assert answer.media[0].formats == ("0",)


def test_an_offer_without_g711_is_refused_with_488_naming_the_payloads() -> None:
    offer = parse_sdp(AUDIO_OFFER.replace(b"RTP/AVP 18 8 0 101", b"RTP/AVP 18 4"))
    with pytest.raises(SdpNegotiationError, match=r"\['18', '4'\]") as refused:
        make_answer(offer, LOCAL, ORIGIN)
    assert refused.value.status == 488


def test_t38_reinvite_is_answered_with_the_audio_line_rejected_and_t38_agreed() -> None:
    local = LocalMedia(
        address="192.0.2.10",
        audio_port=20000,
        t38_port=20002,
        t38=T38Parameters(max_bit_rate=14400, max_datagram=400, max_buffer=1800),
    )
    answer, stream = make_answer(parse_sdp(T38_REINVITE), local, ORIGIN)
    assert [(media.media, media.port) for media in answer.media] == [("audio", 0), ("image", 20002)]
    assert (stream.kind, stream.remote_address, stream.remote_port) == (
        StreamKind.T38,
        "203.0.113.9",
        40000,
    )
    # Version and rate no higher than either side; FEC offered, redundancy preferred here.
    assert stream.t38 == T38Parameters(
        version=0,
        max_bit_rate=14400,
        max_buffer=262,
        max_datagram=176,
        error_correction=UdpErrorCorrection.REDUNDANCY,
    )
    written = T38Parameters.from_media(parse_sdp(answer.to_bytes()).media[1])
    assert (written.max_datagram, written.max_buffer, written.fill_bit_removal) == (
        400,
        1800,
        False,
    )
    assert written.error_correction is UdpErrorCorrection.REDUNDANCY


def test_no_error_correction_is_answered_when_none_was_offered() -> None:
    offer = parse_sdp(T38_REINVITE.replace(b"a=T38FaxUdpEC:t38UDPFEC\r\n", b""))
    _, stream = make_answer(offer, LOCAL, ORIGIN)
    assert stream.t38 is not None
    assert stream.t38.error_correction is None


def test_t38_is_refused_on_a_line_without_t38_and_over_tcp() -> None:
    no_t38 = LocalMedia(address="192.0.2.10", audio_port=20000)
    with pytest.raises(SdpNegotiationError, match=r"T\.38 is not accepted"):
        make_answer(parse_sdp(T38_REINVITE), no_t38, ORIGIN)
    over_tcp = parse_sdp(T38_REINVITE.replace(b"udptl t38", b"TCP/TPKT/T38 t38"))
    with pytest.raises(SdpNegotiationError, match=r"only T\.38 over UDPTL"):
        make_answer(over_tcp, LOCAL, ORIGIN)


def test_an_offer_of_both_is_answered_by_the_preferred_stream() -> None:
    offer = make_offer(LOCAL, ORIGIN, audio=True, t38=True)
    assert [media.media for media in offer.media] == ["image", "audio"]
    far = LocalMedia(address="198.51.100.1", audio_port=30000, t38_port=30002)
    answer, stream = make_answer(offer, far, Origin("far", 7, 1))
    assert stream.kind is StreamKind.T38
    assert answer.media[1].port == 0
    audio_first = LocalMedia(address="198.51.100.1", audio_port=30000, prefer_t38=False)
    answer, stream = make_answer(offer, audio_first, Origin("far", 7, 1))
    assert stream.kind is StreamKind.AUDIO
    assert answer.media[0].port == 0
    ours = read_answer(offer, parse_sdp(answer.to_bytes()))
    assert (ours.kind, ours.remote_address, ours.remote_port, ours.encoding) == (
        StreamKind.AUDIO,
        "198.51.100.1",
        30000,
        "PCMU",
    )


def test_a_stream_that_cannot_be_read_is_refused_and_the_others_answered() -> None:
    offer = make_offer(LOCAL, ORIGIN, audio=True, t38=True)
    garbled = offer.to_bytes().replace(b"a=T38MaxBitRate:14400", b"a=T38MaxBitRate:abc")
    assert garbled != offer.to_bytes()
    answer, stream = make_answer(parse_sdp(garbled), LOCAL, Origin("far", 7, 1))
    assert stream.kind is StreamKind.AUDIO
    assert answer.media[0].port == 0
    t38_only = make_offer(LOCAL, ORIGIN, audio=False, t38=True).to_bytes()
    garbled = t38_only.replace(b"a=T38MaxBitRate:14400", b"a=T38MaxBitRate:abc")
    with pytest.raises(SdpNegotiationError, match="T38MaxBitRate:abc is not a number") as refused:
        make_answer(parse_sdp(garbled), LOCAL, Origin("far", 7, 1))
    assert refused.value.status == 488


def test_offerer_reads_the_agreed_t38_parameters_from_the_answer() -> None:
    offer = make_offer(LOCAL, ORIGIN, audio=False, t38=True)
    far = LocalMedia(
        address="198.51.100.1",
        audio_port=30000,
        t38_port=30002,
        t38=T38Parameters(version=3, max_bit_rate=9600, max_datagram=200),
    )
    answer, _ = make_answer(offer, far, Origin("far", 7, 1))
    stream = read_answer(offer, parse_sdp(answer.to_bytes()))
    assert stream.t38 is not None
    assert (stream.t38.version, stream.t38.max_bit_rate, stream.t38.max_datagram) == (0, 9600, 200)
    assert stream.t38.error_correction is UdpErrorCorrection.REDUNDANCY


def test_answers_that_do_not_fit_the_offer_are_refused() -> None:
    offer = make_offer(LOCAL, ORIGIN, audio=True)
    extra = parse_sdp(AUDIO_OFFER + b"m=audio 9 RTP/AVP 0\r\n")
    with pytest.raises(SdpNegotiationError, match="2 media lines for 1"):
        read_answer(offer, extra)
    rejected = parse_sdp(AUDIO_OFFER.replace(b"m=audio 17390", b"m=audio 0"))
    with pytest.raises(SdpNegotiationError, match="rejected every"):
        read_answer(offer, rejected)
    no_ec = make_offer(
        LocalMedia("192.0.2.10", 1, 2, t38=T38Parameters(error_correction=None)),
        ORIGIN,
        audio=False,
        t38=True,
    )
    with pytest.raises(SdpNegotiationError, match="not offered"):
        read_answer(no_ec, parse_sdp(T38_REINVITE.replace(b"m=audio 0 RTP/AVP 0\r\n", b"")))


@pytest.mark.parametrize(
    ("address", "offered", "answered", "sends"),
    [
        (b"198.51.100.7", b"a=sendonly", "recvonly", False),
        (b"198.51.100.7", b"a=inactive", "inactive", False),
        (b"198.51.100.7", b"a=recvonly", "sendonly", True),
        # RFC 2543's hold (RFC 3264 8.4): the offerer receives nothing at 0.0.0.0.
        (b"0.0.0.0", b"a=sendrecv", "recvonly", False),
        (b"0.0.0.0", b"a=recvonly", "inactive", False),
    ],
)
def test_a_held_offer_is_answered_in_the_mirrored_direction_and_nothing_is_sent(
    address: bytes, offered: bytes, answered: str, sends: bool
) -> None:
    text = AUDIO_OFFER.replace(b"a=sendrecv", offered)
    offer = parse_sdp(text.replace(b"c=IN IP4 198.51.100.7", b"c=IN IP4 " + address))
    answer, stream = make_answer(offer, LOCAL, ORIGIN)
    assert stream.direction == answer.media[0].direction == answered
    assert stream.sends is sends


def test_each_refused_stream_gives_its_warning_code() -> None:
    """RFC 3261 20.43: 305 for a format we lack, 304 for a media type, 302 for a transport."""
    video = b"m=video 9000 RTP/AVP 31\r\nm=image 9002 TCP/TPKT/T38 t38\r\n"
    offer = parse_sdp(AUDIO_OFFER.replace(b"RTP/AVP 18 8 0 101", b"RTP/AVP 18") + video)
    with pytest.raises(SdpNegotiationError) as refused:
        make_answer(offer, LOCAL, ORIGIN)
    assert [code for code, _ in refused.value.warnings] == [305, 304, 302]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "v=0"),
        (b"v=0\r\ns=x\r\n", "missing o="),
        (b"v=0\r\no=a b c IN IP4 x\r\n", "line 2 \\(o=\\)"),
        (b"v=0\r\no=a 1 1 IN IP4 x\r\nm=audio 99999 RTP/AVP 0\r\n", "bad port"),
        (b"v=0\r\no=a 1 1 IN IP4 x\r\nc=IN IPX y\r\n", "IP4\\|IP6"),
        (b"v=0\r\no=a 1 1 IN IP4 x\r\nbogus\r\n", "line 3"),
        (b"v=0\r\n\xff", "not UTF-8"),
    ],
)
def test_malformed_descriptions_raise_sdp_errors_naming_the_line(
    body: bytes, complaint: str
) -> None:
    with pytest.raises(SdpError, match=complaint):
        parse_sdp(body)


def test_bad_t38_attribute_values_are_named() -> None:
    image = parse_sdp(T38_REINVITE.replace(b"MaxDatagram:176", b"MaxDatagram:lots")).media[1]
    with pytest.raises(SdpError, match="T38FaxMaxDatagram:lots"):
        T38Parameters.from_media(image)
    image = parse_sdp(T38_REINVITE.replace(b"transferredTCF", b"guessedTCF")).media[1]
    with pytest.raises(SdpError, match="T38FaxRateManagement:guessedTCF"):
        T38Parameters.from_media(image)
    with pytest.raises(SdpError, match="no c= line"):
        make_answer(
            parse_sdp(T38_REINVITE.replace(b"c=IN IP4 203.0.113.9\r\n", b"")), LOCAL, ORIGIN
        )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_descriptions_raise_only_sdp_errors(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from([AUDIO_OFFER, T38_REINVITE])))
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.sampled_from(b"\r\n =:/0 9aAmcv\xff"))
    with contextlib.suppress(SdpError):
        offer = parse_sdp(bytes(raw))
        assert parse_sdp(offer.to_bytes()) == offer
        answer, _ = make_answer(offer, LOCAL, ORIGIN)
        read_answer(offer, answer)
