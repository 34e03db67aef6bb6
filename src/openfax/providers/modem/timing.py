"""How quickly a modem line answers its modem, always measured and cheap to keep.

T.30 over a Class 1 modem is timed by the host: after the modem's result code (CONNECT,
OK, NO CARRIER...) the far end waits about 3 s for our next command, and the pauses
between carriers are 75 ms. A loaded machine can make the line late. :class:`ResponseTimes`
keeps the time from a result code's arrival at the port to the driver's answer being
written (and how late the line's timers fired) as a histogram of fixed buckets: a few
integers per call, whatever its length. The provider logs each call's figures as one
``modem timing:`` line (for operators and ``bench/modem.py``) and keeps the line's total.
"""

from __future__ import annotations

from bisect import bisect_left

BUCKETS_MS = (
    0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 3000,
)  # fmt: skip
"""Upper edges of the histogram's buckets (milliseconds); a last bucket holds the rest."""
_EDGES = [*(f"{edge:g}" for edge in BUCKETS_MS), "inf"]
"""The buckets as the logged histogram names them."""


class ResponseTimes:
    """Response times (seconds) in fixed buckets, their count and maximum, and the latest
    a timer fired after it was due (``late``)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS_MS) + 1)
        self.count = 0
        self.longest = 0.0
        self.late = 0.0

    @classmethod
    def parse(cls, figures: str) -> ResponseTimes:
        """The figures of one :meth:`figures` line (a call's, from the log) to pool with
        others; ValueError if it is not one."""
        fields = dict(item.split("=", 1) for item in figures.split() if "=" in item)
        times = cls()
        try:
            times.longest = float(fields["max_ms"]) / 1000
            times.late = float(fields["late_ms"]) / 1000
            if fields["histogram"] != "-":
                for item in fields["histogram"].split(","):
                    edge, count = item.split(":")
                    times.counts[_EDGES.index(edge)] = int(count)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a line of modem timing figures: {figures!r}") from exc
        times.count = sum(times.counts)
        return times

    def add(self, seconds: float) -> None:
        """One response, ``seconds`` after the result code it answers arrived."""
        self.counts[bisect_left(BUCKETS_MS, seconds * 1000)] += 1
        self.count += 1
        self.longest = max(self.longest, seconds)

    def timer_late(self, seconds: float) -> None:
        """A timer fired ``seconds`` after it was due (the event loop was busy)."""
        self.late = max(self.late, seconds)

    def merge(self, other: ResponseTimes) -> None:
        """Add ``other``'s figures to these."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.count += other.count
        self.longest = max(self.longest, other.longest)
        self.late = max(self.late, other.late)

    def quantile(self, fraction: float) -> float:
        """The upper edge (seconds) of the bucket holding the ``fraction`` quantile: at most
        that; the maximum when it lies in the last bucket or beyond it; 0 with none."""
        if self.count == 0:
            return 0.0
        wanted = fraction * self.count
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= wanted and count:
                if index == len(BUCKETS_MS):
                    return self.longest
                return min(BUCKETS_MS[index] / 1000, self.longest)
        return self.longest

    def figures(self) -> str:
        """One line: ``responses=N max_ms=X p99_ms=Y late_ms=Z histogram=EDGE:N,...``
        (bucket upper edges in ms, ``inf`` for the last; only buckets with a response)."""
        histogram = ",".join(
            f"{edge}:{count}" for edge, count in zip(_EDGES, self.counts, strict=True) if count
        )
        return (
            f"responses={self.count} max_ms={self.longest * 1000:.1f} "
            f"p99_ms={self.quantile(0.99) * 1000:.1f} late_ms={self.late * 1000:.1f} "
            f"histogram={histogram or '-'}"
        )
