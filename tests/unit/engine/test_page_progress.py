"""Progress within a page: the sending session reports how far it is into each
page while it goes out, so a one-page fax does not sit at 0 of 1 for half a minute."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from openfax.engine import (
    PAGE_PROGRESS_SECONDS,
    Event,
    Negotiated,
    PageProgress,
    PageSent,
    SessionOptions,
    run_pair,
)
from tests.unit.engine.test_sessions import TRANSPORTS, collect, make_pair

MakeTiff = Callable[..., Path]


@pytest.mark.parametrize(("transport", "ecm"), list(itertools.product(TRANSPORTS, [True, False])))
def test_the_sender_reports_each_page_filling_up_until_it_has_gone(
    make_tiff: MakeTiff, tmp_path: Path, transport: str, ecm: bool
) -> None:
    options = SessionOptions(ecm=ecm)
    # Paced T.38: unpaced, a page's packets leave at one instant of line time.
    caller, answerer = make_pair(
        transport, make_tiff(pages=2), tmp_path / "received.tif", options, options, paced=True
    )
    events: dict[str, list[Event]] = {}
    run_pair(caller, answerer, on_event=collect(events))

    assert not any(isinstance(e, PageProgress) for e in events["answerer"])
    story = [e for e in events["caller"] if isinstance(e, PageProgress | PageSent | Negotiated)]
    (negotiated,) = [e for e in story if isinstance(e, Negotiated)]
    assert negotiated.ecm is ecm
    # The progress of page 1, its confirmation, the progress of page 2, its confirmation.
    kinds = [(type(e).__name__, e.number) for e in story if not isinstance(e, Negotiated)]
    assert [k for k, _ in itertools.groupby(kinds)] == [
        ("PageProgress", 1),
        ("PageSent", 1),
        ("PageProgress", 2),
        ("PageSent", 2),
    ]
    for number in (1, 2):
        page = [e for e in story if isinstance(e, PageProgress) and e.number == number]
        sizes = {e.size for e in page}
        assert len(sizes) == 1, "one size per page, from spandsp"
        assert sizes.pop() > 1000, "one size per page, from spandsp"
        sent = [e.sent for e in page]
        assert sent == sorted(sent), "rising, no repeats"
        assert len(set(sent)) == len(sent), "rising, no repeats"
        assert 0 < sent[0] < page[0].size, "reported while the page goes out"
        assert sent[-1] == page[-1].size, "whole once the page has gone"
        # One report per half second of line time: a page of a few kB at 14400 bit/s.
        longest = page[0].size * 8 / negotiated.bit_rate / PAGE_PROGRESS_SECONDS
        assert 2 <= len(page) <= longest + 3
        assert {e.bit_rate for e in page} == {negotiated.bit_rate}
