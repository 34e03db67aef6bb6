"""One connected loopback call: two engine sessions back to back, without I/O or a clock.

The link runs the line one 20 ms block per :meth:`CallLink.step`; the asyncio shell in
:mod:`openfax.providers.loopback` decides when (paced or not). The link keeps each end's
transcript, passes progress on, breaks the call after a page (or before a page's
confirmation reaches the sender) when a line's fault asks for it, and ends the call at its
deadlines, counted in line time so they hold whatever the pace: no engine event for
``page_timeout`` seconds, or ``max_call_seconds`` in all. Ending a call hangs up both
sessions, which finish at once with the pages done so far.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass, field

from openfax.engine import (
    SAMPLE_RATE,
    Event,
    FaxSession,
    PageReceived,
    PageSent,
)
from openfax.engine.loopback import BLOCK_SAMPLES, link_step
from openfax.providers.base import ProgressSink
from openfax.providers.common import CallLog

_logger = logging.getLogger(__name__)


@dataclass
class LinkEnd:
    """One end of the link: its session, where its progress goes, and what it has seen."""

    session: FaxSession
    progress: ProgressSink
    log: CallLog = field(default_factory=CallLog)


@dataclass(eq=False)
class CallLink:
    """The line between a calling and an answering session of the same kind."""

    caller: LinkEnd
    answerer: LinkEnd
    _: KW_ONLY
    hang_up_after_page: int | None
    lose_confirmation_of_page: int | None = None
    page_timeout: float
    max_call_seconds: float
    blocks: int = field(default=0, init=False)
    ended_by: str | None = field(default=None, init=False)
    """Why the link hung up both ends itself (a fault, a deadline, a request), if it did."""
    _last_activity: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._step = link_step(self.caller.session, self.answerer.session)

    @property
    def line_seconds(self) -> float:
        return self.blocks * BLOCK_SAMPLES / SAMPLE_RATE

    @property
    def finished(self) -> bool:
        """Both sessions have reached phase E."""
        return self.caller.session.done and self.answerer.session.done

    def step(self) -> None:
        """Run one block of the line, then act on what the sessions reported."""
        self._step(True)
        self.blocks += 1
        for end in (self.caller, self.answerer):
            for event in end.session.pop_events():
                self._record(end, event)
        if self.finished:
            return
        if self.line_seconds - self._last_activity > self.page_timeout:
            self.hang_up(f"no T.30 activity for {self.page_timeout:g} line seconds")
        elif self.line_seconds > self.max_call_seconds:
            self.hang_up(f"the call exceeded {self.max_call_seconds:g} line seconds")

    def hang_up(self, reason: str) -> None:
        """Drop the call: both sessions end now (call dropped) with the pages done so far."""
        if self.finished:
            return
        _logger.info("loopback call dropped after %.1f line seconds: %s", self.line_seconds, reason)
        self.ended_by = reason
        for end in (self.caller, self.answerer):
            end.session.hangup()
            for event in end.session.pop_events():
                self._record(end, event)

    def _record(self, end: LinkEnd, event: Event) -> None:
        if not end.log.keep(event, self.line_seconds, end.progress):
            return  # page progress is no T.30 activity
        self._last_activity = self.line_seconds
        if (
            end is self.caller
            and isinstance(event, PageSent)
            and event.confirmed
            and event.number == self.hang_up_after_page
        ):
            self.hang_up(f"fault injected: hang up after page {event.number}")
        elif (
            end is self.answerer
            and isinstance(event, PageReceived)
            and event.number == self.lose_confirmation_of_page
        ):
            # The receiver has the page and is about to confirm it: the sender never hears.
            self.hang_up(f"fault injected: the confirmation of page {event.number} was lost")
