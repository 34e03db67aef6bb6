"""The modem line's response times: fixed buckets, the count, the maximum, the p99 read
from the buckets, merging, and the one-line figures the provider logs per call."""

from __future__ import annotations

import pytest

from openfax.providers.modem.timing import BUCKETS_MS, ResponseTimes


def test_responses_fall_into_their_buckets() -> None:
    times = ResponseTimes()
    for seconds in (0.0004, 0.0009, 0.0009, 0.004, 0.080):
        times.add(seconds)
    assert times.count == 5
    assert times.longest == 0.080
    assert sum(times.counts) == 5
    assert times.counts[BUCKETS_MS.index(0.5)] == 1
    assert times.counts[BUCKETS_MS.index(1)] == 2
    assert times.counts[BUCKETS_MS.index(5)] == 1
    assert times.counts[BUCKETS_MS.index(100)] == 1


def test_quantiles_are_bucket_edges_bounded_by_the_maximum() -> None:
    times = ResponseTimes()
    assert times.quantile(0.99) == 0.0
    for _ in range(99):
        times.add(0.0015)
    times.add(0.260)
    assert times.quantile(0.5) == 0.002
    assert times.quantile(0.99) == 0.002
    assert times.quantile(1.0) == 0.260  # the 300 ms bucket, but nothing took that long
    times.add(5.0)  # beyond the last edge: the maximum
    assert times.quantile(1.0) == 5.0


def test_merging_adds_counts_and_keeps_the_maxima() -> None:
    first, second = ResponseTimes(), ResponseTimes()
    first.add(0.001)
    first.timer_late(0.02)
    second.add(0.03)
    second.add(0.03)
    second.timer_late(0.01)
    first.merge(second)
    assert first.count == 3
    assert sum(first.counts) == 3
    assert first.longest == 0.03
    assert first.late == 0.02


def test_the_logged_figures() -> None:
    times = ResponseTimes()
    assert times.figures() == "responses=0 max_ms=0.0 p99_ms=0.0 late_ms=0.0 histogram=-"
    times.add(0.0012)
    times.add(0.0012)
    times.add(4.0)
    times.timer_late(0.0031)
    assert times.figures() == (
        "responses=3 max_ms=4000.0 p99_ms=4000.0 late_ms=3.1 histogram=2:2,inf:1"
    )


def test_logged_figures_are_read_back_to_pool_calls() -> None:
    times = ResponseTimes()
    for seconds in (0.0004, 0.0012, 0.0012, 0.09, 4.0):
        times.add(seconds)
    times.timer_late(0.0031)
    again = ResponseTimes.parse(times.figures())
    assert again.counts == times.counts
    assert again.count == 5
    assert again.longest == 4.0
    assert again.late == 0.0031
    assert ResponseTimes.parse(ResponseTimes().figures()).count == 0
    with pytest.raises(ValueError, match="not a line of modem timing"):
        ResponseTimes.parse("responses=3 max_ms=x")
