"""RTP packets, G.711 against the standard tables, the 20 ms sender, the fixed jitter buffer,
and a real G.711 fax carried over RTP with jitter and reordering."""

from __future__ import annotations

import contextlib
import random
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.engine import AudioSession, CompletionCode, Role
from openfax.errors import MediaPacketError
from openfax.telephony.rtp import Codec, JitterBuffer, RtpPacket, RtpSender
from tests.engine.fax_images import read_pages

MakeTiff = Callable[..., Path]


def test_header_layout_follows_rfc3550() -> None:
    packet = RtpPacket(payload_type=0, seq_no=1, timestamp=160, ssrc=0x12345678, payload=b"\xff")
    assert packet.to_bytes() == bytes.fromhex("8000 0001 000000a0 12345678 ff")
    marked = RtpPacket(8, 0xFFFF, 0xFFFFFFFF, 1, b"", marker=True, csrcs=(7,))
    assert marked.to_bytes() == bytes.fromhex("8188 ffff ffffffff 00000001 00000007")
    assert RtpPacket.decode(marked.to_bytes()) == marked


def test_padding_is_removed_and_the_extension_kept() -> None:
    data = bytes.fromhex("b000 0002 00000140 00000009 beef0001 0a0b0c0d") + b"\xd5" * 4
    packet = RtpPacket.decode(data + b"\x00\x00\x03")
    assert packet.extension == (0xBEEF, bytes.fromhex("0a0b0c0d"))
    assert packet.payload == b"\xd5" * 4
    assert RtpPacket.decode(packet.to_bytes()) == packet


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 127),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=200),
    st.booleans(),
    st.lists(st.integers(0, 2**32 - 1), max_size=15),
    st.none() | st.tuples(st.integers(0, 65535), st.binary(max_size=12).map(lambda b: b * 4)),
)
def test_any_packet_round_trips(
    payload_type: int,
    seq_no: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: list[int],
    extension: tuple[int, bytes] | None,
) -> None:
    packet = RtpPacket(
        payload_type, seq_no, timestamp, ssrc, payload, marker, tuple(csrcs), extension
    )
    assert RtpPacket.decode(packet.to_bytes()) == packet


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (bytes(11), "shorter than its header"),
        (bytes.fromhex("4000 0001 00000000 00000000"), "version 1"),
        (bytes.fromhex("a000 0001 00000000 00000000 ff05"), "padding of 5"),
        (bytes.fromhex("8300 0001 00000000 00000000 00000001"), "3 CSRCs"),
        (bytes.fromhex("9000 0001 00000000 00000000 00000002 00000000"), "overruns"),
    ],
)
def test_malformed_packets_say_what_is_wrong(data: bytes, complaint: str) -> None:
    with pytest.raises(MediaPacketError, match=complaint):
        RtpPacket.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_random_datagrams_raise_only_media_packet_errors(data: bytes) -> None:
    buffer = JitterBuffer(Codec.PCMU)
    with contextlib.suppress(MediaPacketError):
        buffer.put(data)
    assert len(buffer.pop()) == 160


# The first 16 entries of the G.711 decoding tables (ITU-T G.711 tables 1a/2a as the Sun
# reference g711.c computes them), and the codes of silence and full scale.
ULAW_FIRST = [-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
              -23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764]  # fmt: skip
ALAW_FIRST = [-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736,
              -7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784]  # fmt: skip


def test_g711_matches_the_standard_tables() -> None:
    codes = bytes(range(256))
    assert Codec.PCMU.decode(codes)[:16].tolist() == ULAW_FIRST
    assert Codec.PCMA.decode(codes)[:16].tolist() == ALAW_FIRST
    assert Codec.PCMU.decode(b"\x7f\x80\xff").tolist() == [0, 32124, 0]
    assert Codec.PCMA.decode(b"\x55\xd5\x2a\xaa").tolist() == [-8, 8, -32256, 32256]
    extremes = np.array([0, 32767, -32768], dtype=np.int16)
    assert Codec.PCMU.encode(extremes) == b"\xff\x80\x00"
    assert Codec.PCMA.encode(extremes) == b"\xd5\xaa\x2a"
    assert Codec.PCMU.silence == 0xFF and Codec.PCMA.silence == 0xD5


@pytest.mark.parametrize("codec", list(Codec))
def test_every_code_survives_decode_then_encode(codec: Codec) -> None:
    codes = bytes(code for code in range(256) if not (codec is Codec.PCMU and code == 0x7F))
    assert codec.encode(codec.decode(codes)) == codes
    # Encoding is monotonic in the signal: louder never gives a smaller decoded value.
    decoded = codec.decode(codec.encode(np.arange(-32768, 32768, dtype=np.int16)))
    assert np.all(np.diff(decoded.astype(np.int32)) >= 0)


@pytest.mark.parametrize("codec", list(Codec))
def test_g711_equals_audioop_for_every_sample_while_python_has_it(codec: Codec) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    encode = audioop.lin2ulaw if codec is Codec.PCMU else audioop.lin2alaw
    decode = audioop.ulaw2lin if codec is Codec.PCMU else audioop.alaw2lin
    assert codec.encode(pcm) == encode(pcm.tobytes(), 2)
    assert codec.decode(bytes(range(256))).tobytes() == decode(bytes(range(256)), 2)


def test_sender_cuts_20ms_packets_with_running_sequence_and_timestamp() -> None:
    sender = RtpSender(Codec.PCMA, ssrc=99, seq_no=65535, timestamp=2**32 - 160)
    datagrams = sender.push(np.zeros(400, dtype=np.int16))
    packets = [RtpPacket.decode(datagram) for datagram in datagrams]
    assert [(p.seq_no, p.timestamp, p.marker) for p in packets] == [
        (65535, 2**32 - 160, True),
        (0, 0, False),
    ]
    assert all(p.payload == b"\xd5" * 160 and p.payload_type == 8 for p in packets)
    (third,) = sender.push(np.zeros(80, dtype=np.int16).tobytes())
    assert RtpPacket.decode(third).timestamp == 160


def _frames(count: int, codec: Codec = Codec.PCMU) -> tuple[list[bytes], list[np.ndarray]]:
    """``count`` packets of distinct audio, and the audio as decoded G.711."""
    sender = RtpSender(codec, ssrc=5, seq_no=100, timestamp=1000)
    audio = [np.full(160, 1000 * (n + 1), dtype=np.int16) for n in range(count)]
    datagrams = [datagram for frame in audio for datagram in sender.push(frame)]
    return datagrams, [codec.decode(codec.encode(frame)) for frame in audio]


def test_jitter_buffer_plays_at_a_fixed_delay_and_reorders() -> None:
    datagrams, audio = _frames(6)
    buffer = JitterBuffer(Codec.PCMU, delay=0.04)
    order = [0, 2, 1, 3, 5, 4]
    played = []
    for index in order:
        buffer.put(datagrams[index])
        played.append(buffer.pop())
    played += [buffer.pop() for _ in range(2)]
    silence = np.zeros(160, dtype=np.int16)
    assert all(np.array_equal(a, b) for a, b in zip(played, [silence] * 2 + audio, strict=True))
    assert buffer.statistics.filled_samples == 0 and buffer.statistics.received == 6


def test_a_packet_later_than_the_delay_is_dropped_and_its_place_filled() -> None:
    datagrams, audio = _frames(4)
    for fill, expected_gap in (("silence", np.zeros(160, dtype=np.int16)), ("repeat", audio[0])):
        buffer = JitterBuffer(Codec.PCMU, delay=0.02, fill=fill)
        buffer.put(datagrams[0])
        played = [buffer.pop(), buffer.pop(), buffer.pop()]
        buffer.put(datagrams[1])  # too late: its time has passed
        buffer.put(datagrams[2])
        buffer.put(datagrams[2])
        played.append(buffer.pop())
        assert np.array_equal(played[1], audio[0]) and np.array_equal(played[2], expected_gap)
        assert np.array_equal(played[3], audio[2])
        stats = buffer.statistics
        assert (stats.late, stats.duplicates, stats.filled_samples) == (1, 1, 160)
        assert stats.underruns == 1


def test_a_new_source_or_other_payloads_do_not_disturb_the_playout() -> None:
    datagrams, _ = _frames(2)
    buffer = JitterBuffer(Codec.PCMU, delay=0.02)
    buffer.put(datagrams[0])
    event = RtpPacket(101, 7, 0, 5, b"\x01\x00\x00\xa0").to_bytes()
    buffer.put(event)
    assert buffer.statistics.other_payload == 1
    other = RtpSender(Codec.PCMU, ssrc=6, seq_no=0, timestamp=9_000_000)
    buffer.put(other.push(np.full(160, -3000, dtype=np.int16))[0])
    assert buffer.statistics.resyncs == 1
    assert not buffer.pop().any()  # the new source starts again after the fixed delay
    assert buffer.pop()[0] == Codec.PCMU.decode(Codec.PCMU.encode(np.array([-3000])))[0]


@pytest.mark.parametrize("codec", list(Codec))
def test_a_real_g711_fax_completes_over_rtp_with_jitter_and_reordering(
    make_tiff: MakeTiff, tmp_path: Path, codec: Codec
) -> None:
    sent = make_tiff(pages=1)
    received = tmp_path / "received.tif"
    caller = AudioSession(Role.CALL, send_file=sent, name="caller")
    answerer = AudioSession(Role.ANSWER, receive_file=received, name="answerer")
    rng = random.Random(3)
    ends = [
        (caller, RtpSender(codec), JitterBuffer(codec, delay=0.06)),
        (answerer, RtpSender(codec), JitterBuffer(codec, delay=0.06)),
    ]
    in_flight: list[list[tuple[int, bytes]]] = [[], []]
    tick = 0
    while not (caller.done and answerer.done) and tick < 15000:
        tick += 1
        for side, ((session, sender, _), (_, _, far_buffer)) in enumerate(
            zip(ends, ends[::-1], strict=True)
        ):
            for datagram in sender.push(session.tx(160)):
                # Up to 40 ms of network jitter: packets overtake each other.
                in_flight[side].append((tick + rng.randint(0, 2), datagram))
            due = [item for item in in_flight[side] if item[0] <= tick]
            in_flight[side] = [item for item in in_flight[side] if item[0] > tick]
            rng.shuffle(due)
            for _, datagram in due:
                far_buffer.put(datagram)
        for session, _, buffer in ends:
            session.rx(buffer.pop().tobytes())
    assert caller.result is not None and answerer.result is not None
    assert caller.result.code is CompletionCode.OK, caller.result.text
    assert answerer.result.code is CompletionCode.OK, answerer.result.text
    assert np.array_equal(read_pages(sent)[0], read_pages(received)[0])
    for _, _, buffer in ends:
        stats = buffer.statistics
        assert (stats.late, stats.filled_samples) == (0, 0) and stats.received > 500


def test_a_flood_of_future_packets_is_bounded() -> None:
    buffer = JitterBuffer(Codec.PCMU)
    for timestamp in range(0, 1200, 2):
        buffer.put(RtpPacket(0, timestamp // 2, timestamp, 9, b"\xff\xff").to_bytes())
    assert (buffer.statistics.received, buffer.statistics.overflow) == (600, 100)
    assert len(buffer.pop()) == 160
