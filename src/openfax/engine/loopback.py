"""Two fax sessions wired back to back in memory, over audio or T.38, as fast as the CPU allows.

This is the virtual line the loopback device, the ``openfax loopback`` command, the tests and
the benchmark use. ``cut_after`` lets a caller break the line at a given moment, to prove what
each end does when the far end goes silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openfax.engine._spandsp import ffi
from openfax.engine.events import Event
from openfax.engine.session import SAMPLE_RATE, AudioSession, FaxSession, T38Session
from openfax.errors import EngineError

BLOCK_SAMPLES = 160
"""20 ms: the packet size of G.711 over RTP, and the tick of the T.38 timers."""

DEFAULT_MAX_LINE_SECONDS = 30 * 60.0

EventSink = Callable[[FaxSession, Event], None]


@dataclass(frozen=True)
class LinkResult:
    """How long the call lasted on the line, and whether both ends reached phase E."""

    line_seconds: float
    finished: bool


def run_pair(
    a: FaxSession,
    b: FaxSession,
    *,
    on_event: EventSink | None = None,
    cut_after: Callable[[float], bool] | None = None,
    max_line_seconds: float = DEFAULT_MAX_LINE_SECONDS,
) -> LinkResult:
    """Run two sessions of the same kind against each other until both are done.

    ``cut_after(line_seconds)`` returning true breaks the line from then on: each end hears
    silence (audio) or no packets (T.38) and must end by its own T.30 timers. The run stops
    at ``max_line_seconds`` of line time whatever happens.
    """
    step = link_step(a, b)
    max_blocks = int(max_line_seconds * SAMPLE_RATE / BLOCK_SAMPLES)
    connected = True
    blocks = 0
    while not (a.done and b.done) and blocks < max_blocks:
        if connected and cut_after is not None and cut_after(blocks * BLOCK_SAMPLES / SAMPLE_RATE):
            connected = False
        step(connected)
        blocks += 1
        if on_event is not None:
            for session in (a, b):
                for event in session.pop_events():
                    on_event(session, event)
    return LinkResult(blocks * BLOCK_SAMPLES / SAMPLE_RATE, a.done and b.done)


def link_step(a: FaxSession, b: FaxSession) -> Callable[[bool], None]:
    """A function that runs one block (20 ms) of the line between two sessions of one kind.

    ``step(connected)`` carries what each end sent to the other, or silence (no packets)
    when ``connected`` is false. ``run_pair`` loops over it; the loopback provider calls it
    from asyncio, paced.
    """
    if isinstance(a, AudioSession) and isinstance(b, AudioSession):
        return _audio_step(a, b)
    if isinstance(a, T38Session) and isinstance(b, T38Session):
        return _t38_step(a, b)
    raise EngineError("a link needs two audio sessions or two T.38 sessions")


def _audio_step(a: AudioSession, b: AudioSession) -> Callable[[bool], None]:
    """Exchange one block of audio each way, through two reused C buffers."""
    a_out = ffi.new("int16_t[]", BLOCK_SAMPLES)
    b_out = ffi.new("int16_t[]", BLOCK_SAMPLES)
    silence = ffi.new("int16_t[]", BLOCK_SAMPLES)

    def step(connected: bool) -> None:
        a.tx_into(a_out, BLOCK_SAMPLES)
        b.tx_into(b_out, BLOCK_SAMPLES)
        a.rx_from(b_out if connected else silence, BLOCK_SAMPLES)
        b.rx_from(a_out if connected else silence, BLOCK_SAMPLES)

    return step


def _t38_step(a: T38Session, b: T38Session) -> Callable[[bool], None]:
    """Let one block of time pass on both ends and deliver each packet once."""

    def step(connected: bool) -> None:
        a.advance(BLOCK_SAMPLES)
        b.advance(BLOCK_SAMPLES)
        a_packets = a.packets_to_send()
        b_packets = b.packets_to_send()
        if connected:
            for packet in a_packets:
                b.receive(packet.data, packet.seq_no)
            for packet in b_packets:
                a.receive(packet.data, packet.seq_no)

    return step
