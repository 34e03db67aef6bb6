"""A call's transcript as JSON: the T.30 frames (name and hex), pages, settings, the end.

Stored with each call attempt so that a failed fax can be diagnosed later, as users paste
spandsp's FLOW logs into bug reports.
"""

from __future__ import annotations

from typing import Any

from openfax.engine import Completed, FrameExchanged, Negotiated, PageReceived, PageSent
from openfax.providers import CallOutcome, TranscriptEntry


def transcript_json(outcome: CallOutcome) -> list[dict[str, Any]]:
    """One JSON object per transcript entry, each with the line time ``t`` in seconds."""
    return [_entry(entry) for entry in outcome.transcript]


def _entry(entry: TranscriptEntry) -> dict[str, Any]:
    event = entry.event
    out: dict[str, Any] = {"t": round(entry.line_seconds, 3)}
    if isinstance(event, FrameExchanged):
        out |= {"frame": event.name, "direction": event.direction.value, "hex": event.frame.hex()}
    elif isinstance(event, Negotiated):
        out["negotiated"] = {
            "modem": event.modem.name,
            "bit_rate": event.bit_rate,
            "ecm": event.ecm,
            "compression": event.compression.name,
            "resolution": event.resolution.name,
            "remote_ident": event.remote_ident,
        }
    elif isinstance(event, PageSent):
        out["page_sent"] = {
            "number": event.number,
            "confirmed": event.confirmed,
            "response": event.response,
        }
    elif isinstance(event, PageReceived):
        out["page_received"] = {"number": event.number, "bad_rows": event.bad_rows}
    elif isinstance(event, Completed):
        out["completed"] = {"code": event.code.name, "text": event.text, "pages": event.pages}
    return out
