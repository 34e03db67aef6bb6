"""pywin32's ``pywintypes`` for a FAXCOMEX script: ``com_error`` (the facade's) and ``Time``
(COM's DATE, a ``datetime``)."""

from __future__ import annotations

from datetime import datetime

from openfax.faxcomex import com_error


def Time(value: datetime | float) -> datetime:
    """``pywintypes.Time``: a datetime as it is, or seconds since the epoch as local time."""
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value)


TimeType = datetime

__all__ = ["Time", "TimeType", "com_error"]
