"""When a job may be sent: now, at a specific time, or inside the daily discount period."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from openfax.model import ScheduleType


def in_discount_period(when: datetime, start: time, end: time, zone: tzinfo | None) -> bool:
    """Whether ``when`` falls in the daily window [start, end) of local time in ``zone``.

    A window whose end is not after its start wraps midnight (20:00 to 07:00).
    """
    local = when.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_discount_start(when: datetime, start: time, end: time, zone: tzinfo | None) -> datetime:
    """``when`` if it is inside the discount period, else the next start of the period."""
    if in_discount_period(when, start, end, zone):
        return when
    local = when.astimezone(zone)
    candidate = local.replace(
        hour=start.hour, minute=start.minute, second=start.second, microsecond=0
    )
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def first_send_time(
    schedule_type: ScheduleType,
    schedule_time: datetime | None,
    now: datetime,
    discount: tuple[time, time],
    zone: tzinfo | None,
) -> datetime:
    """When a new job becomes ready: now, its time (a past time means now), or the discount
    period's next start."""
    if schedule_type is ScheduleType.SPECIFIC_TIME and schedule_time is not None:
        return max(now, schedule_time.astimezone(UTC))
    if schedule_type is ScheduleType.DISCOUNT_PERIOD:
        return next_discount_start(now, *discount, zone)
    return now
