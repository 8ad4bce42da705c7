"""Case references are gap-free per day, also when the day's first cases are submitted at the same moment."""

from __future__ import annotations

import threading
from datetime import date

from storage.cases import next_reference
from storage.db import transaction
from tests.support.harness import Harness


def test_racing_first_cases_of_a_day_get_consecutive_references(harness: Harness) -> None:
    day = date(2031, 6, 16)
    got: list[str] = []
    start = threading.Barrier(6)

    def submit() -> None:
        start.wait()
        with transaction(harness.services.sessions) as session:
            got.append(next_reference(session, "AQ", day))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [f"AQ-20310616-{n:04d}" for n in range(1, 7)]
    with transaction(harness.services.sessions) as session:
        assert next_reference(session, "AQ", day) == "AQ-20310616-0007"
        assert next_reference(session, "SX", day) == "SX-20310616-0001"  # each prefix counts on its own
