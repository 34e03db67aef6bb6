"""openfaxd's JSON log lines: one object a record, the ids of the task's job and call."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from openfax.log_format import JsonFormatter, log_job


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines of node ``fax-1`` into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("fax-1"))
    logger = logging.getLogger("openfax.test.log_format")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_task_names_its_own_job_and_call(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged

    async def call(job_id: int, call_id: int | None) -> None:
        log_job(job_id, call_id)
        await asyncio.sleep(0)  # the other task runs between the two records
        logger.info("page %d sent", 1)

    async def both() -> None:
        await asyncio.gather(call(0xABC, None), call(0xDEF, 7))
        logger.warning("no call here")

    asyncio.run(both())
    first, second, outside = lines(out)
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "openfax.test.log_format",
        "message": "page 1 sent",
        "node": "fax-1",
        "job": "0000000000000abc",
    }
    assert (second["job"], second["call"]) == ("0000000000000def", 7)
    assert set(outside) == {"time", "level", "logger", "message", "node"}
    assert str(first["time"]).endswith("+00:00")


def test_a_traceback_stays_on_the_record_s_line(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        logger.exception("it failed", extra={"job_id": 0x10})
    (line,) = lines(out)
    assert line["message"] == "it failed"
    assert line["job"] == "0000000000000010"
    assert "ValueError: broken" in str(line["exception"])
