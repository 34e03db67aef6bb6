"""Hypothesis feeds Class1Session arbitrary modem bytes in each state it reaches in a call.

The states come from a real call (a Class 1 sender and receiver behind spandsp's modems,
ECM): what each session was told is recorded, and replaying a prefix of it into a fresh
session brings that session to the same state without the modems. From there anything may
arrive, in any split, as time passes: only the project's errors may come out, and what the
session holds stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openfax.engine import Modem, Role, SessionOptions
from openfax.engine.class1 import MAX_FRAME_BYTES, MAX_IMAGE_BYTES, MAX_LINE_BYTES, Class1Session
from openfax.errors import FaxError
from tests.fax_images import sample_page, write_tiff
from tests.unit.engine.class1_link import ModemEnd, run_call

OPTIONS = SessionOptions(modems=Modem.V17, ecm=True)
LIMIT = 4096
Call = tuple[str, tuple[Any, ...]]


class RecordingSession(Class1Session):
    """A Class1Session that notes every call the line made on it, and the steps it went
    through (the first call after which each was reached)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.calls: list[Call] = []
        self.reached: dict[str, int] = {}
        super().__init__(*args, **kwargs)

    def _note(self, call: Call) -> None:
        self.calls.append(call)
        self.reached.setdefault(self.step, len(self.calls))

    def start(self, now: float) -> None:
        super().start(now)
        self._note(("start", (now,)))

    def receive(self, data: bytes, now: float) -> None:
        super().receive(data, now)
        self._note(("receive", (data, now)))

    def handle_timer(self, now: float) -> None:
        super().handle_timer(now)
        self._note(("handle_timer", (now,)))

    def data_to_send(self, limit: int = LIMIT) -> bytes:
        data = super().data_to_send(limit)
        self._note(("data_to_send", (limit,)))
        return data


@dataclass
class Recorded:
    """One session's recorded call, and how to make a fresh one like it."""

    role: Role
    make: Callable[[Path], Class1Session]
    calls: list[Call] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)

    def now_at(self, upto: int) -> float:
        """The line time of the last call before ``upto`` that gave one."""
        return max(float(args[-1]) for name, args in self.calls[:upto] if name != "data_to_send")

    def replay(self, upto: int, folder: Path) -> Class1Session:
        session = self.make(folder)
        for name, args in self.calls[:upto]:
            getattr(session, name)(*args)
        return session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recorded]:
    folder = tmp_path_factory.mktemp("class1-fuzz")
    sent = write_tiff(folder / "send.tif", [sample_page(1)], 196)
    sender = Recorded(
        Role.CALL, lambda f: Class1Session(Role.CALL, OPTIONS, send_file=sent, name="fuzz-tx")
    )
    receiver = Recorded(
        Role.ANSWER,
        lambda f: Class1Session(
            Role.ANSWER, OPTIONS, receive_file=f / "received.tif", name="fuzz-rx"
        ),
    )
    sessions: dict[str, RecordingSession] = {}

    def make(role: Role) -> Class1Session:
        if role is Role.CALL:
            session = RecordingSession(role, OPTIONS, send_file=sent, name="rec-tx")
        else:
            session = RecordingSession(
                role, OPTIONS, receive_file=folder / "received.tif", name="rec-rx"
            )
        sessions[role.name] = session
        return session

    caller, answerer = ModemEnd(Role.CALL, make, name="tx"), ModemEnd(Role.ANSWER, make, name="rx")
    try:
        run_call(caller, answerer)
    finally:
        caller.close()
        answerer.close()
    for record, role in ((sender, Role.CALL), (receiver, Role.ANSWER)):
        record.calls = sessions[role.name].calls
        record.reached = sessions[role.name].reached
    return {"sender": sender, "receiver": receiver}


STATES = [
    ("sender", "rx data: frames"),
    ("sender", "command: frames"),
    ("sender", "tx frames: frames"),
    ("sender", "command: silence"),
    ("sender", "tx data: image"),
    ("sender", "tx data: ecm"),
    ("sender", "tx drain: ecm"),
    ("sender", "rx wait: frames"),
    ("receiver", "tx frames: frames"),
    ("receiver", "rx wait: frames"),
    ("receiver", "rx wait: image"),
    ("receiver", "rx data: image"),
    ("receiver", "rx data: ecm"),
    ("receiver", "rx result: frames"),
]

TOKENS = st.sampled_from(
    [
        b"\r\nOK\r\n",
        b"\r\nCONNECT\r\n",
        b"\r\nERROR\r\n",
        b"\r\nNO CARRIER\r\n",
        b"\r\n+FCERROR\r\n",
        b"\r\n+FRH:3\r\n",
        b"\x10\x03",
        b"\x10\x10",
        b"\x10",
        b"\xff\x13\x84",
        b"\xff\x03",
        b"\r",
        b"\n",
    ]
)
PIECES = st.lists(st.one_of(TOKENS, st.binary(max_size=64)), max_size=10).map(b"".join)
"""What the modem might say in one read: result codes, DLE sequences, frame starts and
noise, mixed."""
CHUNKS = st.lists(
    st.tuples(st.one_of(PIECES, st.binary(max_size=2000)), st.floats(0.0, 3.0)), max_size=30
)


def test_the_recorded_call_went_through_every_fuzzed_state(recorded: dict[str, Recorded]) -> None:
    for end, step in STATES:
        assert step in recorded[end].reached, f"the {end} never reached {step!r}"


@pytest.mark.parametrize(("end", "step"), STATES, ids=lambda v: str(v).replace(" ", ""))
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chunks=CHUNKS)
def test_arbitrary_modem_bytes_raise_only_our_errors_and_stay_bounded(
    recorded: dict[str, Recorded],
    tmp_path: Path,
    end: str,
    step: str,
    chunks: list[tuple[bytes, float]],
) -> None:
    record = recorded[end]
    session = record.replay(record.reached[step], tmp_path)
    try:
        assert session.step == step
        now = record.now_at(record.reached[step])
        for data, gap in chunks:
            now += gap
            try:
                session.receive(data, now)
                due = session.next_timer()
                if due is not None and due <= now:
                    session.handle_timer(now)
                assert len(session.data_to_send(LIMIT)) <= LIMIT
            except FaxError:
                pass
            assert session.buffered <= LIMIT + MAX_LINE_BYTES + MAX_FRAME_BYTES + 600
    finally:
        session.close()


def test_image_data_that_never_ends_is_cut_at_the_limit(
    recorded: dict[str, Recorded], tmp_path: Path
) -> None:
    record = recorded["receiver"]
    upto = record.reached["rx data: image"]
    session = record.replay(upto, tmp_path)
    try:
        now = record.now_at(upto)
        piece = bytes(65536)  # zeros, no DLE: TCF that never ends
        fed = 0
        while b"\x18" not in session.data_to_send() and fed <= MAX_IMAGE_BYTES + len(piece):
            now += 0.01
            session.receive(piece, now)
            fed += len(piece)
        assert MAX_IMAGE_BYTES < fed <= MAX_IMAGE_BYTES + len(piece), "aborted at the limit"
        assert session.step == "aborting: image"
        assert session.buffered < LIMIT
    finally:
        session.close()
