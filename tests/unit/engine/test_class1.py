"""Class1Session against spandsp's own T.31 modem, on an in-memory line, both directions.

The far end is an audio fax terminal (AudioSession) or a second Class 1 session behind a
second modem. Every received page must equal the page sent, pixel for pixel. A few
combinations cover each modem, ECM setting, compression and resolution in the default run;
OPENFAX_STRESS=1 runs the whole product.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openfax.engine import (
    AudioSession,
    Completed,
    CompletionCode,
    Compression,
    Event,
    Modem,
    Negotiated,
    PageProgress,
    PageReceived,
    PageSent,
    Resolution,
    Role,
    SessionOptions,
)
from openfax.engine.class1 import Class1Session, Class1Settings, modulation_code, stuff
from openfax.errors import EngineError
from tests.fax_images import read_pages
from tests.unit.engine.class1_link import (
    AudioEnd,
    End,
    ModemEnd,
    modem_ends,
    result_session,
    run_call,
)

MakeTiff = Callable[..., Path]
PEERS = ["class1-to-audio", "audio-to-class1", "class1-to-class1"]
Y_DPI = {Resolution.STANDARD: 98, Resolution.FINE: 196}
BIT_RATES = {Modem.V17: 14400, Modem.V29: 9600, Modem.V27TER: 4800}

Case = tuple[str, Modem, bool, Compression, Resolution]

CHOSEN: list[Case] = [
    ("class1-to-audio", Modem.V17, True, Compression.MMR, Resolution.FINE),
    ("class1-to-audio", Modem.V29, False, Compression.MR, Resolution.STANDARD),
    ("audio-to-class1", Modem.V17, False, Compression.MH, Resolution.FINE),
    ("audio-to-class1", Modem.V27TER, True, Compression.MR, Resolution.STANDARD),
    ("audio-to-class1", Modem.V29, True, Compression.MMR, Resolution.FINE),
    ("class1-to-class1", Modem.V17, True, Compression.MH, Resolution.STANDARD),
    ("class1-to-class1", Modem.V29, False, Compression.MH, Resolution.FINE),
    ("class1-to-class1", Modem.V27TER, False, Compression.MR, Resolution.FINE),
]
"""Each peer, modem, ECM setting, compression and resolution at least once."""

ALL: list[Case] = [
    (peer, modem, ecm, compression, resolution)
    for peer, modem, ecm, compression, resolution in itertools.product(
        PEERS,
        [Modem.V17, Modem.V29, Modem.V27TER],
        [True, False],
        [Compression.MH, Compression.MR, Compression.MMR],
        [Resolution.STANDARD, Resolution.FINE],
    )
    if ecm or compression is not Compression.MMR  # T.6 (MMR) needs ECM
]

STRESS = os.environ.get("OPENFAX_STRESS") == "1"


def make_ends(
    peer: str, options: SessionOptions, send_file: Path, receive_file: Path
) -> tuple[End, End]:
    """The calling (sending) and answering (receiving) ends for ``peer``."""

    def class1(file: Path, *, sending: bool) -> Callable[[Role], Class1Session]:
        def make(role: Role) -> Class1Session:
            if sending:
                return Class1Session(role, options, send_file=file, name="class1-tx")
            return Class1Session(role, options, receive_file=file, name="class1-rx")

        return make

    if peer == "class1-to-audio":
        return (
            ModemEnd(Role.CALL, class1(send_file, sending=True), name="tx"),
            AudioEnd(AudioSession(Role.ANSWER, options, receive_file=receive_file, name="audio")),
        )
    if peer == "audio-to-class1":
        return (
            AudioEnd(AudioSession(Role.CALL, options, send_file=send_file, name="audio")),
            ModemEnd(Role.ANSWER, class1(receive_file, sending=False), name="rx"),
        )
    return (
        ModemEnd(Role.CALL, class1(send_file, sending=True), name="tx"),
        ModemEnd(Role.ANSWER, class1(receive_file, sending=False), name="rx"),
    )


def assert_same_pages(sent: Path, received: Path) -> None:
    sent_pages, received_pages = read_pages(sent), read_pages(received)
    assert len(received_pages) == len(sent_pages)
    for number, (a, b) in enumerate(zip(sent_pages, received_pages, strict=True), start=1):
        assert a.shape == b.shape, f"page {number} geometry"
        assert np.array_equal(a, b), f"page {number}: {np.count_nonzero(a != b)} pixels differ"


def call_between_modems(options: SessionOptions, sent: Path, received: Path, **modem: Any) -> None:
    """A call from a Class 1 session sending ``sent`` to one receiving ``received``, each
    on its T.31 modem (``modem``: the ModemEnd options of both), completed on both ends
    with every page identical."""
    caller, answerer = modem_ends(options, sent, received, **modem)
    try:
        run_call(caller, answerer)
        for end in (caller, answerer):
            session = result_session(end)
            assert session.result is not None
            assert session.result.code is CompletionCode.OK, session.result.code.text
        assert_same_pages(sent, received)
    finally:
        caller.close()
        answerer.close()


def completed(events: list[Event]) -> Completed:
    return next(e for e in events if isinstance(e, Completed))


def transfer(make_tiff: MakeTiff, tmp_path: Path, case: Case, pages: int = 1) -> None:
    peer, modem, ecm, compression, resolution = case
    sent = make_tiff(pages=pages, y_dpi=Y_DPI[resolution])
    received = tmp_path / "received.tif"
    options = SessionOptions(
        ident="+1 555 0100",  # CSI before DIS, TSI before DCS: sequences of frames
        ecm=ecm,
        modems=modem,
        compressions=compression,
        resolutions=resolution,
    )
    caller, answerer = make_ends(peer, options, sent, received)
    try:
        run_call(caller, answerer)
        for end in (caller, answerer):
            session = result_session(end)
            assert session.result is not None
            assert session.result.code is CompletionCode.OK, session.result.code.text
            assert session.result.pages == pages
            if isinstance(session, Class1Session):
                assert session.modem_idle, f"{session.name} left the modem {session.step}"
        negotiated = [e for e in caller.events if isinstance(e, Negotiated)]
        assert (negotiated[-1].modem, negotiated[-1].bit_rate) == (modem, BIT_RATES[modem])
        assert negotiated[-1].ecm is ecm
        assert negotiated[-1].compression is compression
        assert negotiated[-1].resolution is resolution
        assert negotiated[-1].remote_ident == "+1 555 0100"
        assert [e.number for e in caller.events if isinstance(e, PageSent) and e.confirmed] == list(
            range(1, pages + 1)
        )
        assert [e.number for e in answerer.events if isinstance(e, PageReceived)] == list(
            range(1, pages + 1)
        )
        assert_same_pages(sent, received)
    finally:
        caller.close()
        answerer.close()


@pytest.mark.parametrize(
    "case", CHOSEN, ids=lambda case: "-".join(str(getattr(v, "name", v)) for v in case)
)
def test_a_page_crosses_the_line_identical(make_tiff: MakeTiff, tmp_path: Path, case: Case) -> None:
    transfer(make_tiff, tmp_path, case)


@pytest.mark.skipif(not STRESS, reason="the whole matrix runs with OPENFAX_STRESS=1")
@pytest.mark.parametrize(
    "case", ALL, ids=lambda case: "-".join(str(getattr(v, "name", v)) for v in case)
)
def test_every_combination_crosses_the_line_identical(
    make_tiff: MakeTiff, tmp_path: Path, case: Case
) -> None:
    transfer(make_tiff, tmp_path, case)


@pytest.mark.parametrize(
    "case",
    [
        ("class1-to-class1", Modem.V17, True, Compression.MMR, Resolution.FINE),
        ("class1-to-class1", Modem.V29, False, Compression.MR, Resolution.FINE),
    ],
    ids=["ecm", "non-ecm"],
)
def test_several_pages_between_two_modems(make_tiff: MakeTiff, tmp_path: Path, case: Case) -> None:
    transfer(make_tiff, tmp_path, case, pages=3)


def test_modulation_codes_follow_t31() -> None:
    from openfax.engine import _spandsp as c

    assert modulation_code(c.T30_MODEM_V27TER, 2400, False) == 24
    assert modulation_code(c.T30_MODEM_V29, 9600, True) == 96, "only V.17 has short training"
    assert modulation_code(c.T30_MODEM_V17, 14400, False) == 145
    assert modulation_code(c.T30_MODEM_V17, 14400, True) == 146
    assert modulation_code(c.T30_MODEM_V17, 7200, True) == 74
    with pytest.raises(EngineError, match="no Class 1 modulation"):
        modulation_code(c.T30_MODEM_V29, 14400, False)


def test_dle_is_doubled_in_data_to_the_modem() -> None:
    assert stuff(b"\x01\x10\x03\x10") == b"\x01\x10\x10\x03\x10\x10"


def test_modem_bytes_cut_anywhere_make_no_difference(make_tiff: MakeTiff, tmp_path: Path) -> None:
    """Reads of one to seven bytes split CONNECT, result codes, DLE pairs and frames."""
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V29, ecm=True)
    rng = random.Random(14)

    def ragged(data: bytes) -> list[bytes]:
        pieces = []
        while data:
            size = rng.randint(1, 7)
            pieces.append(data[:size])
            data = data[size:]
        return pieces

    call_between_modems(options, sent, received, split=ragged)


def test_the_sender_reports_progress_through_the_page(make_tiff: MakeTiff, tmp_path: Path) -> None:
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V27TER, ecm=False)
    caller, answerer = make_ends("class1-to-audio", options, sent, received)
    try:
        run_call(caller, answerer)
    finally:
        caller.close()
        answerer.close()
    progress = [e for e in caller.events if isinstance(e, PageProgress)]
    assert len(progress) > 3, "a page at 4800 bit/s takes several seconds"
    assert [p.sent for p in progress] == sorted(p.sent for p in progress)
    assert progress[-1].sent == progress[-1].size
    assert {p.bit_rate for p in progress} == {4800}


def test_data_to_send_refuses_a_limit_below_one(tmp_path: Path) -> None:
    session = Class1Session(Role.ANSWER, receive_file=tmp_path / "received.tif")
    try:
        with pytest.raises(EngineError, match="positive limit"):
            session.data_to_send(0)
    finally:
        session.close()


def test_a_modem_echoing_commands_is_understood(make_tiff: MakeTiff, tmp_path: Path) -> None:
    sent, received = make_tiff(pages=1), tmp_path / "received.tif"
    options = SessionOptions(modems=Modem.V17, ecm=True)
    call_between_modems(options, sent, received, echo=True)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"silence_before_send": 256}, "silence_before_send must be 0..255"),
        ({"pause_between_carriers": -1}, "pause_between_carriers must be 0..255"),
        ({"response_timeout": 0}, "response_timeout must be positive"),
        ({"connect_delay": 6.0}, "connect_delay must be 0 or more"),
    ],
)
def test_class1_settings_refuse_what_cannot_work(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Class1Settings(**settings)  # type: ignore[arg-type]


def test_what_del_methods_free_with_is_looked_up_at_import() -> None:
    """cffi looks a function up under a lock the first time; a __del__ run by a garbage
    collection inside ffi.callback (which holds that lock) deadlocked on t31_free."""
    from openfax.engine._spandsp import lib

    for name in ("fax_free", "t38_terminal_free", "t31_free", "t30_free", "hdlc_tx_free"):
        assert name in vars(lib), name
