"""Working hours: "accept within 8 working hours" counts Monday to Friday between the workday's start and end,
in the bureau's time zone. Public holidays are not known here and count as working days."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo


def add_working_hours(start: datetime, hours: float, tz: tzinfo, day_start: time, day_end: time) -> datetime:
    """The moment `hours` working hours after `start` (aware datetimes in, aware UTC-comparable datetime out)."""
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(tz)
    while True:
        opening = cursor.replace(hour=day_start.hour, minute=day_start.minute, second=0, microsecond=0)
        closing = cursor.replace(hour=day_end.hour, minute=day_end.minute, second=0, microsecond=0)
        if cursor.weekday() >= 5 or cursor >= closing:
            cursor = _next_morning(cursor, day_start)
            continue
        cursor = max(cursor, opening)
        available = closing - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = _next_morning(cursor, day_start)


def _next_morning(moment: datetime, day_start: time) -> datetime:
    following = (moment + timedelta(days=1)).replace(
        hour=day_start.hour, minute=day_start.minute, second=0, microsecond=0
    )
    return following
