"""The rate-limited logging filter: a flood of one kind of line becomes a few, and says how
many it held back."""

from __future__ import annotations

import logging

import pytest

from openfax.logfilter import RateLimitFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_one_kind_passes_a_few_lines_an_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    logger = logging.getLogger("openfax.test.flood")
    limiter = RateLimitFilter(burst=3, interval=60.0, clock=clock)
    logger.addFilter(limiter)
    try:
        with caplog.at_level(logging.WARNING, logger=logger.name):
            for client in range(1000):
                logger.warning("connection from %s closed", f"10.0.0.{client % 250}")
            logger.warning("another kind of line")
            clock.now = 61.0
            logger.warning("connection from %s closed", "10.0.0.9")
    finally:
        logger.removeFilter(limiter)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "connection from 10.0.0.0 closed",
        "connection from 10.0.0.1 closed",
        "connection from 10.0.0.2 closed",
        "another kind of line",
        "connection from 10.0.0.9 closed (997 like it not logged in 60 s)",
    ]
