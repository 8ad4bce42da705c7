"""Under a backlog one triage job also does the triage jobs queued behind it: fewer RQ jobs, nothing lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rq.job import Job
from sqlalchemy import select

from bot import jobs
from bot.queue import INTAKE_QUEUE
from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.models import Case
from tests.support.harness import Harness

TIPS = ("宏达机械二车间配电箱门坏了", "永安化工仓库灭火器过期了", "城南加油站消防通道堵了", "新华超市安全出口锁着")


def submit_backlog(harness: Harness) -> list[int]:
    for n, text in enumerate(TIPS):
        harness.say(msg.text(f"oBacklog{n}", text))
        harness.say(msg.text(f"oBacklog{n}", "提交"))
    with harness.services.sessions() as s:
        return list(s.scalars(select(Case.id).order_by(Case.id)))


def triage_states(harness: Harness) -> list[str]:
    with harness.services.sessions() as s:
        return list(s.scalars(select(Case.triage_status).order_by(Case.id)))


def finished_triage_jobs(harness: Harness) -> set[str]:
    registry = harness.services.queue.queues[INTAKE_QUEUE].finished_job_registry
    return {j for j in registry.get_job_ids() if j.startswith("triage_case-")}


def test_one_job_triages_the_backlog_and_the_jobs_it_took_are_gone(harness: Harness) -> None:
    ids = submit_backlog(harness)
    harness.run_jobs()
    assert triage_states(harness) == ["done"] * len(TIPS)
    assert finished_triage_jobs(harness) == {f"triage_case-{ids[0]}"}  # one RQ job did all four
    for case_id in ids[1:]:
        assert not Job.exists(f"triage_case-{case_id}", connection=harness.services.redis)


def test_a_taken_case_that_fails_goes_back_to_the_queue_as_its_own_job(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = submit_backlog(harness)
    failed: list[int] = []
    triage = jobs.triage

    def fails_once_for_the_second(services: Any, case_id: int) -> str:
        if case_id == ids[1] and not failed:
            failed.append(case_id)
            raise RuntimeError("the database went away for a moment")
        return triage(services, case_id)

    monkeypatch.setattr(jobs, "triage", fails_once_for_the_second)
    harness.run_jobs()
    assert failed == [ids[1]]
    assert triage_states(harness) == ["done"] * len(TIPS)
    # The batch stopped at the failure and the failed case went back to the queue, behind the next one: that one
    # ran as a job of its own and took the rest, the failed case included.
    assert finished_triage_jobs(harness) == {f"triage_case-{ids[0]}", f"triage_case-{ids[2]}"}


def test_a_taken_job_whose_worker_died_is_asked_for_again_by_the_sweeper(harness: Harness) -> None:
    ids = submit_backlog(harness)
    taken = harness.services.queue.take("triage_case")  # as a worker that then dies would
    assert taken == ids[0]
    assert not Job.exists(f"triage_case-{ids[0]}", connection=harness.services.redis)
    harness.run_jobs()
    assert triage_states(harness) == ["pending"] + ["done"] * (len(TIPS) - 1)
    sweep(harness.services, grace=timedelta(0))
    harness.run_jobs()
    assert triage_states(harness) == ["done"] * len(TIPS)


def test_take_leaves_other_kinds_and_answers_none_when_nothing_waits(harness: Harness) -> None:
    harness.say(msg.text("oLonely", "宏达机械二车间配电箱门坏了"))  # a draft: its close_draft job is scheduled
    assert harness.services.queue.take("triage_case") is None
    assert harness.services.queue.take("download_media") is None


def test_a_triage_job_does_not_overtake_other_work_queued_before_it(harness: Harness) -> None:
    """Photos are downloaded before the cases behind them are triaged: taking stops at a job of another kind."""
    from tests.media.images import encode, scene

    harness.say(msg.text("oFirst", "宏达机械二车间配电箱门坏了"))
    harness.say(msg.text("oFirst", "提交"))
    harness.fake.add_media("BEHIND-1", encode(scene(5, (320, 240))), content_type="image/jpeg")
    harness.say(msg.image("oSecond", "BEHIND-1"))  # its download is queued behind the first triage job
    harness.say(msg.text("oSecond", "永安化工仓库灭火器过期了"))
    harness.say(msg.text("oSecond", "提交"))
    queued = harness.services.queue.queues[INTAKE_QUEUE].get_job_ids()
    assert [j.partition("-")[0] for j in queued] == ["triage_case", "download_media", "triage_case"]
    harness.run_jobs()
    assert triage_states(harness) == ["done", "done"]
    # the first triage job found the download at the head and took nothing: each case was its own job, in order
    assert finished_triage_jobs(harness) == {j for j in queued if j.startswith("triage_case-")}
