"""Faults are normal: a real ``openfaxd`` whose modem line is behind a fault-injecting modem
(:class:`~openfax.virtual_modem.FaultyModem`) on port A of a virtual modem pair, and a
second OpenFax modem line (a :class:`ModemProvider` in the test) on port B at the far end.

Each fault is turned on at a chosen moment of a real call, at real time: the call ends with
the right cause (or the fax goes through, for the faults a modem survives), the job's
record says which pages were confirmed, the line is back in service by itself, and the job
is retried from its first unconfirmed page, so the far end ends up with every page once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from openfax.client import FaxOutgoingJob, FaxServer
from openfax.engine import PageSent
from openfax.model import ExtendedStatus
from openfax.providers import (
    CallCause,
    CallOutcome,
    CallProgress,
    DeviceState,
    IncomingCall,
    ReceiveSetup,
    RegistrationState,
)
from openfax.providers.modem.config import ModemLineConfig
from openfax.providers.modem.provider import ModemLine, ModemProvider
from openfax.virtual_modem import FaultyModem, ModemPair
from tests.daemon import Daemon, running
from tests.fax_images import read_pages
from tests.integration.cli.test_accounts_commands import openfax
from tests.integration.providers.modem_peer import ScriptedModem
from tests.unit.providers.test_loopback import Service, make_tiff, request
from tests.waiting import until, wait_until

T = TypeVar("T")

WAIT = 60.0
"""Seconds for anything but a whole call."""
CALL = 150.0
"""Seconds a call of a few pages may take at real time on a loaded machine."""
NUMBERS = ("1001", "1002")
STRESS = pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1",
    reason="a minute or more at real time: OPENFAX_STRESS=1",
)


class FarEnd:
    """In a thread of the test: a modem pair, a faulty modem in front of each port (port
    A's at ``link``, the daemon's line; port B's for the far end's line), and an OpenFax
    modem line on port B answering at the first ring, whose received faxes
    :attr:`service` records."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.link = folder / "ttyACM0"
        (folder / "far").mkdir()
        self.service = Service(folder / "far")
        self.faulty: FaultyModem | None = None
        self.far_faulty: FaultyModem | None = None
        self.line: ModemLine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: list[BaseException] = []
        self.seen = 0
        """Calls the far end received before the test running now."""
        self.inbox = 0
        """Faxes the daemon received before the test running now."""

    def serve(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # handed to the test's thread
            self._failure.append(exc)
            self._started.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        folder = self.folder
        async with (
            ModemPair(folder / "ttyA", folder / "ttyB", numbers=NUMBERS) as pair,
            FaultyModem(pair.paths[0], self.link) as faulty,
            FaultyModem(pair.paths[1], folder / "ttyFar") as far_faulty,
        ):
            config = ModemLineConfig(
                device=str(far_faulty.link),
                name="far end",
                number=NUMBERS[1],
                command_timeout=2.0,
                reopen_seconds=0.5,
            )
            provider = ModemProvider([config])
            provider.set_listener(self.service)
            async with provider:
                self.faulty, self.far_faulty = faulty, far_faulty
                self.line = provider.devices[0]
                self._started.set()
                await self._stop.wait()

    def call(self, action: Callable[[], T]) -> T:
        """``action()`` run in the far end's loop (the faulty modem and the line live
        there), its result."""
        assert self._loop is not None
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def act() -> None:
            try:
                done.set_result(action())
            except BaseException as exc:
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(act)
        return done.result(WAIT)

    def received(self) -> list[CallOutcome]:
        return self.call(self.service.received)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


@contextmanager
def far_end(folder: Path) -> Iterator[FarEnd]:
    """The far end served in a thread until the block ends (its failure raised then)."""
    far = FarEnd(folder)
    thread = threading.Thread(target=far.serve, name="far end", daemon=True)
    thread.start()
    try:
        assert far._started.wait(WAIT), "the far end did not start"
        if far._failure:
            raise far._failure[0]
        yield far
    finally:
        far.stop()
        thread.join(WAIT)
    if far._failure:
        raise far._failure[0]


@contextmanager
def faulty_daemon(tmp_path: Path, **line: Any) -> Iterator[tuple[Daemon, FarEnd]]:
    """The far end, and openfaxd with its modem line on the faulty modem: short time-outs,
    retries half a second after any failure."""
    config = {
        "device": str(tmp_path / "ttyACM0"),
        "name": "modem A",
        "number": NUMBERS[0],
        "command_timeout": 2,
        "reopen_seconds": 0.5,
        **line,
    }
    quick = {"delay_minutes": 0.01}
    with (
        far_end(tmp_path) as far,
        running(
            tmp_path / "data",
            modem={"lines": [config]},
            loopback={"lines": 0},
            outgoing={"retries": 3, "max_attempts": 6},
            **{f"outgoing.causes.{cause}": quick for cause in CAUSES},
        ) as daemon,
    ):
        assert far.line is not None
        line_ready(daemon)
        yield daemon, far


CAUSES = ("busy", "no_answer", "line_dropped", "protocol", "internal")


@pytest.fixture(scope="module")
def shared_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, FarEnd]]:
    """One daemon and far end for the module's tests (each starts with the modems well)."""
    with faulty_daemon(tmp_path_factory.mktemp("faults")) as rig:
        yield rig


@pytest.fixture
def rig(shared_rig: tuple[Daemon, FarEnd]) -> Iterator[tuple[Daemon, FarEnd]]:
    """The shared daemon and far end; after the test every fault is off, the modem plugged
    in and the daemon's line ready again."""
    daemon, far = shared_rig
    far.seen = len(far.received())
    yield shared_rig

    def heal() -> None:
        for faulty in (far.faulty, far.far_faulty):
            assert faulty is not None
            faulty.faults.clear_faults()
            faulty.reappear()

    far.call(heal)
    line_ready(daemon)
    wait_until(
        lambda: far.call(lambda: far.line is not None and far.line.state is DeviceState.IDLE),
        "the far end's line idle",
    )


def device_row(daemon: Daemon) -> dict[str, Any]:
    rows = json.loads(openfax(daemon, "devices", "--json").stdout)
    row: dict[str, Any] = next(row for row in rows if row["name"] == "modem A")
    return row


def line_ready(daemon: Daemon) -> dict[str, Any]:
    """The daemon's modem line once idle and in service."""
    return wait_until(
        lambda: (
            (row := device_row(daemon))["state"] == "idle"
            and row["registration"] == "registered"
            and row
        ),
        lambda: f"modem A ready (it is {device_row(daemon)})",
        WAIT,
    )


def submit(daemon: Daemon, document: Path) -> str:
    sent = openfax(daemon, "send", str(document), "--to", NUMBERS[1], "--json")
    assert sent.returncode == 0, sent.stderr
    (job,) = json.loads(sent.stdout)
    return str(job["id"])


def job_state(server: FaxServer, job_id: str) -> FaxOutgoingJob | None:
    """The job as the queue shows it; None once it left the queue."""
    jobs = [job for job in server.folders.outgoing_queue.get_jobs() if job.id == job_id]
    return jobs[0] if jobs else None


def finished(server: FaxServer, job_id: str) -> FaxOutgoingJob:
    """Wait for the job to end (sent, or failed for good)."""
    return FaxOutgoingJob(server, {"id": job_id}).wait(timeout=3 * CALL)


def attempts(server: FaxServer, job_id: str) -> list[tuple[str | None, int]]:
    """Each call of the job: its failure cause (None: it succeeded) and pages confirmed."""
    calls = FaxOutgoingJob(server, {"id": job_id}).get_call_attempts()
    return [(call["failure_cause"], call["pages_confirmed"]) for call in calls]


def assert_pages(sent: Path, received: list[CallOutcome]) -> None:
    """The pages of the calls ``received`` are those of the job's TIFF ``sent``, in order,
    pixel for pixel: nothing lost, nothing twice."""
    got = [page for outcome in received if outcome.path for page in read_pages(outcome.path)]
    want = read_pages(sent)
    assert len(got) == len(want), f"{len(got)} pages arrived of {len(want)}"
    for number, (a, b) in enumerate(zip(want, got, strict=True), 1):
        assert np.array_equal(a, b), f"page {number} differs"


def test_a_modem_unplugged_mid_page_comes_back_and_the_job_resumes(
    tmp_path: Path, rig: tuple[Daemon, FarEnd]
) -> None:
    """Three pages; the modem vanishes (the USB cable pulled: the port gives EIO) once page 1
    is confirmed. The call ends as a dropped line with one page, the device shows "not
    available" with the reason, and comes back by itself when the port does; the retry
    sends pages 2 and 3 only, and the far end has all three, none twice."""
    document = make_tiff(tmp_path, pages=3)
    daemon, far = rig
    with daemon.connected() as server:
        job_id = submit(daemon, document)
        sent = tmp_path / "job.tif"
        FaxOutgoingJob(server, {"id": job_id}).copy_tiff(sent)

        def page_one_confirmed() -> bool:
            job = job_state(server, job_id)
            return job is not None and job.pages_confirmed >= 1

        wait_until(page_one_confirmed, "page 1 confirmed", CALL, poll=0.02)
        faulty = far.faulty
        assert faulty is not None
        far.call(faulty.disappear)
        row = wait_until(
            lambda: (row := device_row(daemon))["registration"] != "registered" and row,
            "modem A out of service",
            WAIT,
        )
        assert row["state"] == "unavailable", row
        assert str(far.link) in row["registration"], row
        job = wait_until(
            lambda: (job := job_state(server, job_id)) and job.failure_cause and job,
            "the call's end on the job",
            WAIT,
        )
        assert (job.failure_cause, job.pages_confirmed) == ("line_dropped", 1), job.to_dict()

        far.call(faulty.reappear)
        line_ready(daemon)
        done = finished(server, job_id)
        assert done.status.names == "COMPLETED", done.to_dict()
        assert attempts(server, job_id) == [("line_dropped", 1), (None, 2)]
        received = far_calls(far, 2)
    assert [o.cause.value for o in received] == ["line_dropped", "none"], received
    assert [o.pages for o in received] == [1, 2], "nothing lost, nothing twice"
    assert_pages(sent, received)


# --- the provider alone: two OpenFax modem lines on the pair, in the test's loop -----------


def line_config(device: Path, number: str, **options: Any) -> ModemLineConfig:
    options.setdefault("command_timeout", 2.0)
    options.setdefault("reopen_seconds", 0.5)
    return ModemLineConfig(device=str(device), name=f"line {number}", number=number, **options)


async def ready(line: ModemLine) -> None:
    await until(
        lambda: (
            line.registration.state is RegistrationState.REGISTERED
            and line.state is DeviceState.IDLE
        ),
        lambda: f"{line.name} ready (it is {line.registration}, {line.state})",
        WAIT,
    )


class SpoolGone(Service):
    """A service whose spool cannot take the first fax (its folder is missing)."""

    async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
        setup = await super().receive_setup(call)
        if call.call_id == 1:
            return replace(setup, path=self.folder / "gone" / "fax.tif")
        return setup


def test_a_spool_that_cannot_take_a_fax_fails_that_call_only(tmp_path: Path) -> None:
    """The receive setup's file cannot be written (a FaxFileError): that call ends as an
    internal failure, the line stays in service and receives the next call."""
    sent = make_tiff(tmp_path, pages=1)
    for end in ("a", "b"):
        (tmp_path / end).mkdir()
    callee = SpoolGone(tmp_path / "b")

    async def main() -> list[CallOutcome]:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB", numbers=NUMBERS) as pair:
            calling = ModemProvider([line_config(pair.paths[0], NUMBERS[0])])
            answering = ModemProvider([line_config(pair.paths[1], NUMBERS[1])])
            calling.set_listener(Service(tmp_path / "a"))
            answering.set_listener(callee)
            async with calling, answering:
                a, b = calling.devices[0], answering.devices[0]
                await ready(a)
                await ready(b)
                first = await asyncio.wait_for(a.dial(NUMBERS[1], request(sent)), CALL)
                await until(callee.received, "the first call's end on line B", WAIT)
                await ready(b)
                await ready(a)
                second = await asyncio.wait_for(a.dial(NUMBERS[1], request(sent)), CALL)
                await until(lambda: len(callee.received()) == 2, "the second call's end", WAIT)
        return [first, second]

    first, second = asyncio.run(main())
    failed, received = callee.received()
    assert failed.cause is CallCause.INTERNAL, failed
    assert "gone" in failed.detail, failed
    assert first.cause is not CallCause.NONE, first
    assert not any(callee.provider_errors), "line B never went out of service"
    assert second.cause is CallCause.NONE, second
    assert received.cause is CallCause.NONE, received


def send_through(daemon: Daemon, server: FaxServer, tmp_path: Path, pages: int) -> tuple[str, Path]:
    """Submit ``pages`` pages to the far end; the job's id and its TIFF as it is sent."""
    job_id = submit(daemon, make_tiff(tmp_path, pages=pages))
    sent = tmp_path / "job.tif"
    FaxOutgoingJob(server, {"id": job_id}).copy_tiff(sent)
    return job_id, sent


def far_calls(far: FarEnd, count: int) -> list[CallOutcome]:
    """The ``count`` calls the far end received in this test, once they ended."""
    return wait_until(
        lambda: len(outcomes := far.received()[far.seen :]) == count and outcomes,
        f"{count} calls ended at the far end",
    )


def test_no_carrier_mid_page_at_the_far_end_and_the_job_resumes(
    tmp_path: Path, rig: tuple[Daemon, FarEnd]
) -> None:
    """The far end's modem loses the carrier in the middle of page 2 (NO CARRIER while it
    receives the image data): the far end keeps page 1 and the call ends as a dropped line
    with page 1 confirmed; the retry sends page 2, and the far end has both pages once."""
    daemon, far = rig
    with daemon.connected() as server:
        job_id, sent = send_through(daemon, server, tmp_path, pages=2)

        def page_one_confirmed() -> bool:
            job = job_state(server, job_id)
            return job is not None and job.pages_confirmed >= 1

        wait_until(page_one_confirmed, "page 1 confirmed", CALL, poll=0.02)
        assert far.far_faulty is not None
        far.call(lambda: far.far_faulty.faults.no_carrier_mid_data(after=2000))  # type: ignore[union-attr]
        done = finished(server, job_id)
        calls = attempts(server, job_id)
        received = far_calls(far, len(calls))
    assert done.status.names == "COMPLETED", done.to_dict()
    assert calls == [("line_dropped", 1), (None, 1)], "the retry sent page 2 only"
    assert [(o.cause, o.pages) for o in received] == [
        (CallCause.LINE_DROPPED, 1),
        (CallCause.NONE, 1),
    ], received
    assert_pages(sent, received)


def test_an_error_to_a_modulation_falls_back_to_the_next_lower(
    tmp_path: Path, rig: tuple[Daemon, FarEnd]
) -> None:
    """The daemon's modem answers ERROR to V.17 at 14 400 bit/s (AT+FTM=145 and 146): the
    driver trains at 12 000 instead, the far end answers FTT to the spoilt training, T.30
    steps down, and the page goes at 12 000 bit/s in the same call."""
    daemon, far = rig
    with daemon.connected() as server:
        assert far.faulty is not None
        for code in (b"AT+FTM=145", b"AT+FTM=146"):
            far.call(lambda code=code: far.faulty.faults.error_on(code))  # type: ignore[union-attr,misc]
        job_id, sent = send_through(daemon, server, tmp_path, pages=1)
        done = finished(server, job_id)
        assert done.status.names == "COMPLETED", done.to_dict()
        assert attempts(server, job_id) == [(None, 1)]
        (received,) = far_calls(far, 1)
    assert received.negotiated is not None
    assert received.negotiated.bit_rate == 12000, received.negotiated
    assert_pages(sent, [received])


def test_a_slow_chatty_modem_still_delivers(tmp_path: Path, rig: tuple[Daemon, FarEnd]) -> None:
    """The daemon's modem answers 100 ms late, echoes every command whatever ATE0 said and
    says RING at odd moments of the call: the fax goes through in one call."""
    daemon, far = rig
    with daemon.connected() as server:
        faulty = far.faulty
        assert faulty is not None
        far.call(lambda: faulty.faults.slow(0.1))
        far.call(faulty.faults.echo)
        job_id, sent = send_through(daemon, server, tmp_path, pages=1)

        def answered() -> bool:
            job = job_state(server, job_id)
            return job is not None and job.extended_status_code == ExtendedStatus.TRANSMITTING

        # Armed once the call is answered, so each RING falls inside it whatever the load.
        wait_until(answered, "the call answered", CALL, poll=0.02)
        for _ in range(3):
            far.call(lambda: faulty.unsolicited(b"RING", within=3.0))
        done = finished(server, job_id)
        assert done.status.names == "COMPLETED", done.to_dict()
        assert attempts(server, job_id) == [(None, 1)]
        (received,) = far_calls(far, 1)
        assert "modem said 'RING'" in "".join(daemon.log), "a RING in the call, ignored"
    assert_pages(sent, [received])


@STRESS
@pytest.mark.parametrize("fault", ["vanishes", "no carrier"])
def test_a_fax_received_when_the_call_breaks_mid_page_keeps_its_good_pages(
    tmp_path: Path, rig: tuple[Daemon, FarEnd], fault: str
) -> None:
    """The far end sends two pages to the daemon's line; during page 2 its modem vanishes,
    or loses the carrier (NO CARRIER; the far end's image carrier then goes on where the
    receiver listens for V.21, and T.30 ends the call): the fax lands in the inbox with
    page 1, marked partial, and the line is ready again."""
    document = make_tiff(tmp_path, pages=2)
    progress: list[CallProgress] = []
    daemon, far = rig
    line, faulty = far.line, far.faulty
    assert line is not None
    assert faulty is not None
    dial = far.call(
        lambda: asyncio.ensure_future(
            line.dial(NUMBERS[0], request(document), progress=progress.append)
        )
    )
    wait_until(
        lambda: far.call(lambda: any(isinstance(e, PageSent) and e.confirmed for e in progress)),
        "page 1 received by the daemon",
        CALL,
        poll=0.02,
    )
    if fault == "vanishes":
        far.call(faulty.disappear)
    else:
        far.call(lambda: faulty.faults.no_carrier_mid_data(after=2000))
    wait_until(lambda: far.call(dial.done), "the far end's call to end", CALL)
    outcome = far.call(dial.result)
    assert outcome.cause is CallCause.LINE_DROPPED, outcome
    rows = wait_until(
        lambda: json.loads(openfax(daemon, "inbox", "--json").stdout)[far.inbox :],
        "the partial fax in the inbox",
    )
    far.inbox += 1
    (row,) = rows
    assert (row["pages"], row["partial"]) == (1, True), row
    far.call(faulty.reappear)
    line_ready(daemon)
    received = tmp_path / "inbox.tif"
    openfax(daemon, "get", row["id"], "-o", str(received))
    (page,) = read_pages(received)
    assert np.array_equal(page, read_pages(document)[0]), "page 1 as it was sent"


@STRESS
def test_a_modem_that_stops_answering_mid_page_is_reset_and_the_job_resumes(
    tmp_path: Path, rig: tuple[Daemon, FarEnd]
) -> None:
    """The daemon's modem hangs in the middle of page 2 of 3 (it takes nothing and says
    nothing): the call ends as a dropped line with page 1 once the driver's time-out runs
    out, the hang-up and the reset go unanswered (DTR is dropped), and the line is out of
    service until the modem answers again; then the retry sends pages 2 and 3."""
    daemon, far = rig
    with daemon.connected() as server:
        faulty = far.faulty
        assert faulty is not None
        job_id, sent = send_through(daemon, server, tmp_path, pages=3)

        def page_one_confirmed() -> bool:
            job = job_state(server, job_id)
            return job is not None and job.pages_confirmed >= 1

        wait_until(page_one_confirmed, "page 1 confirmed", CALL, poll=0.02)
        far.call(faulty.faults.stop_answering)
        row = wait_until(
            lambda: (row := device_row(daemon))["state"] == "unavailable" and row,
            "modem A out of service",
            CALL,
        )
        assert "no answer to" in row["registration"], row
        job = job_state(server, job_id)
        assert job is not None
        assert (job.failure_cause, job.pages_confirmed) == ("line_dropped", 1), job.to_dict()
        far.call(faulty.faults.resume)
        line_ready(daemon)
        done = finished(server, job_id)
        assert done.status.names == "COMPLETED", done.to_dict()
        assert attempts(server, job_id) == [("line_dropped", 1), (None, 2)]
        received = far_calls(far, 2)
        assert "dropping DTR" in "".join(daemon.log)
    assert_pages(sent, received)


@STRESS
def test_lost_dle_etx_costs_a_repeat_not_the_call(
    tmp_path: Path, rig: tuple[Daemon, FarEnd]
) -> None:
    """Both modems lose the DLE ETX ending a block of data they receive (the daemon's the
    first frames of the call, the far end's the first after its answer): each driver gives
    up on that block after its data time-out, T.30 repeats, and the fax goes in one call."""
    daemon, far = rig
    with daemon.connected() as server:
        assert far.faulty is not None
        assert far.far_faulty is not None
        far.call(far.faulty.faults.drop_dle_etx)
        far.call(far.far_faulty.faults.drop_dle_etx)
        job_id, sent = send_through(daemon, server, tmp_path, pages=1)
        done = finished(server, job_id)
        assert done.status.names == "COMPLETED", done.to_dict()
        assert attempts(server, job_id) == [(None, 1)]
        (received,) = far_calls(far, 1)
    assert_pages(sent, [received])


def test_a_silent_modem_stays_out_of_service_with_its_reason_while_it_is_tried_again(
    tmp_path: Path,
) -> None:
    """A modem that does not answer is probed again every ``reopen_seconds``: meanwhile the
    line stays out of service with the reason, not back to "registering" at each try."""
    link = tmp_path / "modem"
    with ScriptedModem(link) as peer:
        peer.silent = True
        provider = ModemProvider([line_config(link, NUMBERS[0], command_timeout=1.0)])
        provider.set_listener(Service(tmp_path))

        async def main() -> None:
            async with provider:
                line = provider.devices[0]
                await until(lambda: line.registration.failed, "the silence noticed", WAIT)
                tries = peer.received.count(b"ATZ")
                await until(lambda: peer.received.count(b"ATZ") > tries, "a new try", WAIT)
                assert line.registration.failed, line.registration
                assert "no answer to ATZ" in line.registration.error
                peer.silent = False
                await ready(line)

        asyncio.run(asyncio.wait_for(main(), 2 * WAIT))
