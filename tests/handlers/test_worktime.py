from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from handlers.worktime import add_working_hours

TZ = ZoneInfo("Asia/Shanghai")
START, END = time(8, 30), time(17, 30)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-11-30 09:00", 8, "2026-11-30 17:00"),  # Monday, within the day
        ("2026-11-30 16:00", 8, "2026-12-01 15:00"),  # spills into Tuesday
        ("2026-11-30 20:00", 8, "2026-12-01 16:30"),  # submitted after hours
        ("2026-12-04 16:30", 8, "2026-12-07 15:30"),  # Friday afternoon -> Monday
        ("2026-12-05 10:00", 2, "2026-12-07 10:30"),  # Saturday -> Monday morning
        ("2026-11-30 06:00", 1, "2026-11-30 09:30"),  # before opening
    ],
)
def test_working_hours_skip_nights_and_weekends(start, hours, due):
    assert add_working_hours(at(start), hours, TZ, START, END) == at(due)
