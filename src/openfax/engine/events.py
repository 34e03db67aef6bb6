"""What a fax session reports: small immutable events, in the order things happened."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from openfax.engine.completion import CompletionCode, T30Failure
from openfax.engine.params import Compression, Modem, Resolution


class Direction(enum.Enum):
    """Whether a frame was sent by this end or received from the far end."""

    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True)
class FrameExchanged:
    """A T.30 control frame crossed the line; the sequence of these is the call's transcript."""

    direction: Direction
    name: str
    frame: bytes


@dataclass(frozen=True)
class Negotiated:
    """Training succeeded (CFR) with these settings; sent again if a retrain changes them."""

    modem: Modem
    bit_rate: int
    ecm: bool
    compression: Compression
    resolution: Resolution
    remote_ident: str


@dataclass(frozen=True)
class PageSent:
    """The far end answered a page; ``confirmed`` is true only for MCF (or RTP: page good)."""

    number: int
    confirmed: bool
    response: str


@dataclass(frozen=True)
class PageProgress:
    """How far the sending end is into page ``number``: ``sent`` of the page's ``size`` bytes
    as encoded for the line (spandsp's statistics of the page), at ``bit_rate``.

    spandsp 0.0.6 does not tell how much of a page its modem has sent, so ``sent`` is the
    line time spent sending the page's image times the negotiated bit rate (within a few
    per cent: the training and, in ECM, the framing take some of that time), at most
    ``size``; it is exact (``size``) once the page has gone and its post-page command is
    sent. Reported every ``PAGE_PROGRESS_SECONDS`` of line time while a page goes out."""

    number: int
    sent: int
    size: int
    bit_rate: int


@dataclass(frozen=True)
class PageReceived:
    """A page arrived and was written to the receive TIFF; ``bad_rows`` measures its quality."""

    number: int
    bad_rows: int
    longest_bad_row_run: int
    width: int
    length: int
    x_resolution: int
    y_resolution: int


@dataclass(frozen=True)
class TransferStatistics:
    """spandsp's ``t30_stats_t`` at the end of the call: rates, pages, image geometry, quality."""

    bit_rate: int
    ecm: bool
    pages_sent: int
    pages_received: int
    pages_in_file: int
    x_resolution: int
    y_resolution: int
    width: int
    length: int
    image_size: int
    encoding: int
    bad_rows: int
    longest_bad_row_run: int
    ecm_retries: int


@dataclass(frozen=True)
class Completed:
    """Phase E: the session is over. ``pages`` counts the pages the far end confirmed (when
    sending) or that arrived whole (when receiving); the receive TIFF is complete now."""

    code: CompletionCode
    pages: int
    statistics: TransferStatistics

    @property
    def ok(self) -> bool:
        return self.code is CompletionCode.OK

    @property
    def text(self) -> str:
        return self.code.text

    @property
    def cause(self) -> T30Failure:
        return self.code.cause


Event = FrameExchanged | Negotiated | PageSent | PageProgress | PageReceived | Completed
