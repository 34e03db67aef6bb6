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
from tests.fax_images import read_pages

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
    assert sum(len(pcm) for pcm in buffer.tick(160)) <= 160


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
    assert Codec.PCMU.silence == 0xFF
    assert Codec.PCMA.silence == 0xD5


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
    audio = [np.full(160, (n * 1237) % 64000 - 32000, dtype=np.int16) for n in range(count)]
    datagrams = [datagram for frame in audio for datagram in sender.push(frame)]
    return datagrams, [codec.decode(codec.encode(frame)) for frame in audio]


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)


def test_audio_is_given_in_order_as_it_arrives_and_reordering_is_undone() -> None:
    datagrams, audio = _frames(6)
    buffer = JitterBuffer(Codec.PCMU, delay=0.06)
    assert [len(pcm) for pcm in buffer.tick(160)] == [160]  # silence before the first packet
    given = [buffer.put(datagrams[index]) for index in [0, 2, 1, 3, 5, 4]]
    assert [len(pieces) for pieces in given] == [1, 0, 2, 1, 0, 2]
    assert np.array_equal(_joined([pcm for pieces in given for pcm in pieces]), _joined(audio))
    assert buffer.tick(160) == []  # the audio keeps up with the clock: nothing to add
    stats = buffer.statistics
    assert (stats.gaps, stats.late, stats.received, stats.silence_samples) == (0, 0, 6, 160)


def test_a_packet_is_given_up_once_the_window_of_later_audio_arrived() -> None:
    datagrams, audio = _frames(6)
    for fill, expected_gap in (("silence", np.zeros(160, dtype=np.int16)), ("repeat", audio[0])):
        buffer = JitterBuffer(Codec.PCMU, delay=0.06, fill=fill)
        assert len(buffer.put(datagrams[0])) == 1
        assert buffer.put(datagrams[2]) == buffer.put(datagrams[3]) == []
        assert buffer.put(datagrams[3]) == []  # a duplicate while held
        given = _joined(buffer.put(datagrams[4]))  # 60 ms wait behind the gap: it is lost
        assert np.array_equal(given, _joined([expected_gap, *audio[2:5]]))
        assert buffer.put(datagrams[1]) == []  # too late now
        assert np.array_equal(_joined(buffer.put(datagrams[5])), audio[5])
        stats = buffer.statistics
        assert (stats.gaps, stats.concealed_samples, stats.late, stats.duplicates) == (
            1,
            160,
            1,
            1,
        )


def test_a_late_event_loop_never_makes_a_gap() -> None:
    """A hundred packets arriving in one burst after 2 s without a tick are all given."""
    datagrams, audio = _frames(100)
    buffer = JitterBuffer(Codec.PCMU, delay=0.06, max_lag=1.0)
    given = [pcm for datagram in datagrams for pcm in buffer.put(datagram)]
    for _ in range(100):
        given += buffer.tick(160)
    assert np.array_equal(_joined(given), _joined(audio))
    assert buffer.statistics.gaps == buffer.statistics.silence_samples == 0


def test_the_clock_gives_silence_only_while_the_far_end_sends_nothing() -> None:
    datagrams, audio = _frames(27)
    buffer = JitterBuffer(Codec.PCMU, max_lag=0.1)
    assert len(_joined(buffer.put(datagrams[0]))) == 160
    silence = [pcm for _ in range(25) for pcm in buffer.tick(160)]
    # The clock ran 4000 samples; the audio may trail it by 800: 3040 of silence.
    assert len(_joined(silence)) == 3040
    assert not _joined(silence).any()
    # The far end resumes after a 25-packet pause (silence suppression): the silence given
    # stood for its gap, which is neither waited for nor filled again.
    given = buffer.put(datagrams[26])
    assert len(given) == 1
    assert np.array_equal(given[0], audio[26])
    stats = buffer.statistics
    assert (stats.silence_samples, stats.concealed_samples, stats.gaps) == (3040, 0, 0)
    assert buffer.lag == (4000 - 160 - 3040 - 160) / 8000
    # A packet lost later is a gap like any other.
    buffer.put(RtpPacket(0, 1, 1000 + 28 * 160, 5, b"\xff" * 160).to_bytes())
    buffer.put(RtpPacket(0, 2, 1000 + 29 * 160, 5, b"\xff" * 320).to_bytes())
    assert (stats.gaps, stats.concealed_samples) == (1, 160)


def test_a_far_end_late_past_the_lag_still_has_all_its_audio_given() -> None:
    datagrams, audio = _frames(30)
    buffer = JitterBuffer(Codec.PCMU, max_lag=0.1)
    buffer.put(datagrams[0])
    silence = [pcm for _ in range(10) for pcm in buffer.tick(160)]
    given = [pcm for datagram in datagrams[1:] for pcm in buffer.put(datagram)]
    assert len(_joined(silence)) == 10 * 160 - 160 - 800
    assert np.array_equal(_joined(given), _joined(audio[1:]))
    assert buffer.statistics.late == buffer.statistics.gaps == 0


def test_a_new_source_or_other_payloads_do_not_disturb_the_audio() -> None:
    datagrams, _ = _frames(2)
    buffer = JitterBuffer(Codec.PCMU, delay=0.02)
    buffer.put(datagrams[0])
    event = RtpPacket(101, 7, 0, 5, b"\x01\x00\x00\xa0").to_bytes()
    assert buffer.put(event) == []
    assert buffer.statistics.other_payload == 1
    other = RtpSender(Codec.PCMU, ssrc=6, seq_no=0, timestamp=9_000_000)
    (first,) = buffer.put(other.push(np.full(160, -3000, dtype=np.int16))[0])
    assert buffer.statistics.resyncs == 1
    assert buffer.statistics.gaps == 0
    assert first[0] == Codec.PCMU.decode(Codec.PCMU.encode(np.array([-3000])))[0]


def test_a_flood_of_audio_far_ahead_of_the_clock_is_refused() -> None:
    datagrams, _ = _frames(200)
    buffer = JitterBuffer(Codec.PCMU, max_ahead=2.0)
    given = [pcm for datagram in datagrams for pcm in buffer.put(datagram)]
    assert len(_joined(given)) == 101 * 160  # 2 s ahead of a clock that has not run
    assert (buffer.statistics.received, buffer.statistics.overflow) == (200, 99)


def _fax_over_rtp(
    codec: Codec,
    make_tiff: MakeTiff,
    tmp_path: Path,
    *,
    network_jitter: int,
    late_loops: bool,
    seed: int,
) -> tuple[AudioSession, AudioSession, list[JitterBuffer], int]:
    """A one-page G.711 fax between two sessions over RTP, in 20 ms ticks of a shared time.

    ``network_jitter`` delays each packet by up to that many ticks (they overtake each
    other); with 0 the network keeps their order. With ``late_loops`` each end's event
    loop now and then sleeps 3-25 ticks (60-500 ms), then takes the datagrams waiting in
    its socket and runs the ticks it missed in one burst, as MediaSession does. Returns the
    sessions, their jitter buffers and the longest sleep.
    """
    sent = make_tiff(pages=1)
    received = tmp_path / "received.tif"
    caller = AudioSession(Role.CALL, send_file=sent, name="caller")
    answerer = AudioSession(Role.ANSWER, receive_file=received, name="answerer")
    rng = random.Random(seed)
    sessions = [caller, answerer]
    senders = [RtpSender(codec), RtpSender(codec)]
    buffers = [JitterBuffer(codec, delay=0.06), JitterBuffer(codec, delay=0.06)]
    in_flight: list[list[tuple[int, bytes]]] = [[], []]  # toward end 0, toward end 1
    sockets: list[list[bytes]] = [[], []]
    asleep_until, missed, longest = [0, 0], [0, 0], 0
    tick = 0
    while not (caller.done and answerer.done) and tick < 20000:
        tick += 1
        for side in (0, 1):
            arrived = [item for item in in_flight[side] if item[0] <= tick]
            in_flight[side] = [item for item in in_flight[side] if item[0] > tick]
            if network_jitter:
                rng.shuffle(arrived)
            sockets[side] += [datagram for _, datagram in arrived]
        for side in (0, 1):
            if late_loops and tick >= asleep_until[side] and rng.random() < 0.02:
                asleep_until[side] = tick + rng.randint(3, 25)
                longest = max(longest, asleep_until[side] - tick)
            if tick < asleep_until[side]:
                missed[side] += 1
                continue
            session, buffer = sessions[side], buffers[side]
            for datagram in sockets[side]:  # the loop delivers what waits, then the ticks
                for pcm in buffer.put(datagram):
                    session.rx(pcm.tobytes())
            sockets[side] = []
            for _ in range(missed[side] + 1):
                for datagram in senders[side].push(session.tx(160)):
                    in_flight[1 - side].append((tick + rng.randint(0, network_jitter), datagram))
                for pcm in buffer.tick(160):
                    session.rx(pcm.tobytes())
            missed[side] = 0
    assert caller.result is not None
    assert answerer.result is not None
    assert caller.result.code is CompletionCode.OK, caller.result.text
    assert answerer.result.code is CompletionCode.OK, answerer.result.text
    assert np.array_equal(read_pages(sent)[0], read_pages(received)[0])
    return caller, answerer, buffers, longest


@pytest.mark.parametrize("codec", list(Codec))
def test_a_real_g711_fax_completes_over_rtp_with_jitter_and_reordering(
    make_tiff: MakeTiff, tmp_path: Path, codec: Codec
) -> None:
    _, _, buffers, _ = _fax_over_rtp(
        codec, make_tiff, tmp_path, network_jitter=2, late_loops=False, seed=3
    )
    for buffer in buffers:
        stats = buffer.statistics
        assert (stats.late, stats.gaps) == (0, 0)
        assert stats.received > 500


def test_a_g711_fax_survives_both_event_loops_being_late_again_and_again(
    make_tiff: MakeTiff, tmp_path: Path
) -> None:
    """Sleeps up to 500 ms on either end, packets coming in bursts: nothing is concealed,
    where a playout clock with a 60 ms buffer would have cut silence into the signal."""
    _, _, buffers, longest = _fax_over_rtp(
        Codec.PCMU, make_tiff, tmp_path, network_jitter=0, late_loops=True, seed=11
    )
    assert longest > 10
    for buffer in buffers:
        stats = buffer.statistics
        assert (stats.late, stats.gaps, stats.concealed_samples) == (0, 0, 0)
        assert stats.received > 500
