"""The loopback provider's lines in real time: a call at pace 10 never runs faster than its pace,
and with rings of 0.2 s at pace 1 a line does not reach its own number nor a line in a call
(issue 12). The rest, unpaced: tests/unit/providers/test_loopback.py."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from openfax.providers import (
    Answered,
    CallCause,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceState,
    LineFaults,
    LoopbackProvider,
    Ringing,
)
from tests.unit.providers.test_loopback import Service, make_tiff, request, run
from tests.waiting import until


def test_a_paced_call_never_runs_faster_than_its_pace(tmp_path: Path) -> None:
    """At pace 10 a call takes at least a tenth of its line time; only lower bounds are
    asserted, since a loaded machine can make it slower but never faster."""
    sent = make_tiff(tmp_path, pages=1)
    stamps: dict[type, float] = {}
    outcomes: list[CallOutcome] = []

    def note(event: CallProgress) -> None:
        stamps.setdefault(type(event), time.monotonic())

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        outcomes.append(await provider.devices[0].dial("1002", request(sent), progress=note))

    run(tmp_path, scenario, pace=10.0, ring_seconds=2.0)

    (outcome,) = outcomes
    assert outcome.ok, outcome.detail
    assert stamps[Answered] - stamps[Ringing] >= 0.2 * 0.95
    assert outcome.line_seconds > 10
    assert stamps[CallEnded] - stamps[Answered] >= outcome.line_seconds / 10.0 * 0.95


def test_a_line_does_not_reach_its_own_number_nor_a_line_in_a_call(tmp_path: Path) -> None:
    """Issue 12: under ``make run``, faxes to 1002 went out on 1001 while 1002 was busy with a
    call of its own, met BUSY and waited five minutes. The provider knows its lines: while
    1002 is in a call, 1001 does not reach it, so the scheduler keeps the fax until it is
    free; a line faulted busy is still reached, to answer busy."""
    sent = make_tiff(tmp_path, pages=1)
    seen: dict[str, list[bool]] = {}

    async def scenario(provider: LoopbackProvider, service: Service) -> None:
        line1, line2, line3 = provider.devices
        line3.faults = LineFaults(no_answer=True)
        seen["idle"] = [line1.reaches("1001"), line1.reaches("1002"), line1.reaches("1003")]
        call = asyncio.create_task(line2.dial("1003", request(sent)))
        await until(lambda: line3.state is DeviceState.RINGING, "line 3 rings")
        seen["calling"] = [line1.reaches("1002"), line1.reaches("1003"), line1.reaches("555")]
        line2.faults = LineFaults(busy=True)
        seen["faulted"] = [line1.reaches("1002")]
        outcome = await call
        assert outcome.cause is CallCause.NO_ANSWER
        seen["after"] = [line1.reaches("1002"), line1.reaches("1003")]

    run(tmp_path, scenario, lines=3, pace=1.0, ring_seconds=0.2, max_rings=20)

    assert seen == {
        "idle": [False, True, True],
        "calling": [False, False, True],
        "faulted": [True],
        "after": [True, True],
    }
